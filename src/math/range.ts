// Range algorithms (ALGORITHMS.md §2): each a pure function of a StreamingHistogram and options,
// so a calibration run's ranges depend only on the data, never on batch order or sharding.

import type { StreamingHistogram } from './histogram.js';
import { absHistogram, signedHistogram, type UniformHistogram } from './rebin.js';
import {
  degenerateRange,
  finishRange,
  type RangeOptions,
  type RangeResult,
} from './range-types.js';

/** Weight c of the moving-average min/max (§2, "minmax"). */
export const MOVING_AVERAGE_CONSTANT = 0.01;

/** Observed min and max ([0, max] for never-negative tensors). */
export function minmaxRange(h: StreamingHistogram): RangeResult {
  return degenerateRange(h, 'minmax') ?? finishRange(h, 'minmax', h.min, h.max);
}

/** x where the histogram's CDF reaches `mass` (linear within a bin). */
function quantile(hist: UniformHistogram, mass: number): number {
  const { counts, lo, width } = hist;
  let acc = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (c > 0 && acc + c >= mass) return lo + (j + Math.max(0, mass - acc) / c) * width;
    acc += c;
  }
  return lo + counts.length * width;
}

/**
 * percentile (§2): symmetric cuts |x| at p; asymmetric cuts (100 − p)/2 % from each tail;
 * never-negative tensors cut x at p and get [0, T]. Clamped to the observed [min, max].
 */
export function percentileRange(h: StreamingHistogram, options: RangeOptions = {}): RangeResult {
  const p = options.percentile;
  if (p === undefined) throw new RangeError('percentile: options.percentile is required (the default lives in the config schema)');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const trivial = degenerateRange(h, 'percentile');
  if (trivial !== undefined) return trivial;
  if (h.neverNegative || options.symmetric === true) {
    const t = quantile(absHistogram(h, h.bins), (p / 100) * h.count);
    return finishRange(h, 'percentile', -t, t, { threshold: t, thresholdLow: -t });
  }
  const signed = signedHistogram(h, h.bins);
  const tailMass = ((100 - p) / 200) * h.count;
  const lo = quantile(signed, tailMass);
  const hi = quantile(signed, h.count - tailMass);
  return finishRange(h, 'percentile', lo, hi, { threshold: hi, thresholdLow: lo });
}

/**
 * Moving average of per-batch extrema: new = old + c·(batch − old), c = 0.01, the first batch
 * initialising (§2). ORDER-DEPENDENT by nature: the same batches in another order give another
 * range. It is the opt-in exception to §2's order-independence rule; do not use it for sharded
 * calibration.
 */
export class MovingAverageMinMax {
  readonly constant: number;
  #min = NaN;
  #max = NaN;
  #batches = 0;

  constructor(constant: number = MOVING_AVERAGE_CONSTANT) {
    if (!(constant > 0 && constant <= 1)) {
      throw new RangeError(`averaging constant must be in (0, 1], got ${constant}`);
    }
    this.constant = constant;
  }

  /** Batches that contributed (batches without a finite value are skipped). */
  get batches(): number {
    return this.#batches;
  }

  observe(data: Float32Array | ArrayLike<number>): this {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v - v !== 0) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) return this;
    if (this.#batches === 0) {
      this.#min = lo;
      this.#max = hi;
    } else {
      this.#min += this.constant * (lo - this.#min);
      this.#max += this.constant * (hi - this.#max);
    }
    this.#batches++;
    return this;
  }

  /** The averaged range; [0, 0] before any finite value. */
  result(): { readonly min: number; readonly max: number } {
    return this.#batches === 0 ? { min: 0, max: 0 } : { min: this.#min, max: this.#max };
  }
}
