// A model that already holds quantized arithmetic (Q/DQ pairs, integer kernels, weight-only
// blocks) would get a second rounding stacked on the first: quantize refuses it unless asked.
import type { Graph } from '../ir/index.js';

const QUANTIZED_OPS = new Set([
  'QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'MatMulIntegerToFloat',
  'QGemm', 'QAttention', 'QEmbedLayerNormalization', 'MatMulNBits', 'MatMulBnb4', 'GatherBlockQuantized',
]);

function isQuantizedOp(opType: string): boolean {
  return QUANTIZED_OPS.has(opType) || opType.startsWith('QLinear') || opType.startsWith('DynamicQuantize') || opType.startsWith('QOrdered');
}

/** Quantized op types in the graph and its subgraphs, with their counts, most frequent first. */
export function quantizedOps(g: Graph, counts = new Map<string, number>()): [string, number][] {
  for (const n of g.nodes) {
    if (isQuantizedOp(n.opType)) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    for (const sub of n.subgraphs()) quantizedOps(sub, counts);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
