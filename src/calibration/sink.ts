// Where observed batches go: the collectors on this thread, or the same collectors on a worker
// thread so that binning batch n overlaps onnxruntime running batch n+1 (runtime/worker-queue.ts:
// the worker sees the batches in the order they are sent, so every collector, the order-dependent
// moving average included, ends in exactly the state it would reach on this thread).
import { StreamingHistogram } from '../math/index.js';
import { compiledWorker, movable, workerQueue } from '../runtime/worker-queue.js';
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
/** What the worker's 'result' reply carries: each collector's state. */
export type WorkerResult = { histogram: unknown; movingAverage?: MovingAverageResult; channels?: ChannelAbsMax }[];
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
  return compiledWorker(WORKER_SCRIPT);
}

/**
 * Collectors on a worker thread (it takes some 25 ms to start; batches queue meanwhile). At most
 * `depth` batches wait or are being binned while the caller goes on: `observe` resolves once
 * fewer are queued, so memory holds at most depth + 1 batches of activations (the caller's newest
 * one included).
 */
export function workerSink(count: number, spec: CollectorSpec, script: URL, depth: number): ObservationSink {
  const init: WorkerInit = { count, spec };
  const queue = workerQueue<ToWorker, WorkerResult>(script, init, depth, 'calibration');
  return {
    async observe(parts) {
      // Fed arrays belong to the caller (copied); its own fetched ones move.
      const arrays = parts.map((p) => movable(p.data, p.owned));
      await queue.send({ type: 'batch', ids: parts.map((p) => p.id), arrays, dims: parts.map((p) => p.dims ?? null) }, [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))]);
    },
    async finish() {
      const results = await queue.finish({ type: 'finish' });
      return results.map((r) => {
        const histogram = StreamingHistogram.fromJSON(r.histogram);
        return { histogram, ...(r.movingAverage ? { movingAverage: r.movingAverage } : {}), ...(r.channels ? { channels: r.channels } : {}) };
      });
    },
    abort: () => queue.abort(),
  };
}
