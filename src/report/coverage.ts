// What was quantized and what stayed in float, and why. A qtool-written model may carry the plan's
// node list (metadata `qtool.nodes`) with the planner's reasons; otherwise the graph says it:
// a QDQ node computes in integers when ORT can fuse it, i.e. it reads a DequantizeLinear and
// its output goes to a QuantizeLinear; QOperator models name their integer ops.
import { bodiesOf, type Graph, type Model, type Node } from '../ir/index.js';
import type { Coverage, ModelSummary, NodeStatusEntry } from './types.js';
import { readPlanNodes } from './metadata.js';

const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear']);
const INTEGER_OPS = new Set([
  'ConvInteger', 'MatMulInteger', 'QGemm', 'QAttention', 'DynamicQuantizeLinear', 'DynamicQuantizeMatMul', 'DynamicQuantizeLSTM',
  'MatMulIntegerToFloat', 'MatMulNBits', 'QOrderedMatMul',
]);

function isIntegerOp(n: Node): boolean {
  return n.opType.startsWith('QLinear') || INTEGER_OPS.has(n.opType);
}

function isQdq(n: Node): boolean {
  return QDQ.has(n.opType) && (n.domain === '' || n.domain === 'com.microsoft');
}

export function modelFormat(model: Model): ModelSummary['format'] {
  // If/Loop/Scan bodies count too (a model whose compute sits in an If branch).
  const scopes = [model.graph, ...bodiesOf(model.graph)];
  const qop = scopes.some((g) => g.nodes.some(isIntegerOp));
  const qdqNode = scopes.some((g) => g.nodes.some((n) => !isQdq(n) && !isIntegerOp(n) && n.opType !== 'Constant' && structuralStatus(g, n) === undefined));
  if (qop) return qdqNode ? 'mixed' : 'qoperator';
  return scopes.some((g) => g.nodes.some(isQdq)) ? 'qdq' : 'float';
}

function dqInput(g: Graph, name: string): 'activation' | 'weight' | undefined {
  const p = name ? g.producerOf(name) : undefined;
  if (!p || p.opType !== 'DequantizeLinear') return undefined;
  return g.constantOf(p.inputs[0] ?? '') ? 'weight' : 'activation';
}

/**
 * Undefined when the node runs in integers: it reads a dequantized activation and either feeds a
 * QuantizeLinear, or also reads a dequantized weight (ORT then fuses it into an integer kernel
 * with a float output, e.g. QGemm, MatMulIntegerToFloat).
 */
function structuralStatus(g: Graph, n: Node): string | undefined {
  if (isIntegerOp(n)) return undefined;
  const kinds = n.inputs.map((i) => dqInput(g, i));
  const activation = kinds.includes('activation');
  const feedsQ = n.outputs.some((o) => g.consumersOf(o).some((c) => c.opType === 'QuantizeLinear'));
  if (activation && (feedsQ || kinds.includes('weight'))) return undefined;
  if (!activation) return 'no dequantized activation feeds it: it runs in float';
  return 'its output is not re-quantized: it runs in float on dequantized inputs';
}

function tally(entries: { opType: string; quantized: boolean }[]): Coverage['byOp'] {
  const byOp: Coverage['byOp'] = {};
  for (const e of entries) {
    const c = (byOp[e.opType] ??= { quantized: 0, float: 0 });
    if (e.quantized) c.quantized++;
    else c.float++;
  }
  return Object.fromEntries(Object.entries(byOp).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export function coverage(model: Model): Coverage {
  const plan = readPlanNodes(model);
  if (plan) {
    // 'absorbed' nodes (a Relu folded into its producer's range) count as quantized.
    const floatNodes = plan.filter((n) => n.status === 'float').map((n) => ({ name: n.name, opType: n.opType, reason: n.reason || n.status }));
    const entries = plan.map((n) => ({ opType: n.opType, quantized: n.status !== 'float' }));
    return { source: 'metadata', quantized: entries.length - floatNodes.length, float: floatNodes.length, byOp: tally(entries), floatNodes };
  }
  const g = model.graph;
  const entries: { opType: string; quantized: boolean }[] = [];
  const floatNodes: NodeStatusEntry[] = [];
  for (const n of g.nodes) {
    if (isQdq(n) || n.opType === 'Constant') continue;
    const why = structuralStatus(g, n);
    entries.push({ opType: n.opType, quantized: why === undefined });
    if (why !== undefined) floatNodes.push({ name: n.name || n.outputs[0] || n.opType, opType: n.opType, reason: why });
  }
  return { source: 'structure', quantized: entries.length - floatNodes.length, float: floatNodes.length, byOp: tally(entries), floatNodes };
}
