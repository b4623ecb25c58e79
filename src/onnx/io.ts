// Files: read a model (external data relative to its folder) and write one atomically, moving
// large tensors to an external data file when the protobuf would pass 2 GB.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserInputError } from '../errors.js';
import type { Graph, Model, Tensor } from '../ir/index.js';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { ModelProtoType } from './schema.js';

/** Protobuf messages cannot exceed 2 GiB; stay a little under it. */
export const EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 64 * 2 ** 20;
const EXTERNAL_MIN_TENSOR_BYTES = 1024;
const EXTERNAL_ALIGN = 4096;

/**
 * A model whose external data adds up to this many bytes or more is a "large model": its external
 * tensors stay in their file until a pass needs them (one at a time), sessions read them from
 * that file, and the output keeps its tensors in external data, written tensor by tensor. Below
 * it, everything is read into memory (the results are the same either way; the large-model path
 * trades re-reading the file for memory). QTOOL_LARGE_MODEL_BYTES overrides it (tests force the
 * large-model path on small models with it).
 */
export const LARGE_MODEL_BYTES = 2 ** 30;

export function largeModelBytes(): number {
  const v = process.env.QTOOL_LARGE_MODEL_BYTES;
  if (v === undefined || v === '') return LARGE_MODEL_BYTES;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UserInputError(`QTOOL_LARGE_MODEL_BYTES='${v}': give a byte count (an integer ≥ 0)`);
  return n;
}

/** Whether the model holds tensors still in their external data file (read as a large model). */
export function hasLazyTensors(model: Model): boolean {
  return allTensors(model.graph).some((t) => t.lazy !== undefined);
}

export function readModelFile(file: string, opts: { lazyExternalBytes?: number } = {}): Model {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a model file' : `cannot read (${code ?? (e as Error).message})`;
    throw new UserInputError(`${file}: ${why}`, 1, { cause: e });
  }
  if (bytes.byteLength === 0) throw new UserInputError(`${file}: the file is empty; pass an .onnx model`);
  return decodeModel(bytes, { baseDir: path.dirname(path.resolve(file)), label: file, lazyExternalBytes: opts.lazyExternalBytes ?? largeModelBytes() });
}

export interface WriteOptions {
  /** Serialized size above which tensors go to an external data file (default: just under 2 GB). */
  externalDataThreshold?: number;
  /** Refuse to write over this path (the input model). */
  inputPath?: string;
  /**
   * Put the tensors (of at least 1 KiB) in an external data file whatever the size. Default: when
   * the protobuf would pass the threshold, or the model was read as a large model (hasLazyTensors).
   */
  externalData?: boolean;
}

export interface WriteResult {
  bytes: number;
  externalDataFile?: string;
}

export function writeModelFile(model: Model, file: string, opts: WriteOptions = {}): WriteResult {
  if (opts.inputPath && path.resolve(opts.inputPath) === path.resolve(file)) {
    throw new UserInputError(`${file}: refusing to overwrite the input model; choose another output path with -o`);
  }
  const threshold = opts.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD;
  const tensors = allTensors(model.graph);
  const inline = tensors.reduce((s, t) => s + t.byteLength, 0);
  let external: Map<Tensor, { location: string; offset: number; length: number }> | undefined;
  let dataFile: string | undefined;
  if (inline > threshold || (opts.externalData ?? tensors.some((t) => t.lazy !== undefined))) {
    dataFile = `${path.basename(file)}.data`;
    external = new Map();
    const order: { t: Tensor; pad: number }[] = [];
    let offset = 0;
    for (const t of tensors) {
      if (t.byteLength < EXTERNAL_MIN_TENSOR_BYTES || t.strings) continue;
      const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
      offset += pad;
      external.set(t, { location: dataFile, offset, length: t.byteLength });
      order.push({ t, pad });
      offset += t.byteLength;
    }
    // Streamed: a tensor still in its file (a large model's) is read, written and dropped in turn.
    atomicWrite(path.join(path.dirname(file), dataFile), (function* () {
      for (const { t, pad } of order) {
        if (pad) yield new Uint8Array(pad);
        yield t.raw;
      }
    })());
  }
  const bytes = encodeModel(model, { external });
  atomicWrite(file, [bytes]);
  return { bytes: bytes.byteLength, externalDataFile: dataFile };
}

