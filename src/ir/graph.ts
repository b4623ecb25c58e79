// The graph IR, after onnx-graphsurgeon: Graph, Node, Value (names) and nothing else. The producer
// and consumer indices are derived state that only this class's mutators change.
import { ModelError } from '../errors.js';
import { AttrType, Node, type ValueInfo } from './node.js';
import { Tensor } from './tensor.js';
import { DataType } from './dtype.js';
import { isDefaultDomain } from './model.js';

export interface GraphInit {
  name?: string;
  nodes?: Node[];
  initializers?: Tensor[];
  inputs?: ValueInfo[];
  outputs?: ValueInfo[];
  valueInfo?: ValueInfo[];
  source?: unknown;
}

export class Graph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** value_info entries by name, in file order. */
  valueInfo: Map<string, ValueInfo>;
  /** The decoded message as read (opaque outside src/onnx). */
  source: unknown;
  private nodeList: Node[] = [];
  private inits = new Map<string, Tensor>();
  private producers = new Map<string, Node>();
  private consumers = new Map<string, Node[]>();
  private usedNames = new Set<string>();
  private nextSuffix = new Map<string, number>();

  constructor(init: GraphInit = {}) {
    this.name = init.name ?? '';
    this.inputs = init.inputs ?? [];
    this.outputs = init.outputs ?? [];
    this.valueInfo = new Map((init.valueInfo ?? []).map((v) => [v.name, v]));
    this.source = init.source;
    for (const t of init.initializers ?? []) this.addInitializer(t);
    for (const n of init.nodes ?? []) this.addNode(n);
  }

  get nodes(): readonly Node[] {
    return this.nodeList;
  }
  get initializers(): ReadonlyMap<string, Tensor> {
    return this.inits;
  }
  producerOf(name: string): Node | undefined {
    return this.producers.get(name);
  }
  consumersOf(name: string): readonly Node[] {
    return this.consumers.get(name) ?? [];
  }
  isGraphOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }
  isGraphInput(name: string): boolean {
    return this.inputs.some((i) => i.name === name);
  }
  /** Graph inputs that are not also initializers (the real feeds). */
  feedInputs(): ValueInfo[] {
    return this.inputs.filter((i) => !this.inits.has(i.name));
  }

  /** The constant behind a value: an initializer (not overridable by a feed) or a Constant node's output. */
  constantOf(name: string): Tensor | undefined {
    const init = this.inits.get(name);
    if (init) return this.isGraphInput(name) ? undefined : init;
    const p = this.producers.get(name);
    return p && p.opType === 'Constant' && isDefaultDomain(p.domain) ? constantNodeValue(p) : undefined;
  }

  // ---- mutators -------------------------------------------------------------------------

  addNode(node: Node, position?: { before?: Node; after?: Node }): Node {
    for (const out of node.outputs) {
      if (out === '') continue;
      const prev = this.producers.get(out);
      if (prev && prev !== node) throw new ModelError(`value '${out}' has two producers: ${prev.describe()} and ${node.describe()}`);
      this.producers.set(out, node);
    }
    this.indexConsumers(node, +1);
    let at = this.nodeList.length;
    if (position?.before) at = this.indexOf(position.before);
    else if (position?.after) at = this.indexOf(position.after) + 1;
    this.nodeList.splice(at, 0, node);
    this.reserve(node.name, ...node.outputs);
    return node;
  }

  removeNode(node: Node): void {
    const i = this.indexOf(node);
    this.nodeList.splice(i, 1);
    for (const out of node.outputs) if (this.producers.get(out) === node) this.producers.delete(out);
    this.indexConsumers(node, -1);
  }

  setNodeInput(node: Node, index: number, name: string): void {
    this.indexConsumers(node, -1);
    while (node._inputs.length <= index) node._inputs.push('');
    node._inputs[index] = name;
    this.indexConsumers(node, +1);
    this.reserve(name);
  }

  setNodeOutput(node: Node, index: number, name: string): void {
    const old = node._outputs[index];
    if (old && this.producers.get(old) === node) this.producers.delete(old);
    const prev = this.producers.get(name);
    if (prev && prev !== node) throw new ModelError(`value '${name}' already has a producer: ${prev.describe()}`);
    node._outputs[index] = name;
    if (name) this.producers.set(name, node);
    this.reserve(name);
  }

  /** Points every consumer of `from` (and graph outputs, if asked) at `to`. */
  replaceAllUses(from: string, to: string, opts: { except?: Node; graphOutputs?: boolean } = {}): void {
    for (const c of [...this.consumersOf(from)]) {
      if (c === opts.except) continue;
      this.indexConsumers(c, -1);
      c._inputs.forEach((inp, i) => {
        if (inp === from) c._inputs[i] = to;
      });
      // Subgraphs (If/Loop/Scan bodies, nested ones included) that read `from` from this scope read `to`.
      for (const sub of c.subgraphs()) sub.renameOuterReference(from, to);
      this.indexConsumers(c, +1);
      this.reserve(to);
    }
    if (opts.graphOutputs) this.outputs = this.outputs.map((o) => (o.name === from ? { ...o, name: to, source: undefined } : o));
  }

  /**
   * Renames an outer-scope value this graph (a subgraph) reads, through its nested subgraphs,
   * unless this graph defines a value of that name itself (which then hides the outer one).
   */
  renameOuterReference(from: string, to: string): void {
    if (this.isGraphInput(from) || this.inits.has(from) || this.producers.has(from)) return;
    this.replaceAllUses(from, to);
    this.outputs = this.outputs.map((o) => (o.name === from ? { ...o, name: to, source: undefined } : o));
  }

  addInitializer(t: Tensor): Tensor {
    this.inits.set(t.name, t);
    this.reserve(t.name);
    return t;
  }
  removeInitializer(name: string): void {
    this.inits.delete(name);
  }

  /**
   * Makes these graphs (a model's graph and its If/Loop/Scan bodies) draw new names from one
   * namespace, so that a name made in a body never shadows or repeats one of another scope.
   */
  static shareNamespace(graphs: readonly Graph[]): void {
    const all = new Set<string>();
    for (const g of graphs) for (const n of g.usedNames) all.add(n);
    for (const g of graphs) g.usedNames = all;
  }

  /** A name not yet used for any value, node or initializer of this graph. */
  uniqueName(base: string): string {
    let name = base;
    let k = this.nextSuffix.get(base) ?? 1;
    while (this.usedNames.has(name)) name = `${base}_${k++}`;
    this.nextSuffix.set(base, k);
    this.usedNames.add(name);
    return name;
  }

  // ---- whole-graph operations -----------------------------------------------------------

  /** Stable topological sort (Kahn's algorithm, original order as the tie-breaker). */
  toposort(): void {
    const index = new Map(this.nodeList.map((n, i) => [n, i]));
    const pending = new Map<Node, number>();
    const dependents = new Map<Node, Node[]>();
    for (const n of this.nodeList) {
      const deps = new Set<Node>();
      for (const i of [...n.inputs, ...n.implicitInputs()]) {
        const p = i ? this.producers.get(i) : undefined;
        if (p && p !== n) deps.add(p);
        else if (p === n) throw new ModelError(`graph '${this.name}' has a cycle through ${n.describe()}`);
      }
      pending.set(n, deps.size);
      for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), n]);
    }
    // A binary heap keyed by original position keeps the order stable.
    const heap: Node[] = [];
    const push = (n: Node) => {
      heap.push(n);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (index.get(heap[parent]!)! <= index.get(heap[i]!)!) break;
        [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
        i = parent;
      }
    };
    const pop = (): Node => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && index.get(heap[l]!)! < index.get(heap[m]!)!) m = l;
          if (r < heap.length && index.get(heap[r]!)! < index.get(heap[m]!)!) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i]!, heap[m]!];
          i = m;
        }
      }
      return top;
    };
    for (const [n, c] of pending) if (c === 0) push(n);
    const sorted: Node[] = [];
    while (heap.length) {
      const n = pop();
      sorted.push(n);
      for (const d of dependents.get(n) ?? []) {
        const left = pending.get(d)! - 1;
        pending.set(d, left);
        if (left === 0) push(d);
      }
    }
    if (sorted.length !== this.nodeList.length) {
      const stuck = this.nodeList.find((n) => pending.get(n)! > 0)!;
      throw new ModelError(`graph '${this.name}' has a cycle through ${stuck.describe()}`);
    }
    this.nodeList = sorted;
  }

  /** Removes nodes whose outputs nobody reads and initializers nobody references. */
  cleanup(): void {
    const live = new Set(this.outputs.map((o) => o.name));
    for (let i = this.nodeList.length - 1; i >= 0; i--) {
      const n = this.nodeList[i]!;
      if (!n.outputs.some((o) => live.has(o))) {
        this.removeNode(n);
        continue;
      }
      for (const inp of [...n.inputs, ...n.implicitInputs()]) live.add(inp);
    }
    for (const name of [...this.inits.keys()]) if (!live.has(name) && !this.isGraphInput(name)) this.inits.delete(name);
  }

  /** Names this graph (and its nested subgraphs) read but does not define. */
  outerScopeReferences(): string[] {
    const defined = new Set<string>([...this.inputs.map((i) => i.name), ...this.inits.keys(), '']);
    for (const n of this.nodeList) for (const o of n.outputs) defined.add(o);
    const refs = new Set<string>();
    for (const n of this.nodeList) for (const i of [...n.inputs, ...n.implicitInputs()]) if (!defined.has(i)) refs.add(i);
    for (const o of this.outputs) if (!defined.has(o.name)) refs.add(o.name);
    return [...refs].sort();
  }

  /** Throws ModelError unless: acyclic in list order, one producer per value, no dangling refs. */
  checkInvariants(outerScope: ReadonlySet<string> = new Set()): void {
    const available = new Set<string>(['', ...outerScope, ...this.inputs.map((i) => i.name), ...this.inits.keys()]);
    const produced = new Map<string, Node>();
    for (const n of this.nodeList) {
      for (const i of n.inputs) if (!available.has(i)) throw new ModelError(`${n.describe()} reads '${i}' before it is produced, or it is never produced`);
      for (const g of n.subgraphs()) g.checkInvariants(available);
      for (const o of n.outputs) {
        if (o === '') continue;
        if (produced.has(o)) throw new ModelError(`value '${o}' has two producers`);
        if (this.producers.get(o) !== n) throw new ModelError(`producer index is stale for '${o}'`);
        produced.set(o, n);
        available.add(o);
      }
      for (const i of n.inputs) if (i && !this.consumersOf(i).includes(n)) throw new ModelError(`consumer index is stale for '${i}'`);
    }
    if (produced.size !== [...this.producers.keys()].length) throw new ModelError('producer index lists a node that is not in the graph');
    for (const o of this.outputs) if (!available.has(o.name)) throw new ModelError(`graph output '${o.name}' is never produced`);
  }

  private indexOf(node: Node): number {
    const i = this.nodeList.indexOf(node);
    if (i < 0) throw new ModelError(`${node.describe()} is not in graph '${this.name}'`);
    return i;
  }
  private indexConsumers(node: Node, delta: 1 | -1): void {
    const names = new Set([...node.inputs, ...node.implicitInputs()]);
    for (const name of names) {
      if (!name) continue;
      const list = this.consumers.get(name) ?? [];
      if (delta > 0) list.push(node);
      else list.splice(list.indexOf(node) >>> 0, list.indexOf(node) >= 0 ? 1 : 0);
      if (list.length) this.consumers.set(name, list);
      else this.consumers.delete(name);
    }
  }
  private reserve(...names: string[]): void {
    for (const n of names) if (n) this.usedNames.add(n);
  }
}

/** The tensor a Constant node holds, whichever of its value attributes carries it. */
export function constantNodeValue(node: Node): Tensor | undefined {
  const out = node.outputs[0] ?? '';
  for (const a of node.attributes) {
    switch (a.name) {
      case 'value':
        return a.type === AttrType.TENSOR ? a.value : undefined;
      case 'value_float':
        return a.type === AttrType.FLOAT ? Tensor.fromFloat32(out, [], new Float32Array([a.value])) : undefined;
      case 'value_floats':
        return a.type === AttrType.FLOATS ? Tensor.fromFloat32(out, [a.value.length], new Float32Array(a.value)) : undefined;
      case 'value_int':
        return a.type === AttrType.INT ? Tensor.fromInt64(out, [], [Number(a.value)]) : undefined;
      case 'value_ints':
        return a.type === AttrType.INTS ? Tensor.fromInt64(out, [a.value.length], a.value.map(Number)) : undefined;
    }
  }
  return undefined;
}
export { DataType };
