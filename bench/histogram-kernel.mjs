// StreamingHistogram.observe(Float32Array) benchmark (run after `npm run build`):
//   node bench/histogram-kernel.mjs [--reps N]
// Times the kernel in dist/ against a copy of the ORIGINAL scalar kernel (plain JS, below) on
// deterministic activation-like data, and checks that both give identical toJSON() (and the same
// sign of min / max) on every dataset. Prints ns per value for each, and the speedup.
import { StreamingHistogram } from '../dist/math/histogram.js';
import { mulberry32 } from './samples.mjs';

const args = process.argv.slice(2);
const REPS = Number(args[args.indexOf('--reps') + 1] || 7);

// ---- the original kernel (src/math/histogram.ts before the SIMD kernel), as the reference ----

const MIN_WIDTH_EXP = -160;
const EXP_MASK = 0x7f800000;

function requiredExponent(m, bins) {
  if (!(m > 0)) return MIN_WIDTH_EXP;
  let e = Math.max(MIN_WIDTH_EXP, Math.floor(Math.log2(m / bins)));
  while (m >= bins * 2 ** e) e++;
  while (e > MIN_WIDTH_EXP && m < bins * 2 ** (e - 1)) e--;
  return e;
}

const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);
function float32CeilBits(x) {
  f32[0] = x;
  let b = f32Bits[0];
  if (f32[0] < x) b++;
  return b;
}

function regroupInPlace(counts, from, to) {
  const d = to - from;
  if (d <= 0) return;
  const n = counts.length;
  const factor = 2 ** d;
  if (factor >= n) {
    let s = 0;
    for (let j = 0; j < n; j++) s += counts[j];
    counts.fill(0);
    counts[0] = s;
    return;
  }
  const kept = Math.ceil(n / factor);
  for (let j = 0; j < kept; j++) {
    const start = j * factor;
    const end = Math.min(n, start + factor);
    let s = 0;
    for (let k = start; k < end; k++) s += counts[k];
    counts[j] = s;
  }
  counts.fill(0, kept);
}

class OriginalHistogram {
  constructor(bins = 2048) {
    this.bins = bins;
    this.exp = MIN_WIDTH_EXP;
    this.counts = new Float64Array(2 * bins);
    this.pos = this.counts.subarray(0, bins);
    this.neg = this.counts.subarray(bins);
    this.count = 0;
    this.zeros = 0;
    this.negatives = 0;
    this.nan = 0;
    this.posInf = 0;
    this.negInf = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  observe(data) {
    const n = data.length;
    if (n === 0) return this;
    const bits = new Int32Array(data.buffer, data.byteOffset, n);
    const bins = this.bins;
    const counts = this.counts;
    let inv = 2 ** -this.exp;
    let limitBits = float32CeilBits(bins * 2 ** this.exp);
    let zeros = 0;
    let negatives = 0;
    let nan = 0;
    let posInf = 0;
    let negInf = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const b = bits[i];
      const ab = b & 0x7fffffff;
      if (ab >= limitBits) {
        if (ab >= EXP_MASK) {
          if (ab > EXP_MASK) nan++;
          else if (b < 0) negInf++;
          else posInf++;
          continue;
        }
        this.grow(requiredExponent(Math.abs(data[i]), bins));
        inv = 2 ** -this.exp;
        limitBits = float32CeilBits(bins * 2 ** this.exp);
      }
      const v = data[i];
      const nonZero = -ab >>> 31;
      const neg = (b >>> 31) & nonZero;
      counts[((Math.abs(v) * inv) | 0) + (-neg & bins)]++;
      negatives += neg;
      zeros += nonZero ^ 1;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.nan += nan;
    this.posInf += posInf;
    this.negInf += negInf;
    const finite = n - nan - posInf - negInf;
    if (finite > 0) {
      this.count += finite;
      this.zeros += zeros;
      this.negatives += negatives;
      if (lo < this.min) this.min = lo + 0;
      if (hi > this.max) this.max = hi + 0;
    }
    return this;
  }

  grow(exp) {
    if (exp <= this.exp) return;
    regroupInPlace(this.pos, this.exp, exp);
    regroupInPlace(this.neg, this.exp, exp);
    this.exp = exp;
  }

  toJSON() {
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
      min: empty ? null : this.min,
      max: empty ? null : this.max,
      pos: Array.from(this.pos),
      neg: Array.from(this.neg),
    };
  }
}

