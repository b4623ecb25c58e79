// External data: tensor bytes stored in a file beside the model (TensorProto.external_data).
import fs from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../errors.js';

export interface ExternalRef {
  location: string;
  offset: number;
  length?: number;
}

export function parseExternalRef(entries: { key: string; value: string }[], tensorName: string): ExternalRef {
  const kv = new Map(entries.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new UserInputError(`tensor '${tensorName}': external data has no location`);
  const count = (key: string): number | undefined => {
    const v = kv.get(key);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw new UserInputError(`tensor '${tensorName}': external data ${key} '${v}' is not a byte count`);
    return n;
  };
  return { location, offset: count('offset') ?? 0, length: count('length') };
}

/** Resolves a location against the model's folder, refusing absolute paths and escapes (`..`). */
export function resolveExternalPath(baseDir: string, location: string, tensorName: string): string {
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw new UserInputError(`tensor '${tensorName}': external data location '${location}' is absolute; only paths relative to the model's folder are allowed`);
  }
  const base = path.resolve(baseDir);
  const full = path.resolve(base, location);
  const rel = path.relative(base, full);
  if (rel === '') throw new UserInputError(`tensor '${tensorName}': external data location '${location}' names the model's folder, not a file`);
  // `..` as a whole path segment only: a file named `..data` beside the model is fine.
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new UserInputError(`tensor '${tensorName}': external data location '${location}' escapes the model's folder; move the data file beside the model`);
  }
  return full;
}

export function readExternal(baseDir: string | undefined, ref: ExternalRef, tensorName: string, expectedBytes: number): Uint8Array {
  if (baseDir === undefined) {
    throw new UserInputError(`tensor '${tensorName}' has external data; read the model from its file path, not from bytes`);
  }
  const file = resolveExternalPath(baseDir, ref.location, tensorName);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new UserInputError(`${file}: external data file for tensor '${tensorName}' not found; keep it beside the model`);
  }
  try {
    const length = ref.length ?? expectedBytes;
    const buf = new Uint8Array(length);
    let read: number;
    try {
      read = fs.readSync(fd, buf, 0, length, ref.offset);
    } catch (e) {
      throw new UserInputError(`${file}: cannot read the external data for tensor '${tensorName}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1, { cause: e });
    }
    if (read !== length) throw new UserInputError(`${file}: external data for tensor '${tensorName}' is truncated (wanted ${length} bytes at offset ${ref.offset}, got ${read})`);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}
