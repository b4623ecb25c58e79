// The rewrite stage as data: one array of passes per mode × format. Each pass declares the
// default-domain opset it needs (raised before calibration, so the calibrated graph is the one
// rewritten) and the operator domains it may write (imported after it ran, if the graph uses them).
//
//   static      qdq        insert-qdq
//   static      qoperator  insert-qdq → lower-qoperator
//   dynamic     *          dynamic (rules' dynamic forms)
//   weight-only *          weight-only (rules' weight-only forms)
import { importDomain, opsetVersion, type Model, type OpsetId } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import type { Analysis } from '../quant/analyze.js';
import type { Overrides, PlanIntegers, QuantPlan } from '../quant/plan.js';
import { note, type Note } from '../quant/reasons.js';
import { insertQdq } from './insert-qdq.js';
import { lowerToQOperator } from './lower-qoperator.js';
import { ensureOpset } from './opset.js';
import { rewriteWeightForms } from './weight-forms.js';

const MS: OpsetId = { domain: 'com.microsoft', version: 1 };

export interface RewriteInput {
  plan: QuantPlan;
  integers: PlanIntegers;
  config: Readonly<QuantConfig>;
}

/** What the rewrite returns: everything later stages need, so nobody diffs the graph afterwards. */
export interface RewriteResult {
  /** float tensor (prepared graph) → tensor holding its dequantized value. */
  tensorMap: Record<string, string>;
  /** QOperator: a dequantized tensor the lowering removed → the integer tensor that replaced it. */
  integerOf: Record<string, string>;
  notes: Note[];
}

export interface RequireContext {
  config: Readonly<QuantConfig>;
  /** Static mode's graph analysis. */
  analysis?: Analysis;
  /** Per-tensor overrides (a blockSize there needs opset 21 too). */
  overrides?: Overrides;
}

export interface RewritePass {
  readonly name: string;
  /** The default-domain opset this pass needs, and why. */
  requires?(ctx: RequireContext): { opset: number; why: string } | undefined;
  /** Operator domains the pass may write. */
  readonly adds: readonly OpsetId[];
  /** Import `adds` when the graph uses them (default), or whenever the pass changed anything. */
  readonly importWhen?: 'used' | 'changed';
  /** Edits the model; returns whether it changed anything. */
  run(model: Model, input: RewriteInput, result: RewriteResult): boolean;
}

export const insertQdqPass: RewritePass = {
  name: 'insert-qdq',
  requires({ config, analysis, overrides }) {
    const quantized = [...(analysis?.decisions.values() ?? [])].filter((d) => d.status !== 'float');
    if (quantized.length === 0) return undefined;
    const weights = quantized.some((d) => d.rule?.inputs.some((r) => r.kind === 'weight'));
    // --group-size (or blockSize in the overrides): DequantizeLinear's block_size is opset 21.
    const groups = config.groupSize !== undefined || Object.values(overrides?.weights ?? {}).some((w) => w.blockSize !== undefined);
    if (weights && groups) return { opset: 21, why: 'per-group weight scales (DequantizeLinear block_size)' };
    return config.perChannel && weights ? { opset: 13, why: 'per-channel Q/DQ (the axis attribute)' } : { opset: 10, why: 'QuantizeLinear/DequantizeLinear' };
  },
  // int16/int4 Q/DQ below opset 21
  adds: [MS],
  run(model, { plan, integers }, result) {
    const opset = opsetVersion(model) ?? 0;
    const res = insertQdq(model, plan, integers, { wideTypeDomain: opset >= 21 ? '' : 'com.microsoft', opset });
    result.tensorMap = res.tensorMap;
    result.notes.push(...res.notes);
    return true;
  },
};

export const lowerQOperatorPass: RewritePass = {
  name: 'lower-qoperator',
  adds: [MS],
  // Also when only standard-domain ops were lowered (kept from the first implementation, so that
  // outputs stay byte-identical).
  importWhen: 'changed',
  run(model, _input, result) {
    const res = lowerToQOperator(model, Object.values(result.tensorMap));
    result.integerOf = res.integerOf;
    result.notes.push(...res.notes);
    return res.lowered > 0;
  },
};

export const dynamicPass: RewritePass = {
  name: 'dynamic',
  adds: [MS],
  run: (model, { plan, integers, config }) => rewriteWeightForms(model, plan, integers, config) > 0,
};

export const weightOnlyPass: RewritePass = {
  name: 'weight-only',
  requires: ({ config }) => (config.weightType === 'int4' ? undefined : { opset: 13, why: 'per-channel DequantizeLinear' }),
  adds: [MS],
  run: (model, { plan, integers, config }) => rewriteWeightForms(model, plan, integers, config) > 0,
};

export const PIPELINES: Readonly<Record<QuantConfig['mode'], Readonly<Record<QuantConfig['format'], readonly RewritePass[]>>>> = {
  static: { qdq: [insertQdqPass], qoperator: [insertQdqPass, lowerQOperatorPass] },
  dynamic: { qdq: [dynamicPass], qoperator: [dynamicPass] },
  'weight-only': { qdq: [weightOnlyPass], qoperator: [weightOnlyPass] },
};

export function pipelineFor(config: Readonly<QuantConfig>): readonly RewritePass[] {
  return PIPELINES[config.mode][config.format];
}

/** Raises the opset as far as the pipeline needs (before calibration); returns what it did. */
export function ensureRequirements(model: Model, pipeline: readonly RewritePass[], ctx: RequireContext): Note[] {
  const notes: Note[] = [];
  for (const p of pipeline) {
    const r = p.requires?.(ctx);
    const done = r ? ensureOpset(model, r.opset, r.why) : undefined;
    if (done) notes.push(note('opset-upgraded', done));
  }
  return notes;
}

export function runPipeline(model: Model, pipeline: readonly RewritePass[], input: RewriteInput): RewriteResult {
  const result: RewriteResult = { tensorMap: {}, integerOf: {}, notes: [] };
  for (const p of pipeline) {
    const changed = p.run(model, input, result);
    const used = new Set(model.graph.nodes.map((n) => n.domain));
    for (const d of p.adds) if (p.importWhen === 'changed' ? changed : used.has(d.domain)) importDomain(model, d.domain, d.version);
  }
  return result;
}
