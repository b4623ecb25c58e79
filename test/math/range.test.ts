import { describe, expect, it } from 'vitest';
import {
  MovingAverageMinMax,
  StreamingHistogram,
  chooseRange,
  klRange,
  minmaxRange,
  mseRange,
  percentileRange,
  type RangeAlgorithm,
} from '../../src/math/index.js';
import { gaussian, mulberry32, shuffled } from './prng.js';

const ALGOS: RangeAlgorithm[] = ['minmax', 'kl', 'mse', 'percentile'];

describe('Gaussian with far outliers', () => {
  // 2^20 N(0, 1) samples plus 5 outliers at ±50σ (3 positive, 2 negative).
  const n = 1 << 20;
  const data = new Float32Array(n + 5);
  data.set(gaussian(n, 1));
  data.set([50, -50, 50, -50, 50], n);
  const h = new StreamingHistogram().observe(data);

  it('minmax keeps the outliers', () => {
    expect(chooseRange('minmax', h)).toMatchObject({ min: -50, max: 50 });
  });

  it('kl clips them: T is a small fraction of the outlier distance', () => {
    const r = chooseRange('kl', h);
    expect(r.threshold).toBeGreaterThan(3);
    expect(r.threshold).toBeLessThan(12.5);
    expect(r.min).toBe(-r.max);
  });

  it('percentile (99.999) clips them and lands near the Gaussian quantile', () => {
    // Symmetric: P(|x| > T) = 1e-5 → T = 4.417σ for N(0, 1); 10 samples lie beyond it, so the 5
    // outliers are inside the cut mass. The Poisson noise of 10 tail samples moves T by ~0.1σ.
    const sym = chooseRange('percentile', h, { symmetric: true, percentile: 99.999 });
    expect(Math.abs(sym.max - 4.417)).toBeLessThan(0.3);
    const asym = chooseRange('percentile', h, { percentile: 99.999 });
    expect(asym.max).toBeLessThan(6);
    expect(asym.min).toBeGreaterThan(-6);
  });

  it('mse clips them where the error trade-off of §1 says', () => {
    // Symmetric int8 [-127, 127], Δ = 2T/254. For T ≪ 50: E(T) ≈ N·Δ²/12 + Σ_o (|o| − T)²
    // (rounding of the bulk + clipping of the outliers). dE/dT = 0 gives
    //   T* = 2·Σ|o| / (8N / (12·254²) + 2·n_o) ≈ 24.0.
    // So mse does clip the outliers, but with 5 outliers at 50σ in 2^20 samples the optimum is
    // ~24σ, not ~4σ: squared error weighs the outliers heavily.
    const expected = (2 * 250) / ((8 * n) / (12 * 254 * 254) + 2 * 5);
    const sym = chooseRange('mse', h, { symmetric: true });
    expect(Math.abs(sym.max - expected) / expected).toBeLessThan(0.1);
    const asym = chooseRange('mse', h);
    expect(asym.max).toBeLessThan(35);
    expect(asym.min).toBeGreaterThan(-35);
  });
});

describe('Uniform on [-1, 1]: all four ranges agree to within one bin', () => {
  // Stratified (one sample in each of 2^20 equal cells) so every histogram bin holds the same
  // count ±1: the comparison tests the algorithms, not sampling noise.
  const n = 1 << 20;
  const rand = mulberry32(2);
  const x = new Float32Array(n);
  for (let k = 0; k < n; k++) x[k] = -1 + (k + rand()) * (2 / n);
  const h = new StreamingHistogram().observe(x);
  const w = h.maxAbs / 2048; // bin width of the 2048-bin |x| histogram

  it.each([
    ['minmax', {}],
    ['kl', {}],
    ['percentile', { percentile: 99.999 }],
    ['percentile', { symmetric: true, percentile: 99.999 }],
    ['mse', {}],
  ] as const)('%s %o is within one bin of the data range', (algo, opts) => {
    const r = chooseRange(algo, h, opts);
    expect(Math.abs(r.min - h.min)).toBeLessThanOrEqual(w);
    expect(Math.abs(r.max - h.max)).toBeLessThanOrEqual(w);
  });

  it('mse symmetric int8: T = 254/255·max, so the grid (T + Δ/2) covers the data to one bin', () => {
    // Δ = T/127. With no clipping E = Δ²/12 grows with T; once the outermost cell edge T + Δ/2
    // falls inside the data, clipping error (1 − T)³/3 grows faster. Both derivatives match
    // (0.251·Δ²) exactly where T + Δ/2 = max, i.e. T* = 254/255·max: the outer cell edge meets
    // the data edge. The raw T is therefore ~8 bins inside max by design.
    const r = chooseRange('mse', h, { symmetric: true });
    expect(Math.abs(r.max - (254 / 255) * h.maxAbs)).toBeLessThanOrEqual(w);
    expect(Math.abs(r.max * (255 / 254) - h.maxAbs)).toBeLessThanOrEqual(w);
  });
});

