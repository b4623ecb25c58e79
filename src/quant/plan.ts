// planQuantization(graph, ranges, config) → QuantPlan: a plain, JSON-serialisable description of
// every Q/DQ qtool will write (STYLE.md "Plan, then apply"). Pure: the graph is not edited.
import type { Graph } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { UserInputError } from '../errors.js';
import { computeScaleZeroPoint, qRange, quantizeWeightPerChannel, type QType } from '../math/qparams.js';
import { requiredWeightScaleForBias } from '../math/bias.js';
import { analyzeGraph, type Analysis, type NodeStatus } from './analyze.js';

export interface RangeInput {
  min: number;
  max: number;
  algo: string;
}

export interface ActivationParams {
  dtype: QType;
  scale: number;
  zeroPoint: number;
  range: [number, number];
  /** calibrated: from this tensor's stats; group: widened to its shared-range group; fixed: by op semantics. */
  source: 'calibrated' | 'group' | 'fixed' | 'override';
  algo?: string;
  group: string;
}

export interface WeightParams {
  dtype: QType;
  /** Per-channel axis, or null for per-tensor. */
  axis: number | null;
  scales: number[];
  zeroPoints: number[];
  /** Channels whose scale was raised so the bias fits int32 (§1). */
  raisedForBias: number[];
}

export interface BiasParams {
  tensor: string;
  weight: string;
  activation: string;
  /** scale = s_x · s_w (per channel when the weight is). */
  scales: number[];
}

export interface NodePlan {
  name: string;
  opType: string;
  status: NodeStatus;
  reason: string;
}

export interface QuantPlan {
  version: 1;
  mode: QuantConfig['mode'];
  format: QuantConfig['format'];
  target: QuantConfig['target'];
  algo: QuantConfig['algo'];
  activations: Record<string, ActivationParams>;
  /** Tensor absorbed by a following Relu/Clip → the tensor whose Q/DQ it uses instead. */
  absorbed: Record<string, string>;
  weights: Record<string, WeightParams>;
  /** Keyed by consumer node name. */
  biases: Record<string, BiasParams>;
  nodes: NodePlan[];
  /** Nodes kept in float by the accuracy search (or --overrides), and the tensors left without Q/DQ. */
  keepFloat?: { nodes: string[]; tensors: string[] };
  /** How the accuracy search (--target-*) got here: its steps and the units that fell back. */
  tuning?: unknown;
}

export interface Overrides {
  activations?: Record<string, { range?: [number, number]; dtype?: QType }>;
  weights?: Record<string, { perChannel?: boolean; dtype?: QType }>;
  /** Nodes kept in float, and the tensors (their outputs) left without Q/DQ. */
  keepFloat?: { nodes: string[]; tensors: string[] };
}

export interface PlanOptions {
  ranges: ReadonlyMap<string, RangeInput>;
  /**
   * Observed min/max per tensor. Model outputs take these instead of the algorithm's clipped
   * range: clipping a logit changes the answer itself, and nothing downstream can recover it.
   */
  observed?: ReadonlyMap<string, { min: number; max: number }>;
  overrides?: Overrides;
  /** False below opset 13 (per-channel Q/DQ needs the axis attribute). */
  perChannelAllowed?: boolean;
  /** The graph's analysis for this config, when the caller already has it. */
  analysis?: Analysis;
}

/** Tensors whose statistics planning needs (everything that gets Q/DQ except fixed ranges). */
export function tensorsToCalibrate(g: Graph, config: Readonly<QuantConfig>, analysis?: Analysis): string[] {
  const a = analysis ?? analyzeGraph(g, config);
  return a.activations.filter((t) => !a.fixed.has(t));
}

export function planQuantization(g: Graph, config: Readonly<QuantConfig>, opts: PlanOptions): QuantPlan {
  const a = opts.analysis ?? analyzeGraph(g, config);
  const activations = planActivations(a, config, opts, (t) => g.isGraphOutput(t));
  const { weights, biases } = planWeights(g, a, config, opts, activations);
  return {
    version: 1,
    mode: config.mode,
    format: config.format,
    target: config.target,
    algo: config.algo,
    activations,
    absorbed: Object.fromEntries(a.absorbed),
    weights,
    biases,
    nodes: g.nodes.map((n) => {
      const d = a.decisions.get(n)!;
      return { name: n.name, opType: n.opType, status: d.status, reason: d.reason };
    }),
  };
}

