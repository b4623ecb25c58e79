import { describe, expect, it } from 'vitest';
import {
  HistogramMoments,
  StreamingHistogram,
  computeScaleZeroPoint,
  mseRange,
  signedHistogram,
} from '../../src/math/index.js';
import { gaussian } from './prng.js';

/** Σ (x − fq(x))² by midpoint integration, each bin's mass uniform over the bin. */
function integratedError(
  counts: Float64Array,
  lo: number,
  width: number,
  scale: number,
  zp: number,
  qmin: number,
  qmax: number,
): number {
  const steps = 2000;
  let err = 0;
  counts.forEach((c, j) => {
    for (let k = 0; k < steps; k++) {
      const x = lo + (j + (k + 0.5) / steps) * width;
      const q = Math.min(qmax, Math.max(qmin, Math.round(x / scale) + zp));
      err += ((x - (q - zp) * scale) ** 2 * c) / steps;
    }
  });
  return err;
}

describe('HistogramMoments.squaredError', () => {
  const counts = new Float64Array([3, 0, 5, 1, 7, 2, 0, 4]);
  const lo = -1.3;
  const width = 0.4;
  const m = new HistogramMoments({ counts, lo, width, zeros: 0, zeroBin: -1 });
  it.each([
    [0.05, 0, -127, 127], // fine grid, no clipping
    [0.37, 3, 0, 7], // coarse, asymmetric zero point, clipping on both sides
    [0.01, 128, 0, 255], // clips most of the data
  ])('scale %d, zp %i, [%i, %i] matches numerical integration', (scale, zp, qmin, qmax) => {
    const want = integratedError(counts, lo, width, scale, zp, qmin, qmax);
    expect(m.squaredError(scale, zp, qmin, qmax)).toBeCloseTo(want, 4);
  });
  it('exact zeros carry no error', () => {
    const h = new StreamingHistogram().observe([0, 0, 0, 0, 0.3, -0.2]);
    const withZeros = new HistogramMoments(signedHistogram(h, 64));
    const nonZero = new StreamingHistogram().observe([0.3, -0.2]);
    const without = new HistogramMoments(signedHistogram(nonZero, 64, { lo: -0.2, hi: 0.3 }));
    const { scale, zeroPoint } = computeScaleZeroPoint(-0.2, 0.3, { qmin: 0, qmax: 15, symmetric: false });
    const want = without.squaredError(scale, zeroPoint, 0, 15);
    expect(want).toBeGreaterThan(0);
    expect(withZeros.squaredError(scale, zeroPoint, 0, 15)).toBeCloseTo(want, 12);
  });
});

describe('mseRange on N(0, 1) against the analytic optimum', () => {
  // E(T) = ∫ (x − fq_T(x))² φ(x) dx for a symmetric uniform quantizer with levels k·T/qmax,
  // computed from the Gaussian density itself (no histogram), minimised over a fine T grid.
  function gaussianOptimum(qmax: number): number {
    const phi = (x: number): number => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
    const dx = 0.002;
    let best = 0;
    let bestErr = Infinity;
    for (let t = 1; t <= 6; t += 0.005) {
      const s = t / qmax;
      let e = 0;
      for (let x = -9 + dx / 2; x < 9; x += dx) {
        const q = Math.min(qmax, Math.max(-qmax, Math.round(x / s)));
        e += (x - q * s) ** 2 * phi(x) * dx;
      }
      if (e < bestErr) {
        bestErr = e;
        best = t;
      }
    }
    return best;
  }
  const h = new StreamingHistogram().observe(gaussian(1 << 20, 21));

  it.each([7, 31])('symmetric [-q, q] with q = %i', (qmax) => {
    const expected = gaussianOptimum(qmax);
    const r = mseRange(h, { symmetric: true, qmin: -qmax, qmax });
    expect(Math.abs(r.max - expected) / expected).toBeLessThan(0.05);
  });

  it('fewer levels clip harder', () => {
    const t4 = mseRange(h, { symmetric: true, qmin: -7, qmax: 7 }).max;
    const t8 = mseRange(h, { symmetric: true }).max;
    expect(t4).toBeLessThan(t8);
  });
});

describe('mse with int16 targets (cells much finer than bins)', () => {
  it('the s²/12 shortcut agrees with the exact per-cell integral', () => {
    // A uniform-within-bin histogram of a ramp; 2,000 cells over 64 bins exercises the exact loop,
    // 40,000 cells the shortcut; both must give s²/12 per unit mass inside the range.
    const counts = Float64Array.from({ length: 64 }, (_, j) => 10 + j);
    const m = new HistogramMoments({ counts, lo: 0, width: 1, zeros: 0, zeroBin: -1, max: 64 } as never);
    const mass = counts.reduce((a, b) => a + b, 0);
    for (const cells of [2000, 40000]) {
      const s = 64 / cells;
      const err = m.squaredError(s, 0, 0, cells);
      expect(Math.abs(err - (mass * s * s) / 12) / ((mass * s * s) / 12)).toBeLessThan(0.02);
    }
    // Clipping: range [0, 32) of data on [0, 64): the tail error dominates and is integrated exactly.
    const s = 32 / 40000;
    const tail = Array.from(counts.slice(32)).reduce((acc, c, k) => acc + (c * ((k + 1) ** 3 - k ** 3)) / 3, 0);
    expect(m.squaredError(s, 0, 0, 40000) / tail).toBeCloseTo(1, 2);
  });
});
