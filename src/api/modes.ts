// Dynamic and weight-only modes: no calibration, only weights are quantized ahead of time.
//
// dynamic:     X ─▶ MatMul(W) ─▶ Y   becomes   X ─▶ DynamicQuantizeMatMul(W_int8, s_w, z_w, bias) ─▶ Y
//              (com.microsoft; the activation is quantized per batch at run time). Gemm likewise
//              when transA=0, alpha=beta=1 (B is transposed to [K, N] ahead of time). LSTM (layout=0,
//              constant W and R) becomes DynamicQuantizeLSTM (com.microsoft) with int8 W and R
//              per output channel, stored transposed: [dirs, input, 4·hidden] and [dirs, hidden,
//              4·hidden]. GRU/RNN stay float: onnxruntime has no dynamic-quantized kernel for them.
// weight-only: int8: W is stored int8 per output channel and dequantized in the graph
//              (DQ(W) ─▶ MatMul); int4: MatMulNBits (com.microsoft), blocks of `blockSize` along K.
import { Node, Tensor, makeAttr, type Graph, type Model } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { quantizeWeightPerChannel, qRange } from '../math/qparams.js';
import { ensureMsDomain, ensureOpset } from '../passes/index.js';
import { intTensor, scaleTensor, zeroPointTensor } from '../passes/qtensors.js';
import type { QuantPlan } from '../quant/plan.js';

interface Candidate {
  node: Node;
  /** Weight as [K, N]. */
  k: number;
  n: number;
  w: Float32Array;
  bias?: Float32Array;
}

interface LstmCandidate {
  node: Node;
  dirs: number;
  hidden: number;
  input: number;
  /** ONNX layout: W [dirs, 4·hidden, input], R [dirs, 4·hidden, hidden]. */
  w: Float32Array;
  r: Float32Array;
}

/**
 * MatMul/Gemm candidates; with `lstm` (dynamic mode) also LSTM candidates. Every other node gets a
 * float note saying why.
 */
function candidates(g: Graph, config: Readonly<QuantConfig>, notes: QuantPlan['nodes'], lstm?: LstmCandidate[]): Candidate[] {
  const out: Candidate[] = [];
  const ops = lstm ? 'MatMul/Gemm/LSTM' : 'MatMul/Gemm';
  for (const node of g.nodes) {
    const skip = (reason: string) => notes.push({ name: node.name, opType: node.opType, status: 'float', reason });
    if (lstm && !node.domain && (node.opType === 'GRU' || node.opType === 'RNN')) {
      skip(`${config.mode} mode: onnxruntime has no dynamic-quantized ${node.opType} kernel (only LSTM → DynamicQuantizeLSTM)`);
      continue;
    }
    if (lstm && !node.domain && node.opType === 'LSTM') {
      if (config.excludeNodes.includes(node.name) || config.excludeOps.includes(node.opType)) { skip('excluded'); continue; }
      const c = lstmCandidate(g, node);
      if (typeof c === 'string') { skip(c); continue; }
      lstm.push(c);
      notes.push({ name: node.name, opType: node.opType, status: 'quantized', reason: `${config.mode}: DynamicQuantizeLSTM, int8 W and R per output channel` });
      continue;
    }
    if (node.domain || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) {
      skip(`${config.mode} mode quantizes ${ops} weights only`);
      continue;
    }
    if (config.excludeNodes.includes(node.name) || config.excludeOps.includes(node.opType)) { skip('excluded'); continue; }
    const wt = g.constantOf(node.inputs[1] ?? '');
    if (!wt || wt.dims.length !== 2) { skip('weight is not a constant 2-D tensor'); continue; }
    let w = wt.toFloat32();
    let [k, n] = wt.dims as [number, number];
    let bias: Float32Array | undefined;
    if (node.opType === 'Gemm') {
      if (node.attrInt('transA', 0) || node.attrFloat('alpha', 1) !== 1 || node.attrFloat('beta', 1) !== 1) { skip('Gemm with transA or alpha/beta ≠ 1'); continue; }
      if (node.attrInt('transB', 0)) [w, k, n] = [transpose(w, k, n), n, k];
      const c = node.inputs[2] ? g.constantOf(node.inputs[2]) : undefined;
      if (node.inputs[2] && (!c || c.size !== n)) { skip('Gemm C is not a constant [N] vector'); continue; }
      bias = c?.toFloat32();
    }
    out.push({ node, k, n, w, bias });
    notes.push({ name: node.name, opType: node.opType, status: 'quantized', reason: `${config.mode}: int8 weights per output channel` });
  }
  return out;
}

