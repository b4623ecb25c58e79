#!/usr/bin/env node
// Prints, per model, how far apart the channel ranges of every activation the outlier-channel
// check looks at are (largest channel abs-max / median channel abs-max, quant/outliers.ts), worst
// first: the measurement behind the default --outlier-ratio (docs/outlier-channels.md).
// Usage: npm run build && node scripts/outlier-ratios.mjs [model.onnx --data <dir> [--preprocess SPEC]] ...
// Without arguments: the MNIST fixtures on calibration-data/mnist.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { calibrate } = await import(path.join(root, 'dist/index.js'));
const { channelSpread } = await import(path.join(root, 'dist/quant/outliers.js'));

const args = process.argv.slice(2);
const jobs = [];
if (args.length === 0) {
  for (const f of ['lenet_bn', 'resnet_mini', 'vit_mini', 'lstm_rows']) jobs.push({ model: path.join(root, 'fixtures/mnist', `${f}.onnx`), data: path.join(root, 'calibration-data/mnist') });
} else {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--data') jobs[jobs.length - 1].data = args[++i];
    else if (args[i] === '--preprocess') jobs[jobs.length - 1].preprocess = args[++i];
    else jobs.push({ model: args[i] });
  }
}
for (const job of jobs) {
  const stats = await calibrate(job.model, { data: job.data, preprocess: job.preprocess, config: { calibCount: 200 } });
  const rows = Object.entries(stats.tensors)
    .filter(([, s]) => s.channels)
    .map(([t, s]) => ({ t, c: s.channels.absMax.length, axis: s.channels.axis, ...channelSpread(s.channels.absMax) }))
    .sort((a, b) => (b.ratio ?? 0) - (a.ratio ?? 0));
  console.log(`== ${path.basename(job.model)}: ${rows.length} tensors with channel statistics`);
  for (const r of rows) console.log(`${(r.ratio ?? NaN).toFixed(2).padStart(9)}×  ${String(r.c).padStart(5)} ch (axis ${r.axis})  ${r.t}`);
}
