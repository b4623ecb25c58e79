// Body tensors as model outputs, for observation. onnxruntime can only fetch graph outputs of the
// main graph, so a tensor defined inside an If/Loop/Scan body is routed out, scope by scope, on a
// copy of the model:
//
//   If:        the branch that defines it outputs it (through an Identity); the other branch
//              outputs an empty float tensor (shape [0]; If outputs may differ in shape between
//              branches since opset 11), and the If gets one more output. An empty result means
//              "that branch did not run on this batch": it adds no values to the statistics.
//   Loop/Scan: the body outputs it flattened (Reshape [-1]) as one more scan output: the node
//              stacks every iteration's values, so the statistics see all values it took. That
//              needs the same element count on every iteration; when it differs onnxruntime
//              refuses the run and calibration stops with its message.
//
// Nested bodies repeat the step at every level up to the main graph.
import { AttrType, DataType, Graph, makeAttr, Node, Tensor, type Model } from '../ir/index.js';
import { decodeModel, encodeModel } from '../onnx/index.js';

interface BodyInfo {
  owner: Node;
  parent: Graph;
  attr: string;
}

export interface ExposedModel {
  model: Model;
  /** Requested body tensor → the main-graph output that carries its values. */
  outputOf: Map<string, string>;
}

/** A copy of `model` with the body tensors among `tensors` routed to main-graph outputs; undefined when there are none. */
export function exposeBodyTensors(model: Model, tensors: readonly string[]): ExposedModel | undefined {
  if (!model.graph.nodes.some((n) => n.subgraphs().length)) return undefined;
  // Only copy the model (its whole encoding) when a requested tensor is defined in a body.
  const inMain = new Set([...model.graph.inputs.map((i) => i.name), ...model.graph.initializers.keys(), ...model.graph.nodes.flatMap((n) => n.outputs)]);
  if (tensors.every((t) => inMain.has(t))) return undefined;
  const copy = decodeModel(encodeModel(model));
  copy.baseDir = model.baseDir;
  const main = copy.graph;
  const mainNames = new Set([...main.inputs.map((i) => i.name), ...main.initializers.keys(), ...main.nodes.flatMap((n) => n.outputs)]);
  const info = new Map<Graph, BodyInfo>();
  const definedIn = new Map<string, Graph>();
  const graphs: Graph[] = [main];
  const walk = (g: Graph) => {
    for (const n of g.nodes) {
      for (const a of n.attributes) {
        if (a.type !== AttrType.GRAPH) continue;
        const sub = a.value;
        info.set(sub, { owner: n, parent: g, attr: a.name });
        graphs.push(sub);
        for (const v of [...sub.inputs.map((i) => i.name), ...sub.nodes.flatMap((m) => m.outputs)]) if (v && !definedIn.has(v)) definedIn.set(v, sub);
        walk(sub);
      }
    }
  };
  walk(main);
  const wanted = [...new Set(tensors)].filter((t) => !mainNames.has(t) && definedIn.has(t));
  if (wanted.length === 0) return undefined;
  Graph.shareNamespace(graphs);
  const outputOf = new Map<string, string>();
  for (const t of wanted) {
    const out = route(t, definedIn.get(t)!, info);
    if (out) outputOf.set(t, out);
  }
  return { model: copy, outputOf };
}

function route(t: string, body: Graph, info: ReadonlyMap<Graph, BodyInfo>): string | undefined {
  let name = t;
  let g = body;
  for (let at = info.get(g); at; at = info.get(g)) {
    const { owner, parent, attr } = at;
    if (owner.opType === 'If') {
      const other = owner.attr(attr === 'then_branch' ? 'else_branch' : 'then_branch');
      if (other?.type !== AttrType.GRAPH) return undefined;
      const out = g.uniqueName(`${t}_exposed`);
      g.addNode(new Node({ name: g.uniqueName(`${t}_Expose`), opType: 'Identity', inputs: [name], outputs: [out] }));
      g.outputs = [...g.outputs, { name: out, elemType: DataType.FLOAT }];
      const none = other.value.uniqueName(`${t}_none`);
      other.value.addNode(new Node({ name: other.value.uniqueName(`${t}_None`), opType: 'Constant', outputs: [none], attributes: [makeAttr.tensor('value', Tensor.fromFloat32(none, [0], new Float32Array(0)))] }));
      other.value.outputs = [...other.value.outputs, { name: none, elemType: DataType.FLOAT }];
    } else if (owner.opType === 'Loop' || owner.opType === 'Scan') {
      const shape = g.uniqueName(`${t}_flat_shape`);
      g.addNode(new Node({ name: g.uniqueName(`${t}_FlatShape`), opType: 'Constant', outputs: [shape], attributes: [makeAttr.tensor('value', Tensor.fromInt64(shape, [1], [-1]))] }));
      const out = g.uniqueName(`${t}_exposed`);
      g.addNode(new Node({ name: g.uniqueName(`${t}_Expose`), opType: 'Reshape', inputs: [name, shape], outputs: [out] }));
      g.outputs = [...g.outputs, { name: out, elemType: DataType.FLOAT }];
      if (owner.opType === 'Scan') {
        for (const key of ['scan_output_axes', 'scan_output_directions']) {
          const a = owner.attr(key);
          if (a?.type === AttrType.INTS) owner.attributes = owner.attributes.map((x) => (x === a ? makeAttr.ints(key, [...a.value, 0]) : x));
        }
      }
    } else return undefined;
    const next = parent.uniqueName(`${t}_exposed`);
    parent.setNodeOutput(owner, owner.outputs.length, next);
    name = next;
    g = parent;
  }
  return name;
}
