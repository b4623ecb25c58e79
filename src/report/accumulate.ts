// Streaming accumulators: every figure of the report is a sum over batches, so memory holds one
// batch and a few numbers per tensor (plus a bounded histogram), never the samples.
import { emptySums, qRange, quantErrorSums, signedHistogram, StreamingHistogram, type Counterpart, type QuantErrorParams, type QuantErrorSums } from '../math/index.js';
import type { ClassifierMetrics, LayerHistogram, LayerMetrics, OutputMetrics } from './types.js';
import type { LayerTarget } from './tensor-map.js';

type Floats = Float32Array | Float64Array;

/** 10·log10(signal / noise): +∞ for no noise, −∞ for noise on a zero signal. */
export function sqnrFromSums(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

function argmax(x: Floats, offset: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (x[offset + c]! > x[offset + best]!) best = c;
  return best;
}

/** Output metrics (SQNR, cosine, max/mean abs, top-1 agreement, accuracy) summed over batches. */
export class OutputAccumulator {
  private signal = 0;
  private noise = 0;
  private dot = 0;
  private normQ = 0;
  private maxAbs = 0;
  private sumAbs = 0;
  private count = 0;
  private rows = 0;
  private agree = 0;
  private floatCorrect = 0;
  private quantCorrect = 0;
  private labelled = 0;
  private shape: number[] = [];
  private classes = 0;

  constructor(readonly name: string) {}

  /** One batch of both models' values; `labels` are this batch's labels (primary output only). */
  add(f: Floats, q: Floats, dims: readonly number[], labels?: readonly number[]): void {
    if (this.count === 0) {
      this.shape = [...dims];
      this.classes = dims.length === 2 && dims[1]! > 1 ? dims[1]! : 0;
    }
    for (let i = 0; i < f.length; i++) {
      const a = f[i]!;
      const b = q[i]!;
      const d = a - b;
      this.signal += a * a;
      this.noise += d * d;
      this.dot += a * b;
      this.normQ += b * b;
      const ad = Math.abs(d);
      if (ad > this.maxAbs || Number.isNaN(ad)) this.maxAbs = ad;
      this.sumAbs += ad;
    }
    this.count += f.length;
    if (this.classes > 0) this.addRows(f, q, labels);
  }

  private addRows(f: Floats, q: Floats, labels?: readonly number[]): void {
    const c = this.classes;
    const rows = f.length / c;
    for (let r = 0; r < rows; r++) {
      const af = argmax(f, r * c, c);
      const aq = argmax(q, r * c, c);
      if (af === aq) this.agree++;
      const y = labels?.[r];
      if (y !== undefined) {
        this.labelled++;
        if (af === y) this.floatCorrect++;
        if (aq === y) this.quantCorrect++;
      }
    }
    this.rows += rows;
  }

  result(): OutputMetrics {
    const cosine = this.signal === 0 && this.normQ === 0 ? 1
      : this.signal === 0 || this.normQ === 0 ? 0 : this.dot / (Math.sqrt(this.signal) * Math.sqrt(this.normQ));
    let classifier: ClassifierMetrics | null = null;
    if (this.classes > 0) {
      const accuracy = this.labelled > 0
        ? {
          float: this.floatCorrect / this.labelled,
          quantized: this.quantCorrect / this.labelled,
          dropPp: (100 * (this.floatCorrect - this.quantCorrect)) / this.labelled,
        }
        : null;
      classifier = { classes: this.classes, top1Agreement: this.rows ? this.agree / this.rows : 1, accuracy };
    }
    return {
      name: this.name,
      shape: this.shape,
      elements: this.count,
      sqnrDb: sqnrFromSums(this.signal, this.noise),
      cosine,
      maxAbs: this.maxAbs,
      meanAbs: this.count ? this.sumAbs / this.count : 0,
      classifier,
    };
  }
}

/** A tensor's figures as the report gives them (LayerMetrics), before ranking, with its live histogram. */
export type LayerResult = Pick<
  LayerMetrics,
  'clipRange' | 'observed' | 'elements' | 'ownSqnrDb' | 'accumulatedSqnrDb' | 'clipErrorShare' | 'clippedFraction' | 'hint'
> & { target: LayerTarget; histogram: StreamingHistogram };

/** What a LayerAccumulator has summed, as plain data (it crosses to and from a worker thread). */
export interface LayerState {
  sums: QuantErrorSums;
  count: number;
  histogram: unknown;
}

/**
 * One quantized tensor. The error it adds on its own is float T against fake-quantized float T
 * (ALGORITHMS.md §1, as ONNX QuantizeLinear computes it: x/s in float32, ties to even, clamp),
 * split into clipping (the integer was clamped) and rounding (it was not). The accumulated error
 * is float T against the quantized model's dequantized T.
 */
export class LayerAccumulator {
  private readonly sums: QuantErrorSums = emptySums();
  private count = 0;
  private readonly params: QuantErrorParams;
  readonly histogram: StreamingHistogram;

  constructor(readonly target: LayerTarget, bins = 512, histogram?: StreamingHistogram) {
    const { qmin, qmax } = qRange(target.dtype);
    this.params = { scale: target.scale, zeroPoint: target.zeroPoint, qmin, qmax };
    this.histogram = histogram ?? new StreamingHistogram(bins);
  }

  /**
   * One batch: float T and the quantized model's T, either as floats or as the integer tensor
   * behind it (then dequantized as DequantizeLinear does: (q − z)·s in float32). One fused pass
   * (math/quant-error.ts: WebAssembly SIMD, no copy but into the kernel's memory) and the histogram's.
   */
  add(f: Float32Array, q: Counterpart): void {
    quantErrorSums(f, q, this.params, this.sums);
    this.count += f.length;
    this.histogram.observe(f);
  }

  /** The sums and the histogram so far, as plain data. */
  state(): LayerState {
    return { sums: { ...this.sums }, count: this.count, histogram: this.histogram.toJSON() };
  }

  /** An accumulator in the state `state()` returned (of an accumulator of the same target). */
  static fromState(target: LayerTarget, state: LayerState): LayerAccumulator {
    const h = StreamingHistogram.fromJSON(state.histogram);
    const a = new LayerAccumulator(target, h.bins, h);
    Object.assign(a.sums, state.sums);
    a.count = state.count;
    return a;
  }

  result(): LayerResult {
    const { scale: s, zeroPoint: z, qmin, qmax } = this.params;
    const { signal, clipNoise, roundNoise, accNoise, clipped } = this.sums;
    const own = clipNoise + roundNoise;
    const h = this.histogram;
    return {
      target: this.target,
      clipRange: [(qmin - z) * s, (qmax - z) * s],
      observed: h.count ? [h.min, h.max] : [0, 0],
      elements: this.count,
      ownSqnrDb: sqnrFromSums(signal, own),
      accumulatedSqnrDb: sqnrFromSums(signal, accNoise),
      clipErrorShare: own > 0 ? clipNoise / own : 0,
      clippedFraction: this.count ? clipped / this.count : 0,
      hint: own === 0 ? 'exact' : clipNoise > roundNoise ? 'clipping-dominated' : 'rounding-dominated',
      histogram: h,
    };
  }
}

/** A display histogram over the union of the observed range and the clip range. */
export function displayHistogram(h: StreamingHistogram, clipRange: readonly [number, number], bins = 96): LayerHistogram {
  const min = h.count ? h.min : 0;
  const max = h.count ? h.max : 0;
  const lo = Math.min(min, clipRange[0]);
  let hi = Math.max(max, clipRange[1]);
  if (!(hi > lo)) hi = lo + 1;
  const u = signedHistogram(h, bins, { lo, hi });
  return { lo, hi, counts: Array.from(u.counts, (c) => Math.round(c * 1000) / 1000) };
}
