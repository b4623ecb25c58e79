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
import { Node, makeAttr, type Attribute, type Graph, type Model } from '../ir/index.js';

const MS = 'com.microsoft';

interface Dq {
  node: Node;
  q: string;
  scale: string;
  zp: string;
}

interface Match {
  node: Node;
  ins: (Dq | undefined)[];
  out?: { node: Node; q: string; scale: string; zp: string };
}

const PASS_THROUGH = new Set(['MaxPool', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'Resize', 'Split']);

export function lowerToQOperator(model: Model): string[] {
  const g = model.graph;
  let lowered = 0;
  for (const n of [...g.nodes]) {
    if (n.domain || n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') continue;
    const m = match(g, n);
    if (!m) continue;
    const replacement = build(g, m);
    if (!replacement) continue;
    g.removeNode(n);
    if (m.out) g.removeNode(m.out.node);
    g.addNode(replacement);
    lowered++;
  }
  if (lowered && !model.opsets.some((o) => o.domain === MS)) model.opsets.push({ domain: MS, version: 1 });
  g.toposort();
  g.cleanup();
  return lowered ? [`lowered ${lowered} nodes to integer operators`] : [];
}

function dqOf(g: Graph, name: string | undefined): Dq | undefined {
  const p = name ? g.producerOf(name) : undefined;
  if (!p || p.opType !== 'DequantizeLinear' || p.domain || p.inputs.length < 3) return undefined;
  return { node: p, q: p.inputs[0]!, scale: p.inputs[1]!, zp: p.inputs[2]! };
}

function match(g: Graph, n: Node): Match | undefined {
  const ins = n.inputs.map((i) => dqOf(g, i));
  const y = n.outputs[0];
  const consumers = y ? g.consumersOf(y) : [];
  let out: Match['out'];
  if (y && !g.isGraphOutput(y) && consumers.length === 1 && consumers[0]!.opType === 'QuantizeLinear' && !consumers[0]!.domain && consumers[0]!.inputs.length >= 3) {
    const q = consumers[0]!;
    out = { node: q, q: q.outputs[0]!, scale: q.inputs[1]!, zp: q.inputs[2]! };
  }
  return { node: n, ins, out };
}

function copyAttrs(n: Node, drop: string[] = []): Attribute[] {
  return n.attributes.filter((a) => !drop.includes(a.name)).map((a) => ({ ...a, source: undefined }));
}

function make(g: Graph, n: Node, opType: string, domain: string, inputs: string[], outputs: string[], attributes = copyAttrs(n)): Node {
  return new Node({ name: g.uniqueName(`${n.name}_${opType}`), opType, domain, inputs, outputs, attributes });
}

/** Per-tensor or per-channel DQ, activation-style (all inputs present and quantized). */
function allQuantized(m: Match, count: number): boolean {
  return m.ins.slice(0, count).every((d) => d !== undefined) && m.node.inputs.length >= count;
}

function build(g: Graph, m: Match): Node | undefined {
  const { node: n, ins, out } = m;
  const [a, b, c] = ins;
  switch (n.opType) {
    case 'Conv':
      if (!out || !allQuantized(m, 2) || (n.inputs[2] && !c)) return undefined;
      return make(g, n, 'QLinearConv', '', [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp, ...(c ? [c.q] : [])], [out.q]);
    case 'MatMul':
      if (!allQuantized(m, 2)) return undefined;
      if (out) return make(g, n, 'QLinearMatMul', '', [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp], [out.q]);
      return make(g, n, 'MatMulIntegerToFloat', MS, [a!.q, b!.q, a!.scale, b!.scale, a!.zp, b!.zp], [n.outputs[0]!]);
    case 'Gemm': {
      if (!allQuantized(m, 2) || (n.inputs[2] && !c)) return undefined;
      const tail = out ? [out.scale, out.zp] : [];
      const cIn = c ? c.q : '';
      return make(g, n, 'QGemm', MS, [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, cIn, ...tail], [out ? out.q : n.outputs[0]!], copyAttrs(n, ['beta']));
    }
    case 'Add': case 'Mul':
      if (!out || !allQuantized(m, 2) || n.inputs.length !== 2) return undefined;
      return make(g, n, `QLinear${n.opType}`, MS, [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp], [out.q]);
    case 'Concat':
      if (!out || !ins.every(Boolean)) return undefined;
      return make(g, n, 'QLinearConcat', MS, [out.scale, out.zp, ...ins.flatMap((d) => [d!.q, d!.scale, d!.zp])], [out.q]);
    case 'GlobalAveragePool': case 'AveragePool': case 'Sigmoid': case 'LeakyRelu': case 'Softmax': {
      if (!out || !a) return undefined;
      const attrs: Attribute[] = n.opType === 'GlobalAveragePool' ? [makeAttr.int('channels_last', 0)] : copyAttrs(n);
      if (n.opType === 'Softmax' && !attrs.some((x) => x.name === 'opset')) attrs.push(makeAttr.int('opset', 13));
      return make(g, n, `QLinear${n.opType}`, MS, [a.q, a.scale, a.zp, out.scale, out.zp], [out.q], attrs);
    }
    default:
      if (PASS_THROUGH.has(n.opType) && out && a && sameParams(g, a, out) && n.outputs.length === 1) {
        return make(g, n, n.opType, '', [a.q, ...n.inputs.slice(1)], [out.q]);
      }
      return undefined;
  }
}

/** Same scale and zero point (by name or by value): the integer data can pass straight through. */
function sameParams(g: Graph, a: Dq, out: { scale: string; zp: string }): boolean {
  const eq = (x: string, y: string) => {
    if (x === y) return true;
    const tx = g.constantOf(x);
    const ty = g.constantOf(y);
    return !!tx && !!ty && tx.dtype === ty.dtype && Buffer.from(tx.raw).equals(Buffer.from(ty.raw));
  };
  return eq(a.scale, out.scale) && eq(a.zp, out.zp);
}

