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
import { DataType, Node, Tensor, makeAttr, opsetVersion, type Graph, type Model } from '../ir/index.js';
import { decodeModel, encodeModel, modelWithOutputs } from '../onnx/index.js';
import { openCalibrationData } from './calibrate.js';
import { Session } from '../runtime/index.js';
import type { QuantConfig } from '../config/index.js';
import type { Planned } from '../quant/plan.js';
import { biasCorrectionOf, flattenToRows } from '../quant/rules/index.js';
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
  /** The rule's output-channel axis (≥ 0 in an output of the weight's rank; -1: last axis, any rank). */
  channelAxis: number;
}

/** Dequantized-minus-float weights of every quantized layer whose rule takes a bias correction for its constant weight. */
function targets(g: Graph, { plan, integers }: Planned): Target[] {
  const out: Target[] = [];
  const kept = new Set(plan.keepFloat?.nodes ?? []);
  for (const entry of plan.nodes) {
    if (entry.status !== 'quantized' || kept.has(entry.name) || !entry.weightInputs?.includes(1)) continue;
    const node = g.nodes.find((n) => n.name === entry.name);
    const facts = node && biasCorrectionOf(node);
    if (!node || !facts) continue;
    const name = node.inputs[1]!;
    const p = plan.weights[name];
    const q = integers.weights.get(name);
    const w = g.constantOf(name);
    if (!p || !q || !w || w.dtype !== DataType.FLOAT || p.blockSize) continue;
    const channels = facts.outputChannels(node, w.dims);
    if (channels === undefined) continue;
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
    out.push({ node, delta, dims, channels, channelAxis: facts.channelAxis });
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
    // Sum over every axis but the channel axis. An output whose rank is not known (channel last)
    // is first viewed as [rows, channels].
    let src2 = y;
    let axes: number[];
    if (t.channelAxis >= 0) {
      axes = t.dims.map((_, i) => i).filter((i) => i !== t.channelAxis);
    } else {
      src2 = flattenToRows(g, y, t.channels, base);
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
  const source = await openCalibrationData(model, config, src);
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
  const facts = biasCorrectionOf(n);
  return facts ? facts.applyBias(g, n, corr) : `${n.opType} has no bias`;
}
