// Gemm and MatMul: y = x·W (+ C). Static: the weight is quantized per output channel (the axis of
// N), a constant [N] bias per channel at s_x·s_w. QOperator: QLinearMatMul / MatMulIntegerToFloat
// and com.microsoft QGemm. Dynamic: com.microsoft DynamicQuantizeMatMul (the activation is
// quantized per batch at run time; Gemm when transA=0, alpha=beta=1, B transposed to [K, N] ahead
// of time). Weight-only: int8 W dequantized in the graph (DQ(W) ─▶ MatMul), or int4 MatMulNBits
// (com.microsoft) with blocks of `blockSize` along K.
import { Node, Tensor, intTensor, isDefaultDomain, makeAttr, scaleTensor, zeroPointTensor, type Graph } from '../../ir/index.js';
import { correctBiasInput, correctedBiasName, existingBias, setBias } from './bias.js';

import { reason } from '../reasons.js';
import { MS } from './domains.js';
import type { FormRewrite, FormUnit, InputRole, OpRule, WeightForm } from './types.js';

const A: InputRole = { kind: 'activation' };
const NONE: InputRole = { kind: 'none' };

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

/** The weight as [K, N] (Gemm's transB undone), or why the node has no integer form. */
function linearUnit(node: Node, g: Graph): FormUnit | { float: ReturnType<typeof reason> } {
  const wt = g.constantOf(node.inputs[1] ?? '');
  if (!wt || wt.dims.length !== 2) return { float: reason('weight-shape', 'weight is not a constant 2-D tensor') };
  let data = wt.toFloat32();
  let [k, n] = wt.dims as [number, number];
  let bias: Float32Array | undefined;
  if (node.opType === gemm.ops[0]) {
    if (node.attrInt('transA', 0) || node.attrFloat('alpha', 1) !== 1 || node.attrFloat('beta', 1) !== 1) return { float: reason('unsupported-attributes', 'Gemm with transA or alpha/beta ≠ 1') };
    if (node.attrInt('transB', 0)) [data, k, n] = [transpose(data, k, n), n, k];
    const c = node.inputs[2] ? g.constantOf(node.inputs[2]) : undefined;
    if (node.inputs[2] && (!c || c.size !== n)) return { float: reason('unsupported-attributes', 'Gemm C is not a constant [N] vector') };
    bias = c?.toFloat32();
  }
  return { weights: [{ input: 1, data, dims: [k, n], axis: 1 }], bias };
}

export function storeInt8(g: Graph, base: string, r: FormRewrite) {
  const w = r.weights[0]!;
  const perChannel = w.axis !== null;
  return {
    q: g.addInitializer(intTensor(g.uniqueName(`${base}_W_quantized`), w.dtype, r.unit.weights[0]!.dims, w.q)).name,
    scale: g.addInitializer(scaleTensor(g.uniqueName(`${base}_W_scale`), w.scales, perChannel)).name,
    zeroPoint: g.addInitializer(zeroPointTensor(g.uniqueName(`${base}_W_zero_point`), w.dtype, w.zeroPoints, perChannel)).name,
  };
}