/** An LSTM that DynamicQuantizeLSTM can take, or the reason it stays float. */
function lstmCandidate(g: Graph, node: Node): LstmCandidate | string {
  if (node.attrInt('layout', 0) !== 0) return 'LSTM with layout=1 (batch first): DynamicQuantizeLSTM has no layout attribute';
  const wt = g.constantOf(node.inputs[1] ?? '');
  const rt = g.constantOf(node.inputs[2] ?? '');
  if (!wt || !rt) return 'LSTM W or R is not a constant';
  if (wt.dims.length !== 3 || rt.dims.length !== 3) return 'LSTM W or R is not 3-D';
  const [dirs, h4, input] = wt.dims as [number, number, number];
  const hidden = h4 / 4;
  const direction = node.attrString('direction') ?? 'forward';
  const wantDirs = direction === 'bidirectional' ? 2 : 1;
  const attrHidden = node.attrInt('hidden_size', hidden);
  if (!Number.isInteger(hidden) || hidden < 1 || dirs !== wantDirs || attrHidden !== hidden
    || rt.dims[0] !== dirs || rt.dims[1] !== h4 || rt.dims[2] !== hidden) {
    return `LSTM W ${JSON.stringify(wt.dims)} / R ${JSON.stringify(rt.dims)} do not match direction=${direction}, hidden_size=${attrHidden}`;
  }
  return { node, dirs, hidden, input, w: wt.toFloat32(), r: rt.toFloat32() };
}

/**
 * One LSTM weight [dirs, 4·hidden, cols] → int8 per output channel (symmetric, zero point 0),
 * transposed per direction to DynamicQuantizeLSTM's [dirs, cols, 4·hidden]; scales and zero
 * points [dirs, 4·hidden].
 */
