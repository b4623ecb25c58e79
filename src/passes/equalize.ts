// Cross-layer equalisation (ALGORITHMS.md §4; Nagel et al. 2019, "Data-Free Quantization"):
//
//   L1 ─▶ f ─▶ L2      with f positively homogeneous per channel: f(s·x) = s·f(x) for s > 0
//
// Output channel i of L1 (its weights and bias) is divided by s_i and input channel i of L2 is
// multiplied by s_i, s_i = sqrt(r1_i / r2_i), r = the channel's max |w|. Afterwards both channels
// have the range sqrt(r1_i·r2_i): per-tensor weight quantization no longer wastes its grid on the
// one wide channel. The float function is unchanged (up to float32 rounding of the new weights).
//
// Layers: Conv (any group: output channel m, input channel c of group ⌊c/(C/g)⌋ — a depthwise
// Conv's input and output channel i are one channel, so pointwise → depthwise → pointwise
// equalizes through it), Gemm (transA=0, constant B, C a scalar or [N]) and MatMul with a constant
// 2-D B (a following constant [N] bias Add is its bias). Conv pairs with Conv (channel axis 1),
// Gemm/MatMul with Gemm/MatMul (channel = last axis).
//
// Between them: nothing, or a chain of Relu, LeakyRelu, PRelu (both are x or α·x by the sign of
// x, which a positive scale keeps: f(s·x) = s·f(x) for any α, per channel too, so no slope
// changes), and for Conv the per-channel pooling ops (MaxPool, AveragePool, GlobalAveragePool,
// GlobalMaxPool: a max or mean within one channel commutes with a positive scale of it).
// Not: Clip/Relu6 (its bounds are one number per tensor; min(6, s·x) ≠ s·min(6, x) unless every
// s_i is equal, so it would need per-channel bounds ONNX's Clip does not have), HardSwish,
// HardSigmoid, Sigmoid, Tanh, any join (Add, Concat, Mul) and any tensor with another consumer or
// that is a graph output (its other reader would see the rescaled channels).
//
// The pairs are equalized in graph order, round after round (a layer between two pairs is
// rescaled by both), until no channel moves by more than 0.1% or MAX_ROUNDS; the arithmetic is in
// float64 and the new weights are written once, as new initializers (a weight shared with another
// node is never changed in place; cleanup drops the old one when nobody reads it).
import { DataType, Tensor, isDefaultDomain, type Graph, type Node } from '../ir/index.js';
import type { Pass } from './pass.js';

const MAX_ROUNDS = 20;
const TOLERANCE = 1e-3;
const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu', 'PRelu']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']);
const NOT_HOMOGENEOUS = new Set(['Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Softplus', 'Gelu', 'Mish']);

type Family = 'conv' | 'linear';

interface Layer {
  node: Node;
  family: Family;
  w: Float64Array;
  dims: number[];
  outChannels: number;
  inChannels: number;
  /** Visits the flat indices of output channel o / input channel c of the weight. */
  forOut(o: number, f: (i: number) => void): void;
  forIn(c: number, f: (i: number) => void): void;
  /** Bias per output channel (Conv B, Gemm C expanded, MatMul's bias Add), when there is one. */
  bias?: { data: Float64Array; node: Node; input: number; dims: number[] };
  /** The tensor the layer's result is in (a MatMul's bias Add output). */
  output: string;
  /** Why this layer cannot be the first of a pair (its bias cannot be rescaled per channel). */
  noFirst?: string;
  changed: boolean;
}

export interface EqualizeResult {
  pairs: Array<[string, string]>;
  rounds: number;
  /** Why a weight layer's output was not equalized with a next layer → how many. */
  skipped: Map<string, number>;
}

export const equalize: Pass = {
  name: 'equalize',
  run(model) {
    const r = equalizeGraph(model.graph);
    const skipped = [...r.skipped].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([why, n]) => `${n} ${why}`);
    const notes = [`${r.pairs.length} layer pair${r.pairs.length === 1 ? '' : 's'} equalized in ${r.rounds} round${r.rounds === 1 ? '' : 's'}`];
    if (skipped.length) notes.push(`not equalized (layer outputs): ${skipped.join(', ')}`);
    return notes;
  },
};