// ---- deterministic data ----

function gaussian(n, rand, sigma = 1) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())) * sigma;
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

const M = 1 << 20;
const rand = mulberry32(20240611);
const datasets = [];
{
  // Post-ReLU: ~50% exact zeros, then many small values.
  const arrays = [];
  for (let k = 0; k < 8; k++) arrays.push(gaussian(M, rand).map((v) => (v > 0 ? v : 0)));
  datasets.push({ name: 'relu N(0,1), 1M/call', arrays, calls: 24 });
}
{
  // Signed Gaussian with a few outliers (the grid is set by them: the bulk sits in few bins).
  const arrays = [];
  for (let k = 0; k < 8; k++) {
    const x = gaussian(M, rand);
    for (let j = 0; j < 4; j++) x[Math.floor(rand() * M)] *= 20;
    arrays.push(x);
  }
  datasets.push({ name: 'signed N(0,1)+outliers, 1M/call', arrays, calls: 24 });
}
{
  // Magnitudes growing over the calls, the largest value of each array late in it: the grid grows
  // several times, in the middle of arrays.
  const arrays = [];
  for (let k = 0; k < 8; k++) {
    const x = gaussian(M, rand, 2 ** (1.5 * k - 6));
    for (let i = 0; i < M; i += 3) if (x[i] < 0) x[i] = 0;
    x[M - 1000] = 2 ** (1.5 * k - 1);
    arrays.push(x);
  }
  datasets.push({ name: 'mixed magnitudes (grows), 1M/call', arrays, calls: 8 });
}
{
  // Small tensors (per-sample activations of a small model): call overhead matters here.
  const arrays = [];
  for (let k = 0; k < 256; k++) arrays.push(gaussian(8192, rand).map((v) => (v > 0 ? v : 0)));
  datasets.push({ name: 'relu N(0,1), 8K/call', arrays, calls: 2048 });
}
{
  const arrays = [];
  for (let k = 0; k < 256; k++) arrays.push(gaussian(2048, rand));
  datasets.push({ name: 'signed N(0,1), 2K/call', arrays, calls: 4096 });
}

// ---- timing ----

function run(make, ds) {
  const h = make();
  for (let c = 0; c < ds.calls; c++) h.observe(ds.arrays[c % ds.arrays.length]);
  return h;
}

function time(make, ds) {
  let values = 0;
  for (let c = 0; c < ds.calls; c++) values += ds.arrays[c % ds.arrays.length].length;
  run(make, ds); // warm-up (JIT, wasm tier-up)
  const ns = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    run(make, ds);
    ns.push(Number(process.hrtime.bigint() - t0) / values);
  }
  ns.sort((a, b) => a - b);
  return ns[Math.floor(ns.length / 2)];
}

const fingerprint = (h) => {
  const j = h.toJSON();
  return `${JSON.stringify(j)}|${Object.is(j.min, -0)}|${Object.is(j.max, -0)}`;
};

console.log(`node ${process.version}, median of ${REPS} runs, ns per value`);
const header = ['original', 'current', 'speedup'].map((c) => c.padStart(10)).join('');
console.log(`${'dataset'.padEnd(36)}${header}  identical`);
let allSame = true;
for (const ds of datasets) {
  const same =
    fingerprint(run(() => new OriginalHistogram(), ds)) === fingerprint(run(() => new StreamingHistogram(), ds));
  allSame &&= same;
  const before = time(() => new OriginalHistogram(), ds);
  const after = time(() => new StreamingHistogram(), ds);
  const speedup = `${(before / after).toFixed(2)}x`;
  const cells = [before.toFixed(2), after.toFixed(2), speedup].map((c) => c.padStart(10)).join('');
  console.log(`${ds.name.padEnd(36)}${cells}  ${same ? 'yes' : 'NO'}`);
}
if (!allSame) {
  console.error('results differ from the original kernel');
  process.exitCode = 1;
}
