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
  return model.opsets.find((o) => (isDefaultDomain(domain) ? isDefaultDomain(o.domain) : o.domain === domain))?.version;
}

/** The default ONNX domain, spelled '' or 'ai.onnx'. */
export function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

/** Imports `domain` at `version` unless the model already imports it. */
export function importDomain(model: Model, domain: string, version: number): boolean {
  if (model.opsets.some((o) => o.domain === domain)) return false;
  model.opsets.push({ domain, version });
  return true;
}