/**
 * The bytes of `file`, which `model` was read from and still is, when they hold every tensor (no
 * external data): a session of the model can be opened from them, with outputs appended
 * (appendGraphOutputs), without encoding the model again. Undefined otherwise.
 */
export function selfContainedBytes(file: string, model: Model): Uint8Array | undefined {
  if (hasLazyTensors(model) || allTensors(model.graph).some((t) => (t.source as { data_location?: number } | undefined)?.data_location === 1)) return undefined;
  return fs.readFileSync(file);
}

/** Initializers and Constant-node tensors of a graph, subgraphs included, in a stable order. */
function allTensors(g: Graph): Tensor[] {
  const out: Tensor[] = [...g.initializers.values()];
  for (const n of g.nodes) {
    for (const a of n.attributes) if (a.type === 4) out.push(a.value);
    for (const sub of n.subgraphs()) out.push(...allTensors(sub));
  }
  return out;
}

/** Temp file in the same folder, then rename: readers never see a half-written file. */
export function atomicWrite(file: string, chunks: Iterable<Uint8Array>): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UserInputError(`${file}: output folder ${dir} does not exist`);
  removeStaleTemps(file);
  const tmp = tempPathFor(file);
  trackTemp(tmp);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const c of chunks) writeAll(fd, c);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(file, e);
  } finally {
    untrackTemp(tmp);
  }
}

/** writeSync in pieces: one call writes at most 2 GiB. */
function writeAll(fd: number, c: Uint8Array): void {
  for (let at = 0; at < c.byteLength;) at += fs.writeSync(fd, c, at, Math.min(c.byteLength - at, 2 ** 30));
}

