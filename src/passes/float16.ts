// float16 models compute in float32 before quantizing: the quantizer works from the float16
// weights themselves (widening is exact), and the Casts that existed only to feed float16 kernels
// disappear. The model's float16 inputs and outputs keep their type at the boundary.
//
// Before: X(f16) ─▶ Conv(W f16) ─▶ Cast(to=f32) ─▶ Resize ─▶ Cast(to=f16) ─▶ Sigmoid ─▶ Y(f16)
// After:  X(f16) ─▶ Cast(to=f32) ─▶ Conv(W f32) ─▶ Resize ─▶ Sigmoid ─▶ Cast(to=f16) ─▶ Y(f16)
//         (Casts whose input already has their target type become Identity, which
//         remove-identity then drops)
import { AttrType, DataType, Node, Tensor, inferElemTypes, makeAttr, type Attribute, type Graph, type ValueInfo } from '../ir/index.js';
import type { Pass } from './pass.js';

const F16 = DataType.FLOAT16;
const F32 = DataType.FLOAT;
/** Attributes naming an element type that ops create values of. */
const DTYPE_ATTRS: Record<string, string> = { Cast: 'to', EyeLike: 'dtype', RandomNormal: 'dtype', RandomUniform: 'dtype', RandomNormalLike: 'dtype', RandomUniformLike: 'dtype', Bernoulli: 'dtype' };

export const float16ToFloat32: Pass = {
  name: 'float16-to-float32',
  run(model) {
    const g = model.graph;
    if (!usesFloat16(g)) return [];
    const widened = widen(g);
    const boundary = keepBoundary(g);
    const casts = identityCasts(g);
    return [`widened ${widened} float16 constants to float32 (exact) and compute in float32; ${casts} Casts became redundant${boundary ? `; ${boundary} float16 inputs/outputs keep their type through a Cast at the boundary` : ''}`];
  },
};

function usesFloat16(g: Graph): boolean {
  for (const [, t] of g.initializers) if (t.dtype === F16) return true;
  for (const n of g.nodes) {
    if (n.opType === 'Constant' && n.attributes.some((a) => a.type === AttrType.TENSOR && a.value.dtype === F16)) return true;
    if (DTYPE_ATTRS[n.opType] && n.attrInt(DTYPE_ATTRS[n.opType]!, 0) === F16) return true;
    if (n.subgraphs().some(usesFloat16)) return true;
  }
  return false;
}

function widenTensor(t: Tensor): Tensor {
  return Tensor.fromFloat32(t.name, t.dims, t.toFloat32());
}

function widenAttr(a: Attribute, opType: string): Attribute {
  if (a.type === AttrType.TENSOR && a.value.dtype === F16) return { ...makeAttr.tensor(a.name, widenTensor(a.value)) };
  if (DTYPE_ATTRS[opType] === a.name && a.type === AttrType.INT && Number(a.value) === F16) return makeAttr.int(a.name, F32);
  return a;
}

const widenInfo = (v: ValueInfo): ValueInfo => (v.elemType === F16 ? { name: v.name, elemType: F32, shape: v.shape } : v);

/** Every float16 constant, dtype attribute and type annotation of g and its subgraphs → float32. */
function widen(g: Graph): number {
  let count = 0;
  for (const [name, t] of [...g.initializers]) {
    if (t.dtype !== F16) continue;
    g.removeInitializer(name);
    g.addInitializer(widenTensor(t));
    count++;
  }
  for (const n of g.nodes) {
    const before = n.attributes;
    n.attributes = before.map((a) => widenAttr(a, n.opType));
    count += n.attributes.filter((a, i) => a !== before[i] && a.type === AttrType.TENSOR).length;
    for (const sub of n.subgraphs()) {
      sub.inputs = sub.inputs.map(widenInfo);
      sub.outputs = sub.outputs.map(widenInfo);
      count += widen(sub);
    }
  }
  for (const [k, v] of g.valueInfo) g.valueInfo.set(k, widenInfo(v));
  return count;
}

/** Top-level float16 feeds and outputs stay float16: Casts at the boundary, float32 inside. */
function keepBoundary(g: Graph): number {
  let count = 0;
  const first = g.nodes[0];
  for (const input of g.feedInputs()) {
    if (input.elemType !== F16 || !g.consumersOf(input.name).length) continue;
    const inner = g.uniqueName(`${input.name}_f32`);
    const cast = new Node({ name: g.uniqueName(`${input.name}_to_f32`), opType: 'Cast', inputs: [input.name], outputs: [inner], attributes: [makeAttr.int('to', F32)] });
    g.replaceAllUses(input.name, inner);
    g.addNode(cast, first ? { before: first } : undefined);
    count++;
  }
  g.outputs = g.outputs.map((o) => {
    if (o.elemType !== F16) return o;
    const producer = g.producerOf(o.name);
    if (!producer || g.isGraphInput(o.name)) return o;
    const inner = g.uniqueName(`${o.name}_f32`);
    g.setNodeOutput(producer, producer.outputs.indexOf(o.name), inner);
    g.replaceAllUses(o.name, inner);
    g.addNode(new Node({ name: g.uniqueName(`${o.name}_to_f16`), opType: 'Cast', inputs: [inner], outputs: [o.name], attributes: [makeAttr.int('to', F16)] }), { after: producer });
    count++;
    return o;
  });
  return count;
}

/** A Cast whose input already has the target type is the identity: turn it into one. */
function identityCasts(g: Graph): number {
  const types = inferElemTypes(g);
  let count = 0;
  for (const n of [...g.nodes]) {
    if (n.domain || n.opType !== 'Cast' || !n.inputs[0]) continue;
    if (n.attrInt('to', 0) !== F32 || types.get(n.inputs[0]) !== F32) continue;
    const next = g.nodes[g.nodes.indexOf(n) + 1];
    g.removeNode(n);
    g.addNode(new Node({ name: n.name, opType: 'Identity', inputs: [...n.inputs], outputs: [...n.outputs] }), next ? { before: next } : undefined);
    count++;
  }
  return count;
}
