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
