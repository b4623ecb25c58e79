// planQuantization(graph, ranges, config) → QuantPlan: a plain, JSON-serialisable description of
// every Q/DQ qtool will write (STYLE.md "Plan, then apply"). Pure: the graph is not edited.
import type { Graph } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { UserInputError } from '../errors.js';
import { computeScaleZeroPoint, qRange, type QType } from '../math/qparams.js';
import { analyzeModelGraph, type Analysis, type NodeStatus } from './analyze.js';
import { planWeights } from './plan-weights.js';
import { note, type Note, type ReasonCode } from './reasons.js';
import type { OutlierRecord } from './outliers.js';

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
  /** --pow2-scales: the scale is the power of two at or above the range's free scale. */
  pow2Scales?: true;
}

export interface WeightParams {
  dtype: QType;
  /** Per-channel axis, or null for per-tensor. */
  axis: number | null;
  scales: number[];
  zeroPoints: number[];
  /** Channels whose scale was raised so the bias fits int32 (§1). */
  raisedForBias: number[];
  /**
   * int4 weight-only (MatMulNBits): blocks of this many values along K; `scales` are [N, blocks], no
   * zero points. Static --group-size: blocks along `axis` (the input channels), `scales` and
   * `zeroPoints` in the layout of the blocked DequantizeLinear (the weight's dims, with dims[axis]
   * → ceil(dims[axis] / blockSize)).
   */
  blockSize?: number;
  /** --stochastic-rounding: the integers were rounded stochastically from this seed (stream per weight name). */
  rounding?: 'stochastic';
  seed?: number;
  /** --pow2-scales: every scale is a power of two. */
  pow2Scales?: true;
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
  /** --equalize: cross-layer equalisation ran in the prepare stage (the ranges are of that graph). */
  equalize?: boolean;
  /** --bias-correction: node → the value subtracted from its float bias, per output channel. */
  biasCorrection?: Record<string, number[]>;
  /** Static mode: tensors kept in float because their channel ranges are orders of magnitude apart (quant/outliers.ts), with their readers; {} when none. */
  outlierChannels?: Record<string, OutlierRecord>;
}

export interface Overrides {
  activations?: Record<string, { range?: [number, number]; dtype?: QType; pow2Scales?: boolean }>;
  /** blockSize: static per-group weights (as --group-size); rounding/seed/pow2Scales as the flags, per weight. */
  weights?: Record<string, { perChannel?: boolean; dtype?: QType; blockSize?: number; rounding?: 'nearest' | 'stochastic'; seed?: number; pow2Scales?: boolean }>;
  /** Nodes kept in float, and the tensors (their outputs) left without Q/DQ. */
  keepFloat?: { nodes: string[]; tensors: string[] };
  /** Equalize first (a plan made with --equalize). */
  equalize?: boolean;
  /** Apply these bias corrections instead of measuring them (a plan made with --bias-correction). */
  biasCorrection?: Record<string, number[]>;
  /**
   * Tensors kept in float for their outlier channels, with their readers, as a plan records them:
   * when present (even empty), exactly these, whatever the statistics or --outlier-ratio say.
   */
  outlierChannels?: Record<string, OutlierRecord>;
}

/**
 * A weight's integers in the narrowest array that holds its type (int8 and int4 in an Int8Array,
 * ...): a plan holds every weight's integers until the rewrite stores them, and as Int32Array they
 * took as much memory as the float model itself.
 */
export type WeightIntegers = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array;

/** `q` (already clamped to `dtype`'s range) in the narrowest array for `dtype`; the values are unchanged. */
export function narrowIntegers(q: WeightIntegers, dtype: QType): WeightIntegers {
  switch (dtype) {
    case 'int8': case 'int4': return Int8Array.from(q);
    case 'uint8': case 'uint4': return Uint8Array.from(q);
    case 'int16': return Int16Array.from(q);
    case 'uint16': return Uint16Array.from(q);
    default: return q;
  }
}