function planActivations(a: Analysis, config: Readonly<QuantConfig>, opts: PlanOptions, isOutput: (t: string) => boolean): Record<string, ActivationParams> {
  const members = new Map<string, string[]>();
  for (const t of a.activations) {
    const g = a.groupOf.get(t)!;
    members.set(g, [...(members.get(g) ?? []), t]);
  }
  const out: Record<string, ActivationParams> = {};
  for (const [group, list] of members) {
    let lo = Infinity;
    let hi = -Infinity;
    let algo: string | undefined;
    let source: ActivationParams['source'] = list.length > 1 ? 'group' : 'calibrated';
    for (const t of list) {
      const observed = isOutput(t) ? opts.observed?.get(t) : undefined;
      const r = a.fixed.get(t) ?? (observed ? { ...observed, algo: 'minmax (model output)' } : opts.ranges.get(t));
      if (!r) continue;
      const [rmin, rmax] = Array.isArray(r) ? r : [r.min, r.max];
      lo = Math.min(lo, rmin);
      hi = Math.max(hi, rmax);
      if (a.fixed.has(t) && list.length === 1) source = 'fixed';
      if (!Array.isArray(r)) algo = r.algo;
    }
    let dtype: QType = list.some((t) => a.int16.has(t)) ? 'int16' : config.activationType;
    for (const t of list) {
      const o = opts.overrides?.activations?.[t];
      if (o?.range) [lo, hi, source, algo] = [o.range[0], o.range[1], 'override', 'override'];
      if (o?.dtype) dtype = o.dtype;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new UserInputError(`no calibration statistics for tensor '${list[0]}'; the stats file does not match this model (calibrate it again)`);
    }
    const symmetric = config.symmetricActivations;
    const { scale, zeroPoint } = computeScaleZeroPoint(lo, hi, { ...qRange(dtype, { symmetric: symmetric && dtype !== 'uint8' }), symmetric });
    for (const t of list) out[t] = { dtype, scale, zeroPoint, range: [lo, hi], source, algo, group };
  }
  return out;
}

function weightQType(config: Readonly<QuantConfig>, override?: QType): QType {
  return override ?? config.weightType;
}

function planWeights(g: Graph, a: Analysis, config: Readonly<QuantConfig>, opts: PlanOptions, acts: Record<string, ActivationParams>) {
  const weights: Record<string, WeightParams> = {};
  const biases: Record<string, BiasParams> = {};
  for (const n of g.nodes) {
    const d = a.decisions.get(n)!;
    if (d.status !== 'quantized' || !d.rule) continue;
    d.rule.inputs.forEach((role, i) => {
      if (role.kind !== 'weight') return;
      const name = n.inputs[i]!;
      const tensor = g.constantOf(name)!;
      const bias = d.rule!.inputs.findIndex((r) => r.kind === 'bias');
      const biasTensor = bias >= 0 && config.quantizeBias ? g.constantOf(n.inputs[bias]!) : undefined;
      const xScale = acts[n.inputs[0]!]?.scale;
      const o = opts.overrides?.weights?.[name];
      const rank = tensor.dims.length;
      const axis = role.axis < 0 ? role.axis + rank : role.axis;
      const perChannel = (o?.perChannel ?? config.perChannel) && opts.perChannelAllowed !== false && rank >= 2 && !(n.opType === 'MatMul' && rank !== 2);
      const dtype = weightQType(config, o?.dtype);
      const range = qRange(dtype, { symmetric: dtype !== 'uint8', reduceRange: config.reduceRange && (dtype === 'int8' || dtype === 'uint8') });
      const data = tensor.toFloat32();
      const minScales = biasTensor && xScale ? requiredWeightScaleForBias(biasTensor.toFloat32(), xScale) : undefined;
      const q = perChannel
        ? quantizeWeightPerChannel(data, tensor.dims, axis, { ...range, minScales })
        : perTensor(data, range, dtype, minScales);
      const raised = minScales ? [...minScales].flatMap((m, c) => (m > 0 && m === q.scales[perChannel ? c : 0] ? [c] : [])) : [];
      weights[name] = { dtype, axis: perChannel ? axis : null, scales: [...q.scales], zeroPoints: [...q.zeroPoints], raisedForBias: raised };
      if (biasTensor && xScale !== undefined) {
        biases[n.name] = { tensor: n.inputs[bias]!, weight: name, activation: n.inputs[0]!, scales: [...q.scales].map((s) => Math.fround(xScale * s)) };
      }
    });
  }
  return { weights, biases };
}

/** Per-tensor weight scale: symmetric over the whole tensor, raised if a bias needs it. */
function perTensor(data: Float32Array, range: { qmin: number; qmax: number }, dtype: QType, minScales?: Float32Array) {
  let lo = 0;
  let hi = 0;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const p = computeScaleZeroPoint(lo, hi, { ...range, symmetric: dtype !== 'uint8' });
  let scale = p.scale;
  if (minScales) for (const m of minScales) if (m > scale) scale = m;
  return { scales: new Float32Array([scale]), zeroPoints: new Int32Array([p.zeroPoint]) };
}
