import { describe, expect, it } from 'vitest';
import {
  StreamingHistogram,
  clippedFraction,
  cosineSimilarity,
  maxAbsDiff,
  meanAbsDiff,
  sqnrDb,
  top1Agreement,
} from '../../src/math/index.js';

describe('sqnrDb', () => {
  it('10·log10(Σf² / Σ(f − q)²)', () => {
    // Σf² = 4, Σ(f − q)² = 1 → 10·log10(4)
    expect(sqnrDb([1, 1, 1, 1], [1, 1, 1, 0])).toBeCloseTo(10 * Math.log10(4), 12);
    // Noise 10× smaller in amplitude → +20 dB.
    expect(sqnrDb([3, 4], [3.1, 4])).toBeCloseTo(10 * Math.log10(25 / 0.01), 9);
  });
  it('is Infinity for identical outputs and -Infinity for noise on a zero reference', () => {
    expect(sqnrDb(new Float32Array([1, 2]), new Float32Array([1, 2]))).toBe(Infinity);
    expect(sqnrDb([0, 0], [0, 0])).toBe(Infinity);
    expect(sqnrDb([0, 0], [0, 1])).toBe(-Infinity);
  });
  it('rejects length mismatch', () => {
    expect(() => sqnrDb([1], [1, 2])).toThrow(RangeError);
  });
});

describe('cosineSimilarity, maxAbsDiff, meanAbsDiff', () => {
  it('known values', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 15);
    expect(cosineSimilarity([1, 1], [-1, -1])).toBeCloseTo(-1, 15);
    expect(cosineSimilarity([0, 0], [0, 0])).toBe(1);
    expect(cosineSimilarity([0, 0], [1, 0])).toBe(0);
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 1])).toBe(2);
    expect(meanAbsDiff([1, 2, 3], [1, 2.5, 1])).toBeCloseTo(2.5 / 3, 15);
    expect(maxAbsDiff([], [])).toBe(0);
  });
});

describe('top1Agreement', () => {
  it('compares the argmax of each row of [N, C]', () => {
    const ref = [0.1, 0.9, 0.0, /* row 2 */ 0.5, 0.2, 0.3, /* row 3 */ 0, 0, 1];
    const test = [0.2, 0.7, 0.1, /* row 2 */ 0.1, 0.6, 0.3, /* row 3 */ 0, 0.1, 0.9];
    expect(top1Agreement(ref, test, 3)).toBeCloseTo(2 / 3, 15);
    expect(top1Agreement(ref, ref, 3)).toBe(1);
    expect(() => top1Agreement(ref, test, 4)).toThrow(RangeError);
  });
});

describe('clippedFraction', () => {
  // bins = 8, values 0.25, 0.75, …, 3.75: max 3.75 < 8·0.5, so W = 0.5 and each value has its own
  // bin [0.5j, 0.5j + 0.5); the first and last bins are clipped to the data: [0.25, 0.5], [3.5, 3.75].
  const h = new StreamingHistogram(8).observe([0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75]);
  it('is 0 for the min/max range', () => {
    expect(clippedFraction(h, h.min, h.max)).toBe(0);
    expect(clippedFraction(h, -10, 10)).toBe(0);
  });
  it('counts whole bins outside the range', () => {
    expect(clippedFraction(h, 0, 3)).toBe(2 / 8); // bins [3, 3.5) and [3.5, 3.75]
    expect(clippedFraction(h, 1, 3)).toBe(4 / 8); // plus [0.25, 0.5] and [0.5, 1)
  });
  it('prorates a bin cut by the range (uniform within the bin)', () => {
    expect(clippedFraction(h, 0, 3.25)).toBeCloseTo(1.5 / 8, 15); // half of [3, 3.5) + all of the last
  });
  it('treats exact zeros as a point at 0 and handles negatives', () => {
    const z = new StreamingHistogram(8).observe([0, 0, -1, 1]);
    expect(clippedFraction(z, 0.5, 2)).toBeCloseTo(3 / 4, 15); // both zeros and -1
    expect(clippedFraction(z, -0.5, 2)).toBeCloseTo(1 / 4, 15);
    expect(clippedFraction(new StreamingHistogram(), 0, 1)).toBe(0);
  });
});
