// observe(Float32Array) — the WebAssembly SIMD kernel for arrays of ≥ 2048 values, the scalar loop
// below that — against a plain per-value reference, on adversarial data.
import { describe, expect, it } from 'vitest';
import { MIN_WIDTH_EXP, StreamingHistogram } from '../../src/math/index.js';
import { gaussian, mulberry32 } from './prng.js';
import { simdBinner } from '../../src/math/histogram-simd.js';

/**
 * The definition, value by value: sign, floor(|x| / 2^e), and growth by regrouping (bin j → j >> 1
 * per doubling) until max|x| < bins·2^e.
 */
class Reference {
  exp = MIN_WIDTH_EXP;
  readonly pos: number[];
  readonly neg: number[];
  count = 0;
  zeros = 0;
  negatives = 0;
  nan = 0;
  posInf = 0;
  negInf = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly bins: number) {
    this.pos = new Array<number>(bins).fill(0);
    this.neg = new Array<number>(bins).fill(0);
  }

  observe(data: Float32Array): this {
    for (const v of data) {
      if (Number.isNaN(v)) this.nan++;
      else if (v === Infinity) this.posInf++;
      else if (v === -Infinity) this.negInf++;
      else this.add(v);
    }
    return this;
  }

  add(v: number): void {
    const a = Math.abs(v);
    while (!(a < this.bins * 2 ** this.exp)) {
      for (const half of [this.pos, this.neg]) {
        for (let j = 0; j < this.bins; j++) {
          const c = half[j]!;
          half[j] = 0;
          half[j >> 1] += c;
        }
      }
      this.exp++;
    }
    const k = Math.floor(a / 2 ** this.exp);
    if (v < 0) {
      this.neg[k]++;
      this.negatives++;
    } else {
      this.pos[k]++;
    }
    if (v === 0) this.zeros++;
    this.count++;
    this.min = Math.min(this.min, v);
    this.max = Math.max(this.max, v);
  }

  toJSON(): object {
    const empty = this.count === 0;
    return {
      format: 'qtool.streaming-histogram',
      version: 1,
      bins: this.bins,
      widthExp: this.exp,
      count: this.count,
      zeros: this.zeros,
      negatives: this.negatives,
      nan: this.nan,
      posInf: this.posInf,
      negInf: this.negInf,
      min: empty ? null : this.min + 0,
      max: empty ? null : this.max + 0,
      pos: this.pos,
      neg: this.neg,
    };
  }
}

function fromBits(bits: number[]): Float32Array {
  return new Float32Array(new Int32Array(bits).buffer);
}

/** NaN with payloads, ±Infinity, ±0, subnormals, the largest float32. */
const SPECIALS = fromBits([
  0x7fc00000, 0x7f800001, 0xffc00001 | 0, 0x7fffffff, 0xffffffff | 0, 0x7fa00000,
  0x7f800000, 0xff800000 | 0,
  0x00000000, 0x80000000 | 0,
  0x00000001, 0x80000001 | 0, 0x00000002, 0x007fffff, 0x807fffff | 0, 0x00800000,
  0x7f7fffff, 0xff7fffff | 0,
]);

/** `n` Gaussian values with `inserts` written at the given positions. */
function withInserts(n: number, seed: number, sigma: number, inserts: [number, number][]): Float32Array {
  const x = gaussian(n, seed, sigma);
  for (const [i, v] of inserts) x[i] = v;
  return x;
}

function same(h: StreamingHistogram, r: Reference): void {
  expect(JSON.stringify(h.toJSON())).toBe(JSON.stringify(r.toJSON()));
  expect(Object.is(h.min, -0) || Object.is(h.max, -0)).toBe(false);
}

function check(batches: Float32Array[], bins = 2048): StreamingHistogram {
  const h = new StreamingHistogram(bins);
  const r = new Reference(bins);
  for (const b of batches) {
    h.observe(b);
    r.observe(b);
    same(h, r);
  }
  return h;
}

// Node 20+ runs WebAssembly SIMD: a kernel that fails to assemble or compile must fail here, not
// fall back to the scalar loop unnoticed (the comparisons below would still pass on that loop).
describe('the WebAssembly SIMD kernel', () => {
  it('compiles for the default 2048 bins and for other multiples of 4', () => {
    for (const bins of [2048, 4, 64, 1 << 16]) expect(simdBinner(bins), `${bins} bins`).not.toBeNull();
    expect(simdBinner(6)).toBeNull(); // not a multiple of 4: the scalar loop
  });
});

