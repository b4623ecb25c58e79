// Applies a QuantPlan as QDQ (ALGORITHMS.md §3, "QDQ layout"):
//
// Before: X ─▶ Conv(W, B) ─▶ Relu ─▶ Y
// After:  X ─▶ Q ─▶ DQ ─▶ Conv(DQ(W_int8), DQ(B_int32)) ─▶ Q ─▶ DQ ─▶ Y
//         (Relu removed: Y's range starts at 0 and its zero point is qmin, so Q's clamp is the Relu)
//
// Every consumer of a quantized tensor reads the dequantized value, float consumers included, so
// that ORT can fuse DQ→op→Q into one integer kernel (a Q that is not its producer's only consumer
// blocks the fusion). Returns the float→quantized tensor map the report uses.
//
// Naming: the dequantized tensor is `<t>_dq` and the Q/DQ nodes `<t>_Q`/`<t>_DQ`, so the graph
// reads well; the scale, zero-point and integer tensors get short counter names (qs_3, wq_7, …)
// because every name is stored once per use and long exporter names would cost ~10% of a small
// model's file size.
import { Graph, graphScopes, intTensor, makeAttr, Node, scaleTensor, Tensor, zeroPointTensor, type Model } from '../ir/index.js';
import { UnsupportedError } from '../errors.js';
import { qRange, type QType } from '../math/qparams.js';
import type { ActivationParams, PlanIntegers, QuantPlan, WeightIntegers } from '../quant/plan.js';
import { ruleOf } from '../quant/rules/index.js';
import { note, type Note } from '../quant/reasons.js';

export interface QdqOptions {
  /** Domain for Q/DQ of int16/int4 below opset 21: 'com.microsoft'. */
  wideTypeDomain: '' | 'com.microsoft';
  /** The model's default-domain opset (blocked DequantizeLinear needs 21). */
  opset: number;
}

export interface QdqResult {
  /** float tensor (prepared graph) → tensor holding its dequantized counterpart. */
  tensorMap: Record<string, string>;
  notes: Note[];
}

/** Stores the plan's integers (it never quantizes a weight itself). */
export function insertQdq(model: Model, plan: QuantPlan, integers: PlanIntegers, opts: QdqOptions): QdqResult {
  const notes: Note[] = [];
  const tensorMap: Record<string, string> = {};
  // The main graph first, then the If/Loop/Scan bodies (outermost first): each tensor gets its
  // Q/DQ in the graph that defines it, and a body reading a quantized outer tensor reads its DQ.
  const scopes = graphScopes(model.graph);
  if (scopes.length > 1) Graph.shareNamespace(scopes.map((s) => s.graph));
  const dequantized = new Map<string, DqSource>();
  for (const { graph, constantOf } of scopes) {
    localDequantize(graph, dequantized);
    insertInGraph(graph, constantOf, plan, integers, opts, tensorMap, notes, dequantized);
  }
  for (const [t, u] of Object.entries(plan.absorbed)) if (tensorMap[u]) tensorMap[t] = tensorMap[u]!;
  return { tensorMap, notes };
}

/** A DequantizeLinear the rewrite made: what it reads, so that a body can repeat it locally. */
interface DqSource {
  q: string;
  scale: Tensor;
  zeroPoint: Tensor;
  domain: string;
}

/**
 * A body that reads a dequantized outer tensor gets its own DequantizeLinear of the outer integer
 * tensor: onnxruntime fuses DQ → op → Q into an integer kernel only within one graph, so a DQ left
 * in the enclosing graph would keep the body's Conv/MatMul in float (measured: lenet_bn split over
 * nested If branches ran 15× slower than flat with the DQs outside).
 */
function localDequantize(g: Graph, dequantized: Map<string, DqSource>): void {
  for (const ref of g.outerScopeReferences()) {
    const src = dequantized.get(ref);
    if (!src || !g.consumersOf(ref).some((c) => c.inputs.includes(ref))) continue;
    const scale = g.addInitializer(new Tensor({ name: g.uniqueName('qs'), dtype: src.scale.dtype, dims: src.scale.dims, bytes: src.scale.raw })).name;
    const zp = g.addInitializer(new Tensor({ name: g.uniqueName('qz'), dtype: src.zeroPoint.dtype, dims: src.zeroPoint.dims, bytes: src.zeroPoint.raw })).name;
    const local = g.uniqueName(`${ref}_local`);
    const dq = new Node({ name: g.uniqueName(`${ref}_DQ`), opType: 'DequantizeLinear', domain: src.domain, inputs: [src.q, scale, zp], outputs: [local] });
    g.replaceAllUses(ref, local);
    g.addNode(dq, { before: g.nodes[0] });
    dequantized.set(local, src);
  }
}

