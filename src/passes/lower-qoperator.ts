// Lowers a QDQ graph to integer operators (the QOperator format).
//
// Before: x_q ─▶ DQ ─▶ Conv(DQ(w_q), DQ(b_q)) ─▶ Q ─▶ y_q
// After:  x_q ─▶ QLinearConv(x_s, x_z, w_q, w_s, w_z, y_s, y_z, b_q) ─▶ y_q
//
// Standard ops where ONNX has them (QLinearConv, QLinearMatMul, MatMulInteger); the com.microsoft
// domain for the rest (QGemm, QLinearAdd, QLinearMul, QLinearConcat, QLinearGlobalAveragePool,
// QLinearAveragePool, QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, MatMulIntegerToFloat).
// Pass-through ops (MaxPool, Reshape, …) run on the integer tensor directly. Anything that does
// not match a pattern keeps its Q/DQ pair, which is still a valid model.
import { DataType, isDefaultDomain, Node, type Attribute, type Graph, type Model } from '../ir/index.js';
import { ruleOf, type Dq, type LowerContext } from '../quant/rules/index.js';
import { note, type Note } from '../quant/reasons.js';

export interface LowerResult {
  notes: Note[];
  /** Dequantized tensors the lowering removed → the integer tensor that replaced them. */
  integerOf: Record<string, string>;
  /** Nodes replaced by an integer form. */
  lowered: number;
}

/**
 * Replaces DQ → op → Q by the op's integer form where its rule has one. `dequantized` are the
 * tensors holding dequantized values (insert-qdq's tensor map values): those the lowering removes
 * are mapped to the integer tensor that now carries them.
 */
export function lowerToQOperator(model: Model, dequantized: readonly string[] = []): LowerResult {
  const g = model.graph;
  const before = new Map(dequantized.map((dq) => [dq, g.producerOf(dq)?.inputs[0]]));
  let lowered = 0;
  for (const n of [...g.nodes]) {
    const rule = ruleOf(n);
    if (!rule?.lower) continue;
    const replacement = rule.lower(context(g, n));
    if (!replacement) continue;
    const out = soleQuantize(g, n);
    g.removeNode(n);
    if (out) g.removeNode(out.node);
    g.addNode(replacement);
    lowered++;
  }
  g.toposort();
  g.cleanup();
  const integerOf: Record<string, string> = {};
  for (const [dq, q] of before) if (!g.producerOf(dq) && q && (g.producerOf(q) || g.isGraphInput(q))) integerOf[dq] = q;
  return { notes: lowered ? [note('lowered', `lowered ${lowered} nodes to integer operators`)] : [], integerOf, lowered };
}

function dqOf(g: Graph, name: string | undefined): Dq | undefined {
  const p = name ? g.producerOf(name) : undefined;
  if (!p || p.opType !== 'DequantizeLinear' || !isDefaultDomain(p.domain) || p.inputs.length < 3) return undefined;
  return { node: p, q: p.inputs[0]!, scale: p.inputs[1]!, zp: p.inputs[2]! };
}

function int32Bias(g: Graph, name: string | undefined): string | undefined {
  const p = name ? g.producerOf(name) : undefined;
  if (!p || p.opType !== 'DequantizeLinear' || !isDefaultDomain(p.domain)) return undefined;
  const q = g.constantOf(p.inputs[0] ?? '');
  const zp = p.inputs[2] ? g.constantOf(p.inputs[2]) : undefined;
  if (!q || q.dtype !== DataType.INT32 || (p.inputs[2] && (!zp || zp.toFloat64().some((v) => v !== 0)))) return undefined;
  return p.inputs[0];
}

/** The output's only consumer, when it is a (default-domain, three-input) QuantizeLinear. */
function soleQuantize(g: Graph, n: Node): Dq | undefined {
  const y = n.outputs[0];
  const consumers = y ? g.consumersOf(y) : [];
  if (!y || g.isGraphOutput(y) || consumers.length !== 1) return undefined;
  const q = consumers[0]!;
  if (q.opType !== 'QuantizeLinear' || !isDefaultDomain(q.domain) || q.inputs.length < 3) return undefined;
  return { node: q, q: q.outputs[0]!, scale: q.inputs[1]!, zp: q.inputs[2]! };
}

function context(g: Graph, n: Node): LowerContext {
  const ins = n.inputs.map((i) => dqOf(g, i));
  const copyAttrs = (drop: string[] = []): Attribute[] => n.attributes.filter((a) => !drop.includes(a.name)).map((a) => ({ ...a, source: undefined }));
  return {
    node: n,
    ins,
    out: soleQuantize(g, n),
    bias: (i) => int32Bias(g, n.inputs[i]),
    allQuantized: (count) => ins.slice(0, count).every((d) => d !== undefined) && n.inputs.length >= count,
    sameParams: (a, out) => sameParams(g, a, out),
    copyAttrs,
    make: (opType, domain, inputs, outputs, attributes = copyAttrs()) => new Node({ name: g.uniqueName(`${n.name}_${opType}`), opType, domain, inputs, outputs, attributes }),
  };
}

/** Same scale and zero point (by name or by value): the integer data can pass straight through. */
function sameParams(g: Graph, a: Dq, out: Dq): boolean {
  const eq = (x: string, y: string) => {
    if (x === y) return true;
    const tx = g.constantOf(x);
    const ty = g.constantOf(y);
    return !!tx && !!ty && tx.dtype === ty.dtype && Buffer.from(tx.raw).equals(Buffer.from(ty.raw));
  };
  return eq(a.scale, out.scale) && eq(a.zp, out.zp);
}

