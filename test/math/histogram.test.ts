import { describe, expect, it } from 'vitest';
import { DEFAULT_BINS, StreamingHistogram } from '../../src/math/index.js';
import { gaussian, mulberry32, shuffled } from './prng.js';

/** Smallest k ≥ -160 with maxAbs < bins·2^k, by counting up (independent of the implementation). */
function expectedWidthExp(maxAbs: number, bins: number): number {
  let k = -160;
  while (!(maxAbs < bins * 2 ** k)) k++;
  return k;
}

/** Counts computed directly from the definition of the grid at width W. */
function directCounts(values: number[], bins: number, w: number): { pos: number[]; neg: number[] } {
  const pos = new Array<number>(bins).fill(0);
  const neg = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v >= 0) pos[Math.floor(v / w)]++;
    else neg[Math.floor(-v / w)]++;
  }
  return { pos, neg };
}

/** Batches of very different scales, with zeros, -0, NaN and ±Infinity mixed in. */
function makeBatches(count: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  const out: Float32Array[] = [];
  for (let b = 0; b < count; b++) {
    const x = gaussian(200 + Math.floor(rand() * 800), seed * 1000 + b, 2 ** ((b % 9) - 4) * 1.37);
    for (let i = 0; i < x.length; i += 17) x[i] = 0;
    x[1] = -0;
    if (b % 5 === 0) x[2] = NaN;
    if (b % 7 === 0) x[3] = Infinity;
    if (b % 11 === 0) x[4] = -Infinity;
    out.push(x);
  }
  return out;
}

function fingerprint(h: StreamingHistogram): string {
  return JSON.stringify(h.toJSON()) + `|${Object.is(h.min, -0)}|${Object.is(h.max, -0)}`;
}

describe('StreamingHistogram grid', () => {
  it('defaults to DEFAULT_BINS = 2048 bins per sign', () => {
    expect(DEFAULT_BINS).toBe(2048);
    expect(new StreamingHistogram().bins).toBe(2048);
  });

  it('hand-worked doubling with 4 bins', () => {
    // [0.5, 1.5]: smallest W = 2^k with 1.5 < 4W is 0.5 → bins 1 and 3.
    // then [5]: smallest W with 5 < 4W is 2 → old bins regroup by 4 (both to bin 0), 5 → bin 2.
    const h = new StreamingHistogram(4).observe([0.5, 1.5]);
    expect(h.width).toBe(0.5);
    expect(Array.from(h.positiveCounts())).toEqual([0, 1, 0, 1]);
    h.observe([5]);
    expect(h.width).toBe(2);
    expect(Array.from(h.positiveCounts())).toEqual([2, 0, 1, 0]);
    expect(Array.from(h.negativeCounts())).toEqual([0, 0, 0, 0]);
  });

  it('holds exactly the counts of the grid defined by the global max|x|', () => {
    const batches = makeBatches(30, 1);
    const h = new StreamingHistogram();
    for (const b of batches) h.observe(b);
    const all = batches.flatMap((b) => Array.from(b));
    const finite = all.filter(Number.isFinite);
    const maxAbs = Math.max(...finite.map(Math.abs));
    const k = expectedWidthExp(maxAbs, 2048);
    expect(h.widthExp).toBe(k);
    const { pos, neg } = directCounts(all, 2048, 2 ** k);
    expect(Array.from(h.positiveCounts())).toEqual(pos);
    expect(Array.from(h.negativeCounts())).toEqual(neg);
    expect(h.count).toBe(finite.length);
    expect(h.zeros).toBe(finite.filter((v) => v === 0).length);
    expect(h.negatives).toBe(finite.filter((v) => v < 0).length);
    expect(h.min).toBe(Math.min(...finite));
    expect(h.max).toBe(Math.max(...finite));
    expect(h.nanCount).toBe(all.filter(Number.isNaN).length);
    expect(h.posInfCount).toBe(all.filter((v) => v === Infinity).length);
    expect(h.negInfCount).toBe(all.filter((v) => v === -Infinity).length);
  });

  it('counts NaN and ±Infinity apart and never bins them', () => {
    const h = new StreamingHistogram().observe([NaN, Infinity, -Infinity, 1, NaN]);
    expect([h.nanCount, h.posInfCount, h.negInfCount, h.count]).toEqual([2, 1, 1, 1]);
    expect(h.max).toBe(1);
    expect(h.positiveCounts().reduce((a, b) => a + b) + h.negativeCounts().reduce((a, b) => a + b)).toBe(1);
    const onlyBad = new StreamingHistogram().observe([NaN, Infinity]);
    expect(onlyBad.count).toBe(0);
    expect(Number.isNaN(onlyBad.min)).toBe(true);
  });

  it('knows a tensor is never negative; -0 counts as zero and min is +0', () => {
    const h = new StreamingHistogram().observe([-0, 0, 3]);
    expect(h.neverNegative).toBe(true);
    expect(h.zeros).toBe(2);
    expect(Object.is(h.min, 0)).toBe(true);
    h.observe([-1e-30]);
    expect(h.neverNegative).toBe(false);
    expect(h.negatives).toBe(1);
  });
});

