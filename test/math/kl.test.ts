import { describe, expect, it } from 'vitest';
import {
  HistogramMoments,
  KL_MSE_GUARD,
  KL_START_BIN,
  StreamingHistogram,
  absHistogram,
  computeScaleZeroPoint,
  klRange,
  klSearch,
  signedHistogram,
  type KlCellGrid,
} from '../../src/math/index.js';
import { gaussian, mulberry32 } from './prng.js';

// Slow, literal reading of docs/algorithms.md "kl": for a candidate i, list the cells (boundaries
// at (k + φ)·c, cut to [0, i)), give every bin its overlap with every cell, build P and Q with
// plain loops, smooth (zeros get eps counts, the same mass is taken from the non-zero entries in
// proportion to their size), normalise, sum p·log(p/q). No prefix sums, no shared code.
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

function cellsOf(i: number, g: KlCellGrid): [number, number][] {
  const cells: [number, number][] = [];
  let left = 0;
  for (let k = g.offset > 0 ? 0 : 1; left < i; k++) {
    let right = (k + g.offset) * g.width;
    if (Math.abs(right - Math.round(right)) < 1e-9) right = Math.round(right);
    right = Math.min(right, i);
    if (right > left) cells.push([left, right]);
    left = Math.max(left, right);
  }
  return cells;
}

function referenceDivergence(bins: ArrayLike<number>, i: number, g: KlCellGrid, eps = 1e-4): number {
  const n = bins.length;
  const P: number[] = [];
  for (let j = 0; j < i; j++) P.push(bins[j]);
  for (let j = i; j < n; j++) P[i - 1] += bins[j];
  const Q: number[] = new Array<number>(i).fill(0);
  if (g.width < 1) {
    for (let j = 0; j < i; j++) Q[j] = bins[j];
  } else {
    const cells = cellsOf(i, g);
    const overlap = (j: number, [l, r]: [number, number]) => Math.max(0, Math.min(j + 1, r) - Math.max(j, l));
    const density = cells.map((cell) => {
      let mass = 0;
      let len = 0;
      for (let j = 0; j < i; j++) {
        const o = overlap(j, cell);
        mass += o * bins[j];
        if (bins[j] > 0) len += o;
      }
      return mass > 0 && len > 0 ? mass / len : 0;
    });
    for (let j = 0; j < i; j++) {
      if (bins[j] > 0) for (let k = 0; k < cells.length; k++) Q[j] += overlap(j, cells[k]) * density[k];
    }
  }
  const ps = smooth(P, eps);
  const qs = smooth(Q, eps);
  if (ps === undefined || qs === undefined) return Infinity;
  const sp = ps.reduce((a, b) => a + b, 0);
  const sq = qs.reduce((a, b) => a + b, 0);
  let kl = 0;
  for (let j = 0; j < i; j++) kl += (ps[j] / sp) * Math.log(ps[j] / sp / (qs[j] / sq));
  return kl;
}

// The withdrawn reading (MXNet's code): floor(i/L) bins per level, the last level takes the
// remainder bins. Kept here only to show that the jump test below can fail.
function remainderDivergence(bins: ArrayLike<number>, i: number, levels: number, eps = 1e-4): number {
  const n = bins.length;
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
  const ps = smooth(P, eps)!;
  const qs = smooth(Q, eps)!;
  const sp = ps.reduce((a, b) => a + b, 0);
  const sq = qs.reduce((a, b) => a + b, 0);
  let kl = 0;
  for (let j = 0; j < i; j++) kl += (ps[j] / sp) * Math.log(ps[j] / sp / (qs[j] / sq));
  return kl;
}

function close(a: number, b: number): boolean {
  if (a === Infinity || b === Infinity) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.abs(b) + 1e-12;
}

function expectMatchesReference(counts: ArrayLike<number>, grid: (i: number) => KlCellGrid, every = 1): void {
  const fast = klSearch(counts, { grid, start: 1 });
  for (let i = 1; i <= counts.length; i += every) {
    const ref = referenceDivergence(counts, i, grid(i));
    if (!close(fast.divergences[i], ref)) throw new Error(`candidate ${i}: fast ${fast.divergences[i]} vs reference ${ref}`);
  }
}

