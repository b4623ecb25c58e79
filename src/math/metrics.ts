// Accuracy metrics comparing a float reference with a quantized run. Sums are in float64.

import type { StreamingHistogram } from './histogram.js';
import { massOutside } from './rebin.js';

type Floats = Float32Array | Float64Array | ArrayLike<number>;

function checkLengths(ref: Floats, test: Floats): void {
  if (ref.length !== test.length) throw new RangeError(`length mismatch: ${ref.length} vs ${test.length}`);
}

/**
 * Signal-to-quantization-noise ratio 10·log10(Σf² / Σ(f − q)²) in dB. Infinity when the outputs
 * are identical (including both all-zero), -Infinity when the reference is all zero but the test is not.
 */
export function sqnrDb(ref: Floats, test: Floats): number {
  checkLengths(ref, test);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const f = ref[i];
    const d = f - test[i];
    signal += f * f;
    noise += d * d;
  }
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

/** a·b / (|a||b|); 1 when both are all zero, 0 when exactly one is. */
export function cosineSimilarity(a: Floats, b: Floats): number {
  checkLengths(a, b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 && nb === 0) return 1;
  if (na === 0 || nb === 0) return 0;
  return dot / (Math.sqrt(na) * Math.sqrt(nb));
}

/** max |a − b| (0 for empty inputs). */
export function maxAbsDiff(a: Floats, b: Floats): number {
  checkLengths(a, b);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

/** mean |a − b| (0 for empty inputs). */
export function meanAbsDiff(a: Floats, b: Floats): number {
  checkLengths(a, b);
  if (a.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

function argmax(x: Floats, offset: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (x[offset + c] > x[offset + best]) best = c;
  return best;
}

/** Fraction of rows of two [N, C] score arrays whose argmax (first on ties) agrees. */
export function top1Agreement(ref: Floats, test: Floats, classes: number): number {
  checkLengths(ref, test);
  if (!Number.isInteger(classes) || classes < 1 || ref.length % classes !== 0) {
    throw new RangeError(`cannot view ${ref.length} values as [N, ${classes}]`);
  }
  const rows = ref.length / classes;
  if (rows === 0) return 1;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    if (argmax(ref, r * classes, classes) === argmax(test, r * classes, classes)) agree++;
  }
  return agree / rows;
}

/**
 * Fraction of the finite values a range [min, max] clips (the clipping half of §1's error), from
 * the histogram with mass uniform within bins. 0 when the range covers the observed data.
 */
export function clippedFraction(h: StreamingHistogram, min: number, max: number): number {
  if (h.count === 0) return 0;
  return massOutside(h, min, max) / h.count;
}
