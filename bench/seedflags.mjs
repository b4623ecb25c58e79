#!/usr/bin/env node
// Logits SQNR (2,000 held-out MNIST test digits) of --stochastic-rounding, --pow2-scales and
// --group-size against the default on the three fixtures. Prints a table; asserts nothing.
// Usage: npm run build && node bench/seedflags.mjs [--target ort-cpu] [--only lenet_bn,...] [--seeds 5] [--variants JSON]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSplit } from '../scripts/mnist-data.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { quantize } = await import(path.join(root, 'dist/index.js'));
const { Session } = await import(path.join(root, 'dist/runtime/index.js'));
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const target = arg('--target', 'auto');
const fixtures = arg('--only', 'lenet_bn,resnet_mini,vit_mini').split(',');
const seeds = Number(arg('--seeds', '5'));
const extra = arg('--variants', '');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-seedflags-'));
const test = loadSplit('test');

async function logits(model) {
  const s = await Session.open(model);
  const out = new Float32Array(test.n * 10);
  for (let i = 0; i < test.n; i += 250) {
    const r = await s.run({ input: { dtype: 1, dims: [250, 1, 28, 28], data: test.x.subarray(i * 784, (i + 250) * 784) } });
    out.set(r[s.outputNames[0]].data, i * 10);
  }
  await s.close();
  return out;
}
const sqnr = (a, b) => { let s = 0, e = 0; for (let i = 0; i < a.length; i++) { s += a[i] ** 2; e += (a[i] - b[i]) ** 2; } return 10 * Math.log10(s / e); };
const top1 = (l) => { let c = 0; for (let i = 0; i < test.n; i++) { let b = 0; for (let k = 1; k < 10; k++) if (l[i * 10 + k] > l[i * 10 + b]) b = k; if (b === test.y[i]) c++; } return (100 * c) / test.n; };

const all = [
  ['default', {}],
  ['per-tensor', { perChannel: false }],
  ...Array.from({ length: seeds }, (_, s) => [`stochastic seed ${s}`, { stochasticRounding: true, seed: s }]),
  ['pow2', { pow2Scales: true }],
  ['group 32', { groupSize: 32 }],
  ['group 16', { groupSize: 16 }],
  ['group 8', { groupSize: 8 }],
  ['group 4', { groupSize: 4 }],
  ['group 16 + pow2', { groupSize: 16, pow2Scales: true }],
];
// --variants '[["name", {config}], ...]' replaces the list above (the default is always measured first).
const variants = extra ? [['default', {}], ...JSON.parse(extra)] : all;
console.log(`target ${target}; logits SQNR over the 2,000 MNIST test digits; quantized with 200 calibration digits`);
console.log(`${'fixture'.padEnd(12)} ${'variant'.padEnd(22)} ${'SQNR dB'.padStart(8)} ${'top-1 %'.padStart(8)} ${'size KiB'.padStart(9)}`);
for (const f of fixtures) {
  const model = path.join(root, 'fixtures/mnist', `${f}.onnx`);
  const ref = await logits(model);
  for (const [name, config] of variants) {
    const out = path.join(tmp, `${f}-${name.replaceAll(' ', '_')}.onnx`);
    await quantize(model, { output: out, data: path.join(root, 'calibration-data/mnist'), config: { target, ...config } });
    const l = await logits(out);
    console.log(`${f.padEnd(12)} ${name.padEnd(22)} ${sqnr(ref, l).toFixed(2).padStart(8)} ${top1(l).toFixed(2).padStart(8)} ${(fs.statSync(out).size / 1024).toFixed(1).padStart(9)}`);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
