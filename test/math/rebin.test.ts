import { describe, expect, it } from 'vitest';
import {
  StreamingHistogram,
  absHistogram,
  positiveHistogram,
  signedHistogram,
} from '../../src/math/index.js';
import { gaussian } from './prng.js';

const sum = (a: Float64Array): number => a.reduce((s, v) => s + v, 0);

describe('absHistogram', () => {
  it('hand-worked re-bin of an 8-bin grid onto 8 bins over [0, max]', () => {
    // max|x| = 8 → W = 2 (8 < 8·2); source bins: 0.5 → 0, 2.5 and -2.6 → 1, 7.9 → 3, 8 → 4.
    // Target width 1 over [0, 8]. Each source bin is clipped to the observed [min, max] = [-2.6, 8]:
    //   [0, 2)    → 0.5 to targets 0 and 1
    //   [2, 4)    → 0.5 to targets 2 and 3            (the sample 2.5)
    //   (-4, -2]  → clipped to [-2.6, -2], |x| ∈ [2, 2.6] → 1 to target 2   (the sample -2.6)
    //   [6, 8)    → 0.5 to targets 6 and 7
    //   [8, 10)   → clipped to the single point 8 → 1 to the last target
    const h = new StreamingHistogram(8).observe([0.5, 2.5, -2.6, 7.9, 8]);
    const a = absHistogram(h, 8);
    expect(a.width).toBe(1);
    expect(a.max).toBe(8);
    expect(Array.from(a.counts)).toEqual([0.5, 0.5, 1.5, 0.5, 0, 0, 0.5, 1.5]);
  });

  it('puts exact zeros in bin 0 as a point mass and conserves the total', () => {
    const x = gaussian(20_000, 1).map((v) => Math.max(0, v));
    const h = new StreamingHistogram().observe(x);
    const a = absHistogram(h);
    expect(a.zeros).toBe(h.zeros);
    expect(a.zeroBin).toBe(0);
    expect(a.counts[0]).toBeGreaterThanOrEqual(h.zeros);
    expect(sum(a.counts)).toBeCloseTo(h.count, 6);
    expect(a.max).toBe(h.max);
    expect(a.width).toBe(h.max / 2048);
  });

  it('folds negatives onto |x| and never puts mass beyond the data', () => {
    // All data in [1, 2] ∪ [-4, -3]: target bins wholly inside (2, 3) must stay empty.
    const x: number[] = [];
    for (let i = 0; i < 1000; i++) x.push(1 + i / 1000, -3 - i / 1000);
    const h = new StreamingHistogram().observe(x);
    const a = absHistogram(h, 400); // width 0.01 over [0, 3.999]
    const w = a.width;
    let inGap = 0;
    let belowOne = 0;
    for (let t = 0; t < 400; t++) {
      if (t * w >= 2 + w && (t + 1) * w <= 3 - w) inGap += a.counts[t];
      if ((t + 1) * w <= 1 - w) belowOne += a.counts[t];
    }
    expect(inGap).toBe(0);
    expect(belowOne).toBe(0);
    expect(sum(a.counts)).toBeCloseTo(2000, 8);
  });

  it('is empty-safe and handles an all-zero tensor', () => {
    expect(sum(absHistogram(new StreamingHistogram()).counts)).toBe(0);
    const z = absHistogram(new StreamingHistogram().observe([0, 0, -0]));
    expect(z.counts[0]).toBe(3);
    expect(z.max).toBe(0);
  });
});

describe('positiveHistogram and signedHistogram', () => {
  it('positiveHistogram refuses tensors with negatives', () => {
    expect(() => positiveHistogram(new StreamingHistogram().observe([1, -1]))).toThrow(RangeError);
    expect(sum(positiveHistogram(new StreamingHistogram().observe([1, 2])).counts)).toBe(2);
  });

  it('signedHistogram spans [min, max], keeps the sign and conserves mass', () => {
    const h = new StreamingHistogram().observe([-3, -1, 0, 0, 1, 5]);
    const s = signedHistogram(h, 8); // width 1 over [-3, 5]
    expect(s.lo).toBe(-3);
    expect(s.width).toBe(1);
    expect(s.zeroBin).toBe(3);
    expect(sum(s.counts)).toBeCloseTo(6, 12);
    // Negative mass stays left of 0 and positive mass right of it.
    expect(s.counts[0] + s.counts[1] + s.counts[2]).toBeCloseTo(2, 12);
    expect(s.counts[3]).toBeGreaterThanOrEqual(2);
    expect(() => signedHistogram(h, 8, { lo: -1, hi: 5 })).toThrow(RangeError);
  });
});