describe('observe(Float32Array) against the per-value definition', () => {
  it('short arrays (scalar loop), lengths 0, 1, 3, 5 and more than one call', () => {
    const rand = mulberry32(7);
    const one = (): number => (rand() < 0.3 ? SPECIALS[Math.floor(rand() * SPECIALS.length)]! : (rand() - 0.5) * 8);
    const pick = (n: number): Float32Array => Float32Array.from({ length: n }, one);
    check([pick(0), pick(1), pick(3), pick(5), new Float32Array(0), pick(5), pick(3), pick(1)]);
    check([SPECIALS, SPECIALS.slice(8)]);
  });

  it('every special value at every position of a group of 4, and in the tail', () => {
    const batches: Float32Array[] = [];
    for (let s = 0; s < SPECIALS.length; s++) {
      for (const at of [0, 1, 2, 3, 4101, 4102, 4103, 4104, 4105]) {
        batches.push(withInserts(4106, 100 * s + at, 1.5, [[at, SPECIALS[s]!]]));
      }
    }
    check(batches);
  });

  it('lengths around the kernel thresholds, groups and chunks', () => {
    const lengths = [2047, 2048, 2049, 2050, 2051, 4099, 16383, 16384, 16385, 16389, 40001];
    check(lengths.map((n, k) => withInserts(n, 500 + k, 0.5 + k, [[n - 1, k % 2 === 0 ? -0 : 0]])));
  });

  it('values exactly on bin edges (and one ulp either side), both signs', () => {
    // Width 2^-8 once the grid holds 4: bins 2048 cover |x| < 8.
    const edges: number[] = [7.99];
    for (let j = 0; j < 2048; j += 7) {
      const e = j * 2 ** -8;
      const up = new Float32Array([e]);
      const bits = new Int32Array(up.buffer);
      edges.push(e, -e);
      bits[0]! += 1;
      edges.push(up[0]!, -up[0]!);
      bits[0]! -= 2;
      if (e > 0) edges.push(up[0]!, -up[0]!);
    }
    const x = new Float32Array(4096 + edges.length);
    x.set(edges, 4096);
    check([x, Float32Array.from(edges), x.subarray(3)]);
  });

  it('growth in the middle of arrays, at any lane, several times per array', () => {
    const batches: Float32Array[] = [];
    for (let k = 0; k < 12; k++) {
      const n = 5000 + k;
      batches.push(withInserts(n, 900 + k, 2 ** (k - 20), [
        [1000 + (k % 4), 2 ** (k - 10)],
        [2500 + ((k + 1) % 4), -(2 ** (k - 5))],
        [n - 1 - (k % 3), 3 * 2 ** k],
      ]));
    }
    check(batches);
  });

  it('grids too fine for float32 to hold 2^-e: only subnormals and zeros', () => {
    const sub = (i: number): number => (i % 3 === 0 ? 0 : (i % 2 === 0 ? 1 : -1) * (i % 97) * 2 ** -149);
    const a = Float32Array.from({ length: 3000 }, (_, i) => sub(i));
    const b = Float32Array.from({ length: 3000 }, (_, i) => sub(i) * 2 ** 20);
    const zeros = new Float32Array(2500);
    const h = check([zeros, a, b]);
    expect(h.widthExp).toBeLessThan(-126);
  });

  it('post-ReLU data (half exact zeros), signed data with outliers, and -0', () => {
    const relu = gaussian(70000, 31).map((v) => (v > 0 ? v : 0));
    const signed = withInserts(70000, 32, 1, [[123, 40], [60000, -55]]);
    const negZero = gaussian(9000, 33).map((v) => (v > 0 ? v : -0));
    check([relu, signed, negZero, relu]);
  });

  it('other bin counts (multiples of 4 take the kernel, the others the scalar loop)', () => {
    const x = withInserts(6000, 41, 3, [[10, NaN], [20, -0], [5999, 1e-30], [3000, -Infinity]]);
    for (const bins of [1, 3, 4, 6, 64, 100, 4096]) {
      check([x, x.subarray(1, 2999), gaussian(3000, 42, 100)], bins);
    }
  });
});

describe('observe(Float32Array) is independent of how the data is split', () => {
  it('arbitrary chunkings give the same toJSON', () => {
    const rand = mulberry32(99);
    const data = withInserts(60000, 77, 1, [[5, NaN], [6, Infinity], [7, -0], [30000, 25], [59999, -300]]);
    for (let i = 0; i < data.length; i += 101) data[i] = 0;
    const whole = JSON.stringify(new StreamingHistogram().observe(data).toJSON());
    for (let trial = 0; trial < 6; trial++) {
      const h = new StreamingHistogram();
      for (let i = 0; i < data.length; ) {
        const len = Math.min(data.length - i, 1 + Math.floor(rand() ** 2 * 20000));
        h.observe(data.subarray(i, i + len));
        i += len;
      }
      expect(JSON.stringify(h.toJSON())).toBe(whole);
    }
  });
});
