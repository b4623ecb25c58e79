// Streaming histogram on a data-independent power-of-two grid (ALGORITHMS.md §2).
//
// Grid. Values are split by sign into two magnitude halves of `bins` bins each, both of width
// W = 2^e and aligned at 0:
//   x ≥ 0 (and -0):  pos[floor(x / W)]      bin j holds [jW, (j+1)W)
//   x < 0:           neg[floor(-x / W)]     bin j holds (-(j+1)W, -jW]
// so the grid covers (-bins·W, bins·W). The exponent e is always
//   E(S) = the smallest integer e ≥ MIN_WIDTH_EXP with max|x| < bins·2^e   (S = all finite values seen),
// which depends on max|x| alone.
//
// Why the result is independent of batch order and sharding (proof):
//  1. E is monotone in max|x|, so E(S1 ∪ S2) = max(E(S1), E(S2)). observe() and merge() move to
//     exactly that exponent, never further, so by induction e = E(S) after any sequence.
//  2. Regrouping from width 2^e to 2^(e+d) sends bin j to floor(j / 2^d). For real y ≥ 0,
//     floor(floor(y) / 2^d) = floor(y / 2^d), so a regrouped count equals the count a fresh
//     histogram at width 2^(e+d) would hold: #{x : floor(|x| / 2^(e+d)) = j}.
//     |x| / 2^e is a multiplication by a power of two: exact in float64 (results below 1 may
//     round, but they stay below 1 and land in bin 0 either way).
//  3. Hence, after any interleaving of observe/merge, bin j holds #{x ∈ S : floor(|x| / 2^E(S)) = j}
//     (per sign), a function of the multiset S alone. Counts are integers below 2^53 held in
//     float64, so every addition is exact and associative.
//  4. min/max are order-free; -0 is normalised to +0 so even their sign bits agree.
// A single signed grid [-bins·W/2, bins·W/2) would work too (doubling is then floor(j/2) + bins/4
// for bins divisible by 4); the two halves give twice the resolution for the same number of
// bins, and the |x| histogram the searches need is their bin-wise sum with no re-gridding.

import { SIMD_CHUNK, SIMD_DRAIN_EVERY, SIMD_MIN_LENGTH, simdBinner, type SimdBinner } from './histogram-simd.js';

/** Bins per sign in the streaming grid, and bins of the [0, max] histograms the searches use. */
export const DEFAULT_BINS = 2048;

/** Floor for the width exponent: 2^-160·2048 is below the smallest float32 subnormal. */
export const MIN_WIDTH_EXP = -160;

const FORMAT = 'qtool.streaming-histogram';

export interface StreamingHistogramJSON {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly bins: number;
  readonly widthExp: number;
  readonly count: number;
  readonly zeros: number;
  readonly negatives: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly pos: number[];
  readonly neg: number[];
}

/** Smallest e ≥ MIN_WIDTH_EXP with m < bins·2^e. */
function requiredExponent(m: number, bins: number): number {
  if (!(m > 0)) return MIN_WIDTH_EXP;
  let e = Math.max(MIN_WIDTH_EXP, Math.floor(Math.log2(m / bins)));
  while (m >= bins * 2 ** e) e++;
  while (e > MIN_WIDTH_EXP && m < bins * 2 ** (e - 1)) e--;
  return e;
}

const EXP_MASK = 0x7f800000; // bits of +Infinity; |bits| above it are NaN

const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);

/**
 * Bit pattern of the smallest float32 ≥ x > 0 (+Infinity's when x is beyond float32). For a
 * float32 y ≥ 0: y < x ⟺ bits(y) < float32CeilBits(x).
 */
function float32CeilBits(x: number): number {
  f32[0] = x;
  let b = f32Bits[0]!;
  if (f32[0]! < x) b++; // rounded down: the next float32 up (+Infinity's pattern past the largest)
  return b;
}

/** Counts regrouped from exponent `from` to `to` ≥ from (step 2 of the proof). */
function regroup(counts: Float64Array, from: number, to: number): Float64Array {
  if (to === from) return counts;
  const factor = 2 ** (to - from);
  const out = new Float64Array(counts.length);
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (c !== 0) out[Math.floor(j / factor)] += c;
  }
  return out;
}

