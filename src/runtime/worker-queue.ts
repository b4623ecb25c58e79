// A worker thread fed in order: what calibration's histogram sink and the per-layer error sink share.
//
// onnxruntime-node runs a session synchronously on the JS thread (its async run() only defers the
// call), so JS work on a batch can overlap inference of the next one only on another thread. The
// worker gets the messages in the order they were sent (one message queue), so whatever it
// accumulates ends in exactly the state it would reach on the calling thread.
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort } from 'node:worker_threads';

/**
 * The worker's replies. A batch's buffers come back only to be dropped on the calling thread: dead
 * buffers are freed at the next GC, and a worker allocates so little else that V8 let up to 65 MiB
 * of them pile up there before collecting (peak RSS +35%), against about 30 MiB on the calling
 * thread, which collects them as it would without a worker.
 */
export type QueueReply<R> =
  | { type: 'done'; buffers: ArrayBuffer[] }
  | { type: 'result'; result: R }
  | { type: 'error'; message: string; stack?: string };

export interface WorkerQueue<M, R> {
  /** Posts one message, moving `transfer`; resolves once at most `depth` messages are in flight. */
  send(m: M, transfer: ArrayBuffer[]): Promise<void>;
  /** Posts the last message and resolves with the worker's result; the worker ends. */
  finish(m: M): Promise<R>;
  /** Ends the worker after an error; safe to call more than once. */
  abort(): Promise<void>;
}

/** `script` compiled beside the calling module, when a worker can help: more than one CPU, and running from the compiled package. */
export function compiledWorker(script: URL): URL | undefined {
  if (os.availableParallelism() < 2) return undefined;
  try {
    return fs.existsSync(fileURLToPath(script)) ? script : undefined;
  } catch {
    return undefined;
  }
}

/** A typed array for `postMessage`: a whole buffer the caller owns moves as it is; anything else is copied first. */
export function movable<T extends ArrayBufferView & { slice(): T }>(a: T, owned = true): T {
  const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  return owned && whole ? a : a.slice();
}

/**
 * A worker running `script` (it takes some 25 ms to start; messages queue meanwhile). At most
 * `depth` messages wait or are being handled while the caller goes on, so memory holds at most
 * depth + 1 batches (the caller's newest one included).
 */
export function workerQueue<M, R>(script: URL, workerData: unknown, depth: number, what: string): WorkerQueue<M, R> {
  const worker = new Worker(script, { workerData });
  let inFlight = 0;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  let result: ((r: R) => void) | undefined;
  let reject: ((e: Error) => void) | undefined;

  const fail = (e: Error) => {
    failure ??= e;
    wake?.();
    reject?.(failure);
  };
  worker.on('message', (m: QueueReply<R>) => {
    if (m.type === 'done') {
      inFlight--;
      wake?.();
    } else if (m.type === 'result') {
      result?.(m.result);
    } else {
      const e = new Error(m.message);
      if (m.stack) e.stack = m.stack;
      fail(e);
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!ended) fail(new Error(`the ${what} worker stopped (exit code ${code})`));
  });
  const stop = async () => {
    if (ended) return;
    ended = true;
    await worker.terminate();
  };

  return {
    async send(m, transfer) {
      if (failure) throw failure;
      worker.postMessage(m, transfer);
      inFlight++;
      while (inFlight > depth && !failure) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (failure) throw failure;
    },
    async finish(m) {
      if (failure) throw failure;
      try {
        return await new Promise<R>((res, rej) => {
          result = res;
          reject = rej;
          worker.postMessage(m);
        });
      } finally {
        await stop();
      }
    },
    abort: stop,
  };
}

/**
 * The worker side: `batch` handles one message and returns the buffers to hand back; `finish`
 * (for the message `isLast` recognises) returns the result. A throw is replied as an error.
 */
export function serveQueue<M, R>(isLast: (m: M) => boolean, batch: (m: M) => ArrayBuffer[], finish: (m: M) => R): void {
  const port = parentPort!;
  port.on('message', (m: M) => {
    try {
      if (isLast(m)) {
        port.postMessage({ type: 'result', result: finish(m) } satisfies QueueReply<R>);
      } else {
        const buffers = batch(m);
        port.postMessage({ type: 'done', buffers } satisfies QueueReply<R>, buffers);
      }
    } catch (e) {
      const err = e as Error;
      port.postMessage({ type: 'error', message: String(err?.message ?? e), stack: err?.stack } satisfies QueueReply<R>);
    }
  });
}
