// quantErrorSums — the WebAssembly SIMD kernel for arrays of ≥ QE_SIMD_MIN_LENGTH values — against
// the scalar loop that defines it, value by value on adversarial values and in sum on random data.
import { describe, expect, it } from 'vitest';
import {
  QE_SIMD_MIN_LENGTH, emptySums, qRange, quantErrorSums, quantErrorSumsScalar,
  type Counterpart, type QType, type QuantErrorParams, type QuantErrorSums,
} from '../../src/math/index.js';
import { quantErrorSimdAvailable } from '../../src/math/quant-error.js';
import { gaussian, mulberry32 } from './prng.js';

const params = (dtype: QType, scale: number, zeroPoint: number): QuantErrorParams => ({ scale, zeroPoint, ...qRange(dtype) });

const INTEGER: Record<string, (n: number) => Counterpart> = {
  uint8: (n) => new Uint8Array(n), int8: (n) => new Int8Array(n), uint16: (n) => new Uint16Array(n), int16: (n) => new Int16Array(n),
};

function both(x: Float32Array, q: Counterpart, p: QuantErrorParams): [QuantErrorSums, QuantErrorSums] {
  const simd = emptySums();
  const scalar = emptySums();
  quantErrorSums(x, q, p, simd);
  quantErrorSumsScalar(x, q, p, scalar);
  return [simd, scalar];
}

describe('quantErrorSums', () => {
  it('has its WebAssembly SIMD kernel in this runtime (Node ≥ 16)', () => {
    expect(quantErrorSimdAvailable()).toBe(true);
  });

  // Each value alone in an array of zeros whose counterpart dequantizes to 0 (q = z): the sums are
  // that one value's terms, so the kernel must give them bit for bit, in every lane and in the tail.
  const s = Math.fround(0.0371);
  const tricky = (scale: number, lo: number, hi: number): number[] => {
    const out = [NaN, Infinity, -Infinity, -0, 1e-45, -1e-45, 1.2e-38, 3.4e38, -3.4e38, scale * 1e-3];
    for (const k of [0, 1, 2, 3, 7, 100, lo, hi, lo - 1, hi + 1, -1, -2, -3, -8]) {
      const tie = (k + 0.5) * scale;
      out.push(tie, -tie, tie * (1 + 2 ** -23), tie * (1 - 2 ** -23), k * scale, Math.fround(k * scale) * (1 + 2 ** -22));
    }
    return out.map(Math.fround);
  };
  const cases: [string, QType, number, number][] = [
    ['uint8, z 128', 'uint8', s, 128], ['uint8, z 0', 'uint8', s, 0], ['int8, z -5', 'int8', s, -5],
    ['int16, z 0', 'int16', Math.fround(1e-4), 0], ['uint16, z 1000', 'uint16', Math.fround(2 ** -10), 1000],
    ['int8, tiny scale', 'int8', Math.fround(1e-30), 0], ['int8, huge scale', 'int8', Math.fround(3e10), 3],
  ];
  it.each(cases)('%s: every tricky value gives the scalar loop\'s terms bit for bit, in each lane and the tail', (_n, dtype, scale, z) => {
    const p = params(dtype, scale, z);
    const values = tricky(scale, p.qmin - z, p.qmax - z);
    const n = QE_SIMD_MIN_LENGTH + 3; // 3 values in the scalar tail
    let checked = 0;
    for (const v of values) {
      for (const at of [0, 1, 2, 3, n - 1]) {
        for (const kind of ['float32', dtype]) {
          const x = new Float32Array(n);
          x[at] = v;
          const q = kind === 'float32' ? new Float32Array(n) : INTEGER[kind]!(n).fill(z);
          if (kind === 'float32') q[at] = v * 0.75; else q[at] = Math.max(p.qmin, Math.min(p.qmax, z + 3));
          const [a, b] = both(x, q, p);
          for (const k of Object.keys(a) as (keyof QuantErrorSums)[]) {
            if (!Object.is(a[k], b[k])) expect.fail(`x=${v} at ${at}, ${kind}: ${k} ${a[k]} vs scalar ${b[k]}`);
          }
          checked++;
        }
      }
    }
    expect(checked).toBe(values.length * 10);
  });

  // Random activations: clipped counts equal, sums equal up to the order of float64 additions.
  const random: [string, QType, number, number][] = [
    ['uint8', 'uint8', Math.fround(6 / 255), 100], ['int8', 'int8', Math.fround(3 / 127), 0], ['int16', 'int16', Math.fround(8 / 32767), 0], ['uint16', 'uint16', Math.fround(8 / 65535), 30000],
  ];
  it.each(random)('%s: 70,001 gaussian values (chunks and a tail) with float and integer counterparts', (_n, dtype, scale, z) => {
    const x = gaussian(70_001, 11, 2);
    const p = params(dtype, scale, z);
    const rand = mulberry32(5);
    const ints = INTEGER[dtype]!(x.length);
    for (let i = 0; i < x.length; i++) ints[i] = Math.max(p.qmin, Math.min(p.qmax, Math.round(x[i]! / scale) + z + (rand() < 0.1 ? 1 : 0)));
    for (const q of [Float32Array.from(x, (v) => v * 1.01), ints]) {
      const [a, b] = both(x, q, p);
      expect(a.clipped).toBe(b.clipped);
      for (const k of ['signal', 'clipNoise', 'roundNoise', 'accNoise'] as const) {
        expect(Math.abs(a[k] - b[k])).toBeLessThanOrEqual(1e-12 * Math.abs(b[k]));
      }
      expect(b.clipped).toBeGreaterThan(0); // the data does clip: both branches are exercised
    }
  });

  it('falls back to the scalar loop, exactly, for a scale float32 does not hold and for float64 counterparts', () => {
    const x = gaussian(4096, 3, 1);
    const p = params('uint8', 0.1, 128); // 0.1 is not a float32
    const [a, b] = both(x, new Uint8Array(4096).fill(130), p);
    expect(a).toEqual(b);
    const [c, d] = both(x, Float64Array.from(x), params('int8', s, 0));
    expect(c).toEqual(d);
  });

  it('adds into the sums it is given (batches accumulate)', () => {
    const x = gaussian(10_000, 4, 1);
    const p = params('int8', s, 0);
    const q = Float32Array.from(x, (v) => v + 0.01);
    const whole = emptySums();
    quantErrorSums(x, q, p, whole);
    const parts = emptySums();
    quantErrorSums(x.subarray(0, 3001), q.subarray(0, 3001), p, parts);
    quantErrorSums(x.subarray(3001), q.subarray(3001), p, parts);
    expect(parts.clipped).toBe(whole.clipped);
    expect(parts.signal).toBeCloseTo(whole.signal, 6);
    expect(parts.accNoise).toBeCloseTo(whole.accNoise, 9);
  });
});
