// --algo auto: per tensor, the range among minmax, percentile, kl and mse whose quantizer has the
// smallest expected squared error on that tensor's calibration histogram (rounding and clipping
// together, the model of ALGORITHMS.md §1 that mse uses: mass uniform within a bin, exact zeros
// free). mse searches exactly this error over a grid of thresholds, so it usually wins; another
// algorithm wins where its range falls between mse's grid points or outside its search.
import { computeScaleZeroPoint, qRange, type ScaleOptions } from './qparams.js';
import { DEFAULT_BINS, type StreamingHistogram } from './histogram.js';
import { HistogramMoments, mseRange } from './mse.js';
import { klRange } from './kl.js';
import { minmaxRange, percentileRange } from './range.js';
import { signedHistogram } from './rebin.js';
import type { RangeAlgorithm, RangeOptions, RangeResult } from './range-types.js';

/** Candidates in order of preference on a tie (mse first: it is the default). */
export const AUTO_CANDIDATES = ['mse', 'percentile', 'minmax', 'kl'] as const satisfies readonly RangeAlgorithm[];
// The candidates directly (not through the registry, which lists auto itself).
const CANDIDATE_FNS: Record<(typeof AUTO_CANDIDATES)[number], (h: StreamingHistogram, o: RangeOptions) => RangeResult> = {
  mse: mseRange, percentile: percentileRange, minmax: (h) => minmaxRange(h), kl: klRange,
};

export interface AutoRangeResult extends RangeResult {
  /** Every candidate with its expected squared error per value (NaN when it could not be scored). */
  scores: { algo: RangeAlgorithm; min: number; max: number; meanSquaredError: number }[];
}

/** Expected squared error per value of quantizing `h` with the range [lo, hi]. */
export function rangeError(h: StreamingHistogram, lo: number, hi: number, q: ScaleOptions, moments?: HistogramMoments): number {
  if (h.count === 0) return 0;
  const m = moments ?? new HistogramMoments(signedHistogram(h, DEFAULT_BINS));
  const { scale, zeroPoint } = computeScaleZeroPoint(Math.min(lo, 0), Math.max(hi, 0), q);
  return m.squaredError(scale, zeroPoint, q.qmin, q.qmax) / h.count;
}

export function autoRange(h: StreamingHistogram, options: RangeOptions = {}): AutoRangeResult {
  const symmetric = options.symmetric ?? false;
  const defaults = symmetric ? qRange('int8', { symmetric: true }) : qRange('uint8');
  const q: ScaleOptions = { qmin: options.qmin ?? defaults.qmin, qmax: options.qmax ?? defaults.qmax, symmetric };
  const results = AUTO_CANDIDATES.map((algo) => CANDIDATE_FNS[algo](h, options));
  if (h.count === 0 || h.min === h.max) return { ...results[0]!, scores: results.map((r) => ({ algo: r.algo, min: r.min, max: r.max, meanSquaredError: 0 })) };
  const moments = new HistogramMoments(signedHistogram(h, DEFAULT_BINS));
  const scores = results.map((r) => ({ algo: r.algo, min: r.min, max: r.max, meanSquaredError: rangeError(h, r.min, r.max, q, moments) }));
  let best = 0;
  for (let i = 1; i < scores.length; i++) {
    // A candidate must be better by more than rounding noise of the error sums to displace an earlier one.
    if (scores[i]!.meanSquaredError < scores[best]!.meanSquaredError * (1 - 1e-9)) best = i;
  }
  return { ...results[best]!, scores };
}