/** A write failure as one line naming the output and what to do (permissions, full disk, ...). */
export function writeError(file: string, e: unknown): Error {
  if (e instanceof UserInputError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const dir = path.dirname(path.resolve(file));
  const why: Record<string, string> = {
    EACCES: `the folder ${dir} is not writable (permission denied); choose a writable output path with -o`,
    EPERM: `the folder ${dir} is not writable (operation not permitted); choose a writable output path with -o`,
    EROFS: `the folder ${dir} is on a read-only file system; choose another output path with -o`,
    ENOSPC: `no space left on the device of ${dir}; free some space or choose another output path with -o`,
    EDQUOT: `disk quota exceeded in ${dir}; free some space or choose another output path with -o`,
    EISDIR: 'is a folder; pass a file name with -o',
    ENOENT: `the folder ${dir} does not exist; create it or choose another output path with -o`,
    ENOTDIR: 'a part of the path is not a folder; choose another output path with -o',
  };
  if (code && why[code]) return new UserInputError(`${file}: cannot write: ${why[code]}`, 1, { cause: e });
  return new UserInputError(`${file}: cannot write (${code ?? (e as Error)?.message ?? String(e)}); choose another output path with -o`, 1, { cause: e });
}

/** `.NAME.PID.tmp` beside `file`: the temp of this process for that output. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
}

/**
 * Removes `.NAME.PID.tmp` files and folders beside `file` left by a process that no longer runs
 * (a run killed with SIGKILL cannot clean up after itself). Temps of live processes are kept.
 */
export function removeStaleTemps(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length, -4));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    } catch {
      // not ours to remove (permissions): leave it
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const liveTemps = new Set<string>();
let tempHandlers = false;

/** Removes `p` (file or folder) if this process exits or is interrupted before untrackTemp(p). */
export function trackTemp(p: string): void {
  liveTemps.add(p);
  if (tempHandlers) return;
  tempHandlers = true;
  process.once('exit', removeLiveTemps);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      removeLiveTemps();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export function untrackTemp(p: string): void {
  liveTemps.delete(p);
}

function removeLiveTemps(): void {
  for (const p of liveTemps) {
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  liveTemps.clear();
}

const tempDirs: string[] = [];
let cleanupRegistered = false;

/**
 * What a session is opened from: model bytes, a model file, or (a large model's tensors left in
 * their external data file) model bytes whose external data resolves against a folder.
 */
export type SessionModel = Uint8Array | string | { bytes: Uint8Array; externalDataFolder: string };

/**
 * The model with `names` added as graph outputs (for observing intermediate tensors), ready for a
 * session: its bytes; for a large model (hasLazyTensors), its bytes referencing the tensors that
 * are still in the external data file where they are, offsets unchanged (never read nor copied);
 * or — when what is in memory would pass the 2 GB protobuf limit — a temporary model file with
 * external data, removed when the process exits. The model itself is left as it was.
 */
export function modelWithOutputs(model: Model, names: readonly string[], opts: { elemType?: number; externalDataThreshold?: number; encoded?: Uint8Array } = {}): SessionModel {
  const g = model.graph;
  // The model's bytes as they are, at hand (a large model's are never): append the outputs to those.
  if (opts.encoded && !hasLazyTensors(model)) return appendGraphOutputs(opts.encoded, [...new Set(names)].filter((n) => !g.isGraphOutput(n)), opts.elemType);
  const saved = g.outputs;
  const extra = [...new Set(names)].filter((n) => !g.isGraphOutput(n)).map((name) => ({ name, elemType: opts.elemType }));
  g.outputs = [...saved, ...extra];
  try {
    return sessionModel(model, opts.externalDataThreshold);
  } finally {
    g.outputs = saved;
  }
}

/** The model as it is, ready for a session (see modelWithOutputs). */
export function sessionModel(model: Model, externalDataThreshold?: number): SessionModel {
  const threshold = externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD;
  const tensors = allTensors(model.graph);
  const lazy = tensors.some((t) => t.lazy !== undefined);
  const inMemory = tensors.reduce((s, t) => s + (t.lazy ? 0 : t.byteLength), 0);
  if (inMemory <= threshold) {
    if (!lazy || model.baseDir === undefined) return encodeModel(model);
    return { bytes: encodeModel(model, { referenceLazy: true }), externalDataFolder: model.baseDir };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-session-'));
  tempDirs.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  const file = path.join(dir, 'model.onnx');
  writeModelFile(model, file, { externalDataThreshold: threshold });
  return file;
}

/**
 * A copy of the model that shares nothing mutable with it; a large model's tensors that are still
 * in their file stay there (the copy references the same bytes), so the copy costs only what the
 * passes changed.
 */
export function copyModel(model: Model, label = 'model'): Model {
  return copyModelWithBytes(model, label).copy;
}

/**
 * copyModel, also returning the encoding the copy was decoded from when it holds every tensor
 * (no large model's references): the bytes of a session of the copy, to append outputs to
 * (appendGraphOutputs) instead of encoding the copy again.
 */
export function copyModelWithBytes(model: Model, label = 'model'): { copy: Model; bytes?: Uint8Array } {
  const lazy = model.baseDir !== undefined && hasLazyTensors(model);
  const bytes = encodeModel(model, { referenceLazy: lazy });
  // The bytes are this function's own and never change: the copy's tensors view them.
  const copy = decodeModel(bytes, { baseDir: model.baseDir, label, lazyExternalBytes: lazy ? 0 : undefined, shareBytes: true });
  return { copy, bytes: lazy || hasLazyTensors(model) || bytes.byteLength > EXTERNAL_DATA_THRESHOLD ? undefined : bytes };
}

/**
 * `encoded` (a ModelProto's bytes) with `names` appended as graph outputs of element type
 * `elemType`, without re-encoding the model. Protobuf parsers merge a repeated occurrence of an
 * embedded message field into the first one and append to its repeated fields, so the bytes of a
 * ModelProto holding only `graph.output` entries, written after the model, add those outputs: on
 * a 45 MB ResNet-18 this takes microseconds where encoding the model again took 66 ms.
 * `names` must not already be graph outputs (a duplicate output would be refused).
 */
export function appendGraphOutputs(encoded: Uint8Array, names: readonly string[], elemType?: number): Uint8Array {
  if (names.length === 0) return encoded;
  // Without an element type the outputs are named only; onnxruntime infers their types.
  const tail = ModelProtoType.encode({
    graph: { output: names.map((name) => (elemType === undefined ? { name } : { name, type: { tensor_type: { elem_type: elemType } } })) },
  }).finish();
  const out = new Uint8Array(encoded.byteLength + tail.byteLength);
  out.set(encoded, 0);
  out.set(tail, encoded.byteLength);
  return out;
}
