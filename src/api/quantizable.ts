import { DEFAULTS } from '../config/index.js';
import type { Model } from '../ir/index.js';
import { copyModel } from '../onnx/index.js';
import { prepareModel } from '../passes/index.js';
import { analyzeGraph, analyzeSubgraphs } from '../quant/analyze.js';

/**
 * Nodes the default plan would quantize, from the op-rule registry on a prepared copy of the
 * model (BatchNormalization folded, Identity removed): `absorbed` nodes (a Relu folded into its
 * producer's range) count as quantized.
 */
export function quantizableOps(model: Model): { name: string; opType: string; status: 'quantized' | 'absorbed' }[] {
  const copy = copyModel(model);
  prepareModel(copy);
  const a = analyzeGraph(copy.graph, DEFAULTS);
  const out: { name: string; opType: string; status: 'quantized' | 'absorbed' }[] = [];
  for (const n of copy.graph.nodes) {
    const d = a.decisions.get(n)!;
    if (d.status !== 'float') out.push({ name: n.name, opType: n.opType, status: d.status });
  }
  // Nodes inside If/Loop/Scan bodies, under the same rules.
  for (const { graph, analysis } of analyzeSubgraphs(copy.graph, DEFAULTS)) {
    for (const n of graph.nodes) {
      const d = analysis.decisions.get(n)!;
      if (d.status !== 'float') out.push({ name: n.name, opType: n.opType, status: d.status });
    }
  }
  return out;
}
