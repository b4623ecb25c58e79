#!/usr/bin/env node
// Prints the sha256 of the quantized model qtool writes for every fixture × algorithm × format,
// and for dynamic and weight-only modes: the "same outputs" check of a restructuring.
// Usage: npm run build && node scripts/output-hashes.mjs [--json out.json]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { quantize } = await import(path.join(root, 'dist/index.js'));
const fixtures = ['lenet_bn', 'resnet_mini', 'vit_mini', 'lstm_rows'];
const data = path.join(root, 'calibration-data/mnist');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-hashes-'));
const runs = [];
for (const f of fixtures) {
  for (const algo of ['minmax', 'kl', 'mse', 'percentile']) for (const format of ['qdq', 'qoperator']) runs.push({ f, config: { algo, format, target: 'ort-cpu' } });
  runs.push({ f, config: { mode: 'dynamic', target: 'ort-cpu' } });
  runs.push({ f, config: { mode: 'weight-only', target: 'ort-cpu' } });
}
const rows = {};
for (const { f, config } of runs) {
  const key = `${f} ${Object.values(config).join(' ')}`;
  const out = path.join(tmp, `${key.replaceAll(' ', '_')}.onnx`);
  try {
    await quantize(path.join(root, 'fixtures/mnist', `${f}.onnx`), { output: out, data: config.mode ? undefined : data, config });
    rows[key] = crypto.createHash('sha256').update(fs.readFileSync(out)).digest('hex');
  } catch (e) {
    rows[key] = `error: ${String(e.message).split('\n')[0]}`;
  }
  console.log(`${key.padEnd(36)} ${rows[key]}`);
}
const i = process.argv.indexOf('--json');
if (i > 0) fs.writeFileSync(process.argv[i + 1], `${JSON.stringify(rows, null, 2)}\n`);
fs.rmSync(tmp, { recursive: true, force: true });
