import { describe, expect, it } from 'vitest';
import { calibrate, rangesFromStats, type StatsFile } from '../../src/api/calibrate.js';
import { DEFAULTS, type Algo } from '../../src/config/index.js';
import { openDataFolder } from '../../src/data/index.js';
import { DataType } from '../../src/ir/index.js';
import { calibrationFiles, copyAs, DATA, fixture } from './helpers.js';

const ALGOS: Algo[] = ['minmax', 'kl', 'mse', 'percentile'];

/** algo → tensor → [min, max] for all four algorithms. */
function allRanges(stats: StatsFile): Record<string, Record<string, [number, number]>> {
  const out: Record<string, Record<string, [number, number]>> = {};
  for (const algo of ALGOS) {
    const r = rangesFromStats(stats, { ...DEFAULTS, algo });
    out[algo] = Object.fromEntries([...r].map(([t, v]) => [t, [v.min, v.max]]));
  }
  return out;
}

/** Bit-level equality of every range (toEqual treats +0 and -0 alike; Object.is does not). */
function expectBitIdentical(a: StatsFile, b: StatsFile): void {
  expect(b.tensors).toEqual(a.tensors);
  const ra = allRanges(a);
  const rb = allRanges(b);
  expect(rb).toEqual(ra);
  for (const algo of ALGOS) for (const [t, [lo, hi]] of Object.entries(ra[algo]!)) {
    expect(Object.is(rb[algo]![t]![0], lo) && Object.is(rb[algo]![t]![1], hi), `${algo} ${t}`).toBe(true);
  }
}

describe('independence from sample order', () => {
  it('renamed files (reverse order) give bit-identical histograms and ranges (all four algos)', async () => {
    const files = calibrationFiles();
    const reversed = copyAs(files, (i) => `s${String(files.length - 1 - i).padStart(4, '0')}.npy`);
    // The copy really is read in another order.
    const input = [{ name: 'input', elemType: DataType.FLOAT, shape: ['N', 1, 28, 28] }];
    const order = (await openDataFolder(reversed, { inputs: input })).files.map((f) => f.slice(-9));
    expect(order[0]).toBe('s0000.npy');
    for (const name of ['resnet_mini', 'lenet_bn']) {
      const a = await calibrate(fixture(name), { data: DATA });
      const b = await calibrate(fixture(name), { data: reversed });
      expectBitIdentical(a, b);
    }
  });
});

describe('independence from batch size', () => {
  it.each(['lenet_bn', 'resnet_mini'])('%s: batch 1, 7 and 32 give bit-identical stats and ranges', async (name) => {
    const [b1, b7, b32] = await Promise.all([1, 7, 32].map((batchSize) => calibrate(fixture(name), { data: DATA, config: { batchSize } })));
    expectBitIdentical(b1!, b7!);
    expectBitIdentical(b1!, b32!);
  });

  it('vit_mini: ranges differ between batch sizes only in the last bits (onnxruntime GEMM blocking)', async () => {
    const [b1, b7, b32] = await Promise.all([1, 7, 32].map((batchSize) => calibrate(fixture('vit_mini'), { data: DATA, config: { batchSize } })));
    const base = allRanges(b1!);
    const worst: Record<string, number> = {};
    for (const other of [b7!, b32!]) {
      const r = allRanges(other);
      for (const algo of ALGOS) for (const [t, [lo, hi]] of Object.entries(base[algo]!)) {
        const [lo2, hi2] = r[algo]![t]!;
        const rel = Math.max(Math.abs(lo - lo2), Math.abs(hi - hi2)) / Math.max(Math.abs(lo), Math.abs(hi), 1e-30);
        worst[algo] = Math.max(worst[algo] ?? 0, rel);
      }
    }
    console.log('vit_mini largest relative range difference, batch 1 vs 7/32:', worst);
    for (const algo of ALGOS) expect(worst[algo]).toBeLessThan(1e-5);
  });
});
