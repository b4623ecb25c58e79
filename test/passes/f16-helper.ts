// Builds the float16-weight copy of a float32 model the way exporters ship them: every float
// constant stored as float16, float32 model inputs/outputs kept through Casts at the boundary.
import { AttrType, DataType, Node, Tensor, floatToHalf, makeAttr, type Graph, type Model } from '../../src/ir/index.js';

function half(t: Tensor): Tensor {
  const f = t.toFloat32();
  return Tensor.fromTyped(t.name, DataType.FLOAT16, t.dims, Uint16Array.from(f, (v) => floatToHalf(v)));
}

function narrowGraph(g: Graph): void {
  for (const [name, t] of [...g.initializers]) {
    if (t.dtype !== DataType.FLOAT) continue;
    g.removeInitializer(name);
    g.addInitializer(half(t));
  }
  for (const n of g.nodes) {
    n.attributes = n.attributes.map((a) => (a.type === AttrType.TENSOR && a.value.dtype === DataType.FLOAT ? makeAttr.tensor(a.name, half(a.value)) : a));
  }
  for (const [k, v] of g.valueInfo) if (v.elemType === DataType.FLOAT) g.valueInfo.set(k, { name: v.name, elemType: DataType.FLOAT16, shape: v.shape });
}

export function toFloat16Weights(model: Model): Model {
  const g = model.graph;
  narrowGraph(g);
  const first = g.nodes[0]!;
  for (const input of g.feedInputs()) {
    if (input.elemType !== DataType.FLOAT) continue;
    const inner = `${input.name}_f16`;
    g.replaceAllUses(input.name, inner);
    g.addNode(new Node({ name: `${input.name}_cast`, opType: 'Cast', inputs: [input.name], outputs: [inner], attributes: [makeAttr.int('to', DataType.FLOAT16)] }), { before: first });
  }
  for (const o of g.outputs) {
    if (o.elemType !== DataType.FLOAT) continue;
    const p = g.producerOf(o.name)!;
    const inner = `${o.name}_f16`;
    g.setNodeOutput(p, p.outputs.indexOf(o.name), inner);
    g.addNode(new Node({ name: `${o.name}_cast`, opType: 'Cast', inputs: [inner], outputs: [o.name], attributes: [makeAttr.int('to', DataType.FLOAT)] }), { after: p });
  }
  return model;
}
