// Entropy (KL) calibration, TensorRT-style, on the level grid of the quantized type actually used,
// with an mse guard. What and why: docs/algorithms.md, "kl".
//
// The divergence of one candidate. Counts b_0..b_{n−1} of the |x| histogram (bin width w), candidate
// i ∈ [1, n] keeps bins [0, i) (threshold T = i·w). Quantization cells are intervals of width c
// bins whose boundaries sit at (k + φ)·c, k ∈ ℤ (c > 0, 0 ≤ φ < 1), cut to [0, i):
//   P_j = b_j for j < i, plus tail = Σ_{j≥i} b_j on P_{i−1} (the clipped mass lands on the edge)
//   M_k = mass of b in cell k, mass uniform within each bin (a bin cut by a boundary is split)
//   ℓ_k = length (in bins) of the part of cell k covered by non-zero bins of b
//   Q_j = Σ_k o_jk · M_k / ℓ_k for b_j > 0 (o_jk = overlap of bin j and cell k), 0 otherwise
// i.e. each cell's mass is spread evenly over the non-zero bins it covers. Boundaries are real
// numbers, not rounded to bins, so no cell takes "the remainder bins" and the divergence has no
// steps where floor(i/L) changes (the saw-tooth of the withdrawn MXNet reading). When c < 1 (cells
// finer than the bins) the histogram cannot see rounding: Q_j = b_j and only clipping is measured.
// Smoothing (on counts, as MXNet/TVM/ONNX Runtime do): zero entries get eps, and eps·(#zeros) is
// taken from the non-zero entries in proportion to their size (factor a = 1 − eps·#zeros/S), which
// never goes negative on fractional counts; then both are normalised. With p_j = P̃_j / S_P,
// q_j = Q̃_j / S_Q, cP = a_P/S_P, cQ = a_Q/S_Q:
//   KL = cP·[Σ_{j<i−1} b_j log b_j − Σ_{j<i−1} b_j log Q_j + log(cP/cQ)·Σ_{j<i−1} b_j]
//        + (#zero in both)·(eps/S_P)·log(S_Q/S_P) + (term of bin i−1, evaluated directly)
// Σ b_j log Q_j is summed cell by cell with prefix sums (a cell's whole bins share one Q), plus one
// term per bin a boundary cuts: a candidate costs O(cells), not O(bins).

import { computeScaleZeroPoint, qRange, type ScaleOptions } from './qparams.js';
import { DEFAULT_BINS, type StreamingHistogram } from './histogram.js';
import { HistogramMoments, nextUp } from './mse.js';
import { absHistogram, signedHistogram } from './rebin.js';
import { degenerateRange, finishRange, type RangeOptions, type RangeResult } from './range-types.js';

export const KL_EPS = 1e-4;
/** Thresholds are searched from this bin of the 2048-bin |x| grid upward (as mse's). */
export const KL_START_BIN = 128;
/**
 * The guard: a kl threshold is admissible only if its expected squared error (mse's measure) is
 * at most this many times the least error over the candidates (mse's threshold search over the
 * same thresholds). A factor 2 is 3 dB of that tensor's quantization noise.
 */
export const KL_MSE_GUARD = 2;
/** Candidates scored for the guard first (every 16th), to find a tight error bound early. */
const KL_COARSE_STEP = 16;
/** The entropy pass tries every 8th admitted candidate, then all within 8 of the best. */
const KL_REFINE = 8;

/** Cell boundaries at (k + offset)·width bins, k ∈ ℤ. */
export interface KlCellGrid {
  readonly width: number;
  readonly offset: number;
}

export interface KlSearchOptions {
  /**
   * TensorRT's "L levels": cells of width i/levels from 0 (offset 0), for candidate i. Either this
   * or `grid` must be given.
   */
  readonly levels?: number;
  /** The cells for candidate i (e.g. the real quantizer's levels, which depend on i). */
  readonly grid?: (i: number) => KlCellGrid;
  /** First candidate (default KL_START_BIN, or levels when given, capped at n). */
  readonly start?: number;
  /** Last candidate, inclusive (default n: keep everything). */
  readonly end?: number;
  /** Candidates for which this returns false are skipped (their divergence stays NaN). */
  readonly admissible?: (i: number) => boolean;
  readonly eps?: number;
}

export interface KlSearchResult {
  /** Winning candidate i (bins [0, i) kept; lowest i on ties), or -1 if none had a finite divergence. */
  readonly index: number;
  readonly divergence: number;
  /** divergences[i] = KL for candidate i (length n + 1); NaN where not evaluated. */
  readonly divergences: Float64Array;
}

