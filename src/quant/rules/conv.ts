// Conv and ConvTranspose: weight per output channel (axis 0 for Conv, 1 for ConvTranspose), a
// constant bias per channel at s_x·s_w. QOperator: QLinearConv.
import { DataType, Node, Tensor, intTensor, makeAttr, type Attribute, type Graph } from '../../ir/index.js';
import { reason, type Reason } from '../reasons.js';
import { correctBiasInput } from './bias.js';
import { dequantizedWeight } from './linear.js';
import type { FormRewrite, FormUnit, InputRole, OpRule } from './types.js';

const A: InputRole = { kind: 'activation' };
const NONE: InputRole = { kind: 'none' };

export const conv: { -readonly [K in keyof OpRule]: OpRule[K] } = {
  ops: ['Conv'],
  describe(n, ctx) {
    if (!ctx.isConstant(n.inputs[1] ?? '')) return { float: reason('weight-not-constant', 'Conv weight is not a constant') };
    const biased = !!n.inputs[2] && ctx.isConstant(n.inputs[2]);
    // Without an int32 bias, onnxruntime fuses DQ → Conv → Q into QLinearConv even with blocked weights.
    const inputs: InputRole[] = [A, { kind: 'weight', axis: 0, inputAxis: 1, ...(biased ? {} : { blockedInt8Fusion: 'QLinearConv' }) }];
    if (n.inputs[2]) inputs.push(biased ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    return { inputs, outputs: [{ kind: 'activation' }], weighted: true };
  },
  lower(m) {
    const { node: n, ins: [a, b], out } = m;
    // The bias: int32 at s_x·s_w, zero point 0 (its DequantizeLinear has no zero-point input).
    const c = n.inputs[2] ? m.bias(2) : undefined;
    if (!out || !m.allQuantized(2) || (n.inputs[2] && !c)) return undefined;
    return m.make('QLinearConv', '', [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp, ...(c ? [c] : [])], [out.q]);
  },
  // Weight [M, C/group, k…] of any rank, output [N, M, …] of the same rank; B is input 2.
  biasCorrection: {
    outputChannels: (_node, dims) => dims[0],
    channelAxis: 1,
    applyBias: (g, node, correction) => correctBiasInput(g, node, 2, correction),
  },
  // X is [N, C, …]: channel c meets W[:, c, …].
  inputChannelAxis: () => 1,
};

export const convTranspose: OpRule = {
  ops: ['ConvTranspose'],
  inputChannelAxis: () => 1,
  describe(n, ctx) {
    if (ctx.config.target === 'ort-cpu' || ctx.config.target === 'ort-cpu-novnni') {
      return { float: reason('no-int8-kernel', "onnxruntime's CPU provider has no int8 ConvTranspose kernel; a QDQ ConvTranspose would run in float with extra conversions") };
    }
    if (!ctx.isConstant(n.inputs[1] ?? '')) return { float: reason('weight-not-constant', 'ConvTranspose weight is not a constant') };
    const inputs: InputRole[] = [A, { kind: 'weight', axis: 1, inputAxis: 0 }];
    if (n.inputs[2]) inputs.push(ctx.isConstant(n.inputs[2]) ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    return { inputs, outputs: [{ kind: 'activation' }], weighted: true };
  },
};

/** Conv's weight as it is ([M, C/group, k…], per output channel on axis 0) and its constant bias. */
function convUnit(node: Node, g: Graph): FormUnit | { float: Reason } {
  const wt = g.constantOf(node.inputs[1] ?? '');
  if (!wt || wt.dims.length < 3) return { float: reason('weight-shape', 'Conv weight is not a constant of rank ≥ 3') };
  const b = node.inputs[2] ? g.constantOf(node.inputs[2]) : undefined;
  if (node.inputs[2] && (!b || b.size !== wt.dims[0])) return { float: reason('weight-not-constant', 'Conv bias is not a constant [M] vector') };
  return { weights: [{ input: 1, data: wt.toFloat32(), dims: [...wt.dims], axis: 0 }], bias: b?.toFloat32() };
}

/**
 * Dynamic: X ─▶ DynamicQuantizeLinear ─▶ ConvInteger(x_q, W_int8, x_z, 0) ─▶ Cast ─▶ Mul(x_s·s_w) (─▶ Add(B)) ─▶ Y.
 * The weight zero point is a scalar 0 (symmetric int8; onnxruntime's ConvInteger takes no
 * per-channel zero point), the per-channel scales are applied in float after the integer conv.
 */
function dynamicConv(r: FormRewrite): void {
  const { graph: g, node, unit } = r;
  const base = node.name;
  const w = r.weights[0]!;
  const dims = unit.weights[0]!.dims;
  const x = node.inputs[0]!;
  const [xq, xs, xz] = r.memo(`dql:${x}`, () => {
    const outs = [g.uniqueName(`${x}_quantized`), g.uniqueName(`${x}_scale`), g.uniqueName(`${x}_zero_point`)];
    g.addNode(new Node({ name: g.uniqueName(`${x}_DynamicQuantizeLinear`), opType: 'DynamicQuantizeLinear', inputs: [x], outputs: outs }), { before: node });
    return outs;
  });
  const wq = g.addInitializer(intTensor(g.uniqueName(`${base}_W_quantized`), w.dtype, dims, w.q)).name;
  const wz = g.addInitializer(intTensor(g.uniqueName(`${base}_W_zero_point`), w.dtype, [], [0])).name;
  // [M, 1, …] broadcasts over N and the spatial axes of the [N, M, …] output.
  const perChannel = [dims[0]!, ...dims.slice(2).map(() => 1)];
  const ws = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_W_scale`), w.axis === null ? [] : perChannel, Float32Array.from(w.scales))).name;
  const add = (opType: string, inputs: string[], attributes: Attribute[] = []) => {
    const out = g.uniqueName(`${base}_${opType}_out`);
    g.addNode(new Node({ name: g.uniqueName(`${base}_${opType}`), opType, inputs, outputs: [out], attributes }), { before: node });
    return out;
  };
  const acc = add('ConvInteger', [xq, wq, xz, wz], node.attributes.map((a) => ({ ...a, source: undefined })));
  const accF = add('Cast', [acc], [makeAttr.int('to', DataType.FLOAT)]);
  const scale = add('Mul', [xs, ws]);
  const y = node.outputs[0]!;
  const scaled = unit.bias ? add('Mul', [accF, scale]) : y;
  g.removeNode(node);
  if (unit.bias) {
    const bias = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_bias`), perChannel, unit.bias)).name;
    g.addNode(new Node({ name: g.uniqueName(`${base}_Add`), opType: 'Add', inputs: [scaled, bias], outputs: [y] }));
  } else {
    g.addNode(new Node({ name: g.uniqueName(`${base}_Mul`), opType: 'Mul', inputs: [accF, scale], outputs: [y] }));
  }
}

conv.dynamic = {
  order: 1,
  unit: convUnit,
  quantized: (config) => reason('dynamic-int8', `${config.mode}: ConvInteger, int8 weights per output channel`),
  dtypes: ['int8'],
  // bench/dynamic-conv.mjs: resnet_mini 0.23-0.28x the float speed (onnxruntime-node 1.30, AVX2).
  caveat: "onnxruntime's CPU ConvInteger (plus the float rescaling around it) usually runs slower than its float Conv: dynamic mode makes conv nets smaller, not faster; static mode (QLinearConv) makes them faster",
  rewrite: dynamicConv,
};

conv.weightOnly = {
  order: 1,
  unit: convUnit,
  quantized: (config) => reason('weight-only-int8', `${config.mode}: int8 weights per output channel`),
  dtypes: ['int8'],
  rewrite: dequantizedWeight,
};
