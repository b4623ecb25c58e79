// The numerics of --stochastic-rounding, --pow2-scales and --group-size (src/math/qparams.ts,
// src/math/prng.ts).
import { describe, expect, it } from 'vitest';
import {
  choosePow2Scales, computeScaleZeroPoint, isFloat32PowerOfTwo, pow2Bounds, quantizeInt4Blocks, quantizeValue, quantizeWeightBlocks,
  quantizeWeightPerChannel, stochasticRounding,
} from '../../src/math/qparams.js';
import { hash32, mulberry32, streamFor } from '../../src/math/prng.js';
import { gaussian, uniform } from './prng.js';

const INT8 = { qmin: -127, qmax: 127 };

describe('stochastic rounding', () => {
  // 2,000 weights of one channel, scale from their max; K seeds. Per element the dequantized value
  // has standard deviation s·sqrt(f(1-f)) ≤ s/2, so its mean over K seeds has ≤ s/(2·sqrt(K)).
  const w = gaussian(2000, 11);
  const K = 400;
  const mean = (round: (seed: number) => ((x: number, s: number) => number) | undefined) => {
    const acc = new Float64Array(w.length);
    let scale = 0;
    for (let seed = 0; seed < K; seed++) {
      const r = quantizeWeightPerChannel(w, [1, w.length], 0, { ...INT8, round: round(seed) });
      scale = r.scales[0]!;
      for (let i = 0; i < w.length; i++) acc[i] += (r.q[i]! - r.zeroPoints[0]!) * scale;
    }
    return { mean: acc.map((v) => v / K), scale };
  };

  it('the dequantized weight equals the float weight in expectation (per element and on average)', () => {
    const { mean: m, scale: s } = mean((seed) => stochasticRounding(streamFor(seed, 'w')));
    const sigma = s / (2 * Math.sqrt(K));
    let worst = 0;
    let bias = 0;
    for (let i = 0; i < w.length; i++) {
      worst = Math.max(worst, Math.abs(m[i]! - w[i]!));
      bias += m[i]! - w[i]!;
    }
    // 5 sigma per element over 2,000 elements (a fair coin exceeds it with probability ~1e-3);
    // the average error over all elements within 5 sigma of its own (sigma / sqrt(2000)).
    expect(worst).toBeLessThan(5 * sigma);
    expect(Math.abs(bias / w.length)).toBeLessThan((5 * sigma) / Math.sqrt(w.length));
  });

  it('the same statistic rejects round-to-nearest (the test can fail)', () => {
    const { mean: m, scale: s } = mean(() => undefined);
    const sigma = s / (2 * Math.sqrt(K));
    let worst = 0;
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(m[i]! - w[i]!));
    expect(worst).toBeGreaterThan(5 * sigma);
  });

  it('rounds only to the two neighbours, up with the fractional part as frequency', () => {
    const round = stochasticRounding(mulberry32(3));
    let up = 0;
    for (let i = 0; i < 20000; i++) {
      const q = round(2.3, 1);
      expect(q === 2 || q === 3).toBe(true);
      if (q === 3) up++;
    }
    // Binomial(20000, 0.3): sd 64.8; 5 sd.
    expect(Math.abs(up - 6000)).toBeLessThan(325);
    expect(round(4, 1)).toBe(4); // an integer quotient never moves
    expect(round(-1.5, 1) === -1 || round(-1.5, 1) === -2).toBe(true);
  });

  it('seeded streams: same seed, same integers; another seed or another tensor name, others', () => {
    const q = (seed: number, name: string) => quantizeWeightPerChannel(w, [20, 100], 0, { ...INT8, round: stochasticRounding(streamFor(seed, name)) }).q;
    expect(q(7, 'a')).toEqual(q(7, 'a'));
    expect(q(7, 'a')).not.toEqual(q(8, 'a'));
    expect(q(7, 'a')).not.toEqual(q(7, 'b'));
    expect(hash32('abc')).toBe(hash32('abc'));
    expect(hash32('abc')).not.toBe(hash32('abd'));
  });
});

