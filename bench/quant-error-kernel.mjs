// quantErrorSums (per-layer error sums of verification) benchmark (run after `npm run build`):
//   node bench/quant-error-kernel.mjs [--reps N]
// Times the WebAssembly SIMD kernel in dist/ against the scalar loop it must match, on
// activation-like data (ReLU'd gaussians, 1M values) with float32, uint8 and int8 counterparts, and
// checks that both give the same clipped count and sums within 1e-9 relative (float64 additions in another order). Prints ns per value.
import { emptySums, qRange, quantErrorSums, quantErrorSumsScalar } from '../dist/math/index.js';
import { mulberry32 } from './samples.mjs';

const args = process.argv.slice(2);
const REPS = Number(args[args.indexOf('--reps') + 1] || 7);
const N = 1 << 20;
const rand = mulberry32(7);
const x = new Float32Array(N);
for (let i = 0; i < N; i++) x[i] = Math.max(0, Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) * 2);
const scale = Math.fround(6 / 255);
const cases = [
  ['float32', Float32Array.from(x, (v) => v * 1.002), { scale, zeroPoint: 0, ...qRange('uint8') }],
  ['uint8', Uint8Array.from(x, (v) => Math.min(255, Math.round(v / scale))), { scale, zeroPoint: 0, ...qRange('uint8') }],
  ['int8', Int8Array.from(x, (v) => Math.min(127, Math.round(v / scale) - 128)), { scale, zeroPoint: -128, ...qRange('int8') }],
];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let failed = false;
for (const [name, q, p] of cases) {
  const t = { simd: [], scalar: [] };
  let a, b;
  for (let r = 0; r < REPS; r++) {
    a = emptySums();
    let t0 = performance.now();
    quantErrorSums(x, q, p, a);
    t.simd.push(performance.now() - t0);
    b = emptySums();
    t0 = performance.now();
    quantErrorSumsScalar(x, q, p, b);
    t.scalar.push(performance.now() - t0);
  }
  if (process.env.DEBUG) console.log(a, b);
  const same = a.clipped === b.clipped && ['signal', 'clipNoise', 'roundNoise', 'accNoise'].every((k) => Math.abs(a[k] - b[k]) <= 1e-9 * Math.abs(b[k]));
  failed ||= !same;
  const ns = (ms) => ((ms * 1e6) / N).toFixed(2);
  console.log(`${name.padEnd(8)} simd ${ns(median(t.simd))} ns/value, scalar ${ns(median(t.scalar))} ns/value, ${(median(t.scalar) / median(t.simd)).toFixed(1)}× ${same ? 'same sums' : 'SUMS DIFFER'}`);
}
process.exitCode = failed ? 1 : 0;
