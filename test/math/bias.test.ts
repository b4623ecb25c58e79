import { describe, expect, it } from 'vitest';
import { INT32_MAX, quantizeBias, requiredWeightScaleForBias } from '../../src/math/index.js';

/** The float32 just below a positive float32 v. */
function prevFloat32(v: number): number {
  const f = new Float32Array([v]);
  new Uint32Array(f.buffer)[0] -= 1;
  return f[0];
}

describe('quantizeBias', () => {
  it('per-channel: scale = s_x·s_w, zero point 0, q = round(b / scale)', () => {
    const sx = Math.fround(0.02);
    const sw = new Float32Array([0.01, 0.003, 0.5]);
    const b = new Float32Array([0.37, -1.2, 3]);
    const r = quantizeBias(b, sx, sw);
    expect(r.adjustedChannels).toEqual([]);
    for (let c = 0; c < 3; c++) {
      const scale = sx * sw[c]; // float64 product of the two float32 scales
      expect(r.scales[c]).toBe(Math.fround(scale));
      expect(r.q[c]).toBe(Math.round(b[c] / scale)); // no ties in this data
    }
    expect(Array.from(r.weightScales)).toEqual(Array.from(sw));
  });

  it('per-tensor weight scale (length 1) serves every bias element', () => {
    const r = quantizeBias([1, -1], 0.5, [0.25]);
    expect(Array.from(r.scales)).toEqual([0.125]);
    expect(Array.from(r.q)).toEqual([8, -8]);
  });

  it('overflow: raises the weight scale of the offending channels to the minimum that fits', () => {
    const sx = 0.01;
    const sw = new Float32Array([1e-9, 0.01, 1e-12]);
    const b = new Float32Array([1000, 0.5, -2000]);
    // Channels 0 and 2 would need |q| = 1e14 and 2e17: far beyond int32.
    const r = quantizeBias(b, sx, sw);
    expect(r.adjustedChannels).toEqual([0, 2]);
    expect(r.weightScales[1]).toBe(sw[1]);
    for (const c of [0, 2]) {
      const s = r.weightScales[c];
      expect(s).toBeGreaterThan(sw[c]);
      // Fits now …
      expect(Math.abs(b[c]) / (sx * s)).toBeLessThanOrEqual(INT32_MAX);
      expect(Math.abs(r.q[c])).toBeLessThanOrEqual(INT32_MAX);
      // … and is minimal: the next float32 down would not.
      expect(Math.abs(b[c]) / (sx * prevFloat32(s))).toBeGreaterThan(INT32_MAX);
      // So q lands within one float32 step (relative 2^-23) of the int32 edge, with the bias' sign.
      expect(Math.abs(r.q[c])).toBeGreaterThan(INT32_MAX / (1 + 2 ** -23) - 1);
      expect(Math.sign(r.q[c])).toBe(Math.sign(b[c]));
      expect(r.scales[c]).toBe(Math.fround(sx * s));
    }
  });

  it('requiredWeightScaleForBias gives the same minimal scales up front', () => {
    const req = requiredWeightScaleForBias([1000, 0, -2000], 0.01);
    expect(req[1]).toBe(0);
    const r = quantizeBias([1000, 0, -2000], 0.01, [1e-9, 1e-9, 1e-12]);
    expect(r.weightScales[0]).toBe(req[0]);
    expect(r.weightScales[2]).toBe(req[2]);
    // Quantizing against the raised scales from the start needs no further adjustment.
    expect(quantizeBias([1000, 0, -2000], 0.01, [req[0], 1e-9, req[2]]).adjustedChannels).toEqual([]);
  });

  it('rejects mismatched lengths and invalid scales', () => {
    expect(() => quantizeBias([1, 2, 3], 0.1, [1, 1])).toThrow(RangeError);
    expect(() => quantizeBias([1], 0, [1])).toThrow(RangeError);
    expect(() => quantizeBias([1], 0.1, [0])).toThrow(RangeError);
  });
});
