#!/usr/bin/env node
// What verification costs: wall time of `qtool quantize` (verification on, the default) against
// `qtool quantize --no-verify` on ResNet-18 224×224 with 32 seeded N(0, 1) samples, the CLI as a
// user runs it, alternating the two commands so drifting machine load hits both alike.
// Issue 10 asks for default / --no-verify ≤ 1.6×.
//
//   npm run build && node bench/verify.mjs [--model resnet18.onnx] [--rounds 2] [--samples 32] [--with "--latency-batches 1,8"]
//
// --with adds flags to the verified command only (e.g. to price the batch-8 latency figure).
//
// Without --model, ResNet-18 is built with bench/models.ts into a temp folder (about a minute).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomNpyFolder } from './samples.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rounds = Number(arg('--rounds', '2'));
const samples = Number(arg('--samples', '32'));
const withFlags = (arg('--with', '') ?? '').split(/\s+/).filter(Boolean);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-bench-verify-'));

let model = arg('--model');
if (!model) {
  const r = spawnSync('npx', ['tsx', path.join(root, 'bench/models.ts'), tmp], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ResNet-18 failed: ${r.stderr}`);
  model = path.join(tmp, 'resnet18.onnx');
}
const data = randomNpyFolder(samples, [3, 224, 224]);

function run(extra) {
  const out = path.join(tmp, 'out.int8.onnx');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin/qtool.js'), 'quantize', model, '-o', out, '--data', data, '--json', ...extra], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`qtool quantize ${extra.join(' ')} exited ${r.status}: ${r.stderr}`);
  return s;
}

const times = { verify: [], noVerify: [] };
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? ['noVerify', 'verify'] : ['verify', 'noVerify'];
  for (const k of order) {
    const s = run(k === 'verify' ? withFlags : ['--no-verify']);
    times[k].push(s);
    console.log(`round ${i + 1}  ${k === 'verify' ? `quantize ${withFlags.join(' ')}`.padEnd(20) : 'quantize --no-verify'}  ${s.toFixed(1)} s`);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ratios = times.verify.map((v, i) => v / times.noVerify[i]);
console.log(`ResNet-18 224, ${samples} samples, ${os.cpus().length} CPUs: quantize${withFlags.length ? ` ${withFlags.join(' ')}` : ''} ${median(times.verify).toFixed(1)} s, --no-verify ${median(times.noVerify).toFixed(1)} s; ` +
  `ratio per round ${ratios.map((r) => r.toFixed(2)).join(', ')}; ratio of medians ${(median(times.verify) / median(times.noVerify)).toFixed(2)}× (target ≤ 1.6×)`);
fs.rmSync(tmp, { recursive: true, force: true });
fs.rmSync(data, { recursive: true, force: true });