describe('StreamingHistogram order and shard independence', () => {
  const batches = makeBatches(40, 2);
  const baseline = new StreamingHistogram();
  for (const b of batches) baseline.observe(b);
  const expected = fingerprint(baseline);

  it('any batch order gives bit-identical counts, min and max', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const h = new StreamingHistogram();
      for (const b of shuffled(batches, seed)) h.observe(b);
      expect(fingerprint(h)).toBe(expected);
    }
    const reversed = new StreamingHistogram();
    for (const b of batches.slice().reverse()) reversed.observe(b);
    expect(fingerprint(reversed)).toBe(expected);
  });

  it('one big batch equals many small ones', () => {
    const all = new Float32Array(batches.reduce((n, b) => n + b.length, 0));
    let off = 0;
    for (const b of batches) {
      all.set(b, off);
      off += b.length;
    }
    expect(fingerprint(new StreamingHistogram().observe(all))).toBe(expected);
  });

  it('shards merged in any order and tree shape give bit-identical results', () => {
    for (let seed = 10; seed < 15; seed++) {
      const order = shuffled(batches, seed);
      const shards = [0, 1, 2, 3, 4].map(() => new StreamingHistogram());
      order.forEach((b, i) => shards[(i * 7 + seed) % 5].observe(b));
      // Linear merge in a shuffled order.
      const linear = new StreamingHistogram();
      for (const s of shuffled(shards, seed + 100)) linear.merge(s);
      expect(fingerprint(linear)).toBe(expected);
      // Tree merge: ((s0 + s1) + (s2 + (s3 + s4))), into clones so the shards stay intact.
      const left = shards[0].clone().merge(shards[1]);
      const right = shards[2].clone().merge(shards[3].clone().merge(shards[4]));
      expect(fingerprint(right.merge(left))).toBe(expected);
    }
  });

  it('merge leaves its argument unchanged and refuses mismatched bins', () => {
    const a = new StreamingHistogram().observe([100]);
    const b = new StreamingHistogram().observe([0.001, -0.002]);
    const before = fingerprint(b);
    a.merge(b);
    expect(fingerprint(b)).toBe(before);
    expect(() => a.merge(new StreamingHistogram(16))).toThrow(RangeError);
  });
});

/**
 * A straightforward reference for the state observe() must reach: every field computed from the
 * definition (module header of histogram.ts) over all values seen, with no streaming at all.
 */
function referenceJSON(values: readonly number[], bins: number) {
  const finite = values.filter(Number.isFinite);
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const k = maxAbs > 0 ? expectedWidthExp(maxAbs, bins) : -160;
  const { pos, neg } = directCounts([...values], bins, 2 ** k);
  const empty = finite.length === 0;
  return {
    format: 'qtool.streaming-histogram',
    version: 1,
    bins,
    widthExp: k,
    count: finite.length,
    zeros: finite.filter((v) => v === 0).length,
    negatives: finite.filter((v) => v < 0).length,
    nan: values.filter(Number.isNaN).length,
    posInf: values.filter((v) => v === Infinity).length,
    negInf: values.filter((v) => v === -Infinity).length,
    // + 0: -0 is reported as +0
    min: empty ? null : finite.reduce((m, v) => Math.min(m, v), Infinity) + 0,
    max: empty ? null : finite.reduce((m, v) => Math.max(m, v), -Infinity) + 0,
    pos,
    neg,
  };
}

/** float32 values from bit patterns (NaNs keep their payload and sign inside the Float32Array). */
function fromBits(patterns: readonly number[]): Float32Array {
  return new Float32Array(new Uint32Array(patterns).buffer);
}

/** Hostile float32 data: every NaN/Inf pattern class, ±0, subnormals, extremes, bin edges, limits. */
function adversarialBatches(bins: number): Float32Array[] {
  const rand = mulberry32(bins * 7919);
  const FLT_MAX = 3.4028234663852886e38;
  const specials = fromBits([
    0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, // NaNs (quiet, signalling, negative)
    0x7f800000, 0xff800000, // ±Infinity
    0x00000000, 0x80000000, // ±0
    0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000, // subnormals and the smallest normals
    0x7f7fffff, 0xff7fffff, // ±FLT_MAX
  ]);
  const out: Float32Array[] = [
    new Float32Array(0),
    fromBits([0x7fc00000, 0xff800000]), // nothing finite
    fromBits([0x80000000]), // only -0
    fromBits([0x00000001, 0x80000002]), // only subnormals: the grid's floor exponent
    specials,
  ];
  // Range growth within one batch: increasing magnitudes, alternating sign, across the whole float32 range.
  const growing = new Float32Array(300);
  for (let i = 0; i < growing.length; i++) growing[i] = (i % 2 ? -1 : 1) * 2 ** (i - 150) * (1 + rand());
  out.push(growing);
  // Growth across batches, each batch at a larger scale, with bin edges of the grid it will end up on.
  for (let s = -140; s <= 120; s += 37) {
    const b = new Float32Array(257);
    for (let i = 0; i < b.length; i++) b[i] = (rand() - 0.35) * 2 ** s;
    const w = 2 ** expectedWidthExp(2 ** s, bins);
    b[0] = w;
    b[1] = -w;
    b[2] = Math.fround(bins * w * 0.999);
    b[3] = -0;
    b[4] = 0;
    b[5] = NaN;
    out.push(b);
  }
  // Values exactly at the current limit bins·W (must grow) and just below it (must not).
  const edge = new Float32Array([1, -1, 2 ** expectedWidthExp(1, bins) * bins, Math.fround(bins * 2 ** expectedWidthExp(1, bins) * (1 - 2 ** -23))]);
  out.push(edge);
  out.push(new Float32Array([FLT_MAX, -1e-45]));
  return out;
}