describe('power-of-two scales', () => {
  it('pow2Bounds brackets the scale with float32 powers of two', () => {
    expect(pow2Bounds(0.75)).toEqual([0.5, 1]);
    expect(pow2Bounds(0.5)).toEqual([0.5, 0.5]);
    expect(pow2Bounds(3)).toEqual([2, 4]);
    for (const s of uniform(1000, 5, 1e-6, 10)) {
      const [lo, hi] = pow2Bounds(s);
      expect(lo).toBeLessThanOrEqual(s);
      expect(hi).toBeGreaterThanOrEqual(s);
      expect(hi === lo || hi === 2 * lo).toBe(true);
      expect(isFloat32PowerOfTwo(lo) && isFloat32PowerOfTwo(hi)).toBe(true);
    }
  });

  it('isFloat32PowerOfTwo reads the bits', () => {
    for (const v of [1, 2, 0.5, 2 ** -126, 2 ** -149, 2 ** 127]) expect(isFloat32PowerOfTwo(v)).toBe(true);
    for (const v of [0, -1, 3, 0.3, Math.fround(0.1), Infinity, NaN, 2 ** -126 * 1.5]) expect(isFloat32PowerOfTwo(v)).toBe(false);
  });

  it('computeScaleZeroPoint with pow2 ceil keeps the range; the zero point follows the new scale', () => {
    const free = computeScaleZeroPoint(-1.3, 5.1, { qmin: 0, qmax: 255, symmetric: false });
    const p = computeScaleZeroPoint(-1.3, 5.1, { qmin: 0, qmax: 255, symmetric: false, pow2: 'ceil' });
    expect(isFloat32PowerOfTwo(p.scale)).toBe(true);
    expect(p.scale).toBeGreaterThanOrEqual(free.scale);
    expect(p.scale).toBeLessThan(2 * free.scale);
    expect(p.zeroPoint).toBe(Math.round(1.3 / p.scale));
    expect((255 - p.zeroPoint) * p.scale).toBeGreaterThanOrEqual(5.1); // the top of the range is not clipped
  });

  it('per-channel pow2 picks, per channel, the neighbour with the smaller squared error', () => {
    const w = gaussian(64 * 50, 9);
    const free = quantizeWeightPerChannel(w, [64, 50], 0, INT8);
    const p2 = quantizeWeightPerChannel(w, [64, 50], 0, { ...INT8, pow2: true });
    const err = (c: number, s: number) => {
      let e = 0;
      for (let i = 0; i < 50; i++) e += (w[c * 50 + i]! - quantizeValue(w[c * 50 + i]!, s, 0, -127, 127) * s) ** 2;
      return e;
    };
    let floors = 0;
    for (let c = 0; c < 64; c++) {
      const [lo, hi] = pow2Bounds(free.scales[c]!);
      expect(isFloat32PowerOfTwo(p2.scales[c]!)).toBe(true);
      expect(err(c, p2.scales[c]!)).toBe(Math.min(err(c, lo), err(c, hi)));
      if (p2.scales[c] === lo && lo !== hi) floors++;
    }
    // Both choices occur on Gaussian weights (otherwise "ceil always" would pass this test too).
    expect(floors).toBeGreaterThan(0);
    expect(floors).toBeLessThan(64);
  });

  it('a floor (the bias constraint) excludes the lower neighbour', () => {
    const w = new Float32Array([1, -0.9, 0.2]);
    const scales = new Float32Array([1 / 127]);
    choosePow2Scales(w, () => 0, scales, [0], () => 1 / 127, INT8);
    expect(scales[0]).toBe(pow2Bounds(1 / 127)[1]);
  });
});

describe('blocked weights (--group-size; the int4 MatMulNBits blocks reuse them)', () => {
  it('one scale per block of the input axis, in the blocked DequantizeLinear layout, ragged last block', () => {
    const dims = [3, 10, 2]; // [O, I, k]; blocks of 4 along I: 4, 4, 2
    const w = gaussian(60, 4);
    const b = quantizeWeightBlocks(w, dims, 1, 4, INT8);
    expect(b.scaleDims).toEqual([3, 3, 2]);
    expect(b.scales.length).toBe(18);
    for (let o = 0; o < 3; o++) for (let blk = 0; blk < 3; blk++) for (let k = 0; k < 2; k++) {
      let amax = 0;
      for (let i = blk * 4; i < Math.min(10, blk * 4 + 4); i++) amax = Math.max(amax, Math.abs(w[(o * 10 + i) * 2 + k]!));
      const s = b.scales[(o * 3 + blk) * 2 + k]!;
      expect(s).toBe(Math.fround(amax / 127));
      for (let i = blk * 4; i < Math.min(10, blk * 4 + 4); i++) {
        const x = w[(o * 10 + i) * 2 + k]!;
        expect(Math.abs(b.q[(o * 10 + i) * 2 + k]! * s - x)).toBeLessThanOrEqual(s / 2 + 1e-7);
      }
    }
  });

  it('smaller blocks never give more squared error than per-channel on the same weights', () => {
    const w = gaussian(16 * 64, 21).map((v, i) => (i % 64 < 8 ? v * 8 : v)); // an outlier input group
    const sq = (q: ArrayLike<number>, s: (i: number) => number) => w.reduce((e, x, i) => e + (x - q[i]! * s(i)) ** 2, 0);
    const pc = quantizeWeightPerChannel(w, [16, 64], 0, INT8);
    const g8 = quantizeWeightBlocks(w, [16, 64], 1, 8, INT8);
    const ePc = sq(pc.q, (i) => pc.scales[Math.floor(i / 64)]!);
    const eG = sq(g8.q, (i) => g8.scales[Math.floor(i / 64) * 8 + Math.floor((i % 64) / 8)]!);
    expect(eG).toBeLessThan(ePc / 4);
  });

  it('quantizeInt4Blocks writes what the first implementation wrote (Math.round on the float64 quotient)', () => {
    const legacy = (x: Float32Array, k: number, n: number, bs: number) => {
      const blocks = Math.ceil(k / bs);
      const q = new Int32Array(k * n);
      const scales = new Float32Array(n * blocks);
      for (let col = 0; col < n; col++) for (let b = 0; b < blocks; b++) {
        const end = Math.min(k, (b + 1) * bs);
        let amax = 0;
        for (let i = b * bs; i < end; i++) amax = Math.max(amax, Math.abs(x[i * n + col]!));
        const s = amax > 0 ? Math.fround(amax / 7) : 1;
        scales[col * blocks + b] = s;
        for (let i = b * bs; i < end; i++) q[i * n + col] = Math.max(-8, Math.min(7, Math.round(x[i * n + col]! / s)));
      }
      return { q, scales };
    };
    // Halves (ties) and a zero block included.
    const x = gaussian(70 * 6, 2);
    for (let i = 0; i < 6; i++) x[i] = 0;
    for (let i = 6; i < 40; i++) x[i] = (Math.round(x[i]! * 4) / 4) * 1.75;
    const a = quantizeInt4Blocks(x, 70, 6, 16);
    const b = legacy(x, 70, 6, 16);
    expect(a.q).toEqual(b.q);
    expect(a.scales).toEqual(b.scales);
  });
});
