// Int32 bias quantization for Conv/Gemm (ALGORITHMS.md §1, "Bias").
//
// The bias of y = W·x + b is added to the int32 accumulator of Σ q_w·q_x, so its scale is fixed
// at s_x·s_w (per output channel when the weight is per-channel) and its zero point at 0. Nothing
// can be chosen for the bias itself; when b / (s_x·s_w) does not fit int32 (a channel whose weight
// scale is tiny, e.g. BN gamma ≈ 0), the only remedy is a larger weight scale for that channel.
//
// Two ways to use this module:
//   1. Up front: s_w := max(s_w, requiredWeightScaleForBias(b, s_x)) per channel, quantize the
//      weight with those scales (quantizeWeightPerChannel's minScales), then quantizeBias.
//   2. After the fact: quantizeBias returns `weightScales` (raised where needed) and
//      `adjustedChannels`; if that list is non-empty the weight MUST be re-quantized with
//      `weightScales`, and the change should be reported to the user.

import { roundHalfToEven } from './qparams.js';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Smallest positive float32 ≥ v (for v > 0). */
export function float32AtLeast(v: number): number {
  const r = Math.fround(v);
  if (r >= v) return r;
  f32[0] = r;
  u32[0] = u32[0] + 1; // r > 0: the next bit pattern is the next float32 up
  return f32[0];
}

/**
 * Per bias element, the smallest float32 weight scale s_w with |round(b / (s_x·s_w))| ≤ INT32_MAX,
 * computed as |b| / (s_x·INT32_MAX) rounded up to float32. 0 where b = 0 (any scale works).
 */
export function requiredWeightScaleForBias(
  bias: Float32Array | ArrayLike<number>,
  inputScale: number,
): Float32Array {
  if (!(inputScale > 0) || !Number.isFinite(inputScale)) throw new RangeError(`invalid input scale ${inputScale}`);
  const out = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const b = Math.abs(bias[c]);
    if (!Number.isFinite(b)) throw new RangeError(`bias[${c}] is not finite`);
    out[c] = b === 0 ? 0 : float32AtLeast(b / (inputScale * INT32_MAX));
  }
  return out;
}

export interface BiasQuantization {
  /** int32 bias values, zero point 0. */
  readonly q: Int32Array;
  /** Bias scales s_x·s_w as stored (float32), one per entry of `weightScales`. */
  readonly scales: Float32Array;
  /** Weight scales the bias was quantized against: the input ones, raised where the bias overflowed. */
  readonly weightScales: Float32Array;
  /** Bias elements whose weight scale had to be raised (empty in the normal case). */
  readonly adjustedChannels: number[];
}

/**
 * q = round(b / (s_x·s_w)) in float64, zero point 0 (§1). weightScales has length 1 (per-tensor
 * weight: one shared scale, raised to fit every bias element) or C (per-channel).
 */
export function quantizeBias(
  bias: Float32Array | ArrayLike<number>,
  inputScale: number,
  weightScales: Float32Array | ArrayLike<number>,
): BiasQuantization {
  const n = bias.length;
  const perChannel = weightScales.length !== 1;
  if (perChannel && weightScales.length !== n) {
    throw new RangeError(`weight has ${weightScales.length} scales, bias has ${n} elements (expected 1 or ${n})`);
  }
  const required = requiredWeightScaleForBias(bias, inputScale);
  const sw = Float32Array.from(weightScales);
  for (let i = 0; i < sw.length; i++) {
    if (!(sw[i] > 0) || !Number.isFinite(sw[i])) throw new RangeError(`invalid weight scale ${sw[i]} at ${i}`);
  }
  const adjustedChannels: number[] = [];
  for (let c = 0; c < n; c++) {
    const k = perChannel ? c : 0;
    if (required[c] > sw[k] && overflows(bias[c], inputScale * sw[k])) adjustedChannels.push(c);
  }
  for (const c of adjustedChannels) {
    const k = perChannel ? c : 0;
    if (required[c] > sw[k]) sw[k] = required[c];
  }
  const q = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const r = roundHalfToEven(bias[c] / (inputScale * sw[perChannel ? c : 0]));
    q[c] = r < INT32_MIN ? INT32_MIN : r > INT32_MAX ? INT32_MAX : r;
  }
  const scales = new Float32Array(sw.length);
  for (let i = 0; i < sw.length; i++) scales[i] = inputScale * sw[i];
  return { q, scales, weightScales: sw, adjustedChannels };
}

function overflows(b: number, scale: number): boolean {
  const r = roundHalfToEven(b / scale);
  return r > INT32_MAX || r < INT32_MIN;
}

/**
 * The int32 bias for scales already fixed by the plan (s_x·s_w as stored, float32): q =
 * round(b / scale) in float64, saturated to int32, zero point 0. `scales` has length 1 or b's.
 */
export function quantizeBiasWithScales(bias: Float64Array | ArrayLike<number>, scales: ArrayLike<number>): Int32Array {
  const perChannel = scales.length > 1;
  const q = new Int32Array(bias.length);
  for (let i = 0; i < bias.length; i++) {
    const r = roundHalfToEven(bias[i] / scales[perChannel ? i : 0]);
    q[i] = Math.max(INT32_MIN, Math.min(INT32_MAX, r));
  }
  return q;
}