export function equalizeGraph(g: Graph): EqualizeResult {
  const layers = new Map<Node, Layer>();
  for (const n of g.nodes) {
    const l = layerOf(g, n);
    if (l) layers.set(n, l);
  }
  const pairs: Array<[Layer, Layer]> = [];
  const skipped = new Map<string, number>();
  for (const l1 of layers.values()) {
    const next = followChain(g, l1, layers);
    if (typeof next === 'string') {
      if (next) skipped.set(next, (skipped.get(next) ?? 0) + 1);
      continue;
    }
    pairs.push([l1, next]);
  }
  let rounds = 0;
  while (pairs.length && rounds < MAX_ROUNDS) {
    rounds++;
    let moved = 0;
    for (const [a, b] of pairs) moved = Math.max(moved, equalizePair(a, b));
    if (moved < TOLERANCE) break;
  }
  for (const l of layers.values()) if (l.changed) write(g, l);
  return { pairs: pairs.map(([a, b]) => [a.node.name, b.node.name]), rounds, skipped };
}

/** Rescales one pair; returns the largest |ln s_i|. */
function equalizePair(a: Layer, b: Layer): number {
  let moved = 0;
  for (let i = 0; i < a.outChannels; i++) {
    let r1 = 0;
    let r2 = 0;
    a.forOut(i, (k) => { r1 = Math.max(r1, Math.abs(a.w[k]!)); });
    b.forIn(i, (k) => { r2 = Math.max(r2, Math.abs(b.w[k]!)); });
    if (!(r1 > 0) || !(r2 > 0)) continue; // a dead channel: nothing to balance
    const s = Math.sqrt(r1 / r2);
    if (!Number.isFinite(s) || s === 1) continue;
    a.forOut(i, (k) => { a.w[k] = a.w[k]! / s; });
    if (a.bias) a.bias.data[i] = a.bias.data[i]! / s;
    b.forIn(i, (k) => { b.w[k] = b.w[k]! * s; });
    a.changed = b.changed = true;
    moved = Math.max(moved, Math.abs(Math.log(s)));
  }
  return moved;
}

function write(g: Graph, l: Layer): void {
  const wName = g.uniqueName(`${l.node.inputs[1]}_equalized`);
  g.addInitializer(Tensor.fromFloat32(wName, l.dims, Float32Array.from(l.w)));
  g.setNodeInput(l.node, 1, wName);
  if (!l.bias) return;
  const old = l.bias.node.inputs[l.bias.input]!;
  const bName = g.uniqueName(`${old}_equalized`);
  g.addInitializer(Tensor.fromFloat32(bName, l.bias.dims, Float32Array.from(l.bias.data)));
  g.setNodeInput(l.bias.node, l.bias.input, bName);
}

const floatConst = (g: Graph, name: string | undefined) => {
  const t = name ? g.constantOf(name) : undefined;
  return t && t.dtype === DataType.FLOAT ? t : undefined;
};