function quantizeLstmWeight(g: Graph, name: string, w: Float32Array, dirs: number, h4: number, cols: number, config: Readonly<QuantConfig>) {
  const q = quantizeWeightPerChannel(w, [dirs * h4, cols], 0, qRange('int8', { symmetric: true, reduceRange: config.reduceRange }));
  const t = new Int32Array(q.q.length);
  for (let d = 0; d < dirs; d++) {
    const at = d * h4 * cols;
    for (let o = 0; o < h4; o++) for (let k = 0; k < cols; k++) t[at + k * h4 + o] = q.q[at + o * cols + k]!;
  }
  return {
    q: g.addInitializer(intTensor(g.uniqueName(`${name}_quantized`), 'int8', [dirs, cols, h4], t)).name,
    scale: g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${name}_scale`), [dirs, h4], Float32Array.from(q.scales))).name,
    zeroPoint: g.addInitializer(intTensor(g.uniqueName(`${name}_zero_point`), 'int8', [dirs, h4], q.zeroPoints)).name,
  };
}

function dynamicLstm(g: Graph, c: LstmCandidate, config: Readonly<QuantConfig>): void {
  const base = c.node.name;
  const h4 = 4 * c.hidden;
  const w = quantizeLstmWeight(g, `${base}_W`, c.w, c.dirs, h4, c.input, config);
  const r = quantizeLstmWeight(g, `${base}_R`, c.r, c.dirs, h4, c.hidden, config);
  // X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale, R_zero_point
  const optional = [3, 4, 5, 6, 7].map((i) => c.node.inputs[i] ?? '');
  const inputs = [c.node.inputs[0]!, w.q, r.q, ...optional, w.scale, w.zeroPoint, r.scale, r.zeroPoint];
  const attributes = c.node.attributes.filter((a) => a.name !== 'layout');
  if (!c.node.attr('hidden_size')) attributes.push(makeAttr.int('hidden_size', c.hidden));
  const outputs = [...c.node.outputs];
  g.removeNode(c.node);
  g.addNode(new Node({ name: g.uniqueName(`${base}_DynamicQuantizeLSTM`), opType: 'DynamicQuantizeLSTM', domain: 'com.microsoft', inputs, outputs, attributes }));
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

function emptyPlan(config: Readonly<QuantConfig>, nodes: QuantPlan['nodes']): QuantPlan {
  return { version: 1, mode: config.mode, format: config.format, target: config.target, algo: config.algo, activations: {}, absorbed: {}, weights: {}, biases: {}, nodes };
}

export function applyDynamic(model: Model, config: Readonly<QuantConfig>): QuantPlan {
  const g = model.graph;
  const nodes: QuantPlan['nodes'] = [];
  const lstms: LstmCandidate[] = [];
  const matmuls = candidates(g, config, nodes, lstms);
  for (const c of lstms) dynamicLstm(g, c, config);
  for (const c of matmuls) {
    const q = quantizeWeightPerChannel(c.w, [c.k, c.n], 1, qRange('int8', { symmetric: true, reduceRange: config.reduceRange }));
    const base = c.node.name;
    const wq = g.addInitializer(intTensor(g.uniqueName(`${base}_W_quantized`), 'int8', [c.k, c.n], q.q)).name;
    const ws = g.addInitializer(scaleTensor(g.uniqueName(`${base}_W_scale`), [...q.scales], true)).name;
    const wz = g.addInitializer(zeroPointTensor(g.uniqueName(`${base}_W_zero_point`), 'int8', [...q.zeroPoints], true)).name;
    const inputs = [c.node.inputs[0]!, wq, ws, wz];
    if (c.bias) inputs.push(g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_bias`), [c.n], c.bias)).name);
    const y = c.node.outputs[0]!;
    g.removeNode(c.node);
    g.addNode(new Node({ name: g.uniqueName(`${base}_DynamicQuantizeMatMul`), opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', inputs, outputs: [y] }));
  }
  ensureMsDomain(model);
  return emptyPlan(config, nodes);
}

export function applyWeightOnly(model: Model, config: Readonly<QuantConfig>): QuantPlan {
  const g = model.graph;
  const nodes: QuantPlan['nodes'] = [];
  if (config.weightType !== 'int4') ensureOpset(model, 13, 'per-channel DequantizeLinear');
  for (const c of candidates(g, config, nodes)) {
    if (config.weightType === 'int4') matMulNBits(g, c, config.blockSize);
    else dequantizedWeight(g, c, config);
  }
  if (config.weightType === 'int4') ensureMsDomain(model);
  return emptyPlan(config, nodes);
}

function dequantizedWeight(g: Graph, c: Candidate, config: Readonly<QuantConfig>): void {
  const q = quantizeWeightPerChannel(c.w, [c.k, c.n], 1, qRange('int8', { symmetric: true, reduceRange: config.reduceRange }));
  const base = c.node.name;
  const wq = g.addInitializer(intTensor(g.uniqueName(`${base}_W_quantized`), 'int8', [c.k, c.n], q.q)).name;
  const ws = g.addInitializer(scaleTensor(g.uniqueName(`${base}_W_scale`), [...q.scales], true)).name;
  const wz = g.addInitializer(zeroPointTensor(g.uniqueName(`${base}_W_zero_point`), 'int8', [...q.zeroPoints], true)).name;
  const out = g.uniqueName(`${base}_W_dequantized`);
  g.addNode(new Node({ name: g.uniqueName(`${base}_W_DequantizeLinear`), opType: 'DequantizeLinear', inputs: [wq, ws, wz], outputs: [out], attributes: [makeAttr.int('axis', 1)] }), { before: c.node });
  if (c.node.opType === 'Gemm' && c.node.attrInt('transB', 0)) c.node.attributes = c.node.attributes.filter((a) => a.name !== 'transB');
  g.setNodeInput(c.node, 1, out);
}

/** int4 symmetric blocks along K, stored as uint4 (q + 8) in MatMulNBits' [N, blocks, blob] layout. */
function matMulNBits(g: Graph, c: Candidate, blockSize: number): void {
  const blocks = Math.ceil(c.k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(c.n * blocks * blob);
  const scales = new Float32Array(c.n * blocks);
  for (let col = 0; col < c.n; col++) {
    for (let b = 0; b < blocks; b++) {
      let amax = 0;
      for (let i = b * blockSize; i < Math.min(c.k, (b + 1) * blockSize); i++) amax = Math.max(amax, Math.abs(c.w[i * c.n + col]!));
      const s = amax > 0 ? Math.fround(amax / 7) : 1;
      scales[col * blocks + b] = s;
      for (let j = 0; j < blockSize; j++) {
        const i = b * blockSize + j;
        const q = i < c.k ? Math.max(-8, Math.min(7, Math.round(c.w[i * c.n + col]! / s))) + 8 : 8;
        const at = (col * blocks + b) * blob + (j >> 1);
        packed[at]! |= j & 1 ? q << 4 : q;
      }
    }
  }
  const base = c.node.name;
  const bq = g.addInitializer(Tensor.fromTyped(g.uniqueName(`${base}_B_nbits`), 2, [c.n, blocks, blob], packed)).name;
  const bs = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_B_scales`), [c.n * blocks], scales)).name;
  const inputs = [c.node.inputs[0]!, bq, bs];
  if (c.bias) inputs.push('', '', g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_bias`), [c.n], c.bias)).name);
  const y = c.node.outputs[0]!;
  g.removeNode(c.node);
  g.addNode(new Node({
    name: g.uniqueName(`${base}_MatMulNBits`), opType: 'MatMulNBits', domain: 'com.microsoft', inputs, outputs: [y],
    attributes: [makeAttr.int('K', c.k), makeAttr.int('N', c.n), makeAttr.int('bits', 4), makeAttr.int('block_size', blockSize)],
  }));
}