describe('never-negative tensors get one-sided ranges [0, T]', () => {
  const relu = gaussian(200_000, 3).map((v) => Math.max(0, v));
  const sigmoid = gaussian(50_000, 4).map((v) => 1 / (1 + Math.exp(-v)));
  it.each(ALGOS)('%s on post-ReLU data', (algo) => {
    const h = new StreamingHistogram().observe(relu);
    expect(h.neverNegative).toBe(true);
    for (const symmetric of [false, true]) {
      const r = chooseRange(algo, h, { symmetric, percentile: 99.999 });
      expect(r.min).toBe(0);
      expect(r.oneSided).toBe(true);
      expect(r.max).toBeGreaterThan(0.5);
      expect(r.max).toBeLessThanOrEqual(h.max);
    }
  });
  it.each(ALGOS)('%s on sigmoid data starts at 0, not at the observed min', (algo) => {
    const h = new StreamingHistogram().observe(sigmoid);
    expect(h.min).toBeGreaterThan(0.01);
    const r = chooseRange(algo, h, { percentile: 99.999 });
    expect(r.min).toBe(0);
    expect(r.max).toBeGreaterThan(0.5);
    expect(r.max).toBeLessThanOrEqual(h.max);
  });
});

describe('range algorithms are pure functions of the data', () => {
  it('batch order and sharding do not change any range, bit for bit', () => {
    const batches = Array.from({ length: 24 }, (_, b) => gaussian(2000, 100 + b, 1 + (b % 5)));
    const a = new StreamingHistogram();
    for (const b of batches) a.observe(b);
    const shards = [new StreamingHistogram(), new StreamingHistogram(), new StreamingHistogram()];
    shuffled(batches, 9).forEach((b, i) => shards[i % 3].observe(b));
    const merged = shards[2].merge(shards[0]).merge(shards[1]);
    for (const algo of ALGOS) {
      for (const symmetric of [false, true]) {
        expect(chooseRange(algo, merged, { symmetric, percentile: 99.999 })).toStrictEqual(chooseRange(algo, a, { symmetric, percentile: 99.999 }));
      }
    }
  });

  it('chooseRange dispatches to the named algorithm', () => {
    const h = new StreamingHistogram().observe(gaussian(20_000, 5));
    expect(chooseRange('minmax', h)).toStrictEqual(minmaxRange(h));
    expect(chooseRange('kl', h)).toStrictEqual(klRange(h));
    expect(chooseRange('mse', h, { symmetric: true })).toStrictEqual(mseRange(h, { symmetric: true }));
    expect(chooseRange('percentile', h, { percentile: 99 })).toStrictEqual(percentileRange(h, { percentile: 99 }));
    expect(() => chooseRange('entropy' as RangeAlgorithm, h)).toThrow(RangeError);
  });
});

describe('edge cases', () => {
  it('empty and constant histograms fall back to min/max', () => {
    for (const algo of ALGOS) {
      expect(chooseRange(algo, new StreamingHistogram(), { percentile: 99.999 })).toMatchObject({ min: 0, max: 0, fallback: 'empty' });
      const c = new StreamingHistogram().observe([-2, -2, -2]);
      expect(chooseRange(algo, c, { percentile: 99.999 })).toMatchObject({ min: -2, max: -2 });
      expect(chooseRange(algo, new StreamingHistogram().observe([0, 0]), { percentile: 99.999 })).toMatchObject({ min: 0, max: 0 });
    }
  });

  it('percentile 100 is min/max; p outside (0, 100] is rejected', () => {
    const h = new StreamingHistogram().observe(gaussian(10_000, 6));
    const r = percentileRange(h, { percentile: 100 });
    expect(r.min).toBeCloseTo(h.min, 12);
    expect(r.max).toBeCloseTo(h.max, 12);
    expect(() => percentileRange(h, { percentile: 0 })).toThrow(RangeError);
    expect(() => percentileRange(h, { percentile: 101 })).toThrow(RangeError);
  });

  it('percentile on a known distribution: 90th percentile of |x| for x uniform on a grid', () => {
    // 1000 values k/1000, k = 0..999, plus their negatives: P(|x| ≤ t) = t, so T(90) ≈ 0.9.
    const v: number[] = [];
    for (let k = 0; k < 1000; k++) v.push(k / 1000, -(k + 0.5) / 1000);
    const r = percentileRange(new StreamingHistogram().observe(v), { percentile: 90, symmetric: true });
    expect(Math.abs(r.max - 0.9)).toBeLessThan(0.002);
  });
});

describe('MovingAverageMinMax (order-dependent by design)', () => {
  it('first batch initialises, then new = old + 0.01·(batch − old)', () => {
    const m = new MovingAverageMinMax();
    m.observe([-1, 0.5, 1]).observe([-3, 5]);
    // min: -1 + 0.01·(-3 − (-1)) = -1.02; max: 1 + 0.01·(5 − 1) = 1.04
    expect(m.result().min).toBeCloseTo(-1.02, 15);
    expect(m.result().max).toBeCloseTo(1.04, 15);
    expect(m.batches).toBe(2);
  });
  it('the same batches in another order give another range', () => {
    const a = new MovingAverageMinMax().observe([-1, 1]).observe([-3, 5]).result();
    const b = new MovingAverageMinMax().observe([-3, 5]).observe([-1, 1]).result();
    expect(b.max).toBeCloseTo(5 + 0.01 * (1 - 5), 15);
    expect(a.max).not.toBe(b.max);
  });
  it('skips batches with no finite value and reports [0, 0] before any data', () => {
    const m = new MovingAverageMinMax();
    expect(m.result()).toEqual({ min: 0, max: 0 });
    m.observe([NaN, Infinity]);
    expect(m.batches).toBe(0);
  });
});
