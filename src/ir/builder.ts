// A small builder for synthetic graphs: unit tests of single rules, and the benchmark models.
import { DataType } from './dtype.js';
import { Graph } from './graph.js';
import type { Model, OpsetId } from './model.js';
import { Node, makeAttr, type Attribute } from './node.js';
import { Tensor } from './tensor.js';

type AttrInit = number | number[] | string | Tensor | { float: number } | { floats: number[] };

export class GraphBuilder {
  readonly graph = new Graph({ name: 'synthetic' });
  private seed: number;

  constructor(opts: { seed?: number } = {}) {
    this.seed = opts.seed ?? 1;
  }

  input(name: string, shape: (number | string)[], elemType: number = DataType.FLOAT): string {
    this.graph.inputs.push({ name, elemType, shape });
    return name;
  }
  output(name: string, shape?: (number | string | null)[], elemType: number = DataType.FLOAT): void {
    this.graph.outputs.push({ name, elemType, shape });
  }
  init(name: string, dims: number[], data: Float32Array | number[]): string {
    const n = this.graph.uniqueName(name);
    this.graph.addInitializer(Tensor.fromFloat32(n, dims, data instanceof Float32Array ? data : new Float32Array(data)));
    return n;
  }
  initInt64(name: string, dims: number[], values: number[]): string {
    const n = this.graph.uniqueName(name);
    this.graph.addInitializer(Tensor.fromInt64(n, dims, values));
    return n;
  }
  /** Deterministic pseudo-random weights, He-style scale (fan-in = product of dims after the first). */
  randomInit(name: string, dims: number[], scale?: number): string {
    const size = dims.reduce((a, b) => a * b, 1);
    const fanIn = dims.slice(1).reduce((a, b) => a * b, 1) || 1;
    const s = scale ?? Math.sqrt(2 / fanIn);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = this.gaussian() * s;
    return this.init(name, dims, data);
  }
  /** Adds a node; returns its output names (one unless `outputs` says otherwise). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrInit> = {}, opts: { outputs?: number; name?: string; domain?: string } = {}): string[] {
    const name = this.graph.uniqueName(opts.name ?? opType.toLowerCase());
    const outs = Array.from({ length: opts.outputs ?? 1 }, (_, i) => this.graph.uniqueName(`${name}_out${i}`));
    const attributes = Object.entries(attrs).map(([k, v]) => toAttr(k, v));
    this.graph.addNode(new Node({ name, opType, domain: opts.domain ?? '', inputs, outputs: outs, attributes }));
    return outs;
  }
  op1(opType: string, inputs: string[], attrs: Record<string, AttrInit> = {}, opts: { name?: string; domain?: string } = {}): string {
    return this.op(opType, inputs, attrs, opts)[0]!;
  }
  model(opsets: OpsetId[] = [{ domain: '', version: 13 }], irVersion = 8): Model {
    return { irVersion, opsets, producerName: 'qtool-builder', producerVersion: '', metadata: [], graph: this.graph, functions: [], source: undefined };
  }
  private gaussian(): number {
    const u = Math.max(this.rand(), 1e-12);
    const v = this.rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** mulberry32 */
  private rand(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

function toAttr(name: string, v: AttrInit): Attribute {
  if (v instanceof Tensor) return makeAttr.tensor(name, v);
  if (typeof v === 'string') return makeAttr.string(name, v);
  if (typeof v === 'number') return makeAttr.int(name, v);
  if (Array.isArray(v)) return makeAttr.ints(name, v);
  if ('float' in v) return makeAttr.float(name, v.float);
  return makeAttr.floats(name, v.floats);
}