/** regroup() in place: bin j ← the sum of bins [j·2^d, (j+1)·2^d) (reads stay ahead of writes). */
function regroupInPlace(counts: Float64Array, from: number, to: number): void {
  const d = to - from;
  if (d <= 0) return;
  const n = counts.length;
  const factor = 2 ** d;
  if (factor >= n) {
    let s = 0;
    for (let j = 0; j < n; j++) s += counts[j]!;
    counts.fill(0);
    counts[0] = s;
    return;
  }
  const kept = Math.ceil(n / factor);
  for (let j = 0; j < kept; j++) {
    const start = j * factor;
    const end = Math.min(n, start + factor);
    let s = 0;
    for (let k = start; k < end; k++) s += counts[k]!;
    counts[j] = s;
  }
  counts.fill(0, kept);
}

export class StreamingHistogram {
  readonly bins: number;
  #exp = MIN_WIDTH_EXP;
  /** Both halves in one array, [pos | neg]; #pos and #neg are views of it. */
  #counts: Float64Array;
  #pos: Float64Array;
  #neg: Float64Array;
  #count = 0;
  #zeros = 0;
  #negatives = 0;
  #nan = 0;
  #posInf = 0;
  #negInf = 0;
  #min = Infinity;
  #max = -Infinity;

  constructor(bins: number = DEFAULT_BINS) {
    if (!Number.isInteger(bins) || bins < 1 || bins > 2 ** 24) {
      throw new RangeError(`histogram bins must be an integer in [1, 2^24], got ${bins}`);
    }
    this.bins = bins;
    this.#counts = new Float64Array(2 * bins);
    this.#pos = this.#counts.subarray(0, bins);
    this.#neg = this.#counts.subarray(bins);
  }

  /** Bin width W = 2^widthExp. */
  get width(): number {
    return 2 ** this.#exp;
  }
  get widthExp(): number {
    return this.#exp;
  }
  /** Finite values observed. */
  get count(): number {
    return this.#count;
  }
  get zeros(): number {
    return this.#zeros;
  }
  get negatives(): number {
    return this.#negatives;
  }
  get nanCount(): number {
    return this.#nan;
  }
  get posInfCount(): number {
    return this.#posInf;
  }
  get negInfCount(): number {
    return this.#negInf;
  }
  /** Smallest finite value; NaN while empty. */
  get min(): number {
    return this.#count === 0 ? NaN : this.#min;
  }
  /** Largest finite value; NaN while empty. */
  get max(): number {
    return this.#count === 0 ? NaN : this.#max;
  }
  get maxAbs(): number {
    return this.#count === 0 ? 0 : Math.max(-this.#min, this.#max);
  }
  /** No finite negative value seen (ReLU, Sigmoid, Softmax outputs): searches go one-sided. */
  get neverNegative(): boolean {
    return this.#negatives === 0;
  }
  /** Copy of the x ≥ 0 half: bin j counts values in [jW, (j+1)W); zeros are in bin 0. */
  positiveCounts(): Float64Array {
    return this.#pos.slice();
  }
  /** Copy of the x < 0 half: bin j counts values in (-(j+1)W, -jW]. */
  negativeCounts(): Float64Array {
    return this.#neg.slice();
  }

  /**
   * Adds a batch in ONE pass over the data. Each finite value is binned at the current width; a
   * value beyond the grid first grows it (in place) to the exponent that value requires and the
   * pass carries on. E is monotone in max|x|, so the width ends at E(S) exactly, as the proof
   * needs, and regrouping part of a batch is as exact as regrouping whole batches (step 2).
   */
  observe(data: Float32Array | ArrayLike<number>): this {
    if (data instanceof Float32Array) this.#observeFloat32(data);
    else this.#observeNumbers(data);
    return this;
  }

