// planQuantization(graph, ranges, config) → QuantPlan: a plain, JSON-serialisable description of
// every Q/DQ qtool will write (STYLE.md "Plan, then apply"). Pure: the graph is not edited.
import type { Graph } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { UserInputError } from '../errors.js';
import { computeScaleZeroPoint, qRange, type QType } from '../math/qparams.js';
import { analyzeModelGraph, type Analysis, type NodeStatus } from './analyze.js';
import { planWeights } from './plan-weights.js';
import type { Note, ReasonCode } from './reasons.js';

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
  /** int4 weight-only (MatMulNBits): blocks of this many values along K; `scales` are [N, blocks], no zero points. */
  blockSize?: number;
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
  /** Why, in English (may be reworded between versions). */
  reason: string;
  /** Why, as a stable code (match on this, not on `reason`). */
  code: ReasonCode;
  /** Static mode: input indices holding quantized weights, and the quantized bias (the rule's roles). */
  weightInputs?: number[];
  biasInput?: number;
  /** A node inside an If/Loop/Scan body: the body's path (`If_0.then_branch/inner.else_branch`). */
  graph?: string;
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

/** The integers a plan's scales were computed for: the rewrite stores these, it does not quantize again. */
export interface PlanIntegers {
  /** Weight tensor → its integers, in the layout its form stores them. */
  weights: Map<string, Int32Array>;
  /** Consumer node name → its int32 bias. */
  biases: Map<string, Int32Array>;
}

/** A plan with the integers behind it. */
export interface Planned {
  plan: QuantPlan;
  integers: PlanIntegers;
  /** What planning wants the user to know (clipped int4 blocks, …). */
  notes?: Note[];
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
  const a = analysis ?? analyzeModelGraph(g, config);
  return a.activations.filter((t) => !a.fixed.has(t));
}

export function planQuantization(g: Graph, config: Readonly<QuantConfig>, opts: PlanOptions): QuantPlan {
  return planStatic(g, config, opts).plan;
}

/** Static mode: activation ranges from calibration, weights and biases from the graph. */
export function planStatic(g: Graph, config: Readonly<QuantConfig>, opts: PlanOptions): Planned {
  const a = opts.analysis ?? analyzeModelGraph(g, config);
  const activations = planActivations(a, config, opts, (t) => g.isGraphOutput(t));
  const { weights, biases, integers } = planWeights(g, a, config, { ...opts, activations });
  const nodes = [...g.nodes, ...(a.bodies ?? []).flatMap((b) => b.graph.nodes)];
  const plan: QuantPlan = {
    ...emptyPlan(config, nodes.map((n) => {
      const d = a.decisions.get(n)!;
      const entry: NodePlan = { name: n.name, opType: n.opType, status: d.status, reason: d.reason.message, code: d.reason.code };
      const body = a.scopeOf?.get(n);
      if (body) entry.graph = body.path;
      const roles = d.status === 'quantized' ? d.rule?.inputs ?? [] : [];
      const weightInputs = roles.flatMap((r, i) => (r.kind === 'weight' && weights[n.inputs[i]!] ? [i] : []));
      if (weightInputs.length) entry.weightInputs = weightInputs;
      if (biases[n.name]) entry.biasInput = roles.findIndex((r) => r.kind === 'bias');
      return entry;
    })),
    activations,
    absorbed: Object.fromEntries(a.absorbed),
    weights,
    biases,
  };
  return { plan, integers };
}

export function emptyPlan(config: Readonly<QuantConfig>, nodes: NodePlan[]): QuantPlan {
  return { version: 1, mode: config.mode, format: config.format, target: config.target, algo: config.algo, activations: {}, absorbed: {}, weights: {}, biases: {}, nodes };
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
