// Static mode: weight scales per channel (raised where the layer's bias would overflow int32),
// the weights' integers, and int32 biases at s_x·s_w (ALGORITHMS.md §1). Pure: reads the graph.
import type { Graph, Node, Tensor } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import {
  channelLayout, choosePow2Scales, computeScaleZeroPoint, pow2Bounds, qRange, quantizeWeightBlocks, quantizeWeightPerChannel, quantizeWithParams,
  roundHalfToEven, stochasticRounding, type QRange, type QType, type QuotientRounding,
} from '../math/qparams.js';
import { quantizeBiasWithScales, requiredWeightScaleForBias } from '../math/bias.js';
import { streamFor } from '../math/prng.js';
import { note, type Note } from './reasons.js';
import { UnsupportedError } from '../errors.js';
import type { Analysis } from './analyze.js';
import { narrowIntegers, type ActivationParams, type BiasParams, type PlanIntegers, type PlanOptions, type WeightParams } from './plan.js';
import type { InputRole, RuleResult } from './rules/index.js';

interface WeightPlanning extends PlanOptions {
  activations: Record<string, ActivationParams>;
}

export function planWeights(g: Graph, a: Analysis, config: Readonly<QuantConfig>, opts: WeightPlanning) {
  const weights: Record<string, WeightParams> = {};
  const biases: Record<string, BiasParams> = {};
  const integers: PlanIntegers = { weights: new Map(), biases: new Map() };
  const perChannelInstead: string[] = [];
  for (const n of [...g.nodes, ...(a.bodies ?? []).flatMap((b) => b.graph.nodes)]) {
    const d = a.decisions.get(n)!;
    if (d.status !== 'quantized' || !d.rule) continue;
    const body = a.scopeOf?.get(n);
    const constantOf = body ? (x: string) => body.constantOf(x) : (x: string) => g.constantOf(x);
    d.rule.inputs.forEach((role, i) => {
      if (role.kind !== 'weight') return;
      const planned = planWeight(constantOf, n, { role, index: i, rule: d.rule! }, config, opts);
      weights[planned.name] = planned.params;
      integers.weights.set(planned.name, narrowIntegers(planned.q, planned.params.dtype));
      if (planned.oneGroup) perChannelInstead.push(planned.name);
      if (planned.bias) {
        biases[n.name] = planned.bias.params;
        integers.biases.set(n.name, planned.bias.q);
      }
    });
  }
  const notes: Note[] = [];
  if (perChannelInstead.length) {
    notes.push(note('group-size-per-channel', `--group-size ${config.groupSize}: ${perChannelInstead.length} weight tensor${perChannelInstead.length === 1 ? '' : 's'} with no more input channels than one group (e.g. '${perChannelInstead[0]}') ${perChannelInstead.length === 1 ? 'keeps' : 'keep'} one scale per output channel (the same grouping)`));
  }
  return { weights, biases, integers, notes };
}

/** The rounding, scale and grouping options of one weight: the config's, or its override's. */
function weightOptions(name: string, config: Readonly<QuantConfig>, o: NonNullable<PlanOptions['overrides']>['weights'] extends infer W ? W extends Record<string, infer E> ? E | undefined : never : never) {
  const stochastic = (o?.rounding ?? (config.stochasticRounding ? 'stochastic' : 'nearest')) === 'stochastic';
  const seed = o?.seed ?? config.seed ?? 0;
  const round: QuotientRounding | undefined = stochastic ? stochasticRounding(streamFor(seed, name)) : undefined;
  const pow2 = o?.pow2Scales ?? config.pow2Scales;
  const recorded = { ...(stochastic ? { rounding: 'stochastic' as const, seed } : {}), ...(pow2 ? { pow2Scales: true as const } : {}) };
  return { round, pow2, recorded, groupSize: o?.blockSize ?? config.groupSize };
}

/** The integers are clamped to the type's symmetric range (the reduced range only sizes the scale). */
function storedRange(dtype: QType): QRange {
  const range = qRange(dtype, { symmetric: dtype !== 'uint8' });
  return { qmin: dtype === 'uint8' ? 0 : -range.qmax, qmax: range.qmax };
}