  /** float32 data: the WebAssembly SIMD kernel, or the scalar loop for short arrays (same results). */
  #observeFloat32(data: Float32Array): void {
    const simd = data.length >= SIMD_MIN_LENGTH ? simdBinner(this.bins) : null;
    if (simd !== null) this.#observeFloat32Simd(simd, data);
    else this.#observeFloat32Scalar(data);
  }

  /** The pass in the WebAssembly kernel (its section says why it bins exactly as the scalar loop). */
  #observeFloat32Simd(simd: SimdBinner, data: Float32Array): void {
    const n = data.length;
    simd.start();
    simd.setWidthExp(this.#exp);
    let undrained = 0;
    for (let from = 0; from < n; from += SIMD_CHUNK) {
      const len = Math.min(SIMD_CHUNK, n - from);
      simd.load(data, from, len);
      for (let i = simd.bin(0, len); i < len; i = simd.bin(i, len)) {
        // Value i is finite and beyond the grid: drain first, so that regrouping moves every count;
        // then bin again from i.
        simd.drain(this.#counts, this.#exp);
        undrained = 0;
        this.#grow(requiredExponent(Math.abs(simd.value(i)), this.bins));
        simd.setWidthExp(this.#exp);
      }
      undrained += len;
      if (undrained >= SIMD_DRAIN_EVERY) {
        simd.drain(this.#counts, this.#exp);
        undrained = 0;
      }
    }
    simd.drain(this.#counts, this.#exp);
    this.#nan += simd.nan;
    this.#posInf += simd.posInf;
    this.#negInf += simd.negInf;
    const finite = n - simd.nan - simd.posInf - simd.negInf;
    if (finite > 0) this.#addStats(finite, simd.zeros, simd.negatives, simd.lo, simd.hi);
  }

  /**
   * The pass in plain JS (short arrays; bins the kernel does not take; no WebAssembly SIMD), reading
   * float32 data through its bit patterns: for x ≥ 0 (NaN and ±Infinity included) the order of the
   * patterns is the order of the values, so ONE integer compare of |bits| against the pattern of
   * the grid's limit tells "finite and on the grid"; sign and zero tests are then branch-free
   * (data-dependent branches, mispredicted on ReLU-like data, cost more than the rest of the loop).
   */
  #observeFloat32Scalar(data: Float32Array): void {
    const n = data.length;
    if (n === 0) return;
    const bits = new Int32Array(data.buffer, data.byteOffset, n);
    const bins = this.bins;
    const counts = this.#counts; // [pos | neg]; regrouped in place, so this reference stays valid
    let inv = 2 ** -this.#exp;
    let limitBits = float32CeilBits(bins * 2 ** this.#exp);
    let zeros = 0;
    let negatives = 0;
    let nan = 0;
    let posInf = 0;
    let negInf = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const b = bits[i]!;
      const ab = b & 0x7fffffff;
      if (ab >= limitBits) {
        if (ab >= EXP_MASK) {
          if (ab > EXP_MASK) nan++;
          else if (b < 0) negInf++;
          else posInf++;
          continue;
        }
        // Finite and beyond the grid: |x| < bins·2^E(|x|), so afterwards ab < limitBits.
        this.#grow(requiredExponent(Math.abs(data[i]!), bins));
        inv = 2 ** -this.#exp;
        limitBits = float32CeilBits(bins * 2 ** this.#exp);
      }
      const v = data[i]!;
      const nonZero = -ab >>> 31; // 1 unless ±0
      const neg = (b >>> 31) & nonZero; // -0 counts as +0 (it goes to pos[0] and to zeros)
      // |v|·inv < bins ≤ 2^24 is exact (a power-of-two scaling), and `| 0` is floor for it.
      counts[((Math.abs(v) * inv) | 0) + (-neg & bins)]++;
      negatives += neg;
      zeros += nonZero ^ 1;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.#nan += nan;
    this.#posInf += posInf;
    this.#negInf += negInf;
    const finite = n - nan - posInf - negInf;
    if (finite > 0) this.#addStats(finite, zeros, negatives, lo, hi);
  }

  /** Any other array of numbers (float64 values need not be float32). */
  #observeNumbers(data: ArrayLike<number>): void {
    const n = data.length;
    if (n === 0) return;
    const bins = this.bins;
    const counts = this.#counts;
    let inv = 2 ** -this.#exp;
    // |x| < limit ⟺ |x|·inv < bins: both sides scale by a power of two, exactly.
    let limit = bins * 2 ** this.#exp;
    let zeros = 0;
    let negatives = 0;
    let finite = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      const a = Math.abs(v);
      if (!(a < limit)) {
        if (v - v !== 0) {
          // NaN or ±Infinity: counted, never binned.
          if (v === Infinity) this.#posInf++;
          else if (v === -Infinity) this.#negInf++;
          else this.#nan++;
          continue;
        }
        this.#grow(requiredExponent(a, bins));
        inv = 2 ** -this.#exp;
        limit = bins * 2 ** this.#exp;
      }
      finite++;
      if (v < 0) {
        counts[((a * inv) | 0) + bins]++;
        negatives++;
      } else {
        counts[(a * inv) | 0]++;
        if (v === 0) zeros++;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (finite > 0) this.#addStats(finite, zeros, negatives, lo, hi);
  }

  /** Adds other's observations to this histogram (other is unchanged). */
  merge(other: StreamingHistogram): this {
    if (other.bins !== this.bins) {
      throw new RangeError(`cannot merge histograms with ${this.bins} and ${other.bins} bins`);
    }
    const exp = Math.max(this.#exp, other.#exp);
    this.#grow(exp);
    const pos = regroup(other.#pos, other.#exp, exp);
    const neg = regroup(other.#neg, other.#exp, exp);
    for (let j = 0; j < this.bins; j++) {
      this.#pos[j] += pos[j];
      this.#neg[j] += neg[j];
    }
    this.#nan += other.#nan;
    this.#posInf += other.#posInf;
    this.#negInf += other.#negInf;
    if (other.#count > 0) this.#addStats(other.#count, other.#zeros, other.#negatives, other.#min, other.#max);
    return this;
  }

  clone(): StreamingHistogram {
    return new StreamingHistogram(this.bins).merge(this);
  }

  #grow(exp: number): void {
    if (exp <= this.#exp) return;
    regroupInPlace(this.#pos, this.#exp, exp);
    regroupInPlace(this.#neg, this.#exp, exp);
    this.#exp = exp;
  }

  #addStats(count: number, zeros: number, negatives: number, lo: number, hi: number): void {
    this.#count += count;
    this.#zeros += zeros;
    this.#negatives += negatives;
    // `+ 0` turns -0 into +0 (step 4 of the proof).
    if (lo < this.#min) this.#min = lo + 0;
    if (hi > this.#max) this.#max = hi + 0;
  }

  toJSON(): StreamingHistogramJSON {
    const empty = this.#count === 0;
    return {
      format: FORMAT,
      version: 1,
      bins: this.bins,
      widthExp: this.#exp,
      count: this.#count,
      zeros: this.#zeros,
      negatives: this.#negatives,
      nan: this.#nan,
      posInf: this.#posInf,
      negInf: this.#negInf,
      min: empty ? null : this.#min,
      max: empty ? null : this.#max,
      pos: Array.from(this.#pos),
      neg: Array.from(this.#neg),
    };
  }

  static fromJSON(json: unknown): StreamingHistogram {
    const j = checkJSON(json);
    const h = new StreamingHistogram(j.bins);
    h.#exp = j.widthExp;
    h.#pos.set(j.pos);
    h.#neg.set(j.neg);
    h.#count = j.count;
    h.#zeros = j.zeros;
    h.#negatives = j.negatives;
    h.#nan = j.nan;
    h.#posInf = j.posInf;
    h.#negInf = j.negInf;
    h.#min = j.min ?? Infinity;
    h.#max = j.max ?? -Infinity;
    return h;
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function checkJSON(json: unknown): StreamingHistogramJSON {
  const bad = (why: string): never => {
    throw new RangeError(`not a serialised StreamingHistogram: ${why}`);
  };
  if (typeof json !== 'object' || json === null) return bad('not an object');
  const j = json as Partial<Record<keyof StreamingHistogramJSON, unknown>>;
  if (j.format !== FORMAT || j.version !== 1) bad(`format ${String(j.format)} version ${String(j.version)}`);
  if (!isCount(j.bins) || j.bins < 1) return bad('bins');
  const bins = j.bins;
  const e = j.widthExp;
  if (typeof e !== 'number' || !Number.isInteger(e) || e < MIN_WIDTH_EXP || e > 1023) bad('widthExp');
  for (const k of ['count', 'zeros', 'negatives', 'nan', 'posInf', 'negInf'] as const) {
    if (!isCount(j[k])) bad(k);
  }
  for (const k of ['pos', 'neg'] as const) {
    const a = j[k];
    if (!Array.isArray(a) || a.length !== bins || !a.every(isCount)) bad(`${k} must be ${bins} counts`);
  }
  const ok = j as StreamingHistogramJSON;
  const total = (a: number[]): number => a.reduce((s, v) => s + v, 0);
  if (total(ok.pos) + total(ok.neg) !== ok.count || total(ok.neg) !== ok.negatives || ok.pos[0] < ok.zeros) {
    bad('bin counts disagree with count / negatives / zeros');
  }
  const empty = ok.count === 0;
  for (const k of ['min', 'max'] as const) {
    const v = ok[k];
    if (empty ? v !== null : typeof v !== 'number' || !Number.isFinite(v)) bad(k);
  }
  return ok;
}