interface Prefix {
  readonly b: ArrayLike<number>;
  readonly cum: Float64Array; // Σ_{t<j} b_t
  readonly xlogx: Float64Array; // Σ_{t<j} b_t log b_t
  readonly nonzero: Int32Array; // #{t < j : b_t > 0}
  readonly suffix: Float64Array; // Σ_{t≥j} b_t, summed from the end so that an all-zero tail is exactly 0
}

function prefixSums(b: ArrayLike<number>): Prefix {
  const n = b.length;
  const cum = new Float64Array(n + 1);
  const xlogx = new Float64Array(n + 1);
  const nonzero = new Int32Array(n + 1);
  const suffix = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) {
    const v = b[j];
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`histogram count ${v} at bin ${j}`);
    cum[j + 1] = cum[j] + v;
    xlogx[j + 1] = xlogx[j] + (v > 0 ? v * Math.log(v) : 0);
    nonzero[j + 1] = nonzero[j] + (v > 0 ? 1 : 0);
  }
  for (let j = n - 1; j >= 0; j--) suffix[j] = suffix[j + 1] + b[j];
  return { b, cum, xlogx, nonzero, suffix };
}

// A boundary computed as (k + φ)·c can miss a bin edge by an ulp: a sliver of a bin below 1e-9
// does not count as a cut.
const SLIVER = 1e-9;
let qLastOut = 0; // second result of sumBLogQ (no object per candidate)

/**
 * Σ_{j<i−1, b_j>0} b_j·log Q_j, walking the cells of width c (boundaries (k + φ)·c) over [0, i);
 * Q_{i−1} is left in qLastOut. Requires c ≥ 1, so a bin holds at most one boundary.
 */
function sumBLogQ(s: Prefix, i: number, c: number, phi: number): number {
  const { b, cum, nonzero } = s;
  let bLogQ = 0;
  let qLast = 0;
  let k = phi > 0 ? 0 : 1; // the first boundary above 0 is (k + φ)·c
  let jl = 0; // left end of the current cell = jl + fl
  let fl = 0;
  let dPrev = 0; // Q density (mass per bin of non-zero support) of the previous cell
  while (jl < i) {
    let jr: number;
    let fr: number;
    const x = (k + phi) * c;
    k++;
    if (x >= i - SLIVER) {
      jr = i;
      fr = 0;
    } else {
      jr = Math.floor(x);
      fr = x - jr;
      if (fr < SLIVER) fr = 0;
      else if (fr > 1 - SLIVER) {
        jr++;
        fr = 0;
      }
    }
    if (jr < jl || (jr === jl && fr <= fl)) continue;
    const bl = b[jl];
    const br = jr < i ? b[jr] : 0;
    let mass: number;
    let len: number;
    if (jl === jr) {
      mass = (fr - fl) * bl;
      len = bl > 0 ? fr - fl : 0;
    } else {
      mass = cum[jr] - cum[jl] - fl * bl + fr * br;
      len = nonzero[jr] - nonzero[jl] - (bl > 0 ? fl : 0) + (br > 0 ? fr : 0);
    }
    const d = mass > 0 && len > 0 ? mass / len : 0;
    // The bin cut at the left end: fl of it lies in the previous cell, 1 − fl in this one.
    let a = jl;
    if (fl > 0) {
      a = jl + 1;
      if (bl > 0) {
        const q = fl * dPrev + (1 - fl) * d;
        if (jl < i - 1) bLogQ += bl * Math.log(q);
        else qLast = q;
      }
    }
    // Whole bins [a, jr) of this cell, bin i−1 apart.
    const e = jr < i - 1 ? jr : i - 1;
    if (e > a && d > 0) bLogQ += (cum[e] - cum[a]) * Math.log(d);
    if (jr === i && a <= i - 1) qLast = b[i - 1] > 0 ? d : 0;
    dPrev = d;
    jl = jr;
    fl = fr;
  }
  qLastOut = qLast;
  return bLogQ;
}

