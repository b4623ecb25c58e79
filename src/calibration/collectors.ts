// Streaming collectors behind one interface (STYLE.md "Streaming collectors"): observe(batch) /
// result(), memory O(bins) per tensor, never O(samples).
import { DEFAULTS } from '../config/index.js';
import { MovingAverageMinMax, StreamingHistogram } from '../math/index.js';

export interface Collector<R> {
  observe(batch: Float32Array): void;
  result(): R;
}

export interface MinMax {
  /** Smallest / largest finite value; null before any finite value. */
  readonly min: number | null;
  readonly max: number | null;
  /** Finite values seen. */
  readonly count: number;
}

/** Exact min/max of the finite values (NaN and ±Infinity are skipped). Order-independent. */
export class MinMaxCollector implements Collector<MinMax> {
  #min = Infinity;
  #max = -Infinity;
  #count = 0;

  observe(batch: Float32Array): void {
    let lo = this.#min;
    let hi = this.#max;
    let finite = 0;
    for (let i = 0; i < batch.length; i++) {
      const v = batch[i]!;
      if (v - v !== 0) continue;
      finite++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.#count += finite;
    // `+ 0` turns -0 into +0, as StreamingHistogram does, so both report the same bits.
    this.#min = lo + 0;
    this.#max = hi + 0;
  }

  result(): MinMax {
    const empty = this.#count === 0;
    return { min: empty ? null : this.#min, max: empty ? null : this.#max, count: this.#count };
  }
}

/**
 * Histogram on StreamingHistogram's power-of-two grid (ALGORITHMS.md §2). Its result also holds
 * the exact min/max, so one pass serves every range algorithm.
 */
export class HistogramCollector implements Collector<StreamingHistogram> {
  readonly #h: StreamingHistogram;

  constructor(bins: number = DEFAULTS.histogramBins) {
    this.#h = new StreamingHistogram(bins);
  }

  observe(batch: Float32Array): void {
    this.#h.observe(batch);
  }

  result(): StreamingHistogram {
    return this.#h;
  }
}

export interface MovingAverageResult {
  readonly min: number;
  readonly max: number;
  /** Batches that contributed. */
  readonly batches: number;
}

/**
 * Moving average of per-batch extrema (§2, minmax option). ORDER-DEPENDENT by nature: the same
 * samples in another order, or in batches of another size, give another range. Opt-in only.
 */
export class MovingAverageCollector implements Collector<MovingAverageResult> {
  readonly #avg: MovingAverageMinMax;

  constructor(constant?: number) {
    this.#avg = new MovingAverageMinMax(constant);
  }

  observe(batch: Float32Array): void {
    this.#avg.observe(batch);
  }

  result(): MovingAverageResult {
    return { ...this.#avg.result(), batches: this.#avg.batches };
  }
}

export interface TensorObservation {
  readonly histogram: StreamingHistogram;
  readonly movingAverage?: MovingAverageResult;
}

/** Everything one tensor needs from one pass: the histogram (with min/max) and, opt-in, the moving average. */
export class TensorCollector implements Collector<TensorObservation> {
  readonly #hist: HistogramCollector;
  readonly #avg: MovingAverageCollector | undefined;

  constructor(opts: { bins?: number; movingAverage?: boolean } = {}) {
    this.#hist = new HistogramCollector(opts.bins);
    this.#avg = opts.movingAverage ? new MovingAverageCollector() : undefined;
  }

  observe(batch: Float32Array): void {
    this.#hist.observe(batch);
    this.#avg?.observe(batch);
  }

  result(): TensorObservation {
    const histogram = this.#hist.result();
    return this.#avg ? { histogram, movingAverage: this.#avg.result() } : { histogram };
  }
}
