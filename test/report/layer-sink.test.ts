// The per-layer error sums taken on a worker thread (while onnxruntime runs the next batch) are
// exactly those taken on the main thread. The worker runs compiled code (dist/): `npm test` builds first.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare, quantize, type Report } from '../../src/index.js';
import { CALIB, ensureBuilt, mnistTestSplit, tmpDir } from './helpers.js';

const SCRIPT = path.resolve('dist/report/layer-worker.js');
const RESNET = 'fixtures/mnist/resnet_mini.onnx';
const dir = tmpDir('layer-sink');
let split: { data: string; labels: string };

beforeAll(() => {
  ensureBuilt();
  split = mnistTestSplit(dir);
});

describe('per-layer sums on a worker thread', () => {
  it('give the figures of the main thread, bit for bit, over several batches and a last partial one', async () => {
    expect(fs.existsSync(SCRIPT), `${SCRIPT}: run npm run build first`).toBe(true);
    const output = path.join(dir, 'resnet.int8.onnx');
    await quantize(RESNET, { output, data: CALIB, config: { calibCount: 64 }, verify: false });
    const opts = { data: split.data, count: 300, batchSize: 32, latency: false as const };
    const inline = await compare(RESNET, output, { ...opts, layerWorker: false });
    const worker = await compare(RESNET, output, { ...opts, layerWorker: pathToFileURL(SCRIPT) });
    const figures = (r: Report) => r.layers!.tensors.map((t) => [t.tensor, t.elements, t.ownSqnrDb, t.accumulatedSqnrDb, t.clipErrorShare, t.clippedFraction, t.observed, t.histogram]);
    expect(inline.layers!.tensors.length).toBeGreaterThan(10);
    expect(figures(worker)).toEqual(figures(inline));
    expect(worker.outputs).toEqual(inline.outputs);
    // 300 samples in batches of 32: ten batches, the last one of 12.
    expect(inline.layers!.tensors[0]!.elements % 300).toBe(0);
  });
});
