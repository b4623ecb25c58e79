// Worker thread of workerSink (sink.ts): the collectors of one observation, fed batch by batch in
// the order the batches were sent.
import { workerData } from 'node:worker_threads';
import { serveQueue } from '../runtime/worker-queue.js';
import { collectorsFor, type ToWorker, type WorkerInit, type WorkerResult } from './sink.js';

const { count, spec } = workerData as WorkerInit;
const collectors = collectorsFor(count, spec);

serveQueue<ToWorker, WorkerResult>(
  (m) => m.type === 'finish',
  (m) => {
    if (m.type !== 'batch') return [];
    for (let k = 0; k < m.ids.length; k++) collectors[m.ids[k]!]!.observe(m.arrays[k]!, m.dims[k] ?? undefined);
    return [...new Set(m.arrays.map((a) => a.buffer as ArrayBuffer))];
  },
  () => collectors.map((c) => {
    const r = c.result();
    return { histogram: r.histogram.toJSON(), movingAverage: r.movingAverage, channels: r.channels };
  }),
);