/** KL(P‖Q) for candidate i; Infinity when Q is empty or smoothing is impossible. */
function candidateDivergence(s: Prefix, i: number, grid: KlCellGrid, eps: number): number {
  const { b, cum, xlogx, nonzero } = s;
  const sQ = cum[i];
  const tail = s.suffix[i];
  const sP = sQ + tail;
  if (!(sQ > 0)) return Infinity;
  const bLast = b[i - 1];
  const zerosBefore = i - 1 - nonzero[i - 1];
  const lastEmpty = bLast === 0 && tail === 0;
  const aP = 1 - (eps * (zerosBefore + (lastEmpty ? 1 : 0))) / sP;
  const aQ = 1 - (eps * (i - nonzero[i])) / sQ;
  if (!(aP > 0 && aQ > 0)) return Infinity;

  let bLogQ = xlogx[i - 1]; // cells finer than bins: Q = b
  let qLast = bLast;
  if (grid.width >= 1) {
    bLogQ = sumBLogQ(s, i, grid.width, grid.offset);
    qLast = qLastOut;
  }

  const cP = aP / sP;
  const cQ = aQ / sQ;
  let kl = cP * (xlogx[i - 1] + Math.log(cP / cQ) * cum[i - 1] - bLogQ);
  const zeroBoth = zerosBefore + (lastEmpty ? 1 : 0);
  if (zeroBoth > 0) kl += zeroBoth * (eps / sP) * Math.log(sQ / sP);
  if (bLast > 0) {
    const p = (bLast + tail) * cP;
    kl += p * Math.log(p / (qLast * cQ));
  } else if (tail > 0) {
    const p = tail * cP;
    kl += p * Math.log(p / (eps / sQ));
  }
  return kl;
}

/** The entropy search on a histogram of |x| (or of x ≥ 0): candidates i ∈ [start, end]. */
export function klSearch(counts: ArrayLike<number>, options: KlSearchOptions): KlSearchResult {
  const { levels, eps = KL_EPS, admissible } = options;
  const n = counts.length;
  if (levels !== undefined && (!Number.isInteger(levels) || levels < 1)) {
    throw new RangeError(`levels must be a positive integer, got ${levels}`);
  }
  if ((levels === undefined) === (options.grid === undefined)) throw new RangeError('klSearch: give levels or grid');
  const grid = options.grid ?? ((i: number): KlCellGrid => ({ width: i / levels!, offset: 0 }));
  const start = options.start ?? Math.min(n, levels ?? KL_START_BIN);
  const end = options.end ?? n;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end > n) {
    throw new RangeError(`candidates [${start}, ${end}] must be integers within [1, ${n}]`);
  }
  const s = prefixSums(counts);
  const divergences = new Float64Array(n + 1).fill(NaN);
  let index = -1;
  let divergence = Infinity;
  for (let i = start; i <= end; i++) {
    if (admissible !== undefined && !admissible(i)) continue;
    const g = grid(i);
    if (!(g.width > 0) || !(g.offset >= 0 && g.offset < 1)) throw new RangeError(`invalid cell grid for candidate ${i}`);
    const d = candidateDivergence(s, i, g, eps);
    divergences[i] = d;
    if (d < divergence) {
      divergence = d;
      index = i;
    }
  }
  return { index, divergence, divergences };
}

/** The range the model gets for threshold T (what finishRange returns for ±T). */
function clampedRange(h: StreamingHistogram, t: number): [number, number] {
  return h.neverNegative ? [0, Math.min(t, h.max)] : [Math.max(-t, h.min), Math.min(t, h.max)];
}

/**
 * kl range of a streaming histogram (docs/algorithms.md, "kl"). Candidates T = i·w on the 2048-bin
 * |x| grid (i from KL_START_BIN); the range for T is ±T clamped to the data ([0, T] for
 * never-negative tensors), quantized with the target's integer range (options.qmin/qmax,
 * symmetric; default uint8, or int8 symmetric). Each candidate's Q uses the cells of exactly that
 * quantizer, and only candidates whose expected squared error is within KL_MSE_GUARD× of the
 * least error among them are considered.
 */
