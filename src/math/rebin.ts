// Re-binning the power-of-two streaming grid onto the uniform grids the range searches use
// (ALGORITHMS.md §2: "Re-bin that grid to the 2048 bins over [0, max]").
//
// Each source bin's mass is assumed uniform over the part of the bin the data can occupy (the bin
// clipped to the observed [min, max]) and is spread over the target bins in proportion to overlap.
// Zeros are tracked exactly by the histogram and go, as a point mass, to the target bin holding 0;
// after ReLU they are often half the tensor and must not be smeared over (0, W).
// The procedure is deterministic, so bit-identical histograms give bit-identical re-bins.

import { DEFAULT_BINS, StreamingHistogram } from './histogram.js';

/** Counts on [lo, lo + counts.length·width]; `zeros` of them (exact zeros) sit in `zeroBin`. */
export interface UniformHistogram {
  readonly counts: Float64Array;
  readonly lo: number;
  readonly width: number;
  readonly zeros: number;
  /** Index of the bin holding 0, or -1 when 0 is outside the grid. */
  readonly zeroBin: number;
}

/** The |x| histogram over [0, max] (lo = 0). */
export interface AbsHistogram extends UniformHistogram {
  readonly max: number;
}

/** Mass `count` spread uniformly over [a, b] (a point when a === b), in x-space. */
export type SegmentVisitor = (a: number, b: number, count: number) => void;

/**
 * Visits the non-zero data of h as uniform segments clipped to the observed support. Zeros are
 * not visited (they are h.zeros, a point mass at 0).
 */
export function forEachSegment(h: StreamingHistogram, visit: SegmentVisitor): void {
  if (h.count === 0) return;
  const w = h.width;
  const min = h.min;
  const max = h.max;
  const pos = h.positiveCounts();
  const neg = h.negativeCounts();
  pos[0] -= h.zeros;
  for (let j = 0; j < h.bins; j++) {
    const cp = pos[j];
    if (cp > 0) visit(Math.max(j * w, min, 0), Math.min((j + 1) * w, max), cp);
    const cn = neg[j];
    if (cn > 0) visit(Math.max(-(j + 1) * w, min), Math.min(-j * w, max), cn);
  }
}

// Positions within 1e-9 of a bin edge are snapped to it, so a source edge that coincides with a
// target edge does not leak ~1e-16 of mass into an empty neighbour (KL treats any mass as non-zero).
function snap(u: number): number {
  const r = Math.round(u);
  return Math.abs(u - r) <= 1e-9 * Math.max(1, Math.abs(r)) ? r : u;
}

/** Adds `count` spread over [a, b] to `counts` (grid lo, width); a, b within the grid. */
function spread(counts: Float64Array, lo: number, width: number, a: number, b: number, count: number): void {
  const n = counts.length;
  const ua = snap((a - lo) / width);
  const ub = snap((b - lo) / width);
  const first = Math.min(n - 1, Math.max(0, Math.floor(ua)));
  if (!(ub > ua)) {
    counts[first] += count;
    return;
  }
  const last = Math.min(n - 1, Math.max(first, Math.ceil(ub) - 1));
  let given = 0;
  for (let t = first; t < last; t++) {
    const part = (count * (t + 1 - Math.max(ua, t))) / (ub - ua);
    counts[t] += part;
    given += part;
  }
  counts[last] += count - given; // remainder: keeps the total mass exact up to one rounding
}

function uniform(h: StreamingHistogram, lo: number, hi: number, nbins: number, fold: boolean): UniformHistogram {
  if (!Number.isInteger(nbins) || nbins < 1) {
    throw new RangeError(`nbins must be a positive integer, got ${nbins}`);
  }
  const counts = new Float64Array(nbins);
  const width = (hi - lo) / nbins;
  let zeroBin = -1;
  if (lo <= 0 && 0 <= hi) zeroBin = width > 0 ? Math.min(nbins - 1, Math.floor(snap(-lo / width))) + 0 : 0;
  if (h.count === 0) return { counts, lo, width, zeros: 0, zeroBin };
  if (!(width > 0)) {
    counts[0] = h.count; // constant tensor: a single point
    return { counts, lo, width: 0, zeros: h.zeros, zeroBin };
  }
  forEachSegment(h, (a, b, c) => {
    if (fold && b <= 0) spread(counts, lo, width, -b, -a, c);
    else spread(counts, lo, width, a, b, c);
  });
  if (h.zeros > 0) counts[zeroBin] += h.zeros;
  return { counts, lo, width, zeros: h.zeros, zeroBin };
}

/** |x| on `nbins` bins over [0, max|x|]: the histogram the kl search runs on (§2). */
export function absHistogram(h: StreamingHistogram, nbins: number = DEFAULT_BINS): AbsHistogram {
  const max = h.maxAbs;
  return { ...uniform(h, 0, max, nbins, true), max };
}

/** x on [0, max] for a tensor that is never negative (same grid as absHistogram). */
export function positiveHistogram(h: StreamingHistogram, nbins: number = DEFAULT_BINS): AbsHistogram {
  if (!h.neverNegative) throw new RangeError('positiveHistogram: the tensor has negative values');
  return absHistogram(h, nbins);
}

/**
 * Signed x on `nbins` bins over [lo, hi] (default: the observed [min, max]), for asymmetric
 * searches. The grid must cover the observed range.
 */
export function signedHistogram(
  h: StreamingHistogram,
  nbins: number = DEFAULT_BINS,
  bounds?: { readonly lo: number; readonly hi: number },
): UniformHistogram {
  const min = h.count === 0 ? 0 : h.min;
  const max = h.count === 0 ? 0 : h.max;
  const lo = bounds?.lo ?? min;
  const hi = bounds?.hi ?? max;
  if (!(lo <= min && hi >= max)) {
    throw new RangeError(`signedHistogram: [${lo}, ${hi}] does not cover the data [${min}, ${max}]`);
  }
  return uniform(h, lo, hi, nbins, false);
}

/**
 * Expected count of finite values below `lo` plus above `hi`, under the uniform-within-bin model.
 * Exactly 0 when [lo, hi] covers the observed [min, max].
 */
export function massOutside(h: StreamingHistogram, lo: number, hi: number): number {
  let out = 0;
  if (h.zeros > 0 && (0 < lo || 0 > hi)) out += h.zeros;
  forEachSegment(h, (a, b, c) => {
    if (b <= a) {
      if (a < lo || a > hi) out += c;
      return;
    }
    const below = Math.min(b, lo) - a;
    const above = b - Math.max(a, hi);
    if (below > 0) out += (c * below) / (b - a);
    if (above > 0) out += (c * Math.min(above, b - a)) / (b - a);
  });
  return out;
}
