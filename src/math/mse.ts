// MSE range search (ALGORITHMS.md §2, "mse"): the clip range minimising the expected squared
// error of fake-quantizing the histogram, rounding and clipping error together (§1).
//
// Model: mass uniform within each bin (exact zeros are a point mass at 0, which every range
// represents exactly, so they add no error). The quantizer for a candidate range is exactly the
// one the model will use: computeScaleZeroPoint with the target's integer range, float32 scale.
// Its cells [(q − z ∓ ½)·s] map to level (q − z)·s; the outermost cells extend to ±∞ (clipping).
// With prefix sums of the 0th/1st/2nd moments, the error of a cell is
//   ∫ (x − L)² ρ = ΔM2 − 2L·ΔM1 + L²·ΔM0,
// so one candidate costs O(number of levels touching the data), not O(bins).

import { computeScaleZeroPoint, qRange, type ScaleOptions } from './qparams.js';
import type { StreamingHistogram } from './histogram.js';
import { absHistogram, signedHistogram, type UniformHistogram } from './rebin.js';
import { degenerateRange, finishRange, type RangeOptions, type RangeResult } from './range-types.js';

/** Thresholds are searched from this bin of the 2048-bin grid upward (§2). */
export const MSE_START_BIN = 128;
/** Coarse step of the asymmetric (low, high) grid search; refined at step 1 around the best. */
export const MSE_ASYMMETRIC_STEP = 16;
/** Candidates of the threshold search tried first (every 16th), to find a tight error bound early. */
const MSE_COARSE_STEP = 16;

/** Expected squared error of fake-quantizing a uniform-within-bin histogram. */
export class HistogramMoments {
  readonly lo: number;
  readonly hi: number;
  readonly width: number;
  readonly #counts: Float64Array;
  readonly #m0: Float64Array;
  readonly #m1: Float64Array;
  readonly #m2: Float64Array;
  // Scratch for #at(): moments of the mass in [lo, x).
  #a0 = 0;
  #a1 = 0;
  #a2 = 0;

