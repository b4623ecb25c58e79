// Range-search benchmark (run after `npm run build`): node bench/ranges.mjs [--check old-dist-dir]
// Calibrates each model once (stats only), then times chooseRange for every calibrated tensor with
// each algorithm (median of 5 passes) and prints ms per model and per tensor. With --check DIR it
// also runs the same searches with DIR/math/index.js (e.g. a build of an earlier commit) and
// reports whether every range is bit-identical.
//   models: the three MNIST fixtures over calibration-data/mnist (200 samples), and MobileNetV2 /
//   ResNet-18 224×224 (bench/out, built by `npm run bench`) over 16 seeded N(0,1) samples.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrate } from '../dist/index.js';
import { StreamingHistogram, chooseRange } from '../dist/math/index.js';
import { randomNpyFolder } from './samples.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check') ? path.resolve(process.argv[process.argv.indexOf('--check') + 1]) : undefined;
const old = check ? await import(path.join(check, 'math/index.js')) : undefined;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const models = [
  ...['lenet_bn', 'resnet_mini', 'vit_mini'].map((m) => ({ name: m, file: path.join(root, `fixtures/mnist/${m}.onnx`), data: path.join(root, 'calibration-data/mnist') })),
  ...['mobilenetv2', 'resnet18'].map((m) => ({ name: `${m} 224`, file: path.join(root, `bench/out/${m}.onnx`), data: 'random' })).filter((m) => fs.existsSync(m.file)),
];
const configs = [
  { label: 'minmax', algo: 'minmax', options: {} },
  { label: 'percentile', algo: 'percentile', options: {} },
  { label: 'kl uint8', algo: 'kl', options: { excludeZeros: true } },
  { label: 'kl int8 symmetric', algo: 'kl', options: { excludeZeros: true, symmetric: true, qmin: -127, qmax: 127 } },
  { label: 'mse uint8', algo: 'mse', options: {} },
  { label: 'mse int8 symmetric', algo: 'mse', options: { symmetric: true, qmin: -127, qmax: 127 } },
  { label: 'mse int16 symmetric', algo: 'mse', options: { symmetric: true, qmin: -32767, qmax: 32767 } },
];
let random;
let identical = 0;
let compared = 0;
console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
try {
  for (const m of models) {
    const data = m.data === 'random' ? (random ??= randomNpyFolder(16, [3, 224, 224])) : m.data;
    const stats = await calibrate(m.file, { data });
    const json = Object.values(stats.tensors).map((t) => t.histogram);
    const hs = json.map((j) => StreamingHistogram.fromJSON(j));
    const signed = hs.filter((h) => !h.neverNegative).length;
    const parts = [];
    const ms = {};
    for (const c of configs) {
      const times = [];
      let results;
      for (let rep = 0; rep < 5; rep++) {
        const t0 = performance.now();
        results = hs.map((h) => chooseRange(c.algo, h, c.options));
        times.push(performance.now() - t0);
      }
      if (old) {
        const before = json.map((j) => old.chooseRange(c.algo, old.StreamingHistogram.fromJSON(j), c.options));
        for (let i = 0; i < hs.length; i++) {
          compared++;
          if (JSON.stringify(before[i]) === JSON.stringify(results[i])) identical++;
          else console.log(`  DIFFERENT: ${m.name} tensor ${i} ${c.label}: ${JSON.stringify(before[i])} vs ${JSON.stringify(results[i])}`);
        }
      }
      ms[c.label] = median(times);
      parts.push(`${c.label} ${median(times).toFixed(1)} ms`);
    }
    console.log(`${m.name}: ${hs.length} tensors (${signed} signed): ${parts.join(', ')}`);
    // kl runs a guard that costs about one mse threshold search, plus its entropy pass.
    const ratio = (a, b) => (ms[a] / ms[b]).toFixed(2);
    console.log(`  kl / mse time: uint8 ${ratio('kl uint8', 'mse uint8')}, int8 symmetric ${ratio('kl int8 symmetric', 'mse int8 symmetric')}; kl uint8 ${(ms['kl uint8'] / hs.length).toFixed(2)} ms per tensor`);
  }
} finally {
  if (random) fs.rmSync(random, { recursive: true, force: true });
}
if (old) console.log(`bit-identical to ${check}: ${identical}/${compared} ranges`);
