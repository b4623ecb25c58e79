// Dynamic and weight-only modes: no calibration, only weights are quantized ahead of time. The
// plan says which nodes take their integer form (the rules' dynamic / weight-only forms) and holds
// each weight's scales and integers, so `--save-plan` / `--overrides` work as in static mode.
import { graphScopes, type Graph, type Node } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { UserInputError } from '../errors.js';
import { qRange, quantizeInt4Blocks, quantizeWeightPerChannel, stochasticRounding, type QType } from '../math/qparams.js';
import { streamFor } from '../math/prng.js';
import { notIncluded, userExclusion } from './analyze.js';
import { emptyPlan, narrowIntegers, seedflagsNotes, type NodePlan, type Overrides, type Planned, type WeightIntegers, type WeightParams } from './plan.js';
import { note, reason, type Note, type Reason } from './reasons.js';
import { formOf, opsWithForm, type FormWeight, type WeightForm, type WeightMode } from './rules/index.js';

/** The form a node takes in this mode, or why it stays float. */
export function nodeForm(n: Node, g: Graph, config: Readonly<QuantConfig>): { form: WeightForm } | { float: Reason } {
  const mode = config.mode as WeightMode;
  const form = formOf(n, mode);
  if (!form) return { float: reason('not-in-mode', `${config.mode} mode quantizes ${opsWithForm(mode).join('/')} weights only`) };
  if (!('rewrite' in form)) return { float: form.float(config, n) };
  const user = userExclusion(n, config);
  if (user) return { float: { code: user.code, message: 'excluded' } };
  if (config.includeOps.length && !config.includeOps.includes(n.opType)) return { float: notIncluded(n) };
  return { form };
}

export function planWeightForms(g: Graph, config: Readonly<QuantConfig>, overrides?: Overrides): Planned {
  const nodes: NodePlan[] = [];
  const notes: Note[] = [];
  const weights: Record<string, WeightParams> = {};
  const integers = { weights: new Map<string, WeightIntegers>(), biases: new Map<string, Int32Array>() };
  // The main graph's nodes, then those of its If/Loop/Scan bodies (a body weight must be a constant of that body).
  for (const { graph: gr, n } of graphScopes(g).flatMap(({ graph }) => graph.nodes.map((n) => ({ graph, n })))) {
    const g = gr;
    const float = (r: Reason) => nodes.push({ name: n.name, opType: n.opType, status: 'float', reason: r.message, code: r.code });
    const f = nodeForm(n, g, config);
    if ('float' in f) { float(f.float); continue; }
    const unit = f.form.unit(n, g, config);
    if ('float' in unit) { float(unit.float); continue; }
    let dtype: QType = 'int8';
    for (const w of unit.weights) {
      const name = n.inputs[w.input]!;
      const planned = planFormWeight(name, w, f.form, config, overrides, notes);
      weights[name] = planned.params;
      integers.weights.set(name, narrowIntegers(planned.q, planned.params.dtype));
      dtype = planned.params.dtype;
    }
    if (f.form.caveat && !notes.some((x) => x.message === `warning: ${f.form.caveat}`)) notes.push(note('form-caveat', `warning: ${f.form.caveat}`, true));
    const r = f.form.quantized(config, dtype);
    nodes.push({ name: n.name, opType: n.opType, status: 'quantized', reason: r.message, code: r.code });
  }
  const plan = { ...emptyPlan(config, nodes), weights };
  return { plan, integers, notes: [...notes, ...seedflagsNotes(plan)] };
}

/**
 * A block larger than K would only add padding (the file grows): the block is clipped to the
 * smallest power of two ≥ K that MatMulNBits accepts (≥ 16), with a warning.
 */
function int4BlockSize(name: string, k: number, asked: number, notes: Note[]): number {
  if (asked <= k) return asked;
  let b = 16;
  while (b < k) b *= 2;
  if (b < asked) notes.push(note('block-clipped', `warning: weight '${name}' has K=${k} < block size ${asked}; using blocks of ${b} (the smallest power of two ≥ K), since larger blocks only add padding`, true));
  return Math.min(b, asked);
}

function planFormWeight(name: string, w: FormWeight, form: WeightForm, config: Readonly<QuantConfig>, overrides: Overrides | undefined, notes: Note[]) {
  const o = overrides?.weights?.[name];
  if (o?.dtype && !form.dtypes.includes(o.dtype)) {
    throw new UserInputError(`overrides: weight '${name}' cannot be ${o.dtype} in ${config.mode} mode (this op stores ${form.dtypes.join(' or ')} weights); change its dtype in the overrides file`);
  }
  const wanted: QType = o?.dtype ?? (config.mode === 'weight-only' && config.weightType === 'int4' ? 'int4' : 'int8');
  // An op without an int4 form (Conv) takes the form's own type.
  const dtype = form.dtypes.includes(wanted) ? wanted : form.dtypes[0]!;
  // --stochastic-rounding (or the override's rounding): one seeded stream per weight name.
  const stochastic = (o?.rounding ?? (config.stochasticRounding ? 'stochastic' : 'nearest')) === 'stochastic';
  const seed = o?.seed ?? config.seed ?? 0;
  const round = stochastic ? stochasticRounding(streamFor(seed, name)) : undefined;
  const recorded = stochastic ? { rounding: 'stochastic' as const, seed } : {};
  if (dtype === 'int4') {
    const [k, n] = w.dims as [number, number];
    const blockSize = int4BlockSize(name, k, config.blockSize, notes);
    const b = quantizeInt4Blocks(w.data, k, n, blockSize, round);
    return { params: { dtype, axis: 0, scales: [...b.scales], zeroPoints: [], raisedForBias: [], blockSize, ...recorded }, q: b.q };
  }
  const perChannel = o?.perChannel ?? true;
  if (!perChannel && w.perChannelOnly) {
    throw new UserInputError(`overrides: weight '${name}' is quantized per output channel only in ${config.mode} mode; remove its perChannel: false`);
  }
  const range = qRange(dtype, { symmetric: true, reduceRange: config.reduceRange });
  const q = perChannel ? quantizeWeightPerChannel(w.data, w.dims, w.axis, { ...range, round }) : quantizeWeightPerChannel(w.data, [1, w.data.length], 0, { ...range, round });
  const params: WeightParams = { dtype, axis: perChannel ? w.axis : null, scales: [...q.scales], zeroPoints: [...q.zeroPoints], raisedForBias: [], ...recorded };
  return { params, q: q.q };
}
