import { readModel } from './model-io.js';
import { dtypeName, type Graph, type Model, type Tensor, type ValueInfo, constantNodeValue } from '../ir/index.js';
import { quantizableOps } from './quantizable.js';
import { MAX_TARGET_OPSET, MIN_SOURCE_OPSET, planUpgrade, type UpgradeRefusal, type UpgradeStep } from '../passes/upgrade/index.js';
import { opsetVersion } from '../ir/index.js';

export interface TensorSummary {
  name: string;
  dtype: string;
  shape: (number | string | null)[] | null;
}

export interface InspectReport {
  file?: string;
  irVersion: string;
  opsets: { domain: string; version: number }[];
  producer: { name: string; version: string };
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** Op type → count over the main graph and every subgraph. Keys are `domain::Op` outside ai.onnx. */
  opHistogram: Record<string, number>;
  nodeCount: number;
  /** Elements and bytes of constant tensors (initializers and Constant nodes) by dtype. */
  parameters: { total: number; bytes: number; byDtype: Record<string, { count: number; bytes: number; tensors: number }> };
  subgraphCount: number;
  functionCount: number;
  /** Nodes the default plan would quantize (`absorbed`: a Relu/Clip folded into its producer). */
  quantizable: { name: string; opType: string; status: 'quantized' | 'absorbed' }[];
  /** Converting the ai.onnx opset up to 21 (per-channel Q/DQ needs 13): the ops that need an
   * adapter (with the opset of their new definition) and the nodes that cannot be converted.
   * Absent when the model is at opset 21 or above. */
  opsetUpgrade?: { from: number; to: number; adapters: UpgradeStep[]; refused: UpgradeRefusal[] };
}

export function inspectModel(source: string | Uint8Array | Model): InspectReport {
  const model = typeof source === 'string' || source instanceof Uint8Array ? readModel(source) : source;
  const hist: Record<string, number> = {};
  const byDtype: InspectReport['parameters']['byDtype'] = {};
  let subgraphs = 0;
  let nodeCount = 0;
  const seen = new Set<Tensor>();
  const addTensor = (t: Tensor) => {
    if (seen.has(t)) return;
    seen.add(t);
    const key = dtypeName(t.dtype);
    const e = (byDtype[key] ??= { count: 0, bytes: 0, tensors: 0 });
    e.count += t.size;
    e.bytes += t.byteLength;
    e.tensors += 1;
  };
  const visit = (g: Graph) => {
    for (const t of g.initializers.values()) addTensor(t);
    for (const n of g.nodes) {
      nodeCount++;
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.opType}` : n.opType;
      hist[key] = (hist[key] ?? 0) + 1;
      if (n.opType === 'Constant' && !n.domain) {
        const t = constantNodeValue(n);
        if (t) addTensor(t);
      }
      for (const sub of n.subgraphs()) {
        subgraphs++;
        visit(sub);
      }
    }
  };
  visit(model.graph);
  const sorted = Object.fromEntries(Object.entries(hist).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  const total = Object.values(byDtype).reduce((s, e) => s + e.count, 0);
  const bytes = Object.values(byDtype).reduce((s, e) => s + e.bytes, 0);
  return {
    file: typeof source === 'string' ? source : undefined,
    irVersion: String(model.irVersion),
    opsets: model.opsets.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version })),
    producer: { name: model.producerName, version: model.producerVersion },
    inputs: model.graph.feedInputs().map(summarise),
    outputs: model.graph.outputs.map(summarise),
    opHistogram: sorted,
    nodeCount,
    parameters: { total, bytes, byDtype },
    subgraphCount: subgraphs,
    functionCount: model.functions.length,
    quantizable: quantizableOps(model),
    opsetUpgrade: upgradeSummary(model),
  };
}

function upgradeSummary(model: Model): InspectReport['opsetUpgrade'] {
  const from = opsetVersion(model);
  if (from === undefined || from >= MAX_TARGET_OPSET) return undefined;
  if (from < MIN_SOURCE_OPSET) {
    return { from, to: MAX_TARGET_OPSET, adapters: [], refused: [{ op: '*', node: '', opset: from, to: MIN_SOURCE_OPSET, reason: `opset ${from} is below ${MIN_SOURCE_OPSET}, where qtool's conversion starts` }] };
  }
  const plan = planUpgrade(model, MAX_TARGET_OPSET);
  return { from, to: plan.to, adapters: plan.steps, refused: plan.refused };
}

function summarise(v: ValueInfo): TensorSummary {
  return { name: v.name, dtype: v.elemType !== undefined ? dtypeName(v.elemType) : 'non-tensor', shape: v.shape ? [...v.shape] : null };
}