const dynamicLinear: WeightForm = {
  order: 1,
  unit: (node, g) => linearUnit(node, g),
  quantized: (config) => reason('dynamic-int8', `${config.mode}: int8 weights per output channel`),
  dtypes: ['int8'],
  rewrite(r) {
    const { graph: g, node } = r;
    const base = node.name;
    const w = storeInt8(g, base, r);
    const inputs = [node.inputs[0]!, w.q, w.scale, w.zeroPoint];
    if (r.unit.bias) inputs.push(g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_bias`), [r.unit.bias.length], r.unit.bias)).name);
    const y = node.outputs[0]!;
    g.removeNode(node);
    g.addNode(new Node({ name: g.uniqueName(`${base}_DynamicQuantizeMatMul`), opType: 'DynamicQuantizeMatMul', domain: MS, inputs, outputs: [y] }));
  },
};

const weightOnlyLinear: WeightForm = {
  order: 1,
  unit: (node, g) => linearUnit(node, g),
  quantized: (config, dtype) => (dtype === 'int4'
    ? reason('weight-only-int4', `${config.mode}: int4 weights in blocks along K (MatMulNBits)`)
    : reason('weight-only-int8', `${config.mode}: int8 weights per output channel`)),
  dtypes: ['int8', 'int4'],
  rewrite(r) {
    if (r.weights[0]!.dtype === 'int4') matMulNBits(r);
    else dequantizedWeight(r);
  },
};

/** DQ(W_int8) ─▶ MatMul/Gemm/Conv: the node stays, its weight input is dequantized in the graph. */
export function dequantizedWeight(r: FormRewrite): void {
  const { graph: g, node } = r;
  const base = node.name;
  const w = storeInt8(g, base, r);
  const out = g.uniqueName(`${base}_W_dequantized`);
  const axis = r.weights[0]!.axis;
  const attributes = axis === null ? [] : [makeAttr.int('axis', axis)];
  g.addNode(new Node({ name: g.uniqueName(`${base}_W_DequantizeLinear`), opType: 'DequantizeLinear', inputs: [w.q, w.scale, w.zeroPoint], outputs: [out], attributes }), { before: node });
  if (node.opType === gemm.ops[0] && node.attrInt('transB', 0)) node.attributes = node.attributes.filter((a) => a.name !== 'transB');
  g.setNodeInput(node, r.unit.weights[0]!.input, out);
}

/** int4 symmetric blocks along K, stored as uint4 (q + 8) in MatMulNBits' [N, blocks, blob] layout. */
function matMulNBits(r: FormRewrite): void {
  const { graph: g, node } = r;
  const w = r.weights[0]!;
  const [k, n] = r.unit.weights[0]!.dims as [number, number];
  const blockSize = w.blockSize!;
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(n * blocks * blob);
  for (let col = 0; col < n; col++) {
    for (let b = 0; b < blocks; b++) {
      for (let j = 0; j < blockSize; j++) {
        const i = b * blockSize + j;
        const q = i < k ? w.q[i * n + col]! + 8 : 8;
        const at = (col * blocks + b) * blob + (j >> 1);
        packed[at]! |= j & 1 ? q << 4 : q;
      }
    }
  }
  const base = node.name;
  const bq = g.addInitializer(Tensor.fromTyped(g.uniqueName(`${base}_B_nbits`), 2, [n, blocks, blob], packed)).name;
  const bs = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_B_scales`), [n * blocks], Float32Array.from(w.scales))).name;
  const inputs = [node.inputs[0]!, bq, bs];
  if (r.unit.bias) inputs.push('', '', g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_bias`), [n], r.unit.bias)).name);
  const y = node.outputs[0]!;
  g.removeNode(node);
  g.addNode(new Node({
    name: g.uniqueName(`${base}_MatMulNBits`), opType: 'MatMulNBits', domain: MS, inputs, outputs: [y],
    attributes: [makeAttr.int('K', k), makeAttr.int('N', n), makeAttr.int('bits', 4), makeAttr.int('block_size', blockSize)],
  }));
}

/**
 * Bias correction of a MatMul: its bias is the constant operand of the Add that alone reads its
 * output. Without one, an Add is inserted that takes over the MatMul's output name, so every
 * reader (and the calibrated range of that tensor) stays as it was.
 */
function correctMatMulBias(g: Graph, n: Node, correction: Float64Array): string | undefined {
  const size = correction.length;
  const base = correctedBiasName(n);
  const y = n.outputs[0]!;
  const users = g.consumersOf(y);
  const add = users.length === 1 && !g.isGraphOutput(y) && users[0]!.opType === 'Add' && isDefaultDomain(users[0]!.domain) ? users[0]! : undefined;
  if (add) {
    const at = add.inputs[0] === y ? 1 : 0;
    const b = add.inputs[1 - at] === y ? existingBias(g, add.inputs[at], size) : null;
    if (b && b.dims[b.dims.length - 1] === size) {
      const values = b.values;
      for (let c = 0; c < size; c++) values[c] = values[c]! - correction[c]!;
      setBias(g, add, at, values, b.dims, base);
      return undefined;
    }
  }
  const pre = g.uniqueName(`${y}_before_bias`);
  g.setNodeOutput(n, 0, pre);
  const values = Float64Array.from(correction, (v) => -v);
  const t = g.addInitializer(Tensor.fromFloat32(g.uniqueName(base), [size], Float32Array.from(values)));
  g.addNode(new Node({ name: g.uniqueName(`${n.name || n.opType}_bias_add`), opType: 'Add', inputs: [pre, t.name], outputs: [y] }), { after: n });
  return undefined;
}

export const gemm: OpRule = {
  ops: ['Gemm'],
  linear: true,
  // A is [M, K] (transA=0) or [K, M]: column k meets row k of op(B).
  inputChannelAxis: (n) => (n.attrInt('transA', 0) ? 0 : -1),
  describe(n, ctx) {
    if (n.attrInt('transA', 0) !== 0) return { float: reason('unsupported-attributes', 'Gemm with transA=1 has no integer kernel') };
    const b = n.inputs[1] ?? '';
    // B is [K, N] (transB=0) or [N, K] (transB=1); the output channel axis follows (§1).
    const inputs: InputRole[] = [A, ctx.isConstant(b) ? { kind: 'weight', axis: n.attrInt('transB', 0) ? 0 : 1, inputAxis: n.attrInt('transB', 0) ? 1 : 0 } : A];
    const c = n.inputs[2];
    if (c) {
      const biasOk = ctx.isConstant(c) && ctx.isConstant(b) && ctx.constantRank(c) === 1 && n.attrFloat('beta', 1) === 1 && n.attrFloat('alpha', 1) === 1;
      inputs.push(biasOk ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    }
    return { inputs, outputs: [{ kind: 'activation' }], weighted: ctx.isConstant(b) };
  },
  lower(m) {
    const { node: n, ins: [a, b], out } = m;
    // C: int32 at s_a·s_b, zero point 0 (its DequantizeLinear has no zero-point input).
    const c = n.inputs[2] ? m.bias(2) : undefined;
    if (!m.allQuantized(2) || (n.inputs[2] && !c)) return undefined;
    const tail = out ? [out.scale, out.zp] : [];
    return m.make('QGemm', MS, [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, c ?? '', ...tail], [out ? out.q : n.outputs[0]!], m.copyAttrs(['beta']));
  },
  // A 2-D B ([K, N], or [N, K] with transB), output [M, N]; β·C is added: C takes correction/β.
  biasCorrection: {
    outputChannels: (n, dims) => (dims.length !== 2 ? undefined : n.attrInt('transB', 0) ? dims[0] : dims[1]),
    channelAxis: 1,
    applyBias(g, n, correction) {
      const beta = n.attrFloat('beta', 1);
      return beta === 0 ? 'Gemm beta is 0' : correctBiasInput(g, n, 2, correction, beta);
    },
  },
  dynamic: dynamicLinear,
  weightOnly: weightOnlyLinear,
};

export const matmul: OpRule = {
  ops: ['MatMul'],
  linear: true,
  // A is [..., K]: its last axis meets the rows of B.
  inputChannelAxis: () => -1,
  describe(n, ctx) {
    const b = n.inputs[1] ?? '';
    const rank = ctx.constantRank(b);
    // An N-D constant B (batched MatMul) is quantized per tensor: its channel axis is not one axis.
    const w: InputRole = ctx.isConstant(b) && rank === 2 ? { kind: 'weight', axis: 1, inputAxis: 0, blockedInt8Fusion: 'QLinearMatMul/MatMulIntegerToFloat' } : ctx.isConstant(b) ? { kind: 'weight', axis: -1, perTensorOnly: true } : A;
    return { inputs: [A, w], outputs: [{ kind: 'activation' }], weighted: ctx.isConstant(b) };
  },
  lower(m) {
    const { node: n, ins: [a, b], out } = m;
    if (!m.allQuantized(2)) return undefined;
    if (out) return m.make('QLinearMatMul', '', [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp], [out.q]);
    return m.make('MatMulIntegerToFloat', MS, [a!.q, b!.q, a!.scale, b!.scale, a!.zp, b!.zp], [n.outputs[0]!]);
  },
  // A 2-D B [K, N]; the output [..., N] has any number of leading axes.
  biasCorrection: {
    outputChannels: (_n, dims) => (dims.length === 2 ? dims[1] : undefined),
    channelAxis: -1,
    applyBias: correctMatMulBias,
  },
  dynamic: dynamicLinear,
  weightOnly: weightOnlyLinear,
};