function planWeight(constantOf: (name: string) => Tensor | undefined, n: Node, w: { role: Extract<InputRole, { kind: 'weight' }>; index: number; rule: RuleResult }, config: Readonly<QuantConfig>, opts: WeightPlanning) {
  const name = n.inputs[w.index]!;
  const tensor = constantOf(name)!;
  // The bias and activation the weight pairs with, by the roles the rule gave them.
  const biasAt = w.rule.inputs.findIndex((r) => r.kind === 'bias');
  const biasRole = w.rule.inputs[biasAt];
  const biasTensor = biasRole?.kind === 'bias' && config.quantizeBias ? constantOf(n.inputs[biasAt]!) : undefined;
  const activation = n.inputs[biasRole?.kind === 'bias' ? biasRole.activation : 0]!;
  const xScale = opts.activations[activation]?.scale;
  const o = opts.overrides?.weights?.[name];
  const rank = tensor.dims.length;
  const axis = w.role.axis < 0 ? w.role.axis + rank : w.role.axis;
  const perChannel = (o?.perChannel ?? config.perChannel) && opts.perChannelAllowed !== false && rank >= 2 && !w.role.perTensorOnly;
  const dtype = o?.dtype ?? config.weightType;
  // The reduced range guards onnxruntime's u8×s8 kernels (ort-cpu-novnni); a layer whose input is
  // a 16-bit activation never runs in them (onnxruntime's CPU provider dequantizes it and runs float).
  const eightBitInput = !opts.activations[activation] || ['int8', 'uint8'].includes(opts.activations[activation]!.dtype);
  const range = qRange(dtype, { symmetric: dtype !== 'uint8', reduceRange: config.reduceRange && eightBitInput && (dtype === 'int8' || dtype === 'uint8') });
  const data = tensor.toFloat32();
  const minScales = biasTensor && xScale ? requiredWeightScaleForBias(biasTensor.toFloat32(), xScale) : undefined;
  const clampTo = storedRange(dtype);
  const { round, pow2, recorded } = weightOptions(name, config, o);
  const grouping = groupingOf(tensor.dims, w.role, perChannel, dtype, config, o);
  if (grouping && !grouping.oneGroup) {
    refuseUnrunnableGroups(n, name, dtype, w.role, config);
    return groupedWeight(name, data, tensor.dims, { axis, ...grouping, dtype, range, clampTo, round, pow2, recorded }, biasTensor && xScale !== undefined ? { n, biasAt, activation, xScale, values: biasTensor.toFloat64(), minScales: minScales! } : undefined);
  }
  const oneGroup = grouping?.oneGroup === true;
  const q = perChannel
    ? quantizeWeightPerChannel(data, tensor.dims, axis, { ...range, minScales, clampTo, round, pow2 })
    : perTensor(data, range, dtype, minScales, clampTo, round, pow2);
  const raised = !minScales ? [] : pow2 ? raisedChannels(data, tensor.dims, perChannel ? axis : null, range, minScales) : [...minScales].flatMap((m, c) => (m > 0 && m === q.scales[perChannel ? c : 0] ? [c] : []));
  const params: WeightParams = { dtype, axis: perChannel ? axis : null, scales: [...q.scales], zeroPoints: [...q.zeroPoints], raisedForBias: raised, ...recorded };
  if (!biasTensor || xScale === undefined) return { name, params, q: q.q, oneGroup };
  const scales = [...q.scales].map((s) => Math.fround(xScale * s));
  const bias = { params: { tensor: n.inputs[biasAt]!, weight: name, activation, scales }, q: quantizeBiasWithScales(biasTensor.toFloat64(), scales) };
  return { name, params, q: q.q, bias, oneGroup };
}

