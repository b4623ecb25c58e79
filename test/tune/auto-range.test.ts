// --algo auto: per tensor, the candidate range with the least histogram error; on the fixtures,
// never worse than the best single algorithm on the calibration digits it is scored on, and within
// 0.25 dB of it on the 2,000 held-out test digits.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, calibrate, quantize, saveStats } from '../../src/index.js';
import { StreamingHistogram, chooseRange, qRange } from '../../src/math/index.js';
import { AUTO_CANDIDATES, autoRange, rangeError } from '../../src/math/auto-range.js';
import { AUTO_MIN_GAIN_DB } from '../../src/api/auto-algo.js';
import { decodeNpy } from '../../src/data/npy.js';
import { Session } from '../../src/runtime/index.js';
import { CALIB, FIXTURES, fixture, logits, sqnr, tmpDir } from '../e2e/helpers.js';

describe('autoRange on histograms', () => {
  function hist(values: number[]): StreamingHistogram {
    return new StreamingHistogram().observe(Float32Array.from(values));
  }
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const cases: Record<string, number[]> = {
    gaussian: Array.from({ length: 20000 }, gauss),
    'relu + outliers': Array.from({ length: 20000 }, (_, i) => (i % 997 === 0 ? 40 : Math.max(0, gauss()))),
    uniform: Array.from({ length: 20000 }, () => rnd() * 6 - 1),
    'heavy tail': Array.from({ length: 20000 }, () => gauss() ** 3),
  };
  for (const [name, values] of Object.entries(cases)) {
    it(`${name}: picks the candidate with the least expected squared error`, () => {
      const h = hist(values);
      const q = { ...qRange('uint8'), symmetric: false };
      const r = autoRange(h, { qmin: q.qmin, qmax: q.qmax, excludeZeros: true, percentile: DEFAULTS.percentile });
      const mine = rangeError(h, r.min, r.max, q);
      for (const algo of AUTO_CANDIDATES) {
        const c = chooseRange(algo, h, { qmin: q.qmin, qmax: q.qmax, excludeZeros: true, percentile: DEFAULTS.percentile });
        expect(mine, algo).toBeLessThanOrEqual(rangeError(h, c.min, c.max, q));
      }
      expect(r.scores.map((s) => s.algo)).toEqual([...AUTO_CANDIDATES]);
    });
  }
});

/** Logits on the 200 calibration digits (the samples --algo auto scores its choices on). */
async function calibLogits(model: string): Promise<Float32Array> {
  const files = fs.readdirSync(CALIB).filter((f) => f.endsWith('.npy')).sort();
  const x = new Float32Array(files.length * 784);
  files.forEach((f, i) => {
    const { data } = decodeNpy(fs.readFileSync(path.join(CALIB, f)), f);
    x.set(new Float32Array(data.buffer, data.byteOffset, 784), i * 784);
  });
  const s = await Session.open(model);
  const r = await s.run({ input: { dtype: 1, dims: [files.length, 1, 28, 28], data: x } });
  const out = Float32Array.from(r[s.outputNames[0]!]!.data as Float32Array);
  await s.close();
  return out;
}

describe('--algo auto on the fixtures', () => {
  const dir = tmpDir('auto');
  const rows: string[] = [];
  beforeAll(async () => {
    for (const m of FIXTURES) saveStats(await calibrate(fixture(m), { data: CALIB }), path.join(dir, `${m}.stats.json`));
  }, 300_000);

  // In sample (the calibration digits the choice is scored on) auto starts from the best whole-model
  // assignment (a later one must beat the earlier by AUTO_MIN_GAIN_DB) and keeps only changes that
  // raise the SQNR, so it is never below the best single algorithm by more than that. Held out, the
  // sweep's small in-sample gains need not carry over: vit_mini with target ort-cpu (full-range
  // int8 weights) gains +0.41 dB in sample over 152 trials and ends 0.12 dB below mse on the test
  // digits (31.54 vs 31.66 dB); with ort-cpu-novnni auto is at or above the best on all three.
  it.each(FIXTURES)('%s: auto is never worse than the best single algorithm on the calibration digits, within 0.25 dB of it held out, and the plan names each tensor\'s choice', async (m) => {
    const [f, fIn] = [await logits(fixture(m)), await calibLogits(fixture(m))];
    const db: Record<string, number> = {};
    const dbIn: Record<string, number> = {};
    let plan: Awaited<ReturnType<typeof quantize>>['plan'] | undefined;
    for (const algo of ['minmax', 'kl', 'mse', 'percentile', 'auto'] as const) {
      const out = path.join(dir, `${m}.${algo}.onnx`);
      const r = await quantize(fixture(m), { output: out, data: CALIB, stats: path.join(dir, `${m}.stats.json`), config: { algo } });
      if (algo === 'auto') console.log(r.notes.filter((n) => n.includes('auto')).join('\n'));
      if (algo === 'auto') plan = r.plan;
      db[algo] = sqnr(f, await logits(out));
      dbIn[algo] = sqnr(fIn, await calibLogits(out));
    }
    const chosen: Record<string, number> = {};
    for (const a of Object.values(plan!.activations)) if (a.source !== 'fixed' && a.algo) chosen[a.algo] = (chosen[a.algo] ?? 0) + 1;
    const show = (d: Record<string, number>) => Object.entries(d).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    rows.push(`${m} (${plan!.target}): held out ${show(db)} dB; calibration digits ${show(dbIn)} dB; auto chose ${JSON.stringify(chosen)}`);
    console.log(rows[rows.length - 1]);
    const calibrated = Object.values(plan!.activations).filter((a) => a.source === 'calibrated');
    expect(calibrated.length).toBeGreaterThan(0);
    for (const a of calibrated) expect(a.algo).toMatch(/^auto: (mse|percentile|minmax|kl)$/);
    const bestIn = Math.max(dbIn.minmax!, dbIn.kl!, dbIn.mse!, dbIn.percentile!);
    expect(dbIn.auto).toBeGreaterThanOrEqual(bestIn - AUTO_MIN_GAIN_DB);
    const best = Math.max(db.minmax!, db.kl!, db.mse!, db.percentile!);
    expect(db.auto).toBeGreaterThanOrEqual(best - 0.25);
  }, 300_000);
});