  /** Exact zeros (h.zeros) are removed from their bin: they quantize to 0 with no error. */
  constructor(hist: UniformHistogram) {
    const n = hist.counts.length;
    this.lo = hist.lo;
    this.width = hist.width;
    this.hi = hist.lo + n * hist.width;
    this.#counts = hist.counts.slice();
    if (hist.zeros > 0 && hist.zeroBin >= 0) {
      this.#counts[hist.zeroBin] = Math.max(0, this.#counts[hist.zeroBin] - hist.zeros);
    }
    this.#m0 = new Float64Array(n + 1);
    this.#m1 = new Float64Array(n + 1);
    this.#m2 = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      const c = this.#counts[j];
      const e0 = this.lo + j * this.width;
      const e1 = e0 + this.width;
      this.#m0[j + 1] = this.#m0[j] + c;
      this.#m1[j + 1] = this.#m1[j] + (c * (e0 + e1)) / 2;
      this.#m2[j + 1] = this.#m2[j] + (c * (e0 * e0 + e0 * e1 + e1 * e1)) / 3;
    }
  }

  #at(x: number): void {
    const n = this.#counts.length;
    const u = (x - this.lo) / this.width;
    if (!(u < n)) {
      this.#a0 = this.#m0[n];
      this.#a1 = this.#m1[n];
      this.#a2 = this.#m2[n];
      return;
    }
    const j = u > 0 ? Math.floor(u) : 0;
    const e = this.lo + j * this.width;
    const t = Math.max(0, Math.min(this.width, x - e));
    const d = this.#counts[j] / this.width;
    const f = e + t;
    this.#a0 = this.#m0[j] + d * t;
    this.#a1 = this.#m1[j] + (d * t * (e + f)) / 2;
    this.#a2 = this.#m2[j] + (d * t * (e * e + e * f + f * f)) / 3;
  }

  /**
   * Σ over the mass of (x − fq(x))², fq = QuantizeLinear∘DequantizeLinear with (scale, zeroPoint).
   * With `bound`, the sum may stop as soon as it reaches `bound` and return that partial sum (≥
   * bound): the searches pass the best error so far, and a candidate whose error reaches it cannot
   * win. Every term is ≥ 0 and float addition of a non-negative term never decreases a sum, so the
   * partial sum of a candidate that would win stays below the bound: it runs to the end with the
   * same operations in the same order, and the search picks the same range, bit for bit.
   */
  squaredError(scale: number, zeroPoint: number, qmin: number, qmax: number, bound = Infinity): number {
    if (!(this.width > 0)) return 0;
    const z = zeroPoint;
    // Only cells that meet [lo, hi] contribute; the first and last of them absorb the clipped tails.
    const qa = Math.min(qmax, Math.max(qmin, Math.ceil(this.lo / scale + z - 0.5)));
    const qb = Math.max(qa, Math.min(qmax, Math.floor(this.hi / scale + z + 0.5)));
    if (qb - qa > 8 * this.#counts.length) return this.#fineCellError(scale, z, qa, qb);
    return this.#cellError(scale, z, qa, qb, bound);
  }

  /** Cells qa..qb one by one, stopping once the sum reaches `bound`. */
  #cellError(scale: number, z: number, qa: number, qb: number, bound: number): number {
    if (bound < Infinity && qb > qa) {
      // The last cell holds the clipped upper tail: on too narrow a range it alone reaches the
      // bound. It is computed here exactly as the loop would (the same #at calls and expression),
      // and a float sum of non-negative terms is at least each of them, so stopping on it alone
      // is as safe as stopping inside the loop.
      this.#at((qb - 1 - z + 0.5) * scale);
      const [p0, p1, p2] = [this.#a0, this.#a1, this.#a2];
      this.#at(this.hi);
      const level = (qb - z) * scale;
      const e = this.#a2 - p2 - 2 * level * (this.#a1 - p1) + level * level * (this.#a0 - p0);
      if (e > 0 && e >= bound) return e;
    }
    let p0 = 0;
    let p1 = 0;
    let p2 = 0;
    let err = 0;
    for (let q = qa; q <= qb; q++) {
      this.#at(q === qb ? this.hi : (q - z + 0.5) * scale);
      const level = (q - z) * scale;
      const e = this.#a2 - p2 - 2 * level * (this.#a1 - p1) + level * level * (this.#a0 - p0);
      if (e > 0) {
        err += e;
        if (err >= bound) return err;
      }
      p0 = this.#a0;
      p1 = this.#a1;
      p2 = this.#a2;
    }
    return err;
  }

  /**
   * Cells much finer than the bins (int16 targets: up to 65,536 levels): inside the range the
   * mass is uniform over many cells, so rounding error is s²/12 per unit mass; the two clipping
   * tails (the outermost cells, which extend to ±∞) are still integrated exactly.
   */
  #fineCellError(scale: number, z: number, qa: number, qb: number): number {
    const lowLevel = (qa - z) * scale;
    const highLevel = (qb - z) * scale;
    this.#at((qa - z + 0.5) * scale);
    const [l0, l1, l2] = [this.#a0, this.#a1, this.#a2];
    this.#at((qb - z - 0.5) * scale);
    const [h0, h1, h2] = [this.#a0, this.#a1, this.#a2];
    this.#at(this.hi);
    const [t0, t1, t2] = [this.#a0, this.#a1, this.#a2];
    const low = l2 - 2 * lowLevel * l1 + lowLevel * lowLevel * l0;
    const high = t2 - h2 - 2 * highLevel * (t1 - h1) + highLevel * highLevel * (t0 - h0);
    return Math.max(0, low) + Math.max(0, high) + Math.max(0, h0 - l0) * (scale * scale) / 12;
  }
}

interface Best {
  lo: number;
  hi: number;
  err: number;
  candidates: number;
}

function evaluate(m: HistogramMoments, lo: number, hi: number, q: ScaleOptions, best: Best): void {
  const { scale, zeroPoint } = computeScaleZeroPoint(lo, hi, q);
  const err = m.squaredError(scale, zeroPoint, q.qmin, q.qmax, best.err);
  best.candidates++;
  if (err < best.err) {
    best.err = err;
    best.lo = lo;
    best.hi = hi;
  }
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** The smallest double above x ≥ 0 (x itself for +Infinity). */
export function nextUp(x: number): number {
  if (!(x < Infinity)) return x;
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  u64[0]! += 1n;
  return f64[0]!;
}

/**
 * One-sided ([0, T]) or symmetric (±T) search over T = top·i/n, i ∈ [128, n]: the lowest error,
 * the lowest i among equal errors (what an ascending scan with a strict < picks). Every 16th
 * candidate is tried first, so that the best error so far is close to the final one and most
 * other candidates stop summing early (squaredError's bound). The order does not change the
 * winner: a candidate above the best's i stops once its error reaches the best (it could only
 * tie, and a tie goes to the lower i); one below it runs on while its error equals the best
 * (nextUp), so a tie is seen and won.
 */
function searchThreshold(hist: UniformHistogram, top: number, n: number, oneSided: boolean, q: ScaleOptions): Best {
  const m = new HistogramMoments(hist);
  const step = top / n;
  const best: Best = { lo: 0, hi: 0, err: Infinity, candidates: 0 };
  let bestI = -1;
  const candidate = (i: number): void => {
    const t = i === n ? top : i * step;
    const lo = oneSided ? 0 : -t;
    const { scale, zeroPoint } = computeScaleZeroPoint(lo, t, q);
    const err = m.squaredError(scale, zeroPoint, q.qmin, q.qmax, i < bestI ? nextUp(best.err) : best.err);
    best.candidates++;
    if (err < best.err || (err === best.err && i < bestI)) {
      best.err = err;
      best.lo = lo;
      best.hi = t;
      bestI = i;
    }
  };
  const first = Math.min(MSE_START_BIN, n);
  for (let i = first; i <= n; i += MSE_COARSE_STEP) candidate(i);
  for (let i = first; i <= n; i++) if ((i - first) % MSE_COARSE_STEP !== 0) candidate(i);
  return best;
}

/**
 * Asymmetric search over (low, high) = (min + a·w, min + b·w) on the signed [min, max] grid:
 * a coarse (a, b) grid at step 16 keeping at least 128 bins and 0 inside, then step 1 within ±16
 * of the best coarse pair.
 */
function searchAsymmetric(hist: UniformHistogram, q: ScaleOptions): Best {
  const m = new HistogramMoments(hist);
  const n = hist.counts.length;
  const w = hist.width;
  const edge = (k: number): number => (k === n ? m.hi : hist.lo + k * w);
  const zero = -hist.lo / w;
  const aMax = Math.max(0, Math.min(n, Math.floor(zero)));
  const bMin = Math.min(n, Math.max(0, Math.ceil(zero)));
  const minBins = Math.min(MSE_START_BIN, n);
  const best: Best = { lo: 0, hi: 0, err: Infinity, candidates: 0 };
  const scan = (a0: number, a1: number, b0: number, b1: number, step: number): void => {
    const lows = steps(Math.max(0, a0), Math.min(aMax, a1), step, false);
    const highs = steps(Math.max(bMin, b0), Math.min(n, b1), step, true);
    for (const a of lows) {
      for (const b of highs) if (b - a >= minBins) evaluate(m, edge(a), edge(b), q, best);
    }
  };
  scan(0, aMax, bMin, n, MSE_ASYMMETRIC_STEP);
  const a = Math.round((best.lo - hist.lo) / w);
  const b = best.hi === m.hi ? n : Math.round((best.hi - hist.lo) / w);
  scan(a - MSE_ASYMMETRIC_STEP, a + MSE_ASYMMETRIC_STEP, b - MSE_ASYMMETRIC_STEP, b + MSE_ASYMMETRIC_STEP, 1);
  return best;
}

/** from..to at `step`, always including both ends; from the top when `descending`. */
function steps(from: number, to: number, step: number, descending: boolean): number[] {
  if (from > to) return [];
  const out: number[] = [];
  if (descending) for (let k = to; k > from; k -= step) out.push(k);
  else for (let k = from; k < to; k += step) out.push(k);
  out.push(descending ? from : to);
  return out;
}

export function mseRange(h: StreamingHistogram, options: RangeOptions = {}): RangeResult {
  const trivial = degenerateRange(h, 'mse');
  if (trivial !== undefined) return trivial;
  const symmetric = options.symmetric ?? false;
  const defaults = symmetric ? qRange('int8', { symmetric: true }) : qRange('uint8');
  const q: ScaleOptions = { qmin: options.qmin ?? defaults.qmin, qmax: options.qmax ?? defaults.qmax, symmetric };
  // The search grid has the histogram's own resolution (the config's histogramBins, 2048 by default).
  const bins = h.bins;
  let best: Best;
  if (h.neverNegative) {
    const abs = absHistogram(h, bins);
    best = searchThreshold(abs, abs.max, bins, true, q);
  } else if (symmetric) {
    const a = h.maxAbs;
    const hist = signedHistogram(h, 2 * bins, { lo: -a, hi: a });
    best = searchThreshold(hist, a, bins, false, q);
  } else {
    best = searchAsymmetric(signedHistogram(h, bins), q);
  }
  return finishRange(h, 'mse', best.lo, best.hi, {
    threshold: best.hi,
    thresholdLow: best.lo,
    meanSquaredError: best.err / h.count,
    candidates: best.candidates,
  });
}