/** |d(m) − d(m−1)| at every multiple m of L, over the largest other step within 20 candidates. */
function jumpsAtMultiples(d: (i: number) => number, levels: number, from: number, to: number): number[] {
  const ratios: number[] = [];
  for (let m = Math.ceil(from / levels) * levels; m <= to; m += levels) {
    let around = 0;
    for (let i = m - 20; i <= m + 20; i++) if (i !== m) around = Math.max(around, Math.abs(d(i) - d(i - 1)));
    ratios.push(Math.abs(d(m) - d(m - 1)) / around);
  }
  return ratios;
}

describe('klSearch: hand-worked cases', () => {
  // bins = [2, 2, 2, 2, 0, 0, 0, 1], 2 levels spread evenly: cells of width i/2 from 0.
  //  i=2: P = [2, 7] (tail 2+2+0+0+0+1 = 5 on P[1]); Q = [2, 2].
  //       KL = 2/9·ln((2/9)/(1/2)) + 7/9·ln((7/9)/(1/2))
  //  i=3: cells [0, 1.5), [1.5, 3): each holds mass 3 over 1.5 bins, so Q = [2, 2, 2] (bin 1 is cut
  //       in half and gets half of each density); P = [2, 2, 5]. KL = 2·2/9·ln(2/3) + 5/9·ln(5/3)
  //  i=4: P = [2, 2, 2, 3]; Q = [2, 2, 2, 2]. KL = 3·2/9·ln(8/9) + 3/9·ln(4/3)
  //  i=5: P[4] = 1 (the tail) on an empty bin, Q[4] = 0 smoothed to eps: KL > 0.9.
  //  i=8: cells [0, 4), [4, 8): Q = [2, 2, 2, 2, 0, 0, 0, 1] = P, so KL = 0: nothing clipped and
  //       the two levels reproduce the histogram. Minimum at i = 8.
  const bins = [2, 2, 2, 2, 0, 0, 0, 1];
  const r = klSearch(bins, { levels: 2, start: 2 });

  it('matches the hand-computed divergences and picks i = 8', () => {
    expect(r.divergences[2]).toBeCloseTo((2 / 9) * Math.log(4 / 9) + (7 / 9) * Math.log(14 / 9), 12);
    expect(r.divergences[3]).toBeCloseTo((4 / 9) * Math.log(2 / 3) + (5 / 9) * Math.log(5 / 3), 12);
    expect(r.divergences[4]).toBeCloseTo((6 / 9) * Math.log(8 / 9) + (1 / 3) * Math.log(4 / 3), 12);
    expect(r.divergences[5]).toBeGreaterThan(0.9);
    expect(r.divergences[8]).toBeCloseTo(0, 12);
    expect(r.index).toBe(8);
    expect(Number.isNaN(r.divergences[1])).toBe(true);
  });

  // bins = [4, 1, 3, 0], i = 3, 2 levels: cells [0, 1.5), [1.5, 3). Cell 0 holds 4 + ½·1 = 4.5
  // over 1.5 bins (density 3), cell 1 holds ½·1 + 3 = 3.5 (density 7/3); bin 1 is half in each:
  // Q = [3, ½·3 + ½·7/3, 7/3] = [3, 8/3, 7/3], P = [4, 1, 3], both sum to 8.
  it('splits a bin cut by a cell boundary between the two cells', () => {
    const d = klSearch([4, 1, 3, 0], { levels: 2, start: 3, end: 3 }).divergences[3];
    expect(d).toBeCloseTo(0.5 * Math.log(4 / 3) + 0.125 * Math.log(3 / 8) + 0.375 * Math.log(9 / 7), 12);
    expect(referenceDivergence([4, 1, 3, 0], 3, { width: 1.5, offset: 0 })).toBeCloseTo(d, 12);
  });

  it('rejects a search without levels or grid, and bad candidates', () => {
    expect(() => klSearch(bins, {})).toThrow(RangeError);
    expect(() => klSearch(bins, { levels: 2, start: 0 })).toThrow(RangeError);
    expect(() => klSearch(bins, { levels: 2, end: 9 })).toThrow(RangeError);
  });
});