function insertInGraph(g: Graph, constantOf: (name: string) => Tensor | undefined, plan: QuantPlan, integers: PlanIntegers, opts: QdqOptions, tensorMap: Record<string, string>, notes: Note[], dequantized: Map<string, DqSource>): void {
  // The input roles come from the plan (the rules' roles by index), not from input positions.
  const quantizedNodes = new Map(plan.nodes.filter((n) => n.status === 'quantized').map((n) => [n.name, n]));
  resolveAbsorbed(g, plan, notes);
  const weightCache = new Map<string, string>();
  for (const n of [...g.nodes]) {
    const p = quantizedNodes.get(n.name);
    if (!p) continue;
    const bias = plan.biases[n.name];
    n.inputs.forEach((inp, i) => {
      if (bias && inp === bias.tensor && i === p.biasInput) g.setNodeInput(n, i, biasDq(g, n.name, bias, integers.biases.get(n.name)!));
      else if (plan.weights[inp] && p.weightInputs?.includes(i)) g.setNodeInput(n, i, weightDq(g, constantOf, inp, plan, integers, opts, weightCache));
    });
  }
  for (const [t, p] of Object.entries(plan.activations)) {
    if (!g.producerOf(t) && !g.isGraphInput(t)) continue; // removed (e.g. an absorbed Relu's input)
    tensorMap[t] = activationQdq(g, t, p, opts, dequantized);
  }
}

function qdqDomain(dtype: QType, opts: QdqOptions): string {
  return dtype === 'int16' || dtype === 'uint16' || dtype === 'int4' || dtype === 'uint4' ? opts.wideTypeDomain : '';
}

/** Removes Relu/Clip whose range the producer absorbed, where Q's clamp reproduces them exactly. */
function resolveAbsorbed(g: Graph, plan: QuantPlan, notes: Note[]): void {
  const removed: string[] = [];
  for (const [t, u] of Object.entries(plan.absorbed)) {
    const act = g.producerOf(u);
    const p = plan.activations[u];
    if (!act || !p) continue;
    const { qmin } = qRange(p.dtype, { symmetric: false });
    const hi = ruleOf(act)?.activationMax?.(act, g) ?? Infinity;
    if (p.zeroPoint !== qmin || p.range[0] !== 0 || p.range[1] > hi) continue; // keep the node: its input stays float
    const producer = g.producerOf(t);
    if (!producer) continue;
    g.removeNode(act);
    g.setNodeOutput(producer, producer.outputs.indexOf(t), u);
    removed.push(act.opType);
  }
  if (removed.length) notes.push(note('activations-removed', `removed ${removed.length} ${[...new Set(removed)].join('/')} nodes: the following QuantizeLinear clamps at the zero point, which is the activation`));
}

function activationQdq(g: Graph, t: string, p: ActivationParams, opts: QdqOptions, dequantized: Map<string, DqSource>): string {
  const domain = qdqDomain(p.dtype, opts);
  const scale = g.addInitializer(scaleTensor(g.uniqueName('qs'), [p.scale], false)).name;
  const zp = g.addInitializer(zeroPointTensor(g.uniqueName('qz'), p.dtype, [p.zeroPoint], false)).name;
  const q = g.uniqueName('qq');
  const isOutput = g.isGraphOutput(t) && !g.isGraphInput(t);
  // A model output keeps its name: the producer writes `<t>_float`, DQ writes `t`.
  let src = t;
  let dq = g.uniqueName(`${t}_dq`);
  const producer = g.producerOf(t);
  if (isOutput && producer) {
    src = g.uniqueName(`${t}_f`);
    g.setNodeOutput(producer, producer.outputs.indexOf(t), src);
    g.replaceAllUses(t, src);
    dq = t;
  }
  const qNode = new Node({ name: g.uniqueName(`${t}_Q`), opType: 'QuantizeLinear', domain, inputs: [src, scale, zp], outputs: [q] });
  const dqNode = new Node({ name: g.uniqueName(`${t}_DQ`), opType: 'DequantizeLinear', domain, inputs: [q, scale, zp], outputs: [dq] });
  if (producer) {
    g.addNode(qNode, { after: producer });
    g.addNode(dqNode, { after: qNode });
  } else {
    g.addNode(qNode, { before: g.nodes[0] });
    g.addNode(dqNode, { after: qNode });
  }
  if (dq !== t) g.replaceAllUses(src, dq, { except: qNode });
  dequantized.set(dq, { q, scale: g.initializers.get(scale)!, zeroPoint: g.initializers.get(zp)!, domain });
  return dq;
}

