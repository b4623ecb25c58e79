import type { Graph } from './graph.js';
import type { Int64 } from './node.js';

export interface OpsetId {
  domain: string;
  version: number;
}

/** A whole ONNX model. Functions and training info are carried through unchanged (opaque). */
export interface Model {
  irVersion: Int64;
  opsets: OpsetId[];
  producerName: string;
  producerVersion: string;
  metadata: { key: string; value: string }[];
  graph: Graph;
  /** Model-local functions as read (opaque outside src/onnx). */
  functions: unknown[];
  /** The decoded ModelProto as read (opaque outside src/onnx). */
  source: unknown;
  /** Folder the model was read from; external data resolves against it. */
  baseDir?: string;
}

export function opsetVersion(model: Model, domain = ''): number | undefined {
  const d = domain === 'ai.onnx' ? '' : domain;
  return model.opsets.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d)?.version;
}