describe('klSearch matches the slow reference', () => {
  const quantizerGrid = (levels: number) => (i: number): KlCellGrid => ({ width: i / levels, offset: 0.5 });
  it('Gaussian |x| histogram: 128 levels from 0, and 255-level quantizer cells (offset ½)', () => {
    const h = new StreamingHistogram().observe(gaussian(50_000, 11));
    const counts = absHistogram(h).counts;
    expectMatchesReference(counts, (i) => ({ width: i / 128, offset: 0 }), 37);
    expectMatchesReference(counts, quantizerGrid(255), 37);
  });
  it('sparse integer counts with empty bins and a long tail; cells narrower than a bin', () => {
    const rand = mulberry32(5);
    const counts = new Float64Array(2048);
    for (let j = 0; j < 2048; j++) {
      const dense = j < 300 ? Math.floor(1000 * Math.exp(-j / 60)) : 0;
      counts[j] = rand() < 0.2 ? 0 : dense + (rand() < 0.01 ? 1 : 0);
    }
    counts[2047] = 3;
    expectMatchesReference(counts, quantizerGrid(127.3), 23);
    expectMatchesReference(counts, (i) => ({ width: i / 256, offset: 0.25 }), 29);
  });
  it('fractional counts with a zero spike (post-ReLU shape)', () => {
    const h = new StreamingHistogram().observe(gaussian(50_000, 12).map((v) => Math.max(0, v)));
    const counts = absHistogram(h).counts;
    expect(counts[0]).toBeGreaterThan(20_000);
    expectMatchesReference(counts, quantizerGrid(255), 41);
  });
});

