// Checks run before a quantized model can reach onnxruntime: every weight that will be quantized
// and every activation range must be finite and within a bound that integer kernels can carry.
// onnxruntime does not check these itself: a weight of 3.4e38 gives activation ranges whose
// requantization parameters make QLinearGlobalAveragePool abort or segfault, and an infinite
// range cannot give a scale at all (ALGORITHMS.md §1 needs a finite real range).
import { ruleOf } from './rules/index.js';
import { UserInputError } from '../errors.js';
import { dtypeName, isFloatType, isKnownDType, type Graph } from '../ir/index.js';
import type { Analysis } from './analyze.js';

/**
 * Largest magnitude a quantized tensor may hold. With |x| ≤ 1e15 every scale is ≤ ~1e13, the
 * products s_x·s_w of bias scales and requantization multipliers stay far inside float32, while
 * real activations and weights (float16 tops out at 65504) are nowhere near it.
 */
export const MAX_QUANTIZED_MAGNITUDE = 1e15;

function bad(v: number): boolean {
  return !Number.isFinite(v) || Math.abs(v) > MAX_QUANTIZED_MAGNITUDE;
}

function describe(v: number): string {
  return Number.isNaN(v) ? 'NaN' : !Number.isFinite(v) ? String(v) : v.toPrecision(3);
}

/** Throws one line naming the model, the tensor, the node and the fix, for the first bad weight. */
export function guardWeights(g: Graph, a: Analysis, label: string): void {
  for (const n of g.nodes) {
    const d = a.decisions.get(n);
    if (!d || d.status !== 'quantized' || !d.rule) continue;
    d.rule.inputs.forEach((role, i) => {
      if (role.kind !== 'weight' && role.kind !== 'bias') return;
      const t = g.constantOf(n.inputs[i] ?? '');
      if (!t) return;
      if (!isFloatType(t.dtype)) {
        throw new UserInputError(`${label}: ${role.kind} '${t.name}' of node '${n.name}' is ${dtypeName(t.dtype)}, not a float tensor, so ${n.opType} cannot be valid; the model file is corrupt (export it again), or keep the node in float with --exclude-nodes ${n.name}`);
      }
      const data = t.toFloat32();
      for (let k = 0; k < data.length; k++) {
        const v = data[k]!;
        if (!bad(v)) continue;
        throw new UserInputError(
          `${label}: ${role.kind} '${t.name}' of node '${n.name}' holds ${describe(v)} at index ${k}, which cannot be quantized ` +
            `(${Number.isFinite(v) ? `beyond ±${MAX_QUANTIZED_MAGNITUDE}` : 'not finite'}); fix the weights, or keep the node in float with --exclude-nodes ${n.name}`,
        );
      }
    });
  }
}

/** Throws for the first activation whose calibrated range is not finite or too large for integer kernels. */
export function guardRanges(g: Graph, ranges: ReadonlyMap<string, { min: number; max: number }>, label: string, dataLabel: string): void {
  for (const [t, r] of ranges) {
    if (!bad(r.min) && !bad(r.max)) continue;
    const nodes = [g.producerOf(t)?.name, ...g.consumersOf(t).map((c) => c.name)].filter((x): x is string => !!x);
    throw new UserInputError(
      `${label}: tensor '${t}' has range [${describe(r.min)}, ${describe(r.max)}] over the calibration data ${dataLabel}, which integer kernels cannot carry; ` +
        `check the data and the weights for Inf/NaN or huge values${nodes.length ? `, or keep ${nodes.length > 1 ? 'these nodes' : 'the node'} in float with --exclude-nodes ${nodes.join(',')}` : ''}`,
    );
  }
}

/** The constant inputs of the nodes --mode dynamic/weight-only rewrites (their rule's form), checked the same way. */
export function guardModeWeights(g: Graph, label: string, config: { mode: string; excludeNodes: readonly string[]; excludeOps: readonly string[] }): void {
  for (const n of g.nodes) {
    if (config.excludeNodes.includes(n.name) || config.excludeOps.includes(n.opType)) continue;
    const rule = ruleOf(n);
    const form = config.mode === 'dynamic' ? rule?.dynamic : rule?.weightOnly;
    if (!form || !('rewrite' in form)) continue;
    const slots = n.inputs.map((_, i) => i).filter((i) => i > 0);
    for (const i of slots) {
      const t = g.constantOf(n.inputs[i] ?? '');
      if (!t) continue;
      if (!isKnownDType(t.dtype) || t.strings) {
        throw new UserInputError(`${label}: tensor '${t.name}' of node '${n.name}' has element type ${dtypeName(t.dtype)}, which ${n.opType} cannot take; the model file is corrupt (export it again), or keep the node in float with --exclude-nodes ${n.name}`);
      }
      if (t.dtype !== 1) continue;
      const data = t.toFloat32();
      for (let k = 0; k < data.length; k++) {
        const v = data[k]!;
        if (!bad(v)) continue;
        throw new UserInputError(
          `${label}: weight '${t.name}' of node '${n.name}' holds ${describe(v)} at index ${k}, which cannot be quantized ` +
            `(${Number.isFinite(v) ? `beyond ±${MAX_QUANTIZED_MAGNITUDE}` : 'not finite'}); fix the weights, or keep the node in float with --exclude-nodes ${n.name}`,
        );
      }
    }
  }
}
