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

export interface ChannelAbsMax {
  /** The channel axis of the observed tensor (resolved: never negative). */
  readonly axis: number;
  /** Largest finite |x| per channel (0 for a channel that only held zeros or non-finite values). */
  readonly absMax: number[];
}

/**
 * Largest finite |x| per channel along one axis (negative: from the end), for the outlier-channel
 * check (quant/outliers.ts). Memory: one float per channel. A maximum, so order-independent and
 * exactly mergeable. Batches whose rank or channel count disagree with the first one leave no
 * result (the tensor has no fixed channels to compare).
 */
export class ChannelAbsMaxCollector {
  readonly #axis: number;
  #resolved = -1;
  #max: Float32Array | undefined;
  #broken = false;

  constructor(axis: number) {
    this.#axis = axis;
  }

  observe(batch: Float32Array, dims: readonly number[]): void {
    if (this.#broken || batch.length === 0) return;
    const a = this.#axis < 0 ? this.#axis + dims.length : this.#axis;
    const c = dims[a] ?? 0;
    if (a < 0 || a >= dims.length || c < 1 || (this.#max && (a !== this.#resolved || c !== this.#max.length))) {
      this.#broken = true;
      this.#max = undefined;
      return;
    }
    this.#resolved = a;
    const max = (this.#max ??= new Float32Array(c));
    let inner = 1;
    for (let i = a + 1; i < dims.length; i++) inner *= dims[i]!;
    const outer = batch.length / (c * inner);
    for (let o = 0, at = 0; o < outer; o++) {
      for (let k = 0; k < c; k++) {
        let m = max[k]!;
        for (const end = at + inner; at < end; at++) {
          const v = Math.abs(batch[at]!);
          if (v > m && v !== Infinity) m = v;
        }
        max[k] = m;
      }
    }
  }

  result(): ChannelAbsMax | undefined {
    return this.#max ? { axis: this.#resolved, absMax: Array.from(this.#max) } : undefined;
  }
}

export interface TensorObservation {
  readonly histogram: StreamingHistogram;
  readonly movingAverage?: MovingAverageResult;
  /** Per-channel abs-max, when a channel axis was asked for and the batches agreed on it. */
  readonly channels?: ChannelAbsMax;
}

export interface TensorCollectorOptions {
  bins?: number;
  movingAverage?: boolean;
  /** Also keep the per-channel abs-max along this axis (negative: from the end). */
  channelAxis?: number;
}

/** Everything one tensor needs from one pass: the histogram (with min/max) and, opt-in, the moving average and per-channel abs-max. */
export class TensorCollector implements Collector<TensorObservation> {
  readonly #hist: HistogramCollector;
  readonly #avg: MovingAverageCollector | undefined;
  readonly #channels: ChannelAbsMaxCollector | undefined;

  constructor(opts: TensorCollectorOptions = {}) {
    this.#hist = new HistogramCollector(opts.bins);
    this.#avg = opts.movingAverage ? new MovingAverageCollector() : undefined;
    this.#channels = opts.channelAxis === undefined ? undefined : new ChannelAbsMaxCollector(opts.channelAxis);
  }

  /** `dims`: the batch's shape, needed for the per-channel abs-max. */
  observe(batch: Float32Array, dims?: readonly number[]): void {
    this.#hist.observe(batch);
    this.#avg?.observe(batch);
    // A batch without its shape cannot be split into channels: then no channel result at all.
    this.#channels?.observe(batch, dims ?? []);
  }

  result(): TensorObservation {
    const histogram = this.#hist.result();
    const channels = this.#channels?.result();
    return { histogram, ...(this.#avg ? { movingAverage: this.#avg.result() } : {}), ...(channels ? { channels } : {}) };
  }
}
