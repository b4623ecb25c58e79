// Where the per-layer pairs of a batch go: the accumulators on this thread, or the same
// accumulators on a worker thread, so that summing batch n overlaps onnxruntime running batch n+1
// (runtime/worker-queue.ts: the worker gets the batches in the order they are sent, so every
// accumulator ends in exactly the state it reaches on this thread).
import type { Counterpart } from '../math/index.js';
import { compiledWorker, movable, workerQueue } from '../runtime/worker-queue.js';
import { LayerAccumulator, type LayerState } from './accumulate.js';
import type { LayerTarget } from './tensor-map.js';

/** One target's float values and quantized counterpart in one batch. */
export interface LayerPart {
  readonly id: number;
  readonly f: Float32Array;
  readonly q: Counterpart;
}

export interface LayerSink {
  /** Sums one batch; the arrays must not be used by the caller afterwards (their buffers may move). */
  observe(parts: readonly LayerPart[]): Promise<void>;
  /** Every accumulator's state (by id), once all batches are summed. Ends the sink. */
  finish(): Promise<LayerState[]>;
  /** Ends the sink after an error; safe to call more than once. */
  abort(): Promise<void>;
}

/** Accumulators on this thread. */
export function inlineLayerSink(targets: readonly LayerTarget[], bins?: number): LayerSink {
  const accs = targets.map((t) => new LayerAccumulator(t, bins));
  return {
    observe: async (parts) => {
      for (const p of parts) accs[p.id]!.add(p.f, p.q);
    },
    finish: async () => accs.map((a) => a.state()),
    abort: async () => undefined,
  };
}

export type ToLayerWorker = { type: 'batch'; ids: number[]; f: Float32Array[]; q: Counterpart[] } | { type: 'finish' };
export interface LayerWorkerInit {
  targets: LayerTarget[];
  bins?: number;
}

const WORKER_SCRIPT = new URL('./layer-worker.js', import.meta.url);

/** The compiled worker script when a worker can help: more than one CPU, and running from the compiled package. */
export function layerWorkerScript(): URL | undefined {
  return compiledWorker(WORKER_SCRIPT);
}

/**
 * Accumulators on a worker thread. At most `depth` batches wait or are being summed while the
 * caller goes on, so memory holds at most depth + 1 batches of fetched tensors.
 */
export function workerLayerSink(targets: readonly LayerTarget[], bins: number | undefined, script: URL, depth = 1): LayerSink {
  const init: LayerWorkerInit = { targets: [...targets], bins };
  const queue = workerQueue<ToLayerWorker, LayerState[]>(script, init, depth, 'per-layer');
  return {
    async observe(parts) {
      const f = parts.map((p) => movable(p.f));
      const q = parts.map((p) => movable(p.q));
      await queue.send({ type: 'batch', ids: parts.map((p) => p.id), f, q }, [...new Set([...f, ...q].map((a) => a.buffer as ArrayBuffer))]);
    },
    finish: () => queue.finish({ type: 'finish' }),
    abort: () => queue.abort(),
  };
}
