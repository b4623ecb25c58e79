// The histogram worker gives exactly the results of the collectors on the main thread. The worker
// runs compiled code (dist/, as the CLI tests do): `npm test` builds first.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inlineSink, workerSink, type BatchPart } from '../../src/calibration/sink.js';
import { observeTensors as observeFromSource } from '../../src/calibration/index.js';
import { DEFAULTS } from '../../src/config/index.js';
import { openDataFolder } from '../../src/data/index.js';
import { readModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { tensorsToCalibrate } from '../../src/quant/plan.js';
import { DATA, fixture } from './helpers.js';

const SCRIPT = path.resolve('dist/calibration/observe-worker.js');

function requireBuild(): URL {
  if (!fs.existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run npm run build first`);
  return pathToFileURL(SCRIPT);
}

/** Seeded batches for 3 tensors with hostile values mixed in (NaN, ±Infinity, -0, subnormals, growth). */
function batches(count: number): Float32Array[][] {
  let a = 99;
  const rand = () => {
    a = (a * 1103515245 + 12345) >>> 0;
    return a / 2 ** 32;
  };
  return Array.from({ length: count }, (_, b) =>
    [0, 1, 2].map((t) => {
      const x = Float32Array.from({ length: 50 + t * 30 + b }, () => (rand() - 0.3) * 2 ** (b % 7) * (t + 1));
      x[0] = [NaN, Infinity, -Infinity, -0, 1e-45, 0][b % 6]!;
      return x;
    }),
  );
}

const state = (r: { histogram: { toJSON(): unknown }; movingAverage?: unknown }[]) =>
  JSON.stringify(r.map((o) => [o.histogram.toJSON(), o.movingAverage]));

describe('workerSink', () => {
  it('ends in exactly the state of the inline collectors, moving average (order-dependent) included', async () => {
    const script = requireBuild();
    const spec = { bins: 64, movingAverage: true };
    const data = batches(40);
    const inline = inlineSink(3, spec);
    const worker = workerSink(3, spec, script);
    worker.depth = 2;
    for (const b of data) {
      const parts = (copy: boolean): BatchPart[] => b.map((d, id) => ({ id, data: copy ? d.slice() : d, owned: copy }));
      await inline.observe(parts(false));
      const owned = parts(true);
      await worker.observe(owned);
      // Owned buffers moved to the worker (no copy); the caller's are left alone.
      expect(owned.every((p) => p.data.length === 0)).toBe(true);
      expect(b.every((d) => d.length > 0)).toBe(true);
    }
    expect(state(await worker.finish())).toBe(state(await inline.finish()));
  });

  it('copies views and arrays it does not own instead of detaching them', async () => {
    const script = requireBuild();
    const backing = new Float32Array([5, 1, -2, 3, 7]);
    const view = backing.subarray(1, 4);
    const worker = workerSink(1, { bins: 16 }, script);
    await worker.observe([{ id: 0, data: view, owned: true }]);
    const [r] = await worker.finish();
    expect(backing.length).toBe(5);
    expect([r!.histogram.count, r!.histogram.min, r!.histogram.max]).toEqual([3, -2, 3]);
  });

  it('a failure in the worker rejects the caller instead of hanging', async () => {
    const script = requireBuild();
    const worker = workerSink(1, {}, script);
    // Tensor id 5 does not exist: the worker throws on it.
    const observed = worker.observe([{ id: 5, data: new Float32Array([1]), owned: false }]).then(() => worker.finish());
    await expect(observed).rejects.toThrow();
    await worker.abort();
  });
});

describe('observeTensors with the worker (compiled) vs on one thread (sources)', () => {
  it('resnet_mini at batch 1 and 7: bit-identical observations', async () => {
    requireBuild();
    const dist = (await import(pathToFileURL(path.resolve('dist/calibration/index.js')).href)) as { observeTensors: typeof observeFromSource };
    const model = readModelFile(fixture('resnet_mini'));
    prepareModel(model);
    const tensors = tensorsToCalibrate(model.graph, DEFAULTS);
    for (const batchSize of [1, 7]) {
      const source = await openDataFolder(DATA, { inputs: model.graph.feedInputs(), count: 60, batchSize });
      const opts = { batchSize, movingAverage: true };
      const viaWorker = await dist.observeTensors(model, tensors, source, { ...opts, worker: true });
      const inline = await observeFromSource(model, tensors, source, { ...opts, worker: false });
      const json = (r: typeof inline) => JSON.stringify([...r.observations].map(([t, o]) => [t, o.histogram.toJSON(), o.movingAverage]));
      expect(json(viaWorker)).toBe(json(inline));
    }
  });
});
