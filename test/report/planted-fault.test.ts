// The per-layer analysis finds a planted fault: one activation's range pinned through the same
// overrides file `qtool quantize --overrides plan.json` reads, then `compare` on the held-out
// MNIST test digits. 10× too narrow → that tensor ranks worst and is clipping-dominated; 20× too
// wide → ranks worst and is rounding-dominated.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare, readModel, writeModel, TENSOR_MAP_KEY, type Report } from '../../src/index.js';
import { LENET, PLANTED, calibratedRange, mnistTestSplit, quantizeLenet, tmpDir } from './helpers.js';

const dir = tmpDir('planted');
let split: { data: string; labels: string };
let calibrated: [number, number];
const reports: Record<'clean' | 'narrow' | 'wide', Report> = {} as never;
const models: Record<string, string> = {};

const run = (model: string) => compare(LENET, model, { data: split.data, labels: split.labels, count: 500, latency: false });

beforeAll(async () => {
  split = mnistTestSplit(dir);
  calibrated = await calibratedRange(dir, PLANTED);
  models.clean = await quantizeLenet(dir, 'clean');
  models.narrow = await quantizeLenet(dir, 'narrow', { [PLANTED]: [calibrated[0] / 10, calibrated[1] / 10] });
  models.wide = await quantizeLenet(dir, 'wide', { [PLANTED]: [calibrated[0] * 20, calibrated[1] * 20] });
  for (const k of ['clean', 'narrow', 'wide'] as const) reports[k] = await run(models[k]!);
});

describe('planted faults in one tensor range', () => {
  it('the clean model: every tensor analysed through the qtool tensor map, nothing clipping-dominated', () => {
    const l = reports.clean.layers!;
    expect(l.mapSource).toBe('metadata');
    expect(l.instrumented).toBe(true);
    expect(l.note).toMatch(/one pass/);
    expect(l.tensors.map((t) => t.tensor)).toContain(PLANTED);
    expect(l.tensors.every((t) => t.hint !== 'clipping-dominated')).toBe(true);
    // minmax on the calibration digits: a held-out digit can exceed the range only a little.
    expect(l.tensors.every((t) => t.clippedFraction < 0.01)).toBe(true);
    const ranks = l.tensors.map((t) => t.ownSqnrDb);
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
  });

  it('10× too narrow: the planted tensor ranks worst and is clipping-dominated', () => {
    const l = reports.narrow.layers!;
    const worst = l.tensors[0]!;
    expect(worst.tensor).toBe(PLANTED);
    expect(worst.rank).toBe(1);
    expect(worst.hint).toBe('clipping-dominated');
    expect(worst.clipErrorShare).toBeGreaterThan(0.9);
    expect(worst.clippedFraction).toBeGreaterThan(0.05);
    expect(worst.clipRange[1]).toBeCloseTo(calibrated[1] / 10, 2);
    expect(worst.ownSqnrDb).toBeLessThan(l.tensors[1]!.ownSqnrDb - 10);
    expect(worst.histogram).not.toBeNull();
    // Downstream of the fault, the accumulated error is at least as bad as the own error there.
    expect(worst.accumulatedSqnrDb).toBeLessThanOrEqual(worst.ownSqnrDb + 0.5);
    // and the damage is visible at the output
    expect(reports.narrow.outputs[0]!.sqnrDb).toBeLessThan(reports.clean.outputs[0]!.sqnrDb - 10);
  });

  it('20× too wide: the planted tensor ranks worst and is rounding-dominated', () => {
    const l = reports.wide.layers!;
    const worst = l.tensors[0]!;
    expect(worst.tensor).toBe(PLANTED);
    expect(worst.hint).toBe('rounding-dominated');
    expect(worst.clippedFraction).toBe(0);
    expect(worst.clipErrorShare).toBe(0);
    expect(worst.clipRange[1]).toBeCloseTo(calibrated[1] * 20, 0);
    // 20× the step is 26 dB more rounding noise than the clean model's tensor
    const clean = reports.clean.layers!.tensors.find((t) => t.tensor === PLANTED)!;
    expect(clean.ownSqnrDb - worst.ownSqnrDb).toBeGreaterThan(20);
    expect(clean.ownSqnrDb - worst.ownSqnrDb).toBeLessThan(32);
  });

  it('without the tensor map, the Q→DQ structure finds the same fault', async () => {
    const m = readModel(models.narrow!);
    m.metadata = m.metadata.filter((e) => e.key !== TENSOR_MAP_KEY);
    const bare = path.join(dir, 'narrow.no-map.onnx');
    writeModel(m, bare);
    const r = await run(bare);
    const l = r.layers!;
    expect(l.mapSource).toBe('structure');
    expect(r.warnings.map((w) => w.code)).toContain('no-tensor-map');
    expect(l.tensors[0]!.tensor).toBe(PLANTED);
    expect(l.tensors[0]!.hint).toBe('clipping-dominated');
    const viaMap = reports.narrow.layers!.tensors.map((t) => [t.tensor, t.ownSqnrDb.toFixed(6)]);
    expect(l.tensors.map((t) => [t.tensor, t.ownSqnrDb.toFixed(6)])).toEqual(viaMap);
    expect(fs.existsSync(bare)).toBe(true);
  });

  it('a tiny memory budget observes the tensors in several passes without changing a figure', async () => {
    const opts = { data: split.data, count: 100, latency: false } as const;
    const grouped = (await compare(LENET, models.narrow!, { ...opts, layerBudgetBytes: 1 })).layers!;
    const single = (await compare(LENET, models.narrow!, opts)).layers!;
    expect(single.passes).toBe(1);
    expect(grouped.passes).toBe(grouped.tensors.length - 1); // one per fetched tensor; the input comes from the feeds
    expect(grouped.tensors.map((t) => t.tensor)).toEqual(single.tensors.map((t) => t.tensor));
    grouped.tensors.forEach((t, i) => {
      expect(t.ownSqnrDb).toBeCloseTo(single.tensors[i]!.ownSqnrDb, 6);
      expect(t.accumulatedSqnrDb).toBeCloseTo(single.tensors[i]!.accumulatedSqnrDb, 4);
    });
  });

  it('accuracy with labels: the narrow range costs accuracy, the report says how much', () => {
    const acc = reports.narrow.outputs[0]!.classifier!.accuracy!;
    const clean = reports.clean.outputs[0]!.classifier!.accuracy!;
    expect(clean.float).toBeGreaterThan(0.95);
    expect(acc.float).toBe(clean.float);
    expect(acc.dropPp).toBeCloseTo(100 * (acc.float - acc.quantized), 9);
    expect(reports.narrow.outputs[0]!.classifier!.top1Agreement).toBeLessThan(reports.clean.outputs[0]!.classifier!.top1Agreement);
  });
});
