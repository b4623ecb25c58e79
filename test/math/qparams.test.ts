import { describe, expect, it } from 'vitest';
import {
  FLOAT32_MIN_NORMAL,
  computeScaleZeroPoint,
  dequantizeArray,
  fakeQuantize,
  perChannelMinMax,
  qRange,
  quantizeArray,
  quantizeValue,
  quantizeWeightPerChannel,
  roundHalfToEven,
  type QType,
} from '../../src/math/index.js';
import { gaussian, mulberry32 } from './prng.js';

describe('qRange: the table of ALGORITHMS.md §1', () => {
  const table: [QType, { symmetric?: boolean; reduceRange?: boolean }, number, number][] = [
    ['uint8', {}, 0, 255],
    ['uint8', { reduceRange: true }, 0, 127],
    ['uint8', { symmetric: true }, 0, 255],
    ['int8', {}, -128, 127],
    ['int8', { symmetric: true }, -127, 127],
    ['int8', { reduceRange: true }, -64, 64],
    ['int8', { symmetric: true, reduceRange: true }, -64, 64],
    ['int16', {}, -32768, 32767],
    ['int16', { symmetric: true }, -32767, 32767],
    ['uint16', {}, 0, 65535],
    ['int4', {}, -8, 7],
    ['int4', { symmetric: true }, -7, 7],
    ['uint4', {}, 0, 15],
  ];
  it.each(table)('%s %o → [%i, %i]', (qtype, opts, qmin, qmax) => {
    expect(qRange(qtype, opts)).toEqual({ qmin, qmax });
  });
  it('reduce-range is only defined for 8-bit types', () => {
    expect(() => qRange('int16', { reduceRange: true })).toThrow(RangeError);
    expect(() => qRange('int4', { reduceRange: true })).toThrow(RangeError);
  });
});

describe('roundHalfToEven', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [2.4999999, 2],
    [-2.5000001, -3],
    [7, 7],
  ])('%d → %d', (x, r) => {
    expect(roundHalfToEven(x)).toBe(r); // toBe is Object.is: also rejects -0 for 0
  });
});

describe('computeScaleZeroPoint', () => {
  const u8 = { ...qRange('uint8'), symmetric: false };
  it('uint8 asymmetric: s = (rmax − rmin)/255, z = round(−rmin/s)', () => {
    // [-1, 3]: s = 4/255, -rmin/s = 255/4 = 63.75 → 64.
    expect(computeScaleZeroPoint(-1, 3, u8)).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 64 });
  });
  it('includes 0 in the range: [2, 4] → z = 0, [-4, -2] → z = 255', () => {
    expect(computeScaleZeroPoint(2, 4, u8)).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 0 });
    expect(computeScaleZeroPoint(-4, -2, u8)).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 255 });
  });
  it('int8 asymmetric [-1, 3]: z = round(-128 + 63.75) = -64', () => {
    expect(computeScaleZeroPoint(-1, 3, { qmin: -128, qmax: 127, symmetric: false }).zeroPoint).toBe(-64);
  });
  it('int8 symmetric [-127, 127]: z = 0, s = max|r|/127', () => {
    expect(computeScaleZeroPoint(-2, 5, { ...qRange('int8', { symmetric: true }), symmetric: true })).toEqual({
      scale: Math.fround(5 / 127),
      zeroPoint: 0,
    });
    // Full int8 range, symmetric: (−128 + 127)/2 = −0.5 rounds to even 0 (not −0).
    expect(computeScaleZeroPoint(-2, 5, { qmin: -128, qmax: 127, symmetric: true }).zeroPoint).toBe(0);
  });
  it('uint8 symmetric: z = round(127.5) = 128', () => {
    expect(computeScaleZeroPoint(-1, 1, { qmin: 0, qmax: 255, symmetric: true }).zeroPoint).toBe(128);
  });
  it('all-zero or sub-normal ranges: s = 1, z = 0', () => {
    expect(computeScaleZeroPoint(0, 0, u8)).toEqual({ scale: 1, zeroPoint: 0 });
    expect(computeScaleZeroPoint(0, 0, { qmin: -127, qmax: 127, symmetric: true })).toEqual({ scale: 1, zeroPoint: 0 });
    expect(computeScaleZeroPoint(0, 1e-40, u8)).toEqual({ scale: 1, zeroPoint: 0 });
    // Just at the smallest normal float32 the scale is kept.
    expect(computeScaleZeroPoint(0, FLOAT32_MIN_NORMAL * 255, u8).scale).toBe(FLOAT32_MIN_NORMAL);
  });
  it('stores the scale as float32', () => {
    const { scale } = computeScaleZeroPoint(-0.1, 0.3, u8);
    expect(scale).toBe(Math.fround(scale));
    expect(scale).not.toBe(0.4 / 255);
  });
  it('rejects non-finite or inverted ranges', () => {
    expect(() => computeScaleZeroPoint(NaN, 1, u8)).toThrow(RangeError);
    expect(() => computeScaleZeroPoint(2, 1, u8)).toThrow(RangeError);
  });
});

