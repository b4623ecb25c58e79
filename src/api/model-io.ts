import { decodeModel, readModelFile, writeModelFile, type WriteOptions } from '../onnx/index.js';
import type { Model } from '../ir/index.js';

/** Reads an ONNX model from a path (external data resolved beside it) or from bytes. */
export function readModel(source: string | Uint8Array): Model {
  return typeof source === 'string' ? readModelFile(source) : decodeModel(source, { label: 'model bytes' });
}

/** Writes a model atomically; tensors move to `<file>.data` when the protobuf would pass 2 GB. */
export function writeModel(model: Model, file: string, opts: WriteOptions = {}): { bytes: number; externalDataFile?: string } {
  return writeModelFile(model, file, opts);
}
