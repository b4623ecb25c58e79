// Linear quantization parameters and (de)quantization of typed arrays: ALGORITHMS.md §1.

/** Integer element types qtool quantizes to. */
export type QType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int4' | 'uint4';

export interface QRange {
  readonly qmin: number;
  readonly qmax: number;
}

export interface QRangeOptions {
  readonly symmetric?: boolean;
  readonly reduceRange?: boolean;
}

export interface ScaleOptions extends QRange {
  readonly symmetric: boolean;
  /** Round the scale to a power of two (--pow2-scales): up (the range is kept) or down (it is clipped). */
  readonly pow2?: 'ceil' | 'floor';
}

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** 2^-126. A scale below it would be subnormal in float32 (§1: "s < smallest normal float32"). */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

const FULL_RANGE: Readonly<Record<QType, QRange>> = {
  uint8: { qmin: 0, qmax: 255 },
  int8: { qmin: -128, qmax: 127 },
  int16: { qmin: -32768, qmax: 32767 },
  uint16: { qmin: 0, qmax: 65535 },
  int4: { qmin: -8, qmax: 7 },
  uint4: { qmin: 0, qmax: 15 },
};

// Signed types drop their most negative value when symmetric (§1: -128·-128 pairs overflow
// 16-bit SIMD accumulators). Unsigned types keep the full range; their zero point is the middle.
const SYMMETRIC_RANGE: Readonly<Partial<Record<QType, QRange>>> = {
  int8: { qmin: -127, qmax: 127 },
  int16: { qmin: -32767, qmax: 32767 },
  int4: { qmin: -7, qmax: 7 },
};

const REDUCED_RANGE: Readonly<Partial<Record<QType, QRange>>> = {
  uint8: { qmin: 0, qmax: 127 },
  int8: { qmin: -64, qmax: 64 },
};

/** Integer range of a type (the table in §1). reduceRange exists only for uint8 and int8. */
export function qRange(qtype: QType, options: QRangeOptions = {}): QRange {
  const full = FULL_RANGE[qtype];
  if (full === undefined) throw new RangeError(`unknown quantized type '${String(qtype)}'`);
  if (options.reduceRange === true) {
    const reduced = REDUCED_RANGE[qtype];
    if (reduced === undefined) {
      throw new RangeError(`reduce-range is defined for uint8 and int8 only, not ${qtype}`);
    }
    return reduced;
  }
  if (options.symmetric === true) return SYMMETRIC_RANGE[qtype] ?? full;
  return full;
}

/** Round to nearest, ties to even (what ONNX QuantizeLinear specifies). Never returns -0. */
export function roundHalfToEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f; // exact: x and floor(x) share an exponent range, so no rounding here
  if (d < 0.5) return f + 0;
  if (d > 0.5) return f + 1;
  return (f % 2 === 0 ? f : f + 1) + 0;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function checkQRange(qmin: number, qmax: number): void {
  if (!Number.isInteger(qmin) || !Number.isInteger(qmax) || !(qmin < qmax)) {
    throw new RangeError(`invalid integer range [${qmin}, ${qmax}]`);
  }
}

/**
 * Scale and zero point for the real range [rmin, rmax], exactly as §1 prescribes: 0 is added to
 * the range, s is computed in float64 and stored rounded to float32, a scale below the smallest
 * normal float32 (all-zero or constant-zero tensors) becomes s = 1, z = 0.
 */
export function computeScaleZeroPoint(
  rmin: number,
  rmax: number,
  { qmin, qmax, symmetric, pow2 }: ScaleOptions,
): QuantParams {
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax) || rmin > rmax) {
    throw new RangeError(`invalid real range [${rmin}, ${rmax}]`);
  }
  checkQRange(qmin, qmax);
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  if (symmetric) {
    const a = Math.max(-lo, hi);
    lo = -a;
    hi = a;
  }
  const free = (hi - lo) / (qmax - qmin);
  if (free < FLOAT32_MIN_NORMAL) return { scale: 1, zeroPoint: 0 };
  const s = pow2 === undefined ? free : pow2Bounds(free)[pow2 === 'ceil' ? 1 : 0];
  const scale = Math.fround(s);
  if (!Number.isFinite(scale)) throw new RangeError(`range [${rmin}, ${rmax}] overflows a float32 scale`);
  const zeroPoint = symmetric
    ? roundHalfToEven((qmin + qmax) / 2)
    : clamp(roundHalfToEven(qmin - lo / s), qmin, qmax);
  return { scale, zeroPoint };
}

