// Multi-node patterns that exporters spell out with primitive ops and that quantize as one unit.
import { isDefaultDomain, type Graph, type Node } from '../../ir/index.js';

/** Scalar value of a constant input, if it is one. */
export function scalarConstant(g: Graph, name: string | undefined): number | undefined {
  if (!name) return undefined;
  const t = g.constantOf(name);
  return t && t.size === 1 ? t.toFloat64()[0] : undefined;
}

function otherInput(n: Node, name: string): string | undefined {
  return n.inputs[0] === name ? n.inputs[1] : n.inputs[1] === name ? n.inputs[0] : undefined;
}

function onlyConsumer(g: Graph, value: string): Node | undefined {
  const cs = g.consumersOf(value);
  return cs.length === 1 && !g.isGraphOutput(value) ? cs[0] : undefined;
}

export interface HardSwishUnit {
  input: string;
  nodes: Node[];
  output: string;
}

/**
 * HardSwish written out: x ─▶ Add(3) ─▶ Clip(0, 6) ─▶ Mul(x) ─▶ Div(6)  (or Mul(1/6)), either
 * order of the last two. Quantized as one unit: Q/DQ on x and on the unit's output, float inside.
 */
export function findHardSwishUnits(g: Graph): HardSwishUnit[] {
  const units: HardSwishUnit[] = [];
  for (const add of g.nodes) {
    if (add.opType !== 'Add' || !isDefaultDomain(add.domain)) continue;
    const x = add.inputs.find((i) => scalarConstant(g, otherInput(add, i)) === 3 && !g.constantOf(i));
    if (!x) continue;
    const clip = onlyConsumer(g, add.outputs[0]!);
    if (!clip || clip.opType !== 'Clip' || !isClip06(g, clip)) continue;
    const a = onlyConsumer(g, clip.outputs[0]!);
    if (!a) continue;
    const chain = matchTail(g, a, x, clip.outputs[0]!);
    if (chain) units.push({ input: x, nodes: [add, clip, ...chain.nodes], output: chain.output });
  }
  return units;
}

function isClip06(g: Graph, clip: Node): boolean {
  const lo = clip.inputs[1] ? scalarConstant(g, clip.inputs[1]) : clip.attrFloat('min', -Infinity);
  const hi = clip.inputs[2] ? scalarConstant(g, clip.inputs[2]) : clip.attrFloat('max', Infinity);
  return lo === 0 && hi === 6;
}

function matchTail(g: Graph, first: Node, x: string, clipOut: string): { nodes: Node[]; output: string } | undefined {
  const isSixth = (n: Node, v: string) =>
    (n.opType === 'Div' && n.inputs[0] === v && scalarConstant(g, n.inputs[1]) === 6) ||
    (n.opType === 'Mul' && Math.abs((scalarConstant(g, otherInput(n, v)) ?? 0) - 1 / 6) < 1e-6);
  if (first.opType === 'Mul' && otherInput(first, clipOut) === x) {
    const second = onlyConsumer(g, first.outputs[0]!);
    if (second && isSixth(second, first.outputs[0]!)) return { nodes: [first, second], output: second.outputs[0]! };
  }
  if (isSixth(first, clipOut)) {
    const second = onlyConsumer(g, first.outputs[0]!);
    if (second && second.opType === 'Mul' && otherInput(second, first.outputs[0]!) === x) return { nodes: [first, second], output: second.outputs[0]! };
  }
  return undefined;
}
