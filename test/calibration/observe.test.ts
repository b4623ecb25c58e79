import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/index.js';
import { openDataFolder } from '../../src/data/index.js';
import { readModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { tensorsToCalibrate } from '../../src/quant/plan.js';
import { StreamingHistogram } from '../../src/math/index.js';
import {
  MinMaxCollector, MovingAverageCollector, groupByBudget, observeTensors, planObservation, type ObserveOptions,
} from '../../src/calibration/index.js';
import path from 'node:path';
import { calibrate } from '../../src/api/calibrate.js';
import { GraphBuilder } from '../../src/ir/index.js';
import { writeModelFile } from '../../src/onnx/index.js';
import { DATA, fixture, tmpDir, writeNpyF32 } from './helpers.js';

async function setup(name: string, count = 40, batchSize = 4) {
  const model = readModelFile(fixture(name));
  prepareModel(model);
  const tensors = tensorsToCalibrate(model.graph, DEFAULTS);
  const source = await openDataFolder(DATA, { inputs: model.graph.feedInputs(), count, batchSize });
  return { model, tensors, source };
}

const histograms = (r: Awaited<ReturnType<typeof observeTensors>>) =>
  Object.fromEntries([...r.observations].map(([t, o]) => [t, o.histogram.toJSON()]));

function maxRelDiff(a: Awaited<ReturnType<typeof observeTensors>>, b: Awaited<ReturnType<typeof observeTensors>>): number {
  let worst = 0;
  for (const [t, o] of a.observations) {
    const p = b.observations.get(t)!.histogram;
    const h = o.histogram;
    expect(p.count).toBe(h.count);
    const scale = Math.max(Math.abs(h.min), Math.abs(h.max), 1e-30);
    worst = Math.max(worst, Math.abs(h.min - p.min) / scale, Math.abs(h.max - p.max) / scale);
  }
  return worst;
}

describe('observeTensors', () => {
  it("a small memory budget splits the tensors into passes; with optimization off, every statistic is bit-identical", async () => {
    const { model, tensors, source } = await setup('resnet_mini');
    const plan = planObservation(model.graph, tensors);
    const progress: [number, number][] = [];
    const opts: ObserveOptions = { batchSize: 4, optimizationLevel: 'disabled' };
    const one = await observeTensors(model, tensors, source, opts);
    // 4 samples of a [16, 28, 28] float tensor = 200 KiB: about one tensor per pass.
    const many = await observeTensors(model, tensors, source, { ...opts, budgetBytes: 200 * 1024, onProgress: (d, t) => progress.push([d, t]) });
    expect(one.passes).toBe(1);
    expect(many.passes).toBeGreaterThan(5);
    expect(many.passes).toBeLessThanOrEqual(plan.fetched.length);
    expect(histograms(many)).toEqual(histograms(one));
    expect(progress.at(-1)).toEqual([40 * many.passes, 40 * many.passes]);
    expect(progress.every(([d], i) => i === 0 || d > progress[i - 1]![0])).toBe(true);
  });

  // At level 'all' onnxruntime picks layouts (NCHWc) and fusions per session, so which tensors a
  // session outputs can move the last bits of the others; measured here, held to a small bound.
  it("at level 'all' (the default) grouping and optimization move values only in the last bits", async () => {
    for (const name of ['lenet_bn', 'resnet_mini']) {
      const { model, tensors, source } = await setup(name);
      const all = await observeTensors(model, tensors, source, { batchSize: 4 });
      const grouped = await observeTensors(model, tensors, source, { batchSize: 4, budgetBytes: 1 });
      const none = await observeTensors(model, tensors, source, { batchSize: 4, optimizationLevel: 'disabled' });
      const worst = { grouped: maxRelDiff(all, grouped), disabled: maxRelDiff(all, none) };
      console.log(`${name}: largest relative min/max difference vs one session at level 'all':`, worst);
      expect(worst.grouped).toBeLessThan(1e-6);
      expect(worst.disabled).toBeLessThan(1e-6);
    }
  });

  it('feeds are read from the batch, reshape-like copies share their source, the rest is fetched', async () => {
    const { model, tensors } = await setup('lstm_rows', 1, 1);
    const lstm = planObservation(model.graph, tensors);
    expect(lstm.sourceOf.get('/lstm/Squeeze_output_0')).toBe('/lstm/LSTM_output_0');
    expect(lstm.sourceOf.get('/lstm/Transpose_1_output_0')).toBe('/lstm/LSTM_output_0');
    expect(lstm.fetched).toEqual(tensors.filter((t) => !['/lstm/Squeeze_output_0', '/lstm/Transpose_1_output_0'].includes(t)));
    expect(lstm.fetched).toContain('/lstm/LSTM_output_0');
    const r = await setup('resnet_mini', 1, 1);
    const res = planObservation(r.model.graph, r.tensors);
    expect(res.fromFeeds).toEqual(['input']);
    expect(res.sourceOf.get('/flatten/Flatten_output_0')).toBe('/pool/GlobalAveragePool_output_0');
    expect(res.fetched).not.toContain('/flatten/Flatten_output_0');
    expect(res.fetched).toHaveLength(r.tensors.length - 2);
  });
});

describe('models with a fixed batch dim', () => {
  it('are probed with a whole batch and calibrated exactly', async () => {
    const dir = tmpDir();
    const b = new GraphBuilder();
    const x = b.input('x', [4, 3]);
    const w = b.init('w', [3, 2], [1, -2, 0.5, 3, -1, 2]);
    const y = b.op1('Relu', [b.op1('MatMul', [x, w])]);
    b.output(y, [4, 2]);
    writeModelFile(b.model([{ domain: '', version: 13 }]), path.join(dir, 'fixed.onnx'));
    const data = Float32Array.from({ length: 24 }, (_, i) => (i % 5) - 2.5);
    const dataDir = tmpDir();
    writeNpyF32(path.join(dataDir, 'data.npy'), [8, 3], data);
    const stats = await calibrate(path.join(dir, 'fixed.onnx'), { data: dataDir, config: { batchSize: 4, algo: 'minmax' } });
    expect(stats.samples).toBe(8);
    expect(stats.tensors.x).toMatchObject({ min: -2.5, max: 1.5, count: 24 });
    const outputs = Object.keys(stats.tensors).filter((t) => t !== 'x');
    expect(outputs.length).toBeGreaterThan(0);
  });
});

describe('grouping and collectors', () => {
  it('groupByBudget keeps order, fills up to the budget, and isolates oversized tensors', () => {
    const sizes = [['a', 4], ['b', 4], ['c', 9], ['d', 2], ['e', 1], ['f', 3]].map(([name, bytes]) => ({ name: name as string, bytes: bytes as number }));
    expect(groupByBudget(sizes, 8)).toEqual([['a', 'b'], ['c'], ['d', 'e', 'f']]);
    expect(groupByBudget(sizes, 100)).toEqual([['a', 'b', 'c', 'd', 'e', 'f']]);
    expect(groupByBudget([], 8)).toEqual([]);
  });

  it('MinMaxCollector agrees with the histogram: finite values only, -0 as +0, null when empty', () => {
    const data = Float32Array.from([NaN, -0, 3.5, Infinity, -2.25, -Infinity, 1e-30]);
    const c = new MinMaxCollector();
    expect(c.result()).toEqual({ min: null, max: null, count: 0 });
    c.observe(data.subarray(0, 2));
    expect(Object.is(c.result().min, 0)).toBe(true);
    c.observe(data.subarray(2));
    const h = new StreamingHistogram().observe(data);
    expect(c.result()).toEqual({ min: h.min, max: h.max, count: h.count });
    expect(c.result()).toEqual({ min: -2.25, max: 3.5, count: 4 });
  });

  it('the moving average depends on batch order (why it is opt-in and never merged)', () => {
    const a = Float32Array.from([0, 10]);
    const b = Float32Array.from([-1, 1]);
    const ab = new MovingAverageCollector();
    ab.observe(a);
    ab.observe(b);
    const ba = new MovingAverageCollector();
    ba.observe(b);
    ba.observe(a);
    expect(ab.result().max).toBeCloseTo(10 + 0.01 * (1 - 10), 12);
    expect(ba.result().max).toBeCloseTo(1 + 0.01 * (10 - 1), 12);
    expect(ab.result().batches).toBe(2);
  });
});
