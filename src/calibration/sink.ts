// Where observed batches go: the collectors on this thread, or the same collectors on a worker
// thread so that binning batch n overlaps onnxruntime running batch n+1.
//
// onnxruntime-node runs a session synchronously on the JS thread (its async run() only defers the
// call), so on that thread JS work can never overlap inference; a worker can. The worker sees the
// batches in the order they are sent (one message queue), so every collector, the order-dependent
// moving average included, ends in exactly the state it would reach on this thread.
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StreamingHistogram } from '../math/index.js';
import { TensorCollector, type ChannelAbsMax, type MovingAverageResult, type TensorObservation } from './collectors.js';

export interface CollectorSpec {
  bins?: number;
  movingAverage?: boolean;
  /** Per observed tensor (by id): the axis to keep per-channel abs-max along, or null. */
  channelAxes?: readonly (number | null)[];
}

/** The collectors of `count` observed tensors (the same on this thread and on a worker). */
export function collectorsFor(count: number, spec: CollectorSpec): TensorCollector[] {
  return Array.from({ length: count }, (_, id) => new TensorCollector({ bins: spec.bins, movingAverage: spec.movingAverage, channelAxis: spec.channelAxes?.[id] ?? undefined }));
}

/** One tensor's values in one batch. */
export interface BatchPart {
  readonly id: number;
  readonly data: Float32Array;
  /** Its shape (for per-channel statistics). */
  readonly dims?: readonly number[];
  /** The caller's own copy, read by nothing else: its buffer may be handed over (detached). */
  readonly owned: boolean;
}

export interface ObservationSink {
  /** Observes one batch. */
  observe(parts: readonly BatchPart[]): Promise<void>;
  /** Every tensor's observation (by id), once all batches are observed. Ends the sink. */
  finish(): Promise<TensorObservation[]>;
  /** Ends the sink after an error; safe to call more than once. */
  abort(): Promise<void>;
}

/** Collectors on this thread. */
export function inlineSink(count: number, spec: CollectorSpec): ObservationSink {
  const collectors = collectorsFor(count, spec);
  return {
    observe: async (parts) => {
      for (const p of parts) collectors[p.id]!.observe(p.data, p.dims);
    },
    finish: async () => collectors.map((c) => c.result()),
    abort: async () => undefined,
  };
}

/** Messages between observeTensors and the worker (observe-worker.ts). */
export type ToWorker = { type: 'batch'; ids: number[]; arrays: Float32Array[]; dims: (readonly number[] | null)[] } | { type: 'finish' };
export type FromWorker =
  /**
   * A batch is binned. Its buffers come back only to be dropped on the calling thread: dead
   * buffers are freed at the next GC, and the worker allocates so little else that V8 let up to
   * 65 MiB of them pile up there before collecting (peak RSS +35%), against about 30 MiB on the
   * calling thread, which collects them as it would without a worker.
   */
  | { type: 'done'; buffers: ArrayBuffer[] }
  | { type: 'result'; results: { histogram: unknown; movingAverage?: MovingAverageResult; channels?: ChannelAbsMax }[] }
  | { type: 'error'; message: string; stack?: string };
export interface WorkerInit {
  count: number;
  spec: CollectorSpec;
}

const WORKER_SCRIPT = new URL('./observe-worker.js', import.meta.url);

/**
 * The compiled worker script when a worker can help: more than one CPU, and running from the
 * compiled package (from TypeScript sources, e.g. under vitest, there is no .js to start).
 */
export function workerScript(): URL | undefined {
  if (os.availableParallelism() < 2) return undefined;
  try {
    return fs.existsSync(fileURLToPath(WORKER_SCRIPT)) ? WORKER_SCRIPT : undefined;
  } catch {
    return undefined;
  }
}

/** An array for `postMessage`: an owned whole buffer moves (no copy); anything else is copied first. */
function movable(p: BatchPart): Float32Array {
  const a = p.data;
  const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  return p.owned && whole ? a : a.slice();
}

/**
 * Collectors on a worker thread (it takes some 25 ms to start; batches queue meanwhile). At most
 * `depth` batches wait or are being binned while the caller goes on: `observe` resolves once
 * fewer are queued, so memory holds at most depth + 1 batches of activations (the caller's newest
 * one included).
 */
export function workerSink(count: number, spec: CollectorSpec, script: URL, depth: number): ObservationSink {
  const init: WorkerInit = { count, spec };
  const worker = new Worker(script, { workerData: init });
  let inFlight = 0;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  let result: ((r: TensorObservation[]) => void) | undefined;
  let reject: ((e: Error) => void) | undefined;

  const fail = (e: Error) => {
    failure ??= e;
    wake?.();
    reject?.(failure);
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'done') {
      inFlight--;
      wake?.();
    } else if (m.type === 'result') {
      result?.(
        m.results.map((r) => {
          const histogram = StreamingHistogram.fromJSON(r.histogram);
          return { histogram, ...(r.movingAverage ? { movingAverage: r.movingAverage } : {}), ...(r.channels ? { channels: r.channels } : {}) };
        }),
      );
    } else {
      const e = new Error(m.message);
      if (m.stack) e.stack = m.stack;
      fail(e);
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!ended) fail(new Error(`the calibration worker stopped (exit code ${code})`));
  });

  const post = (m: ToWorker, transfer: ArrayBuffer[] = []) => worker.postMessage(m, transfer);
  const stop = async () => {
    if (ended) return;
    ended = true;
    await worker.terminate();
  };

  return {
    async observe(parts) {
      if (failure) throw failure;
      const arrays = parts.map(movable);
      post({ type: 'batch', ids: parts.map((p) => p.id), arrays, dims: parts.map((p) => p.dims ?? null) }, [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))]);
      inFlight++;
      while (inFlight > depth && !failure) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (failure) throw failure;
    },
    async finish() {
      if (failure) throw failure;
      try {
        return await new Promise<TensorObservation[]>((res, rej) => {
          result = res;
          reject = rej;
          post({ type: 'finish' });
        });
      } finally {
        await stop();
      }
    },
    abort: stop,
  };
}
