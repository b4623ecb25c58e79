// Worker thread of workerLayerSink (layer-sink.ts): the per-layer accumulators of one evaluation
// pass, fed batch by batch in the order the batches were sent.
import { workerData } from 'node:worker_threads';
import { serveQueue } from '../runtime/worker-queue.js';
import { LayerAccumulator, type LayerState } from './accumulate.js';
import type { LayerWorkerInit, ToLayerWorker } from './layer-sink.js';

const { targets, bins } = workerData as LayerWorkerInit;
const accs = targets.map((t) => new LayerAccumulator(t, bins));

serveQueue<ToLayerWorker, LayerState[]>(
  (m) => m.type === 'finish',
  (m) => {
    if (m.type !== 'batch') return [];
    for (let k = 0; k < m.ids.length; k++) accs[m.ids[k]!]!.add(m.f[k]!, m.q[k]!);
    return [...new Set([...m.f, ...m.q].map((a) => a.buffer as ArrayBuffer))];
  },
  () => accs.map((a) => a.state()),
);