/** Channels whose free scale is below the bias's floor (with --pow2-scales the stored scale is a power of two at or above it). */
function raisedChannels(data: Float32Array, dims: readonly number[], axis: number | null, range: QRange, minScales: Float32Array): number[] {
  const perChannel = axis !== null;
  const { outer, channels, inner } = perChannel ? channelLayout(dims, axis, data.length) : { outer: 1, channels: 1, inner: data.length };
  const free = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < inner; i++) free[c] = Math.max(free[c]!, Math.abs(data[(o * channels + c) * inner + i]!));
    }
  }
  const sFree = (c: number) => computeScaleZeroPoint(-free[c]!, free[c]!, { ...range, symmetric: true }).scale;
  if (!perChannel) {
    const s = sFree(0);
    let top = 0;
    for (const m of minScales) top = Math.max(top, m);
    return top > s ? [...minScales].flatMap((m, c) => (m === top ? [c] : [])) : [];
  }
  return [...minScales].flatMap((m, c) => (m > sFree(c) ? [c] : []));
}

/**
 * --group-size (or an override's blockSize) for one weight: its input-channel axis and group size,
 * `oneGroup` when that axis holds no more than one group (per-channel is the same grouping then).
 * int16 weights (the accuracy search's fallback) and per-tensor weights take no groups.
 */
function groupingOf(dims: readonly number[], role: Extract<InputRole, { kind: 'weight' }>, perChannel: boolean, dtype: QType, config: Readonly<QuantConfig>, o: { blockSize?: number } | undefined) {
  const groupSize = o?.blockSize ?? config.groupSize;
  if (groupSize === undefined || !perChannel || role.inputAxis === undefined || dtype === 'int16') return undefined;
  const inputAxis = role.inputAxis < 0 ? role.inputAxis + dims.length : role.inputAxis;
  return { inputAxis, groupSize, oneGroup: dims[inputAxis]! <= groupSize };
}

/**
 * Before calibration: refuses per-group weights the target cannot run (as planning would, after
 * calibration), so the user is told at once.
 */
export function checkGroupedWeights(g: Graph, a: Analysis, config: Readonly<QuantConfig>, overrides: PlanOptions['overrides'], perChannelAllowed: boolean): void {
  if (config.groupSize === undefined && !Object.values(overrides?.weights ?? {}).some((w) => w.blockSize !== undefined)) return;
  for (const n of g.nodes) {
    const d = a.decisions.get(n)!;
    if (d.status !== 'quantized' || !d.rule) continue;
    d.rule.inputs.forEach((role, i) => {
      if (role.kind !== 'weight') return;
      const name = n.inputs[i]!;
      const tensor = g.constantOf(name);
      if (!tensor) return;
      const o = overrides?.weights?.[name];
      const perChannel = (o?.perChannel ?? config.perChannel) && perChannelAllowed && tensor.dims.length >= 2 && !role.perTensorOnly;
      const dtype = o?.dtype ?? config.weightType;
      const grouping = groupingOf(tensor.dims, role, perChannel, dtype, config, o);
      if (grouping && !grouping.oneGroup) refuseUnrunnableGroups(n, name, dtype, role, config);
    });
  }
}

/**
 * Where onnxruntime's CPU provider cannot run per-group int8/uint8 weights (measured with
 * onnxruntime-node 1.30, opset 21, at the extended and all optimisation levels): the rule names the
 * integer kernel its node is fused into (MatMul; Conv without a bias), and that kernel rejects
 * blocked weight scales when run. Gemm, and Conv with an int32 bias, stay float ops on the
 * dequantized weight and run; int4 weights run everywhere (no int8 kernel takes them). One line
 * naming the node, instead of a model that fails.
 */
function refuseUnrunnableGroups(n: Node, weight: string, dtype: QType, role: Extract<InputRole, { kind: 'weight' }>, config: Readonly<QuantConfig>): void {
  if (config.target !== 'ort-cpu' && config.target !== 'ort-cpu-novnni') return;
  if ((dtype !== 'int8' && dtype !== 'uint8') || !role.blockedInt8Fusion) return;
  throw new UnsupportedError(`--group-size: ${n.opType} '${n.name}' (weight '${weight}') cannot run with per-group ${dtype} weights on ${config.target}: onnxruntime fuses it into ${role.blockedInt8Fusion}, which takes one weight scale per tensor or per channel, and the model fails when run; use --weight-type int4 (onnxruntime runs int4 groups), or --exclude-nodes ${n.name}, or drop --group-size`);
}