/** The integers a plan's scales were computed for: the rewrite stores these, it does not quantize again. */
export interface PlanIntegers {
  /** Weight tensor → its integers, in the layout its form stores them (narrowIntegers). */
  weights: Map<string, WeightIntegers>;
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
  const { weights, biases, integers, notes } = planWeights(g, a, config, { ...opts, activations });
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
  return { plan, integers, notes: [...notes, ...seedflagsNotes(plan)] };
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
    let pow2 = config.pow2Scales;
    for (const t of list) {
      const o = opts.overrides?.activations?.[t];
      if (o?.range) [lo, hi, source, algo] = [o.range[0], o.range[1], 'override', 'override'];
      if (o?.dtype) dtype = o.dtype;
      if (o?.pow2Scales !== undefined) pow2 = o.pow2Scales;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new UserInputError(`no calibration statistics for tensor '${list[0]}'; the stats file does not match this model (calibrate it again)`);
    }
    const symmetric = config.symmetricActivations;
    // --pow2-scales: the power of two at or above the free scale, so the calibrated range is kept
    // (the range algorithm already balanced clipping against rounding for it).
    const { scale, zeroPoint } = computeScaleZeroPoint(lo, hi, { ...qRange(dtype, { symmetric: symmetric && dtype !== 'uint8' }), symmetric, pow2: pow2 ? 'ceil' : undefined });
    for (const t of list) out[t] = { dtype, scale, zeroPoint, range: [lo, hi], source, algo, group, ...(pow2 ? { pow2Scales: true as const } : {}) };
  }
  return out;
}

/**
 * The plan without Q/DQ on `tensors` (and on every tensor sharing a range group with one): their
 * absorbed producers and the biases scaled by them go too (a bias input of such a node stays
 * float). Nodes are not touched: keeping one in float is the analysis's job.
 */
export function dropActivations(planned: Planned, tensors: readonly string[]): Planned {
  if (tensors.length === 0) return planned;
  const { plan, integers } = planned;
  const drop = new Set(tensors);
  const groups = new Set(tensors.map((t) => plan.activations[t]?.group).filter((x): x is string => !!x));
  const activations = Object.fromEntries(Object.entries(plan.activations).filter(([t, p]) => !drop.has(t) && !groups.has(p.group)));
  const biases = Object.fromEntries(Object.entries(plan.biases).filter(([, b]) => activations[b.activation]));
  const absorbed = Object.fromEntries(Object.entries(plan.absorbed).filter(([, u]) => activations[u]));
  const nodes = plan.nodes.map((n) => {
    if (n.biasInput === undefined || biases[n.name]) return n;
    const { biasInput: _dropped, ...rest } = n;
    return rest;
  });
  return {
    notes: planned.notes,
    plan: { ...plan, activations, biases, absorbed, nodes },
    integers: {
      weights: new Map([...integers.weights].filter(([w]) => plan.weights[w])),
      biases: new Map([...integers.biases].filter(([node]) => biases[node])),
    },
  };
}

/** What --stochastic-rounding, --pow2-scales and --group-size did, for the run's notes. */
export function seedflagsNotes(plan: QuantPlan): Note[] {
  const out: Note[] = [];
  const weights = Object.values(plan.weights);
  const stochastic = weights.filter((w) => w.rounding === 'stochastic');
  if (stochastic.length) {
    const seeds = [...new Set(stochastic.map((w) => w.seed))].join(', ');
    out.push(note('stochastic-rounding', `stochastic rounding: ${stochastic.length} of ${weights.length} weight tensors (seed ${seeds})`));
  }
  const acts = Object.values(plan.activations).filter((p) => p.pow2Scales).length;
  const pw = weights.filter((w) => w.pow2Scales).length;
  if (acts || pw) out.push(note('pow2-scales', `power-of-two scales: ${acts} activation and ${pw} weight tensors (biases at s_x·s_w, also powers of two)`));
  const grouped = weights.filter((w) => w.blockSize !== undefined && plan.mode === 'static');
  if (grouped.length) {
    const sizes = [...new Set(grouped.map((w) => w.blockSize))].join(', ');
    out.push(note('group-size', `per-group weights: ${grouped.length} tensors in groups of ${sizes} input channels (blocked DequantizeLinear, opset 21); onnxruntime runs those layers in float on the dequantized weights, not in integer kernels`));
  }
  return out;
}
