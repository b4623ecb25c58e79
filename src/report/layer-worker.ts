// Worker thread of workerLayerSink (layer-sink.ts): the per-layer accumulators of one evaluation
// pass, fed batch by batch in the order the batches were sent.
import { parentPort, workerData } from 'node:worker_threads';
import { LayerAccumulator } from './accumulate.js';
import type { FromLayerWorker, LayerWorkerInit, ToLayerWorker } from './layer-sink.js';

const port = parentPort!;
const { targets, bins } = workerData as LayerWorkerInit;
const accs = targets.map((t) => new LayerAccumulator(t, bins));
const reply = (m: FromLayerWorker) => port.postMessage(m);

port.on('message', (m: ToLayerWorker) => {
  try {
    if (m.type === 'batch') {
      for (let k = 0; k < m.ids.length; k++) accs[m.ids[k]!]!.add(m.f[k]!, m.q[k]!);
      const buffers = [...new Set([...m.f, ...m.q].map((a) => a.buffer as ArrayBuffer))];
      port.postMessage({ type: 'done', buffers } satisfies FromLayerWorker, buffers);
    } else {
      reply({ type: 'result', states: accs.map((a) => a.state()) });
    }
  } catch (e) {
    const err = e as Error;
    reply({ type: 'error', message: String(err?.message ?? e), stack: err?.stack });
  }
});