interface GroupPlan {
  axis: number;
  oneGroup: boolean;
  inputAxis: number;
  groupSize: number;
  dtype: QType;
  range: QRange;
  clampTo: QRange;
  round?: QuotientRounding;
  pow2: boolean;
  recorded: Partial<WeightParams>;
}

/**
 * --group-size: blocks of `groupSize` input channels, one scale each (blocked DequantizeLinear).
 * The bias is not added to an integer accumulator here (onnxruntime dequantizes such a weight and
 * runs the layer in float), so its int32 scale only has to hold it: per output channel s_x times
 * the largest group scale of that channel (a power of two when the scales are), raised where the
 * bias would not fit int32. The weight's own scales are not raised for the bias.
 */
function groupedWeight(
  name: string, data: Float32Array, dims: readonly number[], p: GroupPlan,
  bias: { n: Node; biasAt: number; activation: string; xScale: number; values: Float64Array; minScales: Float32Array } | undefined,
) {
  const b = quantizeWeightBlocks(data, dims, p.inputAxis, p.groupSize, { ...p.range, clampTo: p.clampTo, round: p.round, pow2: p.pow2 });
  const params: WeightParams = { dtype: p.dtype, axis: p.inputAxis, scales: [...b.scales], zeroPoints: [...b.zeroPoints], raisedForBias: [], blockSize: p.groupSize, ...p.recorded };
  if (!bias) return { name, params, q: b.q, oneGroup: false };
  const { outer, channels, inner } = channelLayout(b.scaleDims, p.axis, b.scales.length);
  const top = new Float64Array(channels);
  for (let o = 0; o < outer; o++) for (let c = 0; c < channels; c++) for (let i = 0; i < inner; i++) top[c] = Math.max(top[c]!, b.scales[(o * channels + c) * inner + i]!);
  const scales = [...top].map((s, c) => {
    const need = Math.max(s, bias.minScales[bias.minScales.length === 1 ? 0 : c]!);
    return Math.fround(bias.xScale * (p.pow2 ? pow2Bounds(need)[1] : need));
  });
  const biasPlan = { params: { tensor: bias.n.inputs[bias.biasAt]!, weight: name, activation: bias.activation, scales }, q: quantizeBiasWithScales(bias.values, scales) };
  return { name, params, q: b.q, bias: biasPlan, oneGroup: false };
}

/**
 * Per-tensor weight scale: symmetric over the whole tensor (uint8: asymmetric), raised if a bias
 * needs it; with pow2, the power of two below or above with less error, the zero point recomputed.
 */
function perTensor(data: Float32Array, range: QRange, dtype: QType, minScales: Float32Array | undefined, clampTo: QRange, round?: QuotientRounding, pow2 = false) {
  let lo = 0;
  let hi = 0;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const p = computeScaleZeroPoint(lo, hi, { ...range, symmetric: dtype !== 'uint8' });
  let scale = p.scale;
  if (minScales) for (const m of minScales) if (m > scale) scale = m;
  const scales = new Float32Array([scale]);
  const zeroPoints = new Int32Array([p.zeroPoint]);
  if (pow2) {
    const floor = minScales ? Math.max(0, ...minScales) : 0;
    choosePow2Scales(data, () => 0, scales, zeroPoints, () => floor, clampTo);
    // Zero point handling unchanged: the asymmetric (uint8) one follows the new scale.
    if (dtype === 'uint8') zeroPoints[0] = Math.min(range.qmax, Math.max(range.qmin, roundHalfToEven(range.qmin - lo / scales[0]!)));
  }
  return { scales, zeroPoints, q: quantizeWithParams(data, [data.length], null, scales, zeroPoints, clampTo, round) };
}
