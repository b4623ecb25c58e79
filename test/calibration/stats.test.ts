import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  calibrate, loadStats, mergeStats, mergeStatsFiles, saveStats, serializeStats, type StatsFile,
} from '../../src/api/calibrate.js';
import { UserInputError } from '../../src/errors.js';
import { calibrationFiles, copyAs, DATA, fixture, tmpDir } from './helpers.js';

function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('sharded calibration', () => {
  it('samples 0-99 and 100-199 calibrated apart and merged equal calibrating all 200 (byte for byte)', async () => {
    const files = calibrationFiles();
    const first = copyAs(files.slice(0, 100), (i) => `${String(i).padStart(4, '0')}.npy`);
    const second = copyAs(files.slice(100), (i) => `${String(100 + i).padStart(4, '0')}.npy`);
    for (const name of ['resnet_mini', 'lenet_bn']) {
      const [all, a, b] = await Promise.all([DATA, first, second].map((data) => calibrate(fixture(name), { data, config: { algo: 'kl' } })));
      expect(a!.samples + b!.samples).toBe(200);
      expect(a!.tensors).not.toEqual(all!.tensors);
      const merged = mergeStats(a!, b!);
      expect(merged).toEqual(all);
      expect(serializeStats(merged)).toBe(serializeStats(all!));
      // Either order.
      expect(serializeStats(mergeStats(b!, a!))).toBe(serializeStats(all!));
    }
  });
});

describe('stats files', () => {
  let cached: StatsFile | undefined;
  const lenet = async () => (cached ??= await calibrate(fixture('lenet_bn'), { data: DATA, config: { calibCount: 20 } }));

  it('save → load round-trips exactly; equal stats give identical bytes', async () => {
    const stats = await lenet();
    const dir = tmpDir();
    saveStats(stats, path.join(dir, 'a.json'));
    const again = await calibrate(fixture('lenet_bn'), { data: DATA, config: { calibCount: 20 } });
    saveStats(again, path.join(dir, 'b.json'));
    expect(fs.readFileSync(path.join(dir, 'a.json'))).toEqual(fs.readFileSync(path.join(dir, 'b.json')));
    expect(loadStats(path.join(dir, 'a.json'))).toEqual(stats);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
  });

  it('load refuses other files, formats and versions with one-line UserInputErrors', async () => {
    const dir = tmpDir();
    const stats = await lenet();
    const cases: [string, string, RegExp][] = [
      ['missing.json', '', /missing\.json: file not found/],
      ['garbage.json', 'not json{', /garbage\.json: not a qtool stats file \(not valid JSON/],
      ['plan.json', JSON.stringify({ version: 1, activations: {} }), /plan\.json: not a qtool stats file/],
      ['v2.json', JSON.stringify({ ...stats, version: 2 }), /v2\.json: stats file version 2 is not supported \(this qtool reads version 1\)/],
      ['hist.json', JSON.stringify({ ...stats, tensors: { x: { min: 0, max: 1, count: 1, histogram: { format: 'nope' } } } }), /hist\.json: tensor 'x': bad histogram/],
    ];
    for (const [file, text, want] of cases) {
      const p = path.join(dir, file);
      if (text) fs.writeFileSync(p, text);
      const e = errorOf(() => loadStats(p));
      expect(e).toBeInstanceOf(UserInputError);
      expect(e.message).toMatch(want);
      expect(e.message).not.toContain('\n');
    }
  });

  it('merge refuses different models, bins and moving-average stats', async () => {
    const stats = await lenet();
    const other = await calibrate(fixture('resnet_mini'), { data: DATA, config: { calibCount: 4 } });
    expect(errorOf(() => mergeStats(stats, other)).message).toMatch(/stats of different models \(lenet_bn\.onnx .* vs resnet_mini\.onnx/);
    const fine = await calibrate(fixture('lenet_bn'), { data: DATA, config: { calibCount: 4, histogramBins: 512 } });
    expect(errorOf(() => mergeStats(stats, fine)).message).toMatch(/different histogram bins \(2048 vs 512\)/);
    const ma = await calibrate(fixture('lenet_bn'), { data: DATA, config: { calibCount: 4, movingAverage: true } });
    expect(ma.movingAverage?.note).toMatch(/order-dependent/);
    expect(errorOf(() => mergeStats(stats, ma))).toBeInstanceOf(UserInputError);
    expect(errorOf(() => mergeStats(stats, ma)).message).toMatch(/moving-average stats depend on batch order and cannot be merged/);
  });

  it('mergeStatsFiles writes the merged file and recomputes ranges for --algo', async () => {
    const dir = tmpDir();
    const files = calibrationFiles();
    const a = await calibrate(fixture('lenet_bn'), { data: copyAs(files.slice(0, 50), (i) => `${i}.npy`) });
    const b = await calibrate(fixture('lenet_bn'), { data: copyAs(files.slice(50, 80), (i) => `${i}.npy`) });
    saveStats(a, path.join(dir, 'a.json'));
    saveStats(b, path.join(dir, 'b.json'));
    const merged = mergeStatsFiles([path.join(dir, 'a.json'), path.join(dir, 'b.json')], path.join(dir, 'm.json'), { config: { algo: 'percentile' } });
    const direct = await calibrate(fixture('lenet_bn'), { data: DATA, config: { calibCount: 80, algo: 'percentile' } });
    expect(serializeStats(merged)).toBe(serializeStats(direct));
    expect(fs.readFileSync(path.join(dir, 'm.json'), 'utf8')).toBe(serializeStats(direct));
    expect(Object.keys(merged.ranges!)).toEqual(Object.keys(merged.tensors));
  });
});
