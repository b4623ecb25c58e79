import { describe, expect, it } from 'vitest';
import { StreamingHistogram, absHistogram, klRange, klSearch } from '../../src/math/index.js';
import { gaussian, mulberry32 } from './prng.js';

// Slow, literal reading of ALGORITHMS.md §2 "kl": build P and Q for every candidate with plain
// loops (no prefix sums), smooth (zeros get eps counts, the same mass is taken from the non-zero
// entries in proportion to their size), normalise, and sum p·log(p/q).
function smooth(x: number[], eps: number): number[] | undefined {
  let total = 0;
  let zeros = 0;
  for (const v of x) {
    total += v;
    if (v === 0) zeros++;
  }
  const taken = eps * zeros;
  if (!(total > 0) || taken >= total) return undefined;
  return x.map((v) => (v === 0 ? eps : v * (1 - taken / total)));
}

function referenceKl(bins: ArrayLike<number>, levels: number, start: number, eps = 1e-4) {
  const n = bins.length;
  const divergences: number[] = new Array<number>(n).fill(NaN);
  let index = -1;
  let best = Infinity;
  for (let i = start; i < n; i++) {
    const P: number[] = [];
    for (let j = 0; j < i; j++) P.push(bins[j]);
    for (let j = i; j < n; j++) P[i - 1] += bins[j];
    const Q: number[] = new Array<number>(i).fill(0);
    const merged = Math.floor(i / levels);
    for (let k = 0; k < levels; k++) {
      const s = k * merged;
      const e = k === levels - 1 ? i : s + merged;
      let mass = 0;
      let nonzero = 0;
      for (let j = s; j < e; j++) {
        mass += bins[j];
        if (bins[j] > 0) nonzero++;
      }
      for (let j = s; j < e; j++) if (bins[j] > 0) Q[j] = mass / nonzero;
    }
    const ps = smooth(P, eps);
    const qs = smooth(Q, eps);
    let kl = Infinity;
    if (ps !== undefined && qs !== undefined) {
      const sp = ps.reduce((a, b) => a + b, 0);
      const sq = qs.reduce((a, b) => a + b, 0);
      kl = 0;
      for (let j = 0; j < i; j++) {
        const p = ps[j] / sp;
        const q = qs[j] / sq;
        kl += p * Math.log(p / q);
      }
    }
    divergences[i] = kl;
    if (kl < best) {
      best = kl;
      index = i;
    }
  }
  return { index, divergences };
}

function close(a: number, b: number): boolean {
  if (a === Infinity || b === Infinity) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.abs(b) + 1e-12;
}

function expectMatchesReference(counts: ArrayLike<number>, levels: number): void {
  const fast = klSearch(counts, { levels });
  const ref = referenceKl(counts, levels, levels);
  for (let i = levels; i < counts.length; i++) {
    if (!close(fast.divergences[i], ref.divergences[i])) {
      throw new Error(`candidate ${i}: fast ${fast.divergences[i]} vs reference ${ref.divergences[i]}`);
    }
  }
  // Same winner, unless two candidates tie to within rounding (then both must be minimal).
  if (fast.index !== ref.index) {
    expect(close(ref.divergences[fast.index], ref.divergences[ref.index])).toBe(true);
  }
  expect(fast.index).toBeGreaterThanOrEqual(levels);
}

describe('klSearch: hand-worked case', () => {
  // bins = [2, 2, 2, 2, 0, 0, 0, 1], 2 levels, candidates i ∈ [2, 8), S_P = 9.
  //  i=2: P = [2, 7] (tail 2+2+0+0+0+1 = 5 on P[1]); Q: 1 bin per level = [2, 2].
  //       KL = 2/9·ln((2/9)/(1/2)) + 7/9·ln((7/9)/(1/2)) ≈ 0.16344
  //  i=3: P = [2, 2, 5]; Q: level 0 = bin 0, level 1 = bins 1..2 (remainder) = [2, 2, 2].
  //       KL = 2·2/9·ln((2/9)/(1/3)) + 5/9·ln((5/9)/(1/3)) ≈ 0.10359
  //  i=4: P = [2, 2, 2, 3]; Q = [2, 2, 2, 2]. KL = 3·2/9·ln((2/9)/(1/4)) + 3/9·ln((3/9)/(1/4)) ≈ 0.01737
  //  i=5: P = [2, 2, 2, 2, 1] but bin 4 is empty, so Q[4] = 0 and is smoothed to eps = 1e-4:
  //       the term 1/9·ln((1/9)/(1e-4/8)) ≈ 1.01 alone exceeds every value above.
  //  i=6, 7: likewise P[i−1] = 1 against an empty source bin (Q = eps) → KL ≈ 0.9.
  // No smoothing touches i = 2..4 (no zero entries), so their values are exact.
  // Minimum at m = 4, threshold T = (4 + 0.5)·w.
  const bins = [2, 2, 2, 2, 0, 0, 0, 1];
  const r = klSearch(bins, { levels: 2 });

  it('picks candidate 4', () => {
    expect(r.index).toBe(4);
  });
  it('matches the hand-computed divergences', () => {
    expect(r.divergences[2]).toBeCloseTo((2 / 9) * Math.log(4 / 9) + (7 / 9) * Math.log(14 / 9), 12);
    expect(r.divergences[3]).toBeCloseTo((4 / 9) * Math.log(2 / 3) + (5 / 9) * Math.log(5 / 3), 12);
    expect(r.divergences[4]).toBeCloseTo((6 / 9) * Math.log(8 / 9) + (1 / 3) * Math.log(4 / 3), 12);
    expect(r.divergences[5]).toBeGreaterThan(0.9);
    expect(r.divergences[6]).toBeGreaterThan(0.5);
    expect(r.divergences[7]).toBeGreaterThan(0.5);
    expect(Number.isNaN(r.divergences[1])).toBe(true);
  });
  it('agrees with the slow reference', () => {
    expectMatchesReference(bins, 2);
    expect(referenceKl(bins, 2, 2).index).toBe(4);
  });
});