/** The weight layer `n` is, or undefined when it is none we can rescale. */
function layerOf(g: Graph, n: Node): Layer | undefined {
  if (!isDefaultDomain(n.domain)) return undefined;
  const wt = floatConst(g, n.inputs[1]);
  if (!wt || !n.outputs[0]) return undefined;
  const w = wt.toFloat64();
  const dims = [...wt.dims];
  const base = { node: n, w, dims, output: n.outputs[0], changed: false };
  if (n.opType === 'Conv') {
    if (dims.length < 3) return undefined;
    const group = n.attrInt('group', 1);
    const [m, cg] = dims as [number, number];
    if (group < 1 || m % group !== 0) return undefined;
    const inner = dims.slice(2).reduce((a, d) => a * d, 1);
    const mg = m / group;
    let bias: Layer['bias'];
    let noFirst: string | undefined;
    if (n.inputs[2]) {
      const b = floatConst(g, n.inputs[2]);
      if (b && b.size === m) bias = { data: b.toFloat64(), node: n, input: 2, dims: [...b.dims] };
      else noFirst = 'its bias is not a float constant';
    }
    return {
      ...base, family: 'conv', outChannels: m, inChannels: cg * group, bias, noFirst,
      forOut: (o, f) => { for (let i = o * cg * inner, e = (o + 1) * cg * inner; i < e; i++) f(i); },
      forIn: (c, f) => {
        const gi = Math.floor(c / cg);
        const cl = c % cg;
        for (let mm = gi * mg; mm < (gi + 1) * mg; mm++) for (let i = (mm * cg + cl) * inner, e = i + inner; i < e; i++) f(i);
      },
    };
  }
  if (n.opType !== 'Gemm' && n.opType !== 'MatMul') return undefined;
  if (dims.length !== 2) return undefined;
  const [rows, cols] = dims as [number, number];
  const transB = n.opType === 'Gemm' && n.attrInt('transB', 0) === 1;
  const [k, nOut] = transB ? [cols, rows] : [rows, cols];
  const layer: Layer = {
    ...base, family: 'linear', outChannels: nOut, inChannels: k,
    // [K, N]: column o / row c; [N, K] (transB): row o / column c.
    forOut: transB ? (o, f) => { for (let i = o * cols; i < (o + 1) * cols; i++) f(i); } : (o, f) => { for (let r = 0; r < rows; r++) f(r * cols + o); },
    forIn: transB ? (c, f) => { for (let r = 0; r < rows; r++) f(r * cols + c); } : (c, f) => { for (let i = c * cols; i < (c + 1) * cols; i++) f(i); },
  };
  if (n.opType === 'Gemm') {
    if (n.attrInt('transA', 0) !== 0) return undefined; // the input's channel axis is 0
    if (n.inputs[2]) {
      const c = floatConst(g, n.inputs[2]);
      if (c && c.size === nOut && c.dims.length <= 2 && (c.dims.length < 2 || c.dims[0] === 1)) layer.bias = { data: c.toFloat64(), node: n, input: 2, dims: [...c.dims] };
      else if (c && c.size === 1) layer.bias = { data: new Float64Array(nOut).fill(c.toFloat64()[0]!), node: n, input: 2, dims: [nOut] };
      else layer.noFirst = 'its C is not a float scalar or [N] vector';
    }
    return layer;
  }
  // MatMul: a constant [N] bias Add that only it feeds is its bias.
  const users = g.consumersOf(n.outputs[0]);
  const add = users.length === 1 && !g.isGraphOutput(n.outputs[0]) ? users[0]! : undefined;
  if (add && add.opType === 'Add' && isDefaultDomain(add.domain) && add.outputs[0]) {
    const at = add.inputs[0] === n.outputs[0] ? 1 : 0;
    const c = add.inputs[1 - at] === n.outputs[0] ? floatConst(g, add.inputs[at]) : undefined;
    if (c && c.size === nOut && c.dims.length >= 1 && c.dims[c.dims.length - 1] === nOut) {
      layer.bias = { data: c.toFloat64(), node: add, input: at, dims: [...c.dims] };
      layer.output = add.outputs[0];
    }
  }
  return layer;
}

/** The layer `l` pairs with, or why none ('' when its output simply feeds no weight layer). */
function followChain(g: Graph, l: Layer, layers: ReadonlyMap<Node, Layer>): Layer | string {
  if (l.noFirst) return `${l.node.opType} whose bias cannot be rescaled`;
  let t = l.output;
  for (;;) {
    if (g.isGraphOutput(t)) return '';
    const users = g.consumersOf(t);
    if (users.length !== 1) return users.length === 0 ? '' : 'feeding more than one node';
    const u = users[0]!;
    if (!isDefaultDomain(u.domain)) return '';
    const next = layers.get(u);
    if (next) {
      if (u.inputs[0] !== t || u.inputs.indexOf(t, 1) > 0) return '';
      if (next.family !== l.family) return `${l.node.opType} into ${u.opType} (channel axes differ)`;
      if (next.inChannels !== l.outChannels) return '';
      return next;
    }
    const homogeneous = HOMOGENEOUS.has(u.opType) || (l.family === 'conv' && POOLS.has(u.opType) && !u.outputs[1]);
    if (!homogeneous || u.inputs[0] !== t || u.inputs.indexOf(t, 1) > 0) {
      if (NOT_HOMOGENEOUS.has(u.opType)) return `through ${u.opType} (not positively homogeneous)`;
      if (['Add', 'Sum', 'Concat', 'Mul', 'Sub', 'Div'].includes(u.opType)) return `into a join (${u.opType})`;
      return '';
    }
    t = u.outputs[0]!;
  }
}
