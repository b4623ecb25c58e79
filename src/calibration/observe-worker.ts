// Worker thread of workerSink (sink.ts): the collectors of one observation, fed batch by batch in
// the order the batches were sent.
import { parentPort, workerData } from 'node:worker_threads';
import { collectorsFor, type FromWorker, type ToWorker, type WorkerInit } from './sink.js';

const port = parentPort!;
const { count, spec } = workerData as WorkerInit;
const collectors = collectorsFor(count, spec);
const reply = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  try {
    if (m.type === 'batch') {
      for (let k = 0; k < m.ids.length; k++) collectors[m.ids[k]!]!.observe(m.arrays[k]!, m.dims[k] ?? undefined);
      // The buffers go back to be dropped there: see FromWorker.
      const buffers = [...new Set(m.arrays.map((a) => a.buffer as ArrayBuffer))];
      port.postMessage({ type: 'done', buffers } satisfies FromWorker, buffers);
    } else {
      const results = collectors.map((c) => {
        const r = c.result();
        return { histogram: r.histogram.toJSON(), movingAverage: r.movingAverage, channels: r.channels };
      });
      reply({ type: 'result', results });
    }
  } catch (e) {
    const err = e as Error;
    reply({ type: 'error', message: String(err?.message ?? e), stack: err?.stack });
  }
});
