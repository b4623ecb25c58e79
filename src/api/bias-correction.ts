// Empirical bias correction (ALGORITHMS.md §4; Nagel et al. 2019 §4.2, empirical variant).
//
// Rounding a layer's weights W to W' shifts the mean of its output: E[W'x] − E[Wx] = E[ΔW·x]
// per output channel, with ΔW = W' − W. For every quantized Conv, Gemm and MatMul (constant 2-D
// weight) of the plan, a probe model computes ΔW·x with the layer's own op and attributes on its
// float input x and sums it per output channel (ReduceSum over every other axis); onnxruntime runs
// it batch by batch over the calibration data, and only the per-channel sums (and element counts)
// are kept, so memory does not grow with the number of batches. The mean is then subtracted from
// the layer's bias, as a new float initializer (created where the layer had none: Conv B, Gemm C,
// a MatMul's bias Add), which the rules then quantize like any bias. The caller plans again.
//
// The measured corrections go into the plan (`biasCorrection`, node → per-channel values): with
// --overrides they are applied as recorded instead of measured again, so the model is reproduced.
import { DataType, Node, Tensor, isDefaultDomain, makeAttr, opsetVersion, type Graph, type Model } from '../ir/index.js';
import { decodeModel, encodeModel, modelWithOutputs } from '../onnx/index.js';
import { openDataFolder, parseFixedInputs, parsePreprocess } from '../data/index.js';
import { Session } from '../runtime/index.js';
import type { QuantConfig } from '../config/index.js';
import type { Planned } from '../quant/plan.js';
import { ModelError } from '../errors.js';

/** Node name → the value subtracted from its bias, per output channel. */
export type BiasCorrections = Record<string, number[]>;

export interface MeasureOptions {
  data: string;
  preprocess?: string;
  fixedInputs?: readonly string[];
  label: string;
  onProgress?: (done: number, total: number) => void;
}

interface Target {
  node: Node;
  /** ΔW = dequantized − float, in the weight's own layout. */
  delta: Float32Array;
  dims: number[];
  channels: number;
}

/** Dequantized-minus-float weights of every quantized Conv/Gemm/MatMul with a 2-D (or conv) constant weight. */
function targets(g: Graph, { plan, integers }: Planned): Target[] {
  const out: Target[] = [];
  const kept = new Set(plan.keepFloat?.nodes ?? []);
  for (const entry of plan.nodes) {
    if (entry.status !== 'quantized' || kept.has(entry.name) || !['Conv', 'Gemm', 'MatMul'].includes(entry.opType) || !entry.weightInputs?.includes(1)) continue;
    const node = g.nodes.find((n) => n.name === entry.name);
    if (!node || !isDefaultDomain(node.domain)) continue;
    const name = node.inputs[1]!;
    const p = plan.weights[name];
    const q = integers.weights.get(name);
    const w = g.constantOf(name);
    if (!p || !q || !w || w.dtype !== DataType.FLOAT || p.blockSize) continue;
    if (node.opType !== 'Conv' && w.dims.length !== 2) continue;
    const data = w.toFloat32();
    const dims = [...w.dims];
    const delta = new Float32Array(data.length);
    const axis = p.axis;
    const inner = axis === null ? data.length : dims.slice(axis + 1).reduce((a, d) => a * d, 1);
    const n = axis === null ? 1 : dims[axis]!;
    for (let i = 0; i < data.length; i++) {
      const c = axis === null ? 0 : Math.floor(i / inner) % n;
      delta[i] = Math.fround((q[i]! - p.zeroPoints[c]!) * p.scales[c]!) - data[i]!;
    }
    const channels = node.opType === 'Conv' ? dims[0]! : node.opType === 'Gemm' && node.attrInt('transB', 0) ? dims[0]! : dims[1]!;
    out.push({ node, delta, dims, channels });
  }
  return out;
}

