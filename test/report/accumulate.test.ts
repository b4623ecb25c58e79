// The streaming accumulators against the one-shot reference metrics of src/math.
import { describe, expect, it } from 'vitest';
import {
  cosineSimilarity, fakeQuantize, maxAbsDiff, meanAbsDiff, qRange, quantizeValue, roundHalfToEven, sqnrDb, top1Agreement,
  type QType,
} from '../../src/math/index.js';
import { LayerAccumulator, OutputAccumulator, displayHistogram } from '../../src/report/index.js';
import type { LayerTarget } from '../../src/report/tensor-map.js';
import { gaussian } from '../math/prng.js';

function target(dtype: QType, scale: number, zeroPoint: number): LayerTarget {
  return { tensor: 't', quantized: 't_dq', dtype, scale: Math.fround(scale), zeroPoint, range: null, algo: null };
}

/** One-shot reference: fake-quantize, then split the error by whether the integer was clamped. */
function reference(x: Float32Array, t: LayerTarget) {
  const { qmin, qmax } = qRange(t.dtype);
  const fq = fakeQuantize(x, t.scale, t.zeroPoint, qmin, qmax);
  let clip = 0;
  let round = 0;
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    const e = x[i]! - fq[i]!;
    const r = roundHalfToEven(Math.fround(x[i]! / t.scale)) + t.zeroPoint;
    if (r < qmin || r > qmax) {
      clip += e * e;
      clipped++;
    } else round += e * e;
  }
  return { own: sqnrDb(x, fq), clip, round, clipped: clipped / x.length };
}

const split = (x: Float32Array, sizes: number[]) => {
  const out: Float32Array[] = [];
  let at = 0;
  for (const n of sizes) out.push(x.subarray(at, (at += n)));
  return out;
};

describe('LayerAccumulator', () => {
  const x = gaussian(30_000, 7, 2);
  const cases: [string, LayerTarget][] = [
    ['uint8, asymmetric, range covers the data', target('uint8', 16 / 255, 128)],
    ['uint8, range 10× too narrow', target('uint8', 1.6 / 255, 128)],
    ['int8 symmetric, range 20× too wide', target('int8', 160 / 127, 0)],
    ['int16', target('int16', 8 / 32767, 0)],
  ];
  it.each(cases)('%s: own error equals fake-quantize, split into clipping and rounding', (_name, t) => {
    const acc = new LayerAccumulator(t);
    const q = Float32Array.from(x, (v) => v * 1.001);
    for (const [f, qq] of split(x, [1000, 12_345, 16_655]).map((b, i, all) => [b, split(q, all.map((a) => a.length))[i]!] as const)) acc.add(f, qq);
    const r = acc.result();
    const ref = reference(x, t);
    expect(r.ownSqnrDb).toBeCloseTo(ref.own, 9);
    expect(r.clippedFraction).toBeCloseTo(ref.clipped, 12);
    expect(r.clipErrorShare).toBeCloseTo(ref.clip / (ref.clip + ref.round), 9);
    expect(r.hint).toBe(ref.clip > ref.round ? 'clipping-dominated' : 'rounding-dominated');
    expect(r.accumulatedSqnrDb).toBeCloseTo(sqnrDb(x, q), 9);
    expect(r.elements).toBe(x.length);
    expect(r.observed[0]).toBe(Math.min(...x));
  });

  it('ties round half to even as ONNX QuantizeLinear does', () => {
    const t = target('uint8', 0.5, 10);
    const x = Float32Array.from([0.25, 0.75, 1.25, -0.25, -0.75, -5.25, -5.75, 122.25, 200]);
    const acc = new LayerAccumulator(t);
    acc.add(x, x);
    const { qmin, qmax } = qRange('uint8');
    const expected = Array.from(x, (v) => (quantizeValue(v, 0.5, 10, qmin, qmax) - 10) * 0.5);
    let noise = 0;
    let signal = 0;
    x.forEach((v, i) => {
      noise += (v - expected[i]!) ** 2;
      signal += v * v;
    });
    expect(acc.result().ownSqnrDb).toBeCloseTo(10 * Math.log10(signal / noise), 12);
    // -5.25/0.5 = -10.5 rounds to even -10 → q = 0, in range; -5.75 → -12 → q = -2 and 200 → 410: clipped.
    expect(acc.result().clippedFraction).toBeCloseTo(2 / 9, 12);
  });

  it('an exactly representable tensor is "exact" with infinite SQNR', () => {
    const acc = new LayerAccumulator(target('uint8', 0.5, 0));
    const x = Float32Array.from([0, 0.5, 1, 100]);
    acc.add(x, x);
    expect(acc.result().hint).toBe('exact');
    expect(acc.result().ownSqnrDb).toBe(Infinity);
  });

  it('the display histogram spans the observed and the clip range and keeps every value', () => {
    const acc = new LayerAccumulator(target('uint8', 1 / 255, 0));
    acc.add(x, x);
    const r = acc.result();
    const h = displayHistogram(r.histogram, r.clipRange, 64);
    expect(h.counts).toHaveLength(64);
    expect(h.lo).toBe(r.observed[0]);
    expect(h.hi).toBe(r.observed[1]);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBeCloseTo(x.length, 0);
    const wide = displayHistogram(r.histogram, [-100, 100], 64);
    expect([wide.lo, wide.hi]).toEqual([-100, 100]);
  });
});

describe('OutputAccumulator', () => {
  it('streams the same figures as the one-shot metrics over the concatenated batches', () => {
    const f = gaussian(10 * 300, 3);
    const q = Float32Array.from(f, (v, i) => v + (i % 7 === 0 ? 0.3 : -0.01));
    const labels = Array.from({ length: 300 }, (_, i) => (i * 7) % 10);
    const acc = new OutputAccumulator('logits');
    for (let r = 0; r < 300; r += 64) {
      const n = Math.min(64, 300 - r);
      acc.add(f.subarray(r * 10, (r + n) * 10), q.subarray(r * 10, (r + n) * 10), [n, 10], labels.slice(r, r + n));
    }
    const m = acc.result();
    expect(m.sqnrDb).toBeCloseTo(sqnrDb(f, q), 9);
    expect(m.cosine).toBeCloseTo(cosineSimilarity(f, q), 12);
    expect(m.maxAbs).toBeCloseTo(maxAbsDiff(f, q), 12);
    expect(m.meanAbs).toBeCloseTo(meanAbsDiff(f, q), 12);
    expect(m.classifier!.classes).toBe(10);
    expect(m.classifier!.top1Agreement).toBeCloseTo(top1Agreement(f, q, 10), 12);
    const argmax = (a: Float32Array, r: number) => {
      let b = 0;
      for (let c = 1; c < 10; c++) if (a[r * 10 + c]! > a[r * 10 + b]!) b = c;
      return b;
    };
    const accF = labels.filter((y, r) => argmax(f, r) === y).length / 300;
    const accQ = labels.filter((y, r) => argmax(q, r) === y).length / 300;
    expect(m.classifier!.accuracy!.float).toBeCloseTo(accF, 12);
    expect(m.classifier!.accuracy!.quantized).toBeCloseTo(accQ, 12);
    expect(m.classifier!.accuracy!.dropPp).toBeCloseTo(100 * (accF - accQ), 9);
  });

  it('outputs that are not [N, C] have no classifier section', () => {
    const acc = new OutputAccumulator('features');
    acc.add(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 2, 3, 4), [1, 2, 2]);
    expect(acc.result().classifier).toBeNull();
    expect(acc.result().sqnrDb).toBe(Infinity);
  });
});
