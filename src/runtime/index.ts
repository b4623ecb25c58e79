// The one seam to onnxruntime-node: nothing else in qtool imports it, so another backend
// (onnxruntime-web, a test double) plugs in here.
import * as ort from 'onnxruntime-node';
import { ModelError, UserInputError } from '../errors.js';
import { DataType, dtypeName, type DataTypeId, type HostTensor, type Tensor, type TypedData } from '../ir/index.js';
export type { HostTensor };
export { profileNodeOutputs, tensorBytes, type ProfiledNode } from './profile.js';
export { compiledWorker, movable, workerQueue, type QueueReply, type WorkerQueue } from './worker-queue.js';

/**
 * onnxruntime's own log (native, ANSI-coloured, straight to stderr) is off by default: qtool
 * reports what matters in its own one-line errors. QTOOL_ORT_LOG_LEVEL=verbose|info|warning|error
 * (or setOrtLogLevel) lets it through for debugging; the level applies to the environment (fixed
 * when the first session opens) and to every session.
 */
export type OrtLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
const LEVELS: OrtLogLevel[] = ['verbose', 'info', 'warning', 'error', 'fatal'];
let ortLogLevel: OrtLogLevel | undefined;

function parseLogLevel(v: string | undefined): OrtLogLevel {
  if (v === undefined || v === '') return 'fatal';
  if (!(LEVELS as string[]).includes(v)) throw new UserInputError(`QTOOL_ORT_LOG_LEVEL='${v}': use one of ${LEVELS.join(', ')}`);
  return v as OrtLogLevel;
}

export function setOrtLogLevel(level: OrtLogLevel): void {
  ortLogLevel = parseLogLevel(level);
  ort.env.logLevel = ortLogLevel;
}

/** The level in force: set, or QTOOL_ORT_LOG_LEVEL read once before the first session. */
function logLevel(): OrtLogLevel {
  if (ortLogLevel === undefined) setOrtLogLevel(parseLogLevel(process.env.QTOOL_ORT_LOG_LEVEL));
  return ortLogLevel!;
}

export interface SessionOptions {
  /** Execution providers in order of preference, e.g. ['cpu'] (default) or ['cuda', 'cpu']. */
  providers?: string[];
  /** Intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  /**
   * Whether idle intra-op threads spin-wait for the next piece of work (onnxruntime's default:
   * true). Turn it off when other threads of this process need the cores between runs; it changes
   * scheduling only, never a result.
   */
  spinning?: boolean;
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Where onnxruntime should save the graph it optimised (for inspecting fusions). */
  optimizedModelPath?: string;
  /** Profile the session's runs into a JSON file whose name starts with this (see profile.ts). */
  profileFilePrefix?: string;
  /** Label for error messages (usually the model's path). */
  label?: string;
}

/** Model bytes, a model file, or bytes whose external data resolves against a folder. */
export type SessionSource = Uint8Array | string | { bytes: Uint8Array; externalDataFolder: string };

const ORT_TYPE: Record<number, ort.Tensor.Type> = {
  [DataType.FLOAT]: 'float32', [DataType.UINT8]: 'uint8', [DataType.INT8]: 'int8', [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16', [DataType.INT32]: 'int32', [DataType.INT64]: 'int64', [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool', [DataType.FLOAT16]: 'float16', [DataType.DOUBLE]: 'float64', [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
};
const FROM_ORT = new Map(Object.entries(ORT_TYPE).map(([k, v]) => [v, Number(k)]));

export class Session {
  private constructor(private readonly inner: ort.InferenceSession, readonly label: string) {}

  /**
   * Opens a session from model bytes, a path, or bytes whose tensors reference external data in a
   * folder (onnxruntime reads them from there: a large model's weights are never copied by qtool).
   */
  static async open(model: SessionSource, opts: SessionOptions = {}): Promise<Session> {
    const label = opts.label ?? (typeof model === 'string' ? model : 'model');
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: opts.providers ?? ['cpu'],
      graphOptimizationLevel: opts.optimizationLevel ?? 'all',
      logSeverityLevel: LEVELS.indexOf(logLevel()) as 0 | 1 | 2 | 3 | 4,
    };
    if (opts.threads) options.intraOpNumThreads = opts.threads;
    const session: Record<string, unknown> = {};
    if (opts.spinning === false) Object.assign(session, { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } });
    // onnxruntime's "session.model_external_initializers_file_folder_path": where external data
    // of a model given as bytes is found.
    if (typeof model === 'object' && !(model instanceof Uint8Array)) session.model_external_initializers_file_folder_path = model.externalDataFolder;
    if (Object.keys(session).length) options.extra = { session };
    if (opts.optimizedModelPath) options.optimizedModelFilePath = opts.optimizedModelPath;
    if (opts.profileFilePrefix) Object.assign(options, { enableProfiling: true, profileFilePrefix: opts.profileFilePrefix });
    try {
      const inner = typeof model === 'string'
        ? await ort.InferenceSession.create(model, options)
        : await ort.InferenceSession.create(model instanceof Uint8Array ? model : model.bytes, options);
      return new Session(inner, label);
    } catch (e) {
      throw new ModelError(`${label}: onnxruntime cannot load the model: ${firstLine(e)}`, 1, { cause: e });
    }
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  /** Runs the model; `fetches` defaults to every output. */
  async run(feeds: Record<string, HostTensor>, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t, name);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = fetches ? await this.inner.run(ortFeeds, [...fetches]) : await this.inner.run(ortFeeds);
    } catch (e) {
      throw new ModelError(`${this.label}: onnxruntime failed to run the model: ${firstLine(e)}`, 1, { cause: e });
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = { dtype: FROM_ORT.get(t.type) ?? DataType.UNDEFINED, dims: [...t.dims], data: t.data as TypedData | string[] };
      t.dispose?.();
    }
    return out;
  }

  async close(): Promise<void> {
    await this.inner.release();
  }
}

function toOrt(t: HostTensor, name: string): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new UserInputError(`input '${name}': onnxruntime-node cannot take ${dtypeName(t.dtype)} tensors`);
  return new ort.Tensor(type, t.data as never, [...t.dims]);
}

/** An IR tensor (e.g. a decoded input .pb) as a host tensor. */
export function hostFromTensor(t: Tensor): HostTensor {
  const raw = t.raw;
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  const data: TypedData | string[] = ((): TypedData | string[] => {
    switch (t.dtype) {
      case DataType.FLOAT: return new Float32Array(buf);
      case DataType.DOUBLE: return new Float64Array(buf);
      case DataType.INT8: return new Int8Array(buf);
      case DataType.UINT8: case DataType.BOOL: return new Uint8Array(buf);
      case DataType.INT16: return new Int16Array(buf);
      case DataType.UINT16: case DataType.FLOAT16: return new Uint16Array(buf);
      case DataType.INT32: return new Int32Array(buf);
      case DataType.UINT32: return new Uint32Array(buf);
      case DataType.INT64: return new BigInt64Array(buf);
      case DataType.UINT64: return new BigUint64Array(buf);
      case DataType.STRING: return (t.strings ?? []).map((s) => new TextDecoder().decode(s));
      default: throw new UserInputError(`tensor '${t.name}': ${dtypeName(t.dtype)} cannot be fed to onnxruntime-node`);
    }
  })();
  return { dtype: t.dtype, dims: t.dims, data };
}

export function isOrtFeedable(dtype: DataTypeId): boolean {
  return dtype in ORT_TYPE;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.trim();
}