function weightDq(g: Graph, constantOf: (name: string) => Tensor | undefined, w: string, plan: QuantPlan, integers: PlanIntegers, opts: QdqOptions, cache: Map<string, string>): string {
  const done = cache.get(w);
  if (done) return done;
  const p = plan.weights[w]!;
  const t = constantOf(w)!;
  const perChannel = p.axis !== null;
  const q = integers.weights.get(w)!;
  if (p.blockSize !== undefined) return blockedWeightDq(g, w, t.dims, p, q, opts, cache);
  const qName = g.addInitializer(intTensor(g.uniqueName('wq'), p.dtype, t.dims, q)).name;
  const sName = g.addInitializer(scaleTensor(g.uniqueName('ws'), p.scales, perChannel)).name;
  // The weight zero point stays although 0 is the default: ORT fuses DQ→Gemm→Q into QGemm only
  // when it is present (measured with onnxruntime-node 1.30).
  const zName = g.addInitializer(zeroPointTensor(g.uniqueName('wz'), p.dtype, p.zeroPoints, perChannel)).name;
  const out = g.uniqueName(`${w}_dq`);
  const attrs = perChannel ? [makeAttr.int('axis', p.axis!)] : [];
  g.addNode(new Node({ name: g.uniqueName(`${w}_DQ`), opType: 'DequantizeLinear', domain: qdqDomain(p.dtype, opts), inputs: [qName, sName, zName], outputs: [out], attributes: attrs }), { before: g.nodes[0] });
  cache.set(w, out);
  return out;
}

/**
 * --group-size: DequantizeLinear with `block_size` (opset 21) along the input channels; scale and
 * zero point have the weight's rank, dims[axis] → ceil(dims[axis] / block_size).
 */
function blockedWeightDq(g: Graph, w: string, dims: readonly number[], p: QuantPlan['weights'][string], q: WeightIntegers, opts: QdqOptions, cache: Map<string, string>): string {
  if (opts.opset < 21) {
    throw new UnsupportedError(`weight '${w}': per-group scales (block_size ${p.blockSize}) need DequantizeLinear from opset 21, the model is at opset ${opts.opset}; quantize with --group-size so the model is converted first, or drop blockSize from the overrides`);
  }
  const axis = p.axis!;
  const scaleDims = dims.map((d, i) => (i === axis ? Math.ceil(d / p.blockSize!) : d));
  const qName = g.addInitializer(intTensor(g.uniqueName('wq'), p.dtype, dims, q)).name;
  const sName = g.addInitializer(Tensor.fromFloat32(g.uniqueName('ws'), scaleDims, new Float32Array(p.scales))).name;
  const zName = g.addInitializer(intTensor(g.uniqueName('wz'), p.dtype, scaleDims, p.zeroPoints)).name;
  const out = g.uniqueName(`${w}_dq`);
  const attrs = [makeAttr.int('axis', axis), makeAttr.int('block_size', p.blockSize!)];
  g.addNode(new Node({ name: g.uniqueName(`${w}_DQ`), opType: 'DequantizeLinear', domain: qdqDomain(p.dtype, opts), inputs: [qName, sName, zName], outputs: [out], attributes: attrs }), { before: g.nodes[0] });
  cache.set(w, out);
  return out;
}

function biasDq(g: Graph, nodeName: string, b: QuantPlan['biases'][string], q: Int32Array): string {
  const perChannel = b.scales.length > 1;
  const base = `${nodeName}_b`;
  const qName = g.addInitializer(intTensor(g.uniqueName('bq'), 'int32', [q.length], q)).name;
  const sName = g.addInitializer(scaleTensor(g.uniqueName('bs'), b.scales, perChannel)).name;
  // No zero point: it defaults to 0, and int32 zeros would be 4 bytes per channel of file size.
  const out = g.uniqueName(`${base}_dq`);
  const attrs = perChannel ? [makeAttr.int('axis', 0)] : [];
  g.addNode(new Node({ name: g.uniqueName(`${base}_DQ`), opType: 'DequantizeLinear', inputs: [qName, sName], outputs: [out], attributes: attrs }), { before: g.nodes[0] });
  return out;
}