describe('StreamingHistogram single pass vs a reference from the definition', () => {
  for (const bins of [1, 3, 4, 5, 64, 2048]) {
    it(`float32 hostile data, ${bins} bins, batch by batch and in any order`, () => {
      const batches = adversarialBatches(bins);
      const seen: number[] = [];
      const h = new StreamingHistogram(bins);
      for (const b of batches) {
        h.observe(b);
        seen.push(...b);
        // After every batch, not just at the end: growth in the middle of a batch is exact too.
        expect(h.toJSON()).toEqual(referenceJSON(seen, bins));
        expect(Object.is(h.min, -0) || Object.is(h.max, -0)).toBe(false);
      }
      for (let seed = 1; seed <= 3; seed++) {
        const g = new StreamingHistogram(bins);
        for (const b of shuffled(batches, seed)) g.observe(b);
        expect(fingerprint(g)).toBe(fingerprint(h));
      }
    });
  }

  it('number arrays and float64 data (values no float32 can hold) take the same definition', () => {
    const values = [1e-300, -5e-324, 1e300, -1.7976931348623157e308, 0.1, -0, 0, NaN, Infinity, -Infinity, 3, -2.5, 2 ** -1000];
    for (const bins of [1, 5, 2048]) {
      const h = new StreamingHistogram(bins);
      h.observe(values.slice(0, 4));
      h.observe(new Float64Array(values.slice(4)));
      expect(h.toJSON()).toEqual(referenceJSON(values, bins));
      // The same float32 values through either path give the same state.
      const f = adversarialBatches(bins).slice(4, 8);
      const viaF32 = new StreamingHistogram(bins);
      const viaNumbers = new StreamingHistogram(bins);
      for (const b of f) {
        viaF32.observe(b);
        viaNumbers.observe(Array.from(b));
      }
      expect(fingerprint(viaNumbers)).toBe(fingerprint(viaF32));
    }
  });

  it('a view into a larger buffer reads only its own elements', () => {
    const backing = new Float32Array([1e30, 1, -2, 0.5, 1e30]);
    const h = new StreamingHistogram(16).observe(backing.subarray(1, 4));
    expect(h.toJSON()).toEqual(referenceJSON([1, -2, 0.5], 16));
  });
});

describe('StreamingHistogram JSON', () => {
  it('round-trips exactly, including an empty histogram', () => {
    const h = new StreamingHistogram(64);
    for (const b of makeBatches(5, 3)) h.observe(b);
    const back = StreamingHistogram.fromJSON(JSON.parse(JSON.stringify(h)));
    expect(fingerprint(back)).toBe(fingerprint(h));
    // And it keeps working: observing more data after a round trip matches the original.
    back.observe([1e6]);
    h.observe([1e6]);
    expect(fingerprint(back)).toBe(fingerprint(h));
    const empty = StreamingHistogram.fromJSON(JSON.parse(JSON.stringify(new StreamingHistogram(8))));
    expect(empty.count).toBe(0);
  });

  it('rejects malformed input with a RangeError', () => {
    const good = new StreamingHistogram(8).observe([1, -2]).toJSON();
    expect(() => StreamingHistogram.fromJSON(null)).toThrow(RangeError);
    expect(() => StreamingHistogram.fromJSON({ ...good, format: 'x' })).toThrow(RangeError);
    expect(() => StreamingHistogram.fromJSON({ ...good, pos: [1, 2] })).toThrow(RangeError);
    expect(() => StreamingHistogram.fromJSON({ ...good, min: null })).toThrow(RangeError);
    expect(() => StreamingHistogram.fromJSON({ ...good, count: -1 })).toThrow(RangeError);
    expect(() => StreamingHistogram.fromJSON({ ...good, count: 3 })).toThrow(RangeError);
    expect(() => StreamingHistogram.fromJSON({ ...good, widthExp: 5000 })).toThrow(RangeError);
  });
});
