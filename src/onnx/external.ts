// External data: tensor bytes stored in a file beside the model (TensorProto.external_data).
import fs from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../errors.js';
import { MAX_ALLOC_BYTES, mib } from '../limits.js';

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

/**
 * The bytes of an externally stored tensor. The location must resolve, symlinks followed, to a
 * regular file inside the model's folder; `expectedBytes` (from the tensor's dims and type) is
 * what is read, and a `length` entry that disagrees with it is an error, as is a file too short.
 * The file is opened non-blocking, so a FIFO or device is refused instead of read forever.
 */
export function readExternal(baseDir: string | undefined, ref: ExternalRef, tensorName: string, expectedBytes: number | undefined, modelFile = 'model'): Uint8Array {
  return withExternal(baseDir, ref, tensorName, expectedBytes, modelFile, (fd, _real, bytes, file) => readRange(fd, file, ref.offset, bytes, tensorName));
}

/** Where a checked external tensor's bytes are: the real path of its file, offset and length. */
export interface ExternalSlice {
  file: string;
  offset: number;
  length: number;
}

/**
 * Every check of readExternal (containment, regular file, length, size of the file), without
 * reading the bytes: for tensors of a large model that stay in their file until a pass needs them.
 */
export function checkExternal(baseDir: string | undefined, ref: ExternalRef, tensorName: string, expectedBytes: number | undefined, modelFile = 'model'): ExternalSlice {
  return withExternal(baseDir, ref, tensorName, expectedBytes, modelFile, (_fd, file, bytes) => ({ file, offset: ref.offset, length: bytes }));
}

/** Reads a checked slice again (a lazy tensor's bytes); the file must still hold them. */
export function readSlice(s: ExternalSlice, tensorName: string): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(s.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new UserInputError(`${s.file}: cannot open the external data for tensor '${tensorName}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); keep the data file beside the model while qtool runs`, 1, { cause: e });
  }
  try {
    return readRange(fd, s.file, s.offset, s.length, tensorName);
  } finally {
    fs.closeSync(fd);
  }
}

function withExternal<T>(baseDir: string | undefined, ref: ExternalRef, tensorName: string, expectedBytes: number | undefined, modelFile: string, use: (fd: number, real: string, bytes: number, file: string) => T): T {
  if (baseDir === undefined) {
    throw new UserInputError(`tensor '${tensorName}' has external data; read the model from its file path, not from bytes`);
  }
  const file = resolveExternalPath(baseDir, ref.location, tensorName);
  if (expectedBytes === undefined || !Number.isSafeInteger(expectedBytes) || expectedBytes > MAX_ALLOC_BYTES) {
    throw new UserInputError(`${modelFile}: tensor '${tensorName}' declares dims too large to hold (over ${mib(MAX_ALLOC_BYTES)}); fix its dims`);
  }
  if (ref.length !== undefined && ref.length !== expectedBytes) {
    throw new UserInputError(`${modelFile}: tensor '${tensorName}' has external data length ${ref.length}, but its dims and type need ${expectedBytes} bytes; fix the length entry or the dims`);
  }
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UserInputError(`${file}: external data for tensor '${tensorName}' is a symlink loop; replace it with the data file`);
    throw new UserInputError(`${file}: external data file for tensor '${tensorName}' not found; keep it beside the model`);
  }
  const realBase = fs.realpathSync(baseDir);
  const rel = path.relative(realBase, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new UserInputError(`${file}: external data for tensor '${tensorName}' resolves to ${real}, outside the model's folder; copy the data file beside the model instead of linking it`);
  }
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new UserInputError(`${file}: cannot open the external data for tensor '${tensorName}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1, { cause: e });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new UserInputError(`${file}: external data for tensor '${tensorName}' is not a regular file (a FIFO, device or folder); point the location at a data file`);
    }
    if (ref.offset + expectedBytes > st.size) {
      throw new UserInputError(`${file}: external data for tensor '${tensorName}' is truncated (wanted ${expectedBytes} bytes at offset ${ref.offset}, the file has ${st.size}); write the data file again`);
    }
    return use(fd, real, expectedBytes, file);
  } finally {
    fs.closeSync(fd);
  }
}

function readRange(fd: number, file: string, offset: number, length: number, tensorName: string): Uint8Array {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, done, Math.min(length - done, 2 ** 30), offset + done);
    } catch (e) {
      throw new UserInputError(`${file}: cannot read the external data for tensor '${tensorName}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1, { cause: e });
    }
    if (n === 0) break;
    done += n;
  }
  if (done !== length) throw new UserInputError(`${file}: external data for tensor '${tensorName}' is truncated (wanted ${length} bytes at offset ${offset}, got ${done}); write the data file again`);
  return buf;
}