describe('klSearch matches the slow reference on 2048-bin histograms', () => {
  it('Gaussian |x| histogram, 128 levels', () => {
    const h = new StreamingHistogram().observe(gaussian(50_000, 11));
    expectMatchesReference(absHistogram(h).counts, 128);
  });
  it('sparse integer counts with empty bins and a long tail, 128 and 256 levels', () => {
    const rand = mulberry32(5);
    const counts = new Float64Array(2048);
    for (let j = 0; j < 2048; j++) {
      const dense = j < 300 ? Math.floor(1000 * Math.exp(-j / 60)) : 0;
      counts[j] = rand() < 0.2 ? 0 : dense + (rand() < 0.01 ? 1 : 0);
    }
    counts[2047] = 3;
    expectMatchesReference(counts, 128);
    expectMatchesReference(counts, 256);
  });
  it('fractional counts with a zero spike (post-ReLU shape), 256 levels', () => {
    const h = new StreamingHistogram().observe(gaussian(50_000, 12).map((v) => Math.max(0, v)));
    const counts = absHistogram(h).counts;
    expect(counts[0]).toBeGreaterThan(20_000);
    expectMatchesReference(counts, 256);
  });
});

describe('klRange', () => {
  it('threshold is (m + 0.5)·w of the reference winner on the |x| histogram', () => {
    const h = new StreamingHistogram().observe(gaussian(100_000, 13, 2));
    const abs = absHistogram(h);
    const ref = referenceKl(abs.counts, 128, 128);
    const r = klRange(h);
    expect(r.bin).toBe(ref.index);
    expect(r.threshold).toBe((ref.index + 0.5) * (h.maxAbs / 2048));
    expect(r.max).toBe(Math.min(r.threshold!, h.max));
    expect(r.min).toBe(Math.max(-r.threshold!, h.min));
  });

  it('never-negative tensors use 256 levels from bin 256 and return [0, T]', () => {
    const h = new StreamingHistogram().observe(gaussian(100_000, 14).map((v) => Math.abs(v) + 0.01));
    const ref = referenceKl(absHistogram(h).counts, 256, 256);
    const r = klRange(h);
    expect(r.bin).toBe(ref.index);
    expect(r.bin).toBeGreaterThanOrEqual(256);
    expect(r.min).toBe(0);
    expect(r.oneSided).toBe(true);
  });

  it('excludeZeros drops the zero spike before the search', () => {
    const h = new StreamingHistogram().observe(gaussian(100_000, 15).map((v) => Math.max(0, v)));
    const abs = absHistogram(h);
    abs.counts[0] -= h.zeros;
    const ref = referenceKl(abs.counts, 256, 256);
    expect(klRange(h, { excludeZeros: true }).bin).toBe(ref.index);
  });

  it('speed: one search on a 2048-bin histogram (printed, not asserted)', () => {
    const h = new StreamingHistogram().observe(gaussian(200_000, 16));
    const abs = absHistogram(h);
    for (let k = 0; k < 5; k++) klSearch(abs.counts, { levels: 128 }); // warm-up (JIT)
    const times: number[] = [];
    for (let k = 0; k < 21; k++) {
      const t0 = performance.now();
      klSearch(abs.counts, { levels: 128 });
      times.push(performance.now() - t0);
    }
    const t1 = performance.now();
    klRange(h);
    const whole = performance.now() - t1;
    times.sort((a, b) => a - b);
    console.log(
      `kl search, 2048 bins, 1920 candidates × 128 levels: median ${times[10].toFixed(2)} ms ` +
        `(min ${times[0].toFixed(2)} ms); klRange incl. re-binning: ${whole.toFixed(2)} ms`,
    );
    expect(times.length).toBe(21);
  });
});
