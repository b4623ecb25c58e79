// Node, Attribute and ValueInfo. A node's edges (inputs/outputs) are read-only here: only Graph's
// mutators change them, so the producer/consumer indices cannot go stale.
import type { Tensor } from './tensor.js';
import type { Graph } from './graph.js';

export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
  FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
} as const;

/** int64 values are numbers when exactly representable, bigints otherwise (e.g. INT64_MAX ends). */
export type Int64 = number | bigint;

export type AttrValue =
  | { type: 1; value: number } | { type: 2; value: Int64 } | { type: 3; value: Uint8Array }
  | { type: 4; value: Tensor } | { type: 5; value: Graph }
  | { type: 6; value: number[] } | { type: 7; value: Int64[] } | { type: 8; value: Uint8Array[] }
  | { type: 9; value: Tensor[] } | { type: 10; value: Graph[] }
  | { type: 0 | 11 | 12 | 13 | 14; value: unknown };

export type Attribute = AttrValue & { name: string; source?: unknown };

export interface ValueInfo {
  readonly name: string;
  /** Element type of a tensor value; undefined for non-tensor types (sequence, map, optional). */
  readonly elemType?: number;
  /** Dims: a number, a symbolic name, or null for an unknown dim. undefined = unknown rank. */
  readonly shape?: readonly (number | string | null)[];
  /** The decoded message as read (opaque outside src/onnx). */
  readonly source?: unknown;
}

let nextNodeId = 1;

export class Node {
  name: string;
  readonly opType: string;
  readonly domain: string;
  /** @internal mutated only by Graph */
  _inputs: string[];
  /** @internal mutated only by Graph */
  _outputs: string[];
  attributes: Attribute[];
  /** The decoded message as read (opaque outside src/onnx). */
  source: unknown;
  /** Stable creation order; used as a deterministic tie-breaker. */
  readonly id = nextNodeId++;

  constructor(init: { name?: string; opType: string; domain?: string; inputs?: string[]; outputs?: string[]; attributes?: Attribute[]; source?: unknown }) {
    this.name = init.name ?? '';
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this._inputs = [...(init.inputs ?? [])];
    this._outputs = [...(init.outputs ?? [])];
    this.attributes = init.attributes ?? [];
    this.source = init.source;
  }

  get inputs(): readonly string[] {
    return this._inputs;
  }
  get outputs(): readonly string[] {
    return this._outputs;
  }
  attr(name: string): Attribute | undefined {
    return this.attributes.find((a) => a.name === name);
  }
  attrInt(name: string, dflt: number): number {
    const a = this.attr(name);
    return a && a.type === AttrType.INT ? Number(a.value) : dflt;
  }
  attrFloat(name: string, dflt: number): number {
    const a = this.attr(name);
    return a && a.type === AttrType.FLOAT ? a.value : dflt;
  }
  attrInts(name: string): number[] | undefined {
    const a = this.attr(name);
    return a && a.type === AttrType.INTS ? a.value.map(Number) : undefined;
  }
  attrString(name: string): string | undefined {
    const a = this.attr(name);
    return a && a.type === AttrType.STRING ? new TextDecoder().decode(a.value) : undefined;
  }
  /** Subgraphs held in attributes (If/Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes) {
      if (a.type === AttrType.GRAPH) out.push(a.value);
      else if (a.type === AttrType.GRAPHS) out.push(...a.value);
    }
    return out;
  }
  /** Outer-scope values that this node's subgraphs read. */
  implicitInputs(): string[] {
    const names = new Set<string>();
    for (const g of this.subgraphs()) for (const n of g.outerScopeReferences()) names.add(n);
    return [...names].sort();
  }
  describe(): string {
    return `${this.opType}${this.name ? ` '${this.name}'` : ''}`;
  }
}

export const makeAttr = {
  int: (name: string, value: Int64): Attribute => ({ name, type: AttrType.INT, value }),
  float: (name: string, value: number): Attribute => ({ name, type: AttrType.FLOAT, value: Math.fround(value) }),
  ints: (name: string, value: Int64[]): Attribute => ({ name, type: AttrType.INTS, value }),
  floats: (name: string, value: number[]): Attribute => ({ name, type: AttrType.FLOATS, value: value.map(Math.fround) }),
  string: (name: string, value: string): Attribute => ({ name, type: AttrType.STRING, value: new TextEncoder().encode(value) }),
  tensor: (name: string, value: Tensor): Attribute => ({ name, type: AttrType.TENSOR, value }),
};
