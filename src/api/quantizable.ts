import type { Model } from '../ir/index.js';

const WEIGHTED_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** Nodes of the main graph that qtool would quantize. */
export function quantizableOps(model: Model): { name: string; opType: string }[] {
  return model.graph.nodes.filter((n) => !n.domain && WEIGHTED_OPS.has(n.opType)).map((n) => ({ name: n.name, opType: n.opType }));
}
