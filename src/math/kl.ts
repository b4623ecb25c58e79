// TensorRT entropy calibration (ALGORITHMS.md §2, "kl"), vectorised with prefix sums.
//
// For candidate i (P and Q over bins [0, i), L levels, b = the |x| histogram):
//   P_j = b_j, plus tail = Σ_{j≥i} b_j on P_{i−1}
//   Q_j = M_k / n_k on the non-zero source bins of level k (M_k its mass, n_k its non-zero bins), 0 elsewhere
// Smoothing. §2 says to give zero entries eps = 1e-4 "taking the same mass from the non-zero bins".
// We apply it to counts, as MXNet/TVM/ONNX Runtime do (_smooth_distribution is called on raw
// counts): in probability units, eps·(#zeros) can exceed a single-sample bin's probability and
// drive it negative. The mass eps·nz is taken from the non-zero entries in proportion to their size
// (factor a = 1 − eps·nz/S) rather than in equal parts: it can never go negative on the fractional
// counts of a re-binned histogram, and log(a·b_j) = log a + log b_j keeps the sum separable.
// Both are then normalised (sums S_P = Σb, S_Q = Σ_{j<i} b_j are unchanged by smoothing).
//
// With p_j = P̃_j / S_P and q_j = Q̃_j / S_Q, KL = Σ_j p_j log(p_j / q_j) splits into:
//   (a) zero in both (b_j = 0, j < i−1; and j = i−1 when tail = 0): (eps/S_P)·log(S_Q/S_P) each
//   (c) b_j > 0, j < i−1:  (a_P/S_P)·[Σ b log b + log((a_P/S_P)/(a_Q/S_Q))·Σ b − Σ_k M'_k log(M_k/n_k)]
//       where M'_k is level k's mass excluding bin i−1 — all prefix-sum lookups, O(1) per level
//   (d) j = i−1, evaluated directly.
// So a candidate costs O(L) instead of O(i). Better still, the levels before the last span
// `merged` = floor(i/L) bins each, so their part of the sum is shared by all candidates with the
// same `merged` (fullLevelsBLogQ): the whole search is O(n + (n/L)·L) = O(n).

import { absHistogram } from './rebin.js';
import type { StreamingHistogram } from './histogram.js';
import { degenerateRange, finishRange, type RangeOptions, type RangeResult } from './range-types.js';

export const KL_EPS = 1e-4;
/** Levels (and first candidate) for signed tensors; never-negative tensors use twice as many. */
export const KL_SIGNED_LEVELS = 128;
export const KL_UNSIGNED_LEVELS = 256;

export interface KlSearchOptions {
  /** Quantization levels Q is merged into. */
  readonly levels: number;
  /** First candidate i (default: levels). Candidates are i ∈ [start, counts.length). */
  readonly start?: number;
  readonly eps?: number;
}

export interface KlSearchResult {
  /** Winning candidate m (lowest index on ties), or -1 if no candidate had a finite divergence. */
  readonly index: number;
  readonly divergence: number;
  /** divergences[i] = KL for candidate i; NaN outside [start, n). */
  readonly divergences: Float64Array;
}

interface Prefix {
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
  return { cum, xlogx, nonzero, suffix };
}

/**
 * Σ over levels k < levels − 1 of M_k·log(M_k / n_k) when each level merges `merged` bins. It
 * depends on `merged` = floor(i / levels) alone, not on i, so the search computes it once per
 * value of `merged` (16 values for 2048 bins and 128 levels) instead of once per candidate: each
 * candidate is then O(1), with the same floating-point operations in the same order as before.
 */
function fullLevelsBLogQ(s: Prefix, merged: number, levels: number): number {
  const { cum, nonzero } = s;
  let bLogQ = 0;
  for (let k = 0; k < levels - 1; k++) {
    const m = cum[(k + 1) * merged] - cum[k * merged];
    if (m > 0) bLogQ += m * Math.log(m / (nonzero[(k + 1) * merged] - nonzero[k * merged]));
  }
  return bLogQ;
}

/** KL(P‖Q) for candidate i; Infinity when Q is empty or smoothing is impossible. */
function candidateDivergence(b: ArrayLike<number>, s: Prefix, i: number, levels: number, eps: number, fullLevels: (merged: number) => number): number {
  const { cum, xlogx, nonzero } = s;
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

  // Σ over non-zero j < i−1 of b_j·log Q_j, level by level.
  const merged = Math.floor(i / levels);
  let bLogQ = fullLevels(merged);
  const lastStart = (levels - 1) * merged; // the last level also takes the remainder bins
  const mLast = cum[i] - cum[lastStart];
  const qLast = mLast > 0 ? mLast / (nonzero[i] - nonzero[lastStart]) : 0;
  if (mLast > 0) bLogQ += (mLast - bLast) * Math.log(qLast);

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

/** The §2 entropy search on a histogram of |x| (or of x ≥ 0), candidates i ∈ [start, n). */
export function klSearch(counts: ArrayLike<number>, options: KlSearchOptions): KlSearchResult {
  const { levels, start = levels, eps = KL_EPS } = options;
  const n = counts.length;
  if (!Number.isInteger(levels) || levels < 1) {
    throw new RangeError(`levels must be a positive integer, got ${levels}`);
  }
  if (!Number.isInteger(start) || start < levels) {
    throw new RangeError(`start (${start}) must be an integer ≥ levels (${levels})`);
  }
  const s = prefixSums(counts);
  const byMerged = new Map<number, number>();
  const fullLevels = (merged: number): number => {
    let v = byMerged.get(merged);
    if (v === undefined) byMerged.set(merged, (v = fullLevelsBLogQ(s, merged, levels)));
    return v;
  };
  const divergences = new Float64Array(n).fill(NaN);
  let index = -1;
  let divergence = Infinity;
  for (let i = start; i < n; i++) {
    const d = candidateDivergence(counts, s, i, levels, eps, fullLevels);
    divergences[i] = d;
    if (d < divergence) {
      divergence = d;
      index = i;
    }
  }
  return { index, divergence, divergences };
}

/**
 * kl range of a streaming histogram: ±T for signed tensors (128 levels, i from 128), [0, T] for
 * never-negative ones (256 levels, i from 256), T = (m + 0.5)·w on the 2048-bin |x| histogram.
 */
export function klRange(h: StreamingHistogram, options: Pick<RangeOptions, 'excludeZeros'> = {}): RangeResult {
  const trivial = degenerateRange(h, 'kl');
  if (trivial !== undefined) return trivial;
  const levels = h.neverNegative ? KL_UNSIGNED_LEVELS : KL_SIGNED_LEVELS;
  const abs = absHistogram(h, h.bins);
  if (options.excludeZeros === true) abs.counts[abs.zeroBin] -= abs.zeros;
  if (abs.counts.length <= levels) {
    return finishRange(h, 'kl', h.min, h.max, { fallback: 'no-candidate' });
  }
  const r = klSearch(abs.counts, { levels });
  const candidates = abs.counts.length - levels;
  if (r.index < 0) return finishRange(h, 'kl', h.min, h.max, { fallback: 'no-candidate', candidates });
  const t = (r.index + 0.5) * abs.width;
  return finishRange(h, 'kl', -t, t, {
    threshold: t,
    bin: r.index,
    binWidth: abs.width,
    divergence: r.divergence,
    candidates,
  });
}