/** How x / s becomes an integer (before the zero point and the clamp). */
export type QuotientRounding = (x: number, scale: number) => number;

/**
 * Stochastic rounding of the float32 quotient v = x / s: up with probability v - floor(v), so that
 * E[q] = v and the dequantized weight equals x in expectation. One draw per value whatever the
 * value, so element i always takes draw i of the stream.
 */
export function stochasticRounding(rand: () => number): QuotientRounding {
  return (x, scale) => {
    const v = Math.fround(x / scale);
    const u = rand();
    if (!Number.isFinite(v)) return v;
    const f = Math.floor(v);
    return (u < v - f ? f + 1 : f) + 0;
  };
}

/**
 * The powers of two around s > 0 as float32: [largest ≤ s, smallest ≥ s] (equal when s is one),
 * kept within the normal float32 exponents [-126, 127].
 */
export function pow2Bounds(s: number): [number, number] {
  if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`invalid scale ${s}`);
  let e = Math.floor(Math.log2(s));
  while (2 ** e > s) e--; // log2 may be off by one ulp near a power of two
  while (2 ** (e + 1) <= s) e++;
  const lo = Math.max(-126, Math.min(127, e));
  const hi = Math.max(-126, Math.min(127, 2 ** e === s ? e : e + 1));
  return [2 ** lo, 2 ** hi];
}

/** Is v a (normal or subnormal) float32 power of two: mantissa bits 0, or exactly one bit set when subnormal. */
export function isFloat32PowerOfTwo(v: number): boolean {
  const bits = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  if (bits >>> 31) return false;
  const exp = (bits >>> 23) & 0xff;
  const man = bits & 0x7fffff;
  if (exp === 0xff) return false;
  if (exp === 0) return man !== 0 && (man & (man - 1)) === 0;
  return man === 0;
}

/**
 * ONNX QuantizeLinear for one value. x / s is rounded to float32 first because the runtime divides
 * in float32; rounding the float64 quotient instead can disagree on ties. NaN maps to the zero
 * point (it dequantizes to 0); ±Infinity saturates. `round` replaces the rounding (weights only).
 */
export function quantizeValue(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number, round?: QuotientRounding): number {
  const r = round === undefined ? roundHalfToEven(Math.fround(x / scale)) : round(x, scale);
  if (Number.isNaN(r)) return zeroPoint;
  return clamp(r + zeroPoint, qmin, qmax);
}

export function quantizeArray(
  data: Float32Array | ArrayLike<number>,
  scale: number,
  zeroPoint: number,
  qmin: number,
  qmax: number,
): Int32Array {
  checkQRange(qmin, qmax);
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = quantizeValue(data[i], scale, zeroPoint, qmin, qmax);
  return out;
}

/** ONNX DequantizeLinear: (q - z) · s in float32. */
export function dequantizeArray(q: Int32Array | ArrayLike<number>, scale: number, zeroPoint: number): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = (q[i] - zeroPoint) * scale;
  return out;
}

/** Quantize then dequantize, as a QDQ pair would at run time. */
export function fakeQuantize(
  data: Float32Array | ArrayLike<number>,
  scale: number,
  zeroPoint: number,
  qmin: number,
  qmax: number,
): Float32Array {
  return dequantizeArray(quantizeArray(data, scale, zeroPoint, qmin, qmax), scale, zeroPoint);
}

/** Tensor viewed as [outer, channels, inner] around `axis` (negative axes count from the end). */
export interface ChannelLayout {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
}

