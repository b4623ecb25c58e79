// What an adapter sees: the graph that holds the node, fresh names that collide with nothing in the
// model (subgraphs included, so a new name never shadows an outer-scope value), constants, element
// types and ranks where the file states them, and node replacement in place.
import { DataType, Graph, Node, Tensor, floatToHalf, inferElemTypes, type Int64 } from '../../ir/index.js';

/** Thrown by an adapter for a node it cannot convert; the converter reports op, opset and why. */
export class Refusal extends Error {}

export class AdaptContext {
  private types?: Map<string, number>;
  private ranks?: Map<string, number>;

  /** `parent`: the context of the graph whose node holds this subgraph (outer-scope values). */
  constructor(readonly g: Graph, private readonly names: Set<string>, readonly fromOpset: number, readonly target: number, private readonly parent?: AdaptContext, private readonly irVersion = 10) {}

  /** A value/node name used nowhere in the model. */
  name(base: string): string {
    let n = this.g.uniqueName(base || 'v');
    while (this.names.has(n)) n = this.g.uniqueName(base || 'v');
    this.names.add(n);
    return n;
  }

  /** Base for the names of values made for `node`. */
  base(node: Node): string {
    return `${node.name || node.outputs[0] || node.opType}_opset${this.target}`;
  }

  int64(base: string, values: readonly Int64[], dims: readonly number[] = [values.length]): string {
    const t = new Tensor({ name: this.name(base), dtype: DataType.INT64, dims, bytes: int64Bytes(values) });
    return this.g.addInitializer(t).name;
  }

  /** A scalar or 1-D constant of a float element type (float32, float64 or float16). */
  float(base: string, values: readonly number[], dtype: number, dims: readonly number[] = [values.length]): string {
    const name = this.name(base);
    let t: Tensor;
    if (dtype === DataType.DOUBLE) t = Tensor.fromTyped(name, dtype, dims, Float64Array.from(values));
    else if (dtype === DataType.FLOAT16) t = Tensor.fromTyped(name, dtype, dims, Uint16Array.from(values, floatToHalf));
    else if (dtype === DataType.FLOAT || dtype === undefined) t = Tensor.fromFloat32(name, dims, Float32Array.from(values));
    else throw new Refusal(`no constant of element type ${dtype} can be made here`);
    return this.g.addInitializer(t).name;
  }

  /** Element type of a value (value_info, graph I/O, or a forward pass over op semantics). */
  elemType(value: string): number | undefined {
    this.types ??= inferElemTypes(this.g);
    return this.types.get(value) ?? (this.defines(value) ? undefined : this.parent?.elemType(value));
  }

  /** Rank of a value where the file states it (value_info, graph I/O, initializers), or one
   * propagated through rank-preserving ops. */
  rank(value: string): number | undefined {
    if (!this.ranks) {
      const r = new Map<string, number>();
      for (const v of [...this.g.inputs, ...this.g.outputs, ...this.g.valueInfo.values()]) if (v.shape) r.set(v.name, v.shape.length);
      for (const [name, t] of this.g.initializers) r.set(name, t.dims.length);
      for (const n of this.g.nodes) {
        const c = this.g.constantOf(n.outputs[0] ?? '');
        if (c && n.opType === 'Constant') r.set(n.outputs[0]!, c.dims.length);
        const inRank = r.get(n.inputs[0] ?? '');
        if (inRank !== undefined && RANK_PRESERVING.has(n.opType) && !n.domain && n.outputs[0] && !r.has(n.outputs[0])) r.set(n.outputs[0], inRank);
      }
      this.ranks = r;
    }
    return this.ranks.get(value) ?? (this.defines(value) ? undefined : this.parent?.rank(value));
  }

  /** Whether this graph itself defines `value` (input, initializer or node output). */
  private defines(value: string): boolean {
    return this.g.isGraphInput(value) || this.g.initializers.has(value) || !!this.g.producerOf(value);
  }

  /** The constant behind a value. Below IR 4 initializers are listed as graph inputs and are
   * still constants. */
  constant(value: string): Tensor | undefined {
    if (!value) return undefined;
    return this.g.constantOf(value) ?? (this.irVersion < 4 ? this.g.initializers.get(value) : undefined);
  }

  /** A fresh node (name made unique); its outputs are fresh values unless given. */
  node(opType: string, inputs: string[], outputs: string[] | number, attributes: Node['attributes'] = [], base = opType): Node {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => this.name(`${base}_out${i}`)) : outputs;
    return new Node({ name: this.name(base), opType, inputs, outputs: outs, attributes });
  }

  /** Replaces `old` by `nodes` at its position in the list (the graph is topologically ordered). */
  replace(old: Node, nodes: Node[]): void {
    const list = this.g.nodes;
    const at = list.indexOf(old);
    const next = list[at + 1];
    this.g.removeNode(old);
    for (const n of nodes) this.g.addNode(n, next ? { before: next } : undefined);
    this.types = undefined;
    this.ranks = undefined;
  }

  /** The same node under another op type and/or with other inputs, outputs and attributes. */
  rebuild(old: Node, change: { opType?: string; inputs?: string[]; outputs?: string[]; attributes?: Node['attributes'] }, extra: { before?: Node[]; after?: Node[] } = {}): Node {
    const fresh = new Node({
      name: old.name, opType: change.opType ?? old.opType, domain: old.domain, inputs: change.inputs ?? [...old.inputs],
      outputs: change.outputs ?? [...old.outputs], attributes: change.attributes ?? old.attributes, source: old.source,
    });
    this.replace(old, [...(extra.before ?? []), fresh, ...(extra.after ?? [])]);
    return fresh;
  }
}

const RANK_PRESERVING = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Abs', 'Neg', 'Sqrt', 'Elu', 'Selu', 'Softplus', 'Softsign', 'HardSigmoid',
  'Identity', 'Dropout', 'Clip', 'Cast', 'Softmax', 'LogSoftmax', 'Hardmax', 'BatchNormalization', 'InstanceNormalization',
  'LRN', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'Erf', 'Floor', 'Ceil', 'Round', 'Reciprocal', 'Sin', 'Cos',
]);

export function int64Bytes(values: readonly Int64[]): Uint8Array {
  const a = BigInt64Array.from(values, (v) => BigInt.asIntN(64, BigInt(v)));
  return new Uint8Array(a.buffer);
}

/** Removes attributes by name; returns the remaining list. */
export function without(attrs: Node['attributes'], ...names: string[]): Node['attributes'] {
  return attrs.filter((a) => !names.includes(a.name));
}

/** The raw int64 values of an INTS attribute (bigints kept: INT64_MAX ends stay exact). */
export function rawInts(node: Node, name: string): Int64[] | undefined {
  const a = node.attr(name);
  return a && a.type === 7 ? [...a.value] : undefined;
}

/** Pads the input list with '' up to `index`, then sets it. */
export function withInput(inputs: readonly string[], index: number, name: string): string[] {
  const out = [...inputs];
  while (out.length < index) out.push('');
  out[index] = name;
  return out;
}

/** Drops trailing '' inputs. */
export function trimInputs(inputs: string[]): string[] {
  const out = [...inputs];
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}