// Over the dense part of a smooth histogram (bins below 1300 of 2048: |x| < 3.2σ here; further
// out the sparse tail makes every step noisy), the step of the divergence at a multiple of the
// level count must be no larger than the largest step around it.
describe('the divergence curve has no jumps at multiples of the level count', () => {
  const h = new StreamingHistogram().observe(gaussian(400_000, 21));
  const counts = absHistogram(h).counts;

  it('levels spread evenly (128 levels): the step at k·128 is an ordinary step', () => {
    const r = klSearch(counts, { levels: 128 });
    const ratios = jumpsAtMultiples((i) => r.divergences[i], 128, 256, 1300);
    console.log(`128 levels, step at k·128 / largest step around it: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
    expect(Math.max(...ratios)).toBeLessThan(1.5);
  });

  it('the quantizer grid klRange uses (255 cells, offset ½): no jumps at k·255 or k·128', () => {
    const r = klSearch(counts, { grid: (i) => ({ width: i / 255, offset: 0.5 }) });
    expect(Math.max(...jumpsAtMultiples((i) => r.divergences[i], 255, 300, 1300))).toBeLessThan(1.5);
    expect(Math.max(...jumpsAtMultiples((i) => r.divergences[i], 128, 300, 1300))).toBeLessThan(1.5);
  });

  it('the withdrawn remainder-bin reading does jump there (so the measure above can fail)', () => {
    const d = new Map<number, number>();
    const at = (i: number) => d.get(i) ?? (d.set(i, remainderDivergence(counts, i, 128)), d.get(i)!);
    const ratios = jumpsAtMultiples(at, 128, 256, 1300);
    console.log(`remainder bins, step at k·128 / largest step around it: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
    expect(Math.min(...ratios)).toBeGreaterThan(2.5);
  });
});

/** Expected squared error of every candidate of klRange, computed independently of kl.ts. */
function familyErrors(h: StreamingHistogram, qmin: number, qmax: number) {
  const abs = absHistogram(h);
  const m = new HistogramMoments(h.neverNegative ? abs : signedHistogramOf(h));
  const errors: number[] = [];
  for (let i = KL_START_BIN; i <= 2048; i++) {
    const t = i === 2048 ? abs.max : i * abs.width;
    const lo = h.neverNegative ? 0 : Math.max(-t, h.min);
    const { scale, zeroPoint } = computeScaleZeroPoint(lo, Math.min(t, h.max), { qmin, qmax, symmetric: false });
    errors[i] = m.squaredError(scale, zeroPoint, qmin, qmax);
  }
  return { errors, least: Math.min(...errors.filter(Number.isFinite)), abs };
}

const signedHistogramOf = (h: StreamingHistogram) => signedHistogram(h, 2048);

describe('klRange', () => {
  const rand = mulberry32(31);
  // Laplace with a few far outliers: entropy alone likes to clip hard here.
  const laplace = Float64Array.from({ length: 200_000 }, () => {
    const u = rand() - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
  laplace.set([40, -35, 38], 0);
  const cases: [string, StreamingHistogram][] = [
    ['Gaussian', new StreamingHistogram().observe(gaussian(100_000, 13, 2))],
    ['Laplace with outliers', new StreamingHistogram().observe(laplace)],
    ['post-ReLU', new StreamingHistogram().observe(gaussian(100_000, 15).map((v) => Math.max(0, v)))],
  ];

  it.each(cases)('%s: the expected squared error is within the guard of the family\'s best', (_, h) => {
    const r = klRange(h, { excludeZeros: true });
    const { errors, least, abs } = familyErrors(h, 0, 255);
    expect(r.bin).toBeGreaterThanOrEqual(KL_START_BIN);
    expect(r.threshold).toBe(r.bin === 2048 ? abs.max : r.bin! * abs.width);
    expect(errors[r.bin!]).toBeLessThanOrEqual(KL_MSE_GUARD * least * (1 + 1e-12));
    expect(r.meanSquaredError).toBeCloseTo(errors[r.bin!] / h.count, 12);
  });

  it('the guard is what keeps kl from clipping the Laplace tail: unguarded entropy picks a range over twice the error', () => {
    const h = cases[1][1];
    const { errors, least, abs } = familyErrors(h, 0, 255);
    const grid = (i: number): KlCellGrid => {
      const t = i === 2048 ? abs.max : i * abs.width;
      return { width: computeScaleZeroPoint(Math.max(-t, h.min), Math.min(t, h.max), { qmin: 0, qmax: 255, symmetric: false }).scale / abs.width, offset: 0.5 };
    };
    const free = klSearch(abs.counts, { grid });
    expect(errors[free.index]).toBeGreaterThan(KL_MSE_GUARD * least);
    expect(klRange(h).bin).toBeGreaterThan(free.index);
  });

  it('scores each candidate on the cells of the quantizer it will get (int8 symmetric: width T/127)', () => {
    const h = cases[0][1];
    const r = klRange(h, { symmetric: true, qmin: -127, qmax: 127 });
    const abs = absHistogram(h);
    const t = r.threshold!;
    const scale = computeScaleZeroPoint(-t, t, { qmin: -127, qmax: 127, symmetric: true }).scale;
    const d = klSearch(abs.counts, { grid: () => ({ width: scale / abs.width, offset: 0.5 }), start: r.bin, end: r.bin });
    expect(r.divergence).toBe(d.divergences[r.bin!]);
    expect(r.min).toBe(Math.max(-t, h.min));
  });

  it('never-negative tensors get [0, T]', () => {
    const h = new StreamingHistogram().observe(gaussian(100_000, 14).map((v) => Math.abs(v) + 0.01));
    const r = klRange(h);
    expect(r.min).toBe(0);
    expect(r.oneSided).toBe(true);
    expect(r.max).toBeGreaterThan(1);
  });

  it('speed: one klRange on a 2048-bin histogram (printed, not asserted)', () => {
    const h = cases[0][1];
    for (let k = 0; k < 3; k++) klRange(h); // warm-up (JIT)
    const times: number[] = [];
    for (let k = 0; k < 11; k++) {
      const t0 = performance.now();
      klRange(h);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`klRange (guard + entropy search), 2048 bins: median ${times[5].toFixed(2)} ms (min ${times[0].toFixed(2)} ms)`);
    expect(times.length).toBe(11);
  });
});
