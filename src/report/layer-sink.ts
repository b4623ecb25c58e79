// Where the per-layer pairs of a batch go: the accumulators on this thread, or the same
// accumulators on a worker thread, so that summing batch n overlaps onnxruntime running batch n+1.
//
// onnxruntime-node runs a session synchronously on the JS thread (calibration/sink.ts says how
// that was found), so the error sums of a batch and the next batch's inference can only overlap
// when the sums are taken elsewhere. The worker gets the batches in the order they are sent (one
// message queue), so every accumulator ends in exactly the state it reaches on this thread.
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Counterpart } from '../math/index.js';
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
export type FromLayerWorker =
  /** A batch is summed; its buffers come back only to be dropped here (calibration/sink.ts: the worker would let them pile up). */
  | { type: 'done'; buffers: ArrayBuffer[] }
  | { type: 'result'; states: LayerState[] }
  | { type: 'error'; message: string; stack?: string };
export interface LayerWorkerInit {
  targets: LayerTarget[];
  bins?: number;
}

const WORKER_SCRIPT = new URL('./layer-worker.js', import.meta.url);

/** The compiled worker script when a worker can help: more than one CPU, and running from the compiled package. */
export function layerWorkerScript(): URL | undefined {
  if (os.availableParallelism() < 2) return undefined;
  try {
    return fs.existsSync(fileURLToPath(WORKER_SCRIPT)) ? WORKER_SCRIPT : undefined;
  } catch {
    return undefined;
  }
}

/** Whole buffers move to the worker with their arrays; a view into a larger buffer is copied first. */
function movable<T extends Float32Array | Counterpart>(a: T): T {
  const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  return whole ? a : (a.slice() as T);
}

/**
 * Accumulators on a worker thread. At most `depth` batches wait or are being summed while the
 * caller goes on: `observe` resolves once fewer are queued, so memory holds at most depth + 1
 * batches of fetched tensors (the caller's newest one included).
 */
export function workerLayerSink(targets: readonly LayerTarget[], bins: number | undefined, script: URL, depth = 1): LayerSink {
  const init: LayerWorkerInit = { targets: [...targets], bins };
  const worker = new Worker(script, { workerData: init });
  let inFlight = 0;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  let result: ((r: LayerState[]) => void) | undefined;
  let reject: ((e: Error) => void) | undefined;

  const fail = (e: Error) => {
    failure ??= e;
    wake?.();
    reject?.(failure);
  };
  worker.on('message', (m: FromLayerWorker) => {
    if (m.type === 'done') {
      inFlight--;
      wake?.();
    } else if (m.type === 'result') {
      result?.(m.states);
    } else {
      const e = new Error(m.message);
      if (m.stack) e.stack = m.stack;
      fail(e);
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!ended) fail(new Error(`the per-layer worker stopped (exit code ${code})`));
  });
  const stop = async () => {
    if (ended) return;
    ended = true;
    await worker.terminate();
  };

  return {
    async observe(parts) {
      if (failure) throw failure;
      const f = parts.map((p) => movable(p.f));
      const q = parts.map((p) => movable(p.q));
      const buffers = [...new Set([...f, ...q].map((a) => a.buffer as ArrayBuffer))];
      worker.postMessage({ type: 'batch', ids: parts.map((p) => p.id), f, q } satisfies ToLayerWorker, buffers);
      inFlight++;
      while (inFlight > depth && !failure) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (failure) throw failure;
    },
    async finish() {
      if (failure) throw failure;
      try {
        return await new Promise<LayerState[]>((res, rej) => {
          result = res;
          reject = rej;
          worker.postMessage({ type: 'finish' } satisfies ToLayerWorker);
        });
      } finally {
        await stop();
      }
    },
    abort: stop,
  };
}