/** Measures E[ΔW·x] per output channel of every target, over the calibration data. */
export async function measureBiasCorrections(model: Model, planned: Planned, config: Readonly<QuantConfig>, src: MeasureOptions): Promise<BiasCorrections> {
  const list = targets(model.graph, planned);
  if (list.length === 0) return {};
  const probe = decodeModel(encodeModel(model), { label: src.label });
  const g = probe.graph;
  const opset = opsetVersion(probe) ?? 13;
  const outputs: { target: Target; sum: string; size: string }[] = [];
  for (const t of list) {
    const n = t.node;
    const base = `${n.name || n.opType}_biascorr`;
    const dw = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_dW`), t.dims, t.delta)).name;
    const y = g.uniqueName(`${base}_y`);
    const attrs = n.attributes.filter((a) => a.name !== 'beta');
    g.addNode(new Node({ name: g.uniqueName(`${base}_op`), opType: n.opType, inputs: [n.inputs[0]!, dw], outputs: [y], attributes: attrs }));
    // The channel is axis 1 of a Conv output and the last axis of a Gemm/MatMul output: flatten
    // the latter to [-1, N] so both reduce over known axes.
    let src2 = y;
    let axes: number[];
    if (n.opType === 'Conv') {
      axes = [0, ...t.dims.slice(2).map((_, i) => i + 2)];
    } else {
      const shape = g.addInitializer(Tensor.fromInt64(g.uniqueName(`${base}_shape`), [2], [-1, t.channels])).name;
      src2 = g.uniqueName(`${base}_flat`);
      g.addNode(new Node({ name: g.uniqueName(`${base}_reshape`), opType: 'Reshape', inputs: [y, shape], outputs: [src2] }));
      axes = [0];
    }
    const sum = g.uniqueName(`${base}_sum`);
    const reduceInputs = [src2];
    const reduceAttrs = [makeAttr.int('keepdims', 0)];
    if (opset >= 13) reduceInputs.push(g.addInitializer(Tensor.fromInt64(g.uniqueName(`${base}_axes`), [axes.length], axes)).name);
    else reduceAttrs.push(makeAttr.ints('axes', axes));
    g.addNode(new Node({ name: g.uniqueName(`${base}_sum`), opType: 'ReduceSum', inputs: reduceInputs, outputs: [sum], attributes: reduceAttrs }));
    const sizeI = g.uniqueName(`${base}_size_i64`);
    const size = g.uniqueName(`${base}_size`);
    g.addNode(new Node({ name: g.uniqueName(`${base}_size`), opType: 'Size', inputs: [src2], outputs: [sizeI] }));
    g.addNode(new Node({ name: g.uniqueName(`${base}_cast`), opType: 'Cast', inputs: [sizeI], outputs: [size], attributes: [makeAttr.int('to', DataType.FLOAT)] }));
    outputs.push({ target: t, sum, size });
  }
  const names = outputs.flatMap((o) => [o.sum, o.size]);
  const bytes = modelWithOutputs(probe, names, { elemType: DataType.FLOAT });
  const source = await openDataFolder(src.data, {
    inputs: model.graph.feedInputs(),
    count: config.calibCount,
    batchSize: config.batchSize,
    preprocess: src.preprocess ? parsePreprocess(src.preprocess) : undefined,
    fixed: parseFixedInputs(src.fixedInputs ?? []),
  });
  const sums = outputs.map((o) => new Float64Array(o.target.channels));
  const counts = outputs.map(() => 0);
  const session = await Session.open(bytes, { providers: config.providers, threads: config.threads, label: src.label });
  try {
    let done = 0;
    for await (const batch of source.batches()) {
      const r = await session.run(batch, names);
      outputs.forEach((o, i) => {
        const s = r[o.sum]?.data;
        const z = r[o.size]?.data;
        if (!(s instanceof Float32Array) || !(z instanceof Float32Array)) throw new ModelError(`${src.label}: bias correction probe of '${o.target.node.name}' returned no float output`);
        for (let c = 0; c < s.length; c++) sums[i]![c]! += s[c]!;
        counts[i]! += z[0]! / o.target.channels;
      });
      done += Object.values(batch)[0]?.dims[0] ?? 1;
      src.onProgress?.(Math.min(done, source.sampleCount), source.sampleCount);
    }
  } finally {
    await session.close();
  }
  const result: BiasCorrections = {};
  outputs.forEach((o, i) => {
    if (counts[i]! > 0) result[o.target.node.name] = [...sums[i]!].map((v) => Math.fround(v / counts[i]!));
  });
  return result;
}

/**
 * Subtracts the corrections from the biases in the graph (new initializers; a bias created where
 * there was none). Returns the nodes corrected and why the others were not.
 */
export function applyBiasCorrections(model: Model, corrections: BiasCorrections): { corrected: string[]; skipped: string[] } {
  const g = model.graph;
  const corrected: string[] = [];
  const skipped: string[] = [];
  for (const [name, corr] of Object.entries(corrections).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const n = g.nodes.find((x) => x.name === name);
    if (!n) {
      skipped.push(`${name}: no such node`);
      continue;
    }
    const why = applyOne(g, n, Float64Array.from(corr));
    if (why) skipped.push(`${name}: ${why}`);
    else corrected.push(name);
  }
  return { corrected, skipped };
}

function applyOne(g: Graph, n: Node, corr: Float64Array): string | undefined {
  const size = corr.length;
  const base = `${n.name || n.opType}_bias_corrected`;
  const setBias = (node: Node, index: number, values: Float64Array, dims: number[]) => {
    const t = g.addInitializer(Tensor.fromFloat32(g.uniqueName(base), dims, Float32Array.from(values)));
    g.setNodeInput(node, index, t.name);
  };
  const existing = (name: string | undefined) => {
    if (!name) return undefined;
    const t = g.constantOf(name);
    if (!t || t.dtype !== DataType.FLOAT) return null;
    if (t.size !== 1 && t.size !== size) return null;
    const v = t.toFloat64();
    return { values: Float64Array.from({ length: size }, (_, c) => v[t.size === 1 ? 0 : c]!), dims: t.size === size ? [...t.dims] : [size] };
  };
  if (n.opType === 'Conv' || n.opType === 'Gemm') {
    // Gemm adds β·C: subtract corr/β from C.
    const beta = n.opType === 'Gemm' ? n.attrFloat('beta', 1) : 1;
    if (beta === 0) return 'Gemm beta is 0';
    const b = existing(n.inputs[2]);
    if (b === null) return 'its bias is not a float constant of one value per channel';
    const values = b ? b.values : new Float64Array(size);
    for (let c = 0; c < size; c++) values[c] = values[c]! - corr[c]! / beta;
    setBias(n, 2, values, b ? b.dims : [size]);
    return undefined;
  }
  if (n.opType !== 'MatMul') return `${n.opType} has no bias`;
  const y = n.outputs[0]!;
  const users = g.consumersOf(y);
  const add = users.length === 1 && !g.isGraphOutput(y) && users[0]!.opType === 'Add' && isDefaultDomain(users[0]!.domain) ? users[0]! : undefined;
  if (add) {
    const at = add.inputs[0] === y ? 1 : 0;
    const b = add.inputs[1 - at] === y ? existing(add.inputs[at]) : null;
    if (b && b.dims[b.dims.length - 1] === size) {
      const values = b.values;
      for (let c = 0; c < size; c++) values[c] = values[c]! - corr[c]!;
      setBias(add, at, values, b.dims);
      return undefined;
    }
  }
  // No bias Add: insert one that takes the MatMul's output name, so every reader (and the
  // calibrated range of that tensor) stays as it was.
  const pre = g.uniqueName(`${y}_before_bias`);
  g.setNodeOutput(n, 0, pre);
  const values = Float64Array.from(corr, (v) => -v);
  const t = g.addInitializer(Tensor.fromFloat32(g.uniqueName(base), [size], Float32Array.from(values)));
  g.addNode(new Node({ name: g.uniqueName(`${n.name || 'MatMul'}_bias_add`), opType: 'Add', inputs: [pre, t.name], outputs: [y] }), { after: n });
  return undefined;
}