export function channelLayout(dims: readonly number[], axis: number, length: number): ChannelLayout {
  const rank = dims.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  let size = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d} in [${dims.join(', ')}]`);
    size *= d;
  }
  if (size !== length) throw new RangeError(`dims [${dims.join(', ')}] hold ${size} elements, data has ${length}`);
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= dims[i];
  let inner = 1;
  for (let i = a + 1; i < rank; i++) inner *= dims[i];
  return { outer, channels: dims[a], inner };
}

/** Per-channel min and max along `axis` (NaNs are ignored; an empty channel reports 0, 0). */
export function perChannelMinMax(
  data: Float32Array | ArrayLike<number>,
  dims: readonly number[],
  axis: number,
): { min: Float64Array; max: Float64Array } {
  const { outer, channels, inner } = channelLayout(dims, axis, data.length);
  const min = new Float64Array(channels).fill(Infinity);
  const max = new Float64Array(channels).fill(-Infinity);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let lo = min[c];
      let hi = max[c];
      for (let i = 0; i < inner; i++) {
        const v = data[base + i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
  for (let c = 0; c < channels; c++) {
    if (min[c] > max[c]) min[c] = max[c] = 0;
    min[c] += 0; // -0 → +0, so results do not depend on element order
    max[c] += 0;
  }
  return { min, max };
}

export interface PerChannelOptions extends QRange {
  /**
   * Per-channel lower bounds on the scale (length 1 or C), e.g. from requiredWeightScaleForBias,
   * so that the bias of the same layer fits int32 (§1 "Bias").
   */
  readonly minScales?: Float32Array | ArrayLike<number>;
  /** Range the integers are clamped to, when wider than the one the scales are computed for. */
  readonly clampTo?: QRange;
  /** Rounding of the integers (default: to nearest, ties to even). */
  readonly round?: QuotientRounding;
  /** Power-of-two scales: per channel the one of the two around the free scale with less squared error. */
  readonly pow2?: boolean;
}

export interface PerChannelQuantization {
  readonly q: Int32Array;
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
}

/**
 * Symmetric per-channel weight quantization (§1 "Granularity"). Every channel gets the same zero
 * point, round((qmin + qmax) / 2), including all-zero channels (scale 1): ORT's CPU kernels need
 * equal zero points, so the degenerate-scale rule of computeScaleZeroPoint does not pick z here.
 */
export function quantizeWeightPerChannel(
  data: Float32Array | ArrayLike<number>,
  dims: readonly number[],
  axis: number,
  { qmin, qmax, minScales, clampTo, round, pow2 }: PerChannelOptions,
): PerChannelQuantization {
  checkQRange(qmin, qmax);
  const { outer, channels, inner } = channelLayout(dims, axis, data.length);
  if (minScales !== undefined && minScales.length !== 1 && minScales.length !== channels) {
    throw new RangeError(`minScales has ${minScales.length} entries, expected 1 or ${channels}`);
  }
  const { min, max } = perChannelMinMax(data, dims, axis);
  const zp = roundHalfToEven((qmin + qmax) / 2);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let s = computeScaleZeroPoint(min[c], max[c], { qmin, qmax, symmetric: true }).scale;
    const floor = minScales === undefined ? 0 : minScales[minScales.length === 1 ? 0 : c];
    if (floor > s) s = floor;
    scales[c] = s;
  }
  const zeroPoints = new Int32Array(channels).fill(zp);
  const store = clampTo ?? { qmin, qmax };
  if (pow2) {
    const floor = (c: number) => (minScales === undefined ? 0 : minScales[minScales.length === 1 ? 0 : c]!);
    choosePow2Scales(data, (i) => Math.floor(i / inner) % channels, scales, zeroPoints, floor, store);
  }
  const q = quantizeWithParams(data, dims, axis, scales, zeroPoints, store, round);
  return { q, scales, zeroPoints };
}

/**
 * Quantizes with given scales and zero points (one per channel of `axis`, or one for the tensor
 * when axis is null), clamping to `clampTo`.
 */
export function quantizeWithParams(
  data: Float32Array | ArrayLike<number>,
  dims: readonly number[],
  axis: number | null,
  scales: ArrayLike<number>,
  zeroPoints: ArrayLike<number>,
  clampTo: QRange,
  round?: QuotientRounding,
): Int32Array {
  const { outer, channels, inner } = axis === null ? { outer: 1, channels: 1, inner: data.length } : channelLayout(dims, axis, data.length);
  const q = new Int32Array(data.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c];
      const z = zeroPoints[c];
      for (let i = 0; i < inner; i++) q[base + i] = quantizeValue(data[base + i], s, z, clampTo.qmin, clampTo.qmax, round);
    }
  }
  return q;
}

/**
 * --pow2-scales for weights: each group's scale becomes the power of two just below or just above
 * its free scale, whichever gives the smaller squared error over the group's values (ties: above,
 * which keeps the range). Below is allowed only when it stays ≥ the group's floor (the bias
 * constraint). `groupOf(i)` is element i's group; edits `scales` in place.
 */
export function choosePow2Scales(
  data: Float32Array | ArrayLike<number>,
  groupOf: (i: number) => number,
  scales: Float32Array,
  zeroPoints: ArrayLike<number>,
  floorOf: (g: number) => number,
  clampTo: QRange,
): void {
  const n = scales.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  for (let g = 0; g < n; g++) {
    [lo[g], hi[g]] = pow2Bounds(scales[g]!);
    if (lo[g]! < floorOf(g)) lo[g] = hi[g]!;
  }
  const errLo = new Float64Array(n);
  const errHi = new Float64Array(n);
  const err = (x: number, s: number, z: number) => (x - (quantizeValue(x, s, z, clampTo.qmin, clampTo.qmax) - z) * s) ** 2;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (Number.isNaN(x)) continue;
    const g = groupOf(i);
    const z = zeroPoints[zeroPoints.length === 1 ? 0 : g]!;
    if (lo[g] !== hi[g]) errLo[g] += err(x, lo[g]!, z);
    errHi[g] += err(x, hi[g]!, z);
  }
  for (let g = 0; g < n; g++) scales[g] = lo[g] !== hi[g] && errLo[g]! < errHi[g]! ? lo[g]! : hi[g]!;
}

export interface BlockOptions extends QRange {
  /** Range the integers are clamped to, when wider than the one the scales are computed for. */
  readonly clampTo?: QRange;
  readonly round?: QuotientRounding;
  /** Power-of-two scales, chosen per block as in choosePow2Scales. */
  readonly pow2?: boolean;
}

export interface BlockQuantization {
  readonly q: Int32Array;
  /** One per block, in the layout of ONNX blocked quantization: dims with dims[axis] → ceil(dims[axis] / blockSize). */
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
  readonly scaleDims: number[];
}

/**
 * Symmetric blocked weight quantization (ONNX QuantizeLinear/DequantizeLinear `block_size`, opset
 * 21): blocks of `blockSize` consecutive values along `axis` (the last block may be shorter), one
 * scale each, s = max|w| / qmax as for a channel (1 for an all-zero block), zero point the middle
 * of the range. Element [o, d, i] (around axis) uses scale [o, floor(d / blockSize), i].
 */
export function quantizeWeightBlocks(
  data: Float32Array | ArrayLike<number>,
  dims: readonly number[],
  axis: number,
  blockSize: number,
  { qmin, qmax, clampTo, round, pow2 }: BlockOptions,
): BlockQuantization {
  checkQRange(qmin, qmax);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`invalid block size ${blockSize}`);
  const { outer, channels: d, inner } = channelLayout(dims, axis, data.length);
  const blocks = Math.ceil(d / blockSize);
  const n = outer * blocks * inner;
  const groupOf = (i: number) => {
    const o = Math.floor(i / (d * inner));
    const k = Math.floor(i / inner) % d;
    return (o * blocks + Math.floor(k / blockSize)) * inner + (i % inner);
  };
  const min = new Float64Array(n);
  const max = new Float64Array(n);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const g = groupOf(i);
    if (v < min[g]!) min[g] = v;
    if (v > max[g]!) max[g] = v;
  }
  const scales = new Float32Array(n);
  for (let g = 0; g < n; g++) scales[g] = computeScaleZeroPoint(min[g]!, max[g]!, { qmin, qmax, symmetric: true }).scale;
  const zeroPoints = new Int32Array(n).fill(roundHalfToEven((qmin + qmax) / 2));
  const store = clampTo ?? { qmin, qmax };
  if (pow2) choosePow2Scales(data, groupOf, scales, zeroPoints, () => 0, store);
  const q = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const g = groupOf(i);
    q[i] = quantizeValue(data[i]!, scales[g]!, zeroPoints[g]!, store.qmin, store.qmax, round);
  }
  const a = axis < 0 ? axis + dims.length : axis;
  const scaleDims = dims.map((x, i) => (i === a ? blocks : x));
  return { q, scales, zeroPoints, scaleDims };
}

/**
 * Symmetric int4 blocks of `blockSize` values along K of a [K, N] matrix (MatMulNBits): per block
 * and column s = max|w| / 7 (1 for an all-zero block), q = clamp(round(w / s), -8, 7) with
 * Math.round's ties on the float64 quotient (what the first implementation wrote) unless `round`
 * is given. Scales are [N, blocks], q is [K, N]. The blocks are quantizeWeightBlocks' along axis 0.
 */
export function quantizeInt4Blocks(w: Float32Array, k: number, n: number, blockSize: number, round?: QuotientRounding): { q: Int32Array; scales: Float32Array } {
  const b = quantizeWeightBlocks(w, [k, n], 0, blockSize, { qmin: -7, qmax: 7, clampTo: { qmin: -8, qmax: 7 }, round: round ?? ((x, s) => Math.round(x / s)) });
  const blocks = Math.ceil(k / blockSize);
  const scales = new Float32Array(n * blocks);
  for (let col = 0; col < n; col++) for (let j = 0; j < blocks; j++) scales[col * blocks + j] = b.scales[j * n + col]!;
  return { q: b.q, scales };
}