export function klRange(h: StreamingHistogram, options: RangeOptions = {}): RangeResult {
  const trivial = degenerateRange(h, 'kl');
  if (trivial !== undefined) return trivial;
  const symmetric = options.symmetric ?? false;
  const defaults = symmetric ? qRange('int8', { symmetric: true }) : qRange('uint8');
  const q: ScaleOptions = { qmin: options.qmin ?? defaults.qmin, qmax: options.qmax ?? defaults.qmax, symmetric };
  const abs = absHistogram(h, h.bins);
  if (options.excludeZeros === true) abs.counts[abs.zeroBin] = Math.max(0, abs.counts[abs.zeroBin] - abs.zeros);
  const n = abs.counts.length;
  const w = abs.width;
  const threshold = (i: number): number => (i === n ? abs.max : i * w);
  const quantizer = (i: number) => {
    const [lo, hi] = clampedRange(h, threshold(i));
    return computeScaleZeroPoint(lo, hi, q);
  };
  // Level k of the quantizer sits at k·s from 0 (0 is always a level), so on the |x| axis its
  // cells are [(k − ½)·s, (k + ½)·s): width s/w bins, boundaries offset by ½.
  const grid = (i: number): KlCellGrid => ({ width: quantizer(i).scale / w, offset: 0.5 });

  // The guard, on the error model mse minimises (rounding and clipping, mass uniform within bins).
  // E* = the least expected squared error over the candidates, found like mse's search: every 16th
  // candidate, then every candidate within 16 of the best (a candidate stops summing once it
  // passes the best so far). The admitted candidates are the interval around that best where the
  // error stays ≤ KL_MSE_GUARD·E*; its ends are found by bisection (the error falls towards the
  // best from either side, up to ripples of the rounding grid; the final pick is checked exactly).
  const moments = new HistogramMoments(errorHistogram(h, symmetric));
  const start = Math.min(KL_START_BIN, n);
  const errorOf = (i: number, bound: number): number => {
    const { scale, zeroPoint } = quantizer(i);
    return moments.squaredError(scale, zeroPoint, q.qmin, q.qmax, bound);
  };
  let least = Infinity;
  let leastAt = n;
  const score = (i: number): void => {
    const e = errorOf(i, i < leastAt ? nextUp(least) : least);
    if (e < least || (e === least && i < leastAt)) [least, leastAt] = [e, i];
  };
  for (let i = start; i <= n; i += KL_COARSE_STEP) score(i);
  score(n);
  for (let i = Math.max(start, leastAt - KL_COARSE_STEP); i <= Math.min(n, leastAt + KL_COARSE_STEP); i++) score(i);
  const limit = KL_MSE_GUARD * least;
  const admitted = (i: number): boolean => errorOf(i, nextUp(limit)) <= limit;
  let lo = start; // smallest admitted candidate below leastAt: bisect on [start, leastAt]
  if (!admitted(start)) {
    let bad = start;
    let good = leastAt;
    while (good - bad > 1) {
      const mid = (bad + good) >> 1;
      if (admitted(mid)) good = mid;
      else bad = mid;
    }
    lo = good;
  }
  let hi = n; // largest admitted candidate above leastAt
  if (!admitted(n)) {
    let good = leastAt;
    let bad = n;
    while (bad - good > 1) {
      const mid = (bad + good) >> 1;
      if (admitted(mid)) good = mid;
      else bad = mid;
    }
    hi = good;
  }

  // Entropy over [lo, hi]: every 8th candidate, then all within 8 of the best of those (the
  // divergence has no level-count steps, so the coarse pass finds the right neighbourhood).
  const s = prefixSums(abs.counts);
  const divergence = new Map<number, number>();
  const klAt = (i: number): void => {
    if (!divergence.has(i)) divergence.set(i, candidateDivergence(s, i, grid(i), KL_EPS));
  };
  for (let i = lo; i <= hi; i += KL_REFINE) klAt(i);
  klAt(hi);
  const byDivergence = () => [...divergence].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const centre = byDivergence()[0][0];
  for (let i = Math.max(lo, centre - KL_REFINE); i <= Math.min(hi, centre + KL_REFINE); i++) klAt(i);
  // The lowest divergence whose error is within the guard (leastAt always is).
  const [pick, kl] = byDivergence().find(([i]) => Number.isFinite(divergence.get(i)) && admitted(i)) ?? [leastAt, NaN];
  const t = threshold(pick);
  return finishRange(h, 'kl', -t, t, {
    threshold: t,
    bin: pick,
    binWidth: w,
    divergence: kl,
    meanSquaredError: errorOf(pick, Infinity) / h.count,
    candidates: divergence.size,
  });
}

/** The histogram mse scores a tensor on (mseRange's choice, so the two errors compare). */
function errorHistogram(h: StreamingHistogram, symmetric: boolean) {
  if (h.neverNegative) return absHistogram(h, DEFAULT_BINS);
  if (symmetric) return signedHistogram(h, 2 * DEFAULT_BINS, { lo: -h.maxAbs, hi: h.maxAbs });
  return signedHistogram(h, DEFAULT_BINS);
}