describe('quantize / dequantize', () => {
  it('QuantizeLinear: half to even, zero point, saturation', () => {
    const s = 0.5;
    expect(quantizeValue(1.25, s, 10, 0, 255)).toBe(12); // 2.5 → 2
    expect(quantizeValue(1.75, s, 10, 0, 255)).toBe(14); // 3.5 → 4
    expect(quantizeValue(1000, s, 10, 0, 255)).toBe(255);
    expect(quantizeValue(-1000, s, 10, 0, 255)).toBe(0);
    expect(quantizeValue(Infinity, s, 10, 0, 255)).toBe(255);
    expect(quantizeValue(NaN, s, 10, 0, 255)).toBe(10);
  });
  it('fake-quantized values are within s/2 inside the range and clipped outside', () => {
    const x = gaussian(10_000, 1);
    const { scale, zeroPoint } = computeScaleZeroPoint(-2, 2, { qmin: 0, qmax: 255, symmetric: false });
    const y = fakeQuantize(x, scale, zeroPoint, 0, 255);
    const lo = (0 - zeroPoint) * scale;
    const hi = (255 - zeroPoint) * scale;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v >= lo && v <= hi) expect(Math.abs(y[i] - v)).toBeLessThanOrEqual(scale / 2 + 1e-7);
      else expect(y[i]).toBeCloseTo(v < lo ? lo : hi, 6);
    }
    expect(Array.from(dequantizeArray(quantizeArray([0], scale, zeroPoint, 0, 255), scale, zeroPoint))).toEqual([0]);
  });
});

describe('per-channel weights', () => {
  // Naive multi-index walk, independent of the [outer, C, inner] decomposition.
  function channelOf(flat: number, dims: number[], axis: number): number {
    let rest = flat;
    const idx: number[] = [];
    for (let d = dims.length - 1; d >= 0; d--) {
      idx[d] = rest % dims[d];
      rest = Math.floor(rest / dims[d]);
    }
    return idx[axis];
  }

  function weights(dims: number[], axis: number, seed: number): Float32Array {
    const n = dims.reduce((a, b) => a * b, 1);
    const g = gaussian(n, seed);
    const rand = mulberry32(seed + 1);
    const gain = Array.from({ length: dims[axis] }, (_, c) => (c === 1 ? 0 : c === 2 ? 1e-6 : 0.01 + 3 * rand()));
    return g.map((v, i) => v * gain[channelOf(i, dims, axis)]);
  }

  it.each([
    [[6, 3, 3, 3], 0], // Conv weight [C_out, C_in, kH, kW]
    [[20, 5], 1], // MatMul weight [K, N]: channels along axis 1
    [[4, 5, 2, 2], 1], // ConvTranspose [C_in, C_out, k, k]
  ])('dims %j axis %i: min/max, equal zero points, error ≤ s/2 per channel', (dims, axis) => {
    const w = weights(dims, axis, 7);
    const C = dims[axis];
    const { min, max } = perChannelMinMax(w, dims, axis);
    const amax = new Array<number>(C).fill(0);
    const emin = new Array<number>(C).fill(Infinity);
    const emax = new Array<number>(C).fill(-Infinity);
    w.forEach((v, i) => {
      const c = channelOf(i, dims, axis);
      amax[c] = Math.max(amax[c], Math.abs(v));
      emin[c] = Math.min(emin[c], v);
      emax[c] = Math.max(emax[c], v);
    });
    // -0 (a zero channel times a negative sample) is reported as +0.
    expect(Array.from(min)).toEqual(emin.map((v) => v + 0));
    expect(Array.from(max)).toEqual(emax.map((v) => v + 0));

    const { q, scales, zeroPoints } = quantizeWeightPerChannel(w, dims, axis, qRange('int8', { symmetric: true }));
    expect(Array.from(zeroPoints)).toEqual(new Array<number>(C).fill(0));
    for (let c = 0; c < C; c++) {
      expect(scales[c]).toBe(amax[c] === 0 ? 1 : Math.fround(amax[c] / 127));
    }
    w.forEach((v, i) => {
      const c = channelOf(i, dims, axis);
      const back = (q[i] - zeroPoints[c]) * scales[c];
      expect(Math.abs(back - v)).toBeLessThanOrEqual(scales[c] / 2 * (1 + 1e-6));
      expect(q[i]).toBeGreaterThanOrEqual(-127);
      expect(q[i]).toBeLessThanOrEqual(127);
      if (c === 1) expect(back).toBe(0); // the all-zero channel
    });
  });

  it('uint8 symmetric: every channel, even an all-zero one, gets z = 128', () => {
    const w = new Float32Array([0, 0, 1, -2]);
    const r = quantizeWeightPerChannel(w, [2, 2], 0, { qmin: 0, qmax: 255 });
    expect(Array.from(r.zeroPoints)).toEqual([128, 128]);
    expect(Array.from(r.q.slice(0, 2))).toEqual([128, 128]);
  });

  it('minScales raises a channel scale', () => {
    const w = new Float32Array([1, -1, 0.001, 0.002]);
    const r = quantizeWeightPerChannel(w, [2, 2], 0, { qmin: -127, qmax: 127, minScales: [0, 0.5] });
    expect(r.scales[0]).toBe(Math.fround(1 / 127));
    expect(r.scales[1]).toBe(0.5);
    expect(Array.from(r.q.slice(2))).toEqual([0, 0]);
  });

  it('rejects dims that do not match the data', () => {
    expect(() => perChannelMinMax(new Float32Array(5), [2, 2], 0)).toThrow(RangeError);
    expect(() => perChannelMinMax(new Float32Array(4), [2, 2], 2)).toThrow(RangeError);
  });
});
