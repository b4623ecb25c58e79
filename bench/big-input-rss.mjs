// Peak RSS of calibration and of per-layer analysis on big inputs, against a plain float
// onnxruntime-node session on the same inputs (issue 11: "within 2× the peak RSS of a plain float
// session"). Run after `npm run build`:
//
//   node bench/big-input-rss.mjs <float.onnx> <calib-dir> [--quantized q.onnx] [--eval-dir dir]
//
// Each step runs in its own process under /usr/bin/time -v (its "Maximum resident set size"):
//   float      a plain onnxruntime-node session (2 intra-op threads) run once per sample of calib-dir
//   calibrate  `qtool calibrate <float> --data <calib-dir>`
//   compare    `qtool compare <float> <quantized> --data <eval-dir or calib-dir> --no-latency`
//              (the per-layer analysis is on by default)
// and prints each peak, wall time and the ratio to the float session's peak.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

if (args[0] === '--float-child') {
  const [model, dir] = args.slice(1);
  const { Session } = await import(path.join(root, 'dist/runtime/index.js'));
  const s = await Session.open(model, { threads: 2 });
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.npy')).sort()) {
    const b = fs.readFileSync(path.join(dir, f));
    const len = b.readUInt16LE(8);
    const dims = /'shape': \(([^)]*)\)/.exec(b.subarray(10, 10 + len).toString('latin1'))[1].split(',').map((x) => x.trim()).filter(Boolean).map(Number);
    const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + len, b.byteOffset + b.byteLength));
    await s.run({ [s.inputNames[0]]: { dtype: 1, dims, data } });
  }
  await s.close();
  process.exit(0);
}

const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const [model, calib] = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!model || !calib) {
  console.error('usage: node bench/big-input-rss.mjs <float.onnx> <calib-dir> [--quantized q.onnx] [--eval-dir dir] [--only float,calibrate,compare]');
  process.exit(2);
}
const quantized = opt('--quantized');
const evalDir = opt('--eval-dir') ?? calib;
const only = (opt('--only') ?? 'float,calibrate,compare').split(',');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-rss-'));
const qtool = path.join(root, 'bin/qtool.js');

function timed(label, argv) {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = (performance.now() - t) / 1000;
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  if (r.status !== 0) console.error(`${label}: exit ${r.status}\n${r.stderr.split('\n').filter((l) => !/^\t/.test(l)).slice(-5).join('\n')}`);
  return { label, mb: kb / 1024, wall };
}

const rows = [];
if (only.includes('float')) rows.push(timed('float session', [fileURLToPath(import.meta.url), '--float-child', model, calib]));
if (only.includes('calibrate')) rows.push(timed('qtool calibrate', [qtool, 'calibrate', model, '--data', calib, '-o', path.join(tmp, 'stats.json'), '--quiet']));
if (only.includes('compare') && quantized) rows.push(timed('qtool compare (per-layer)', [qtool, 'compare', model, quantized, '--data', evalDir, '--no-latency', '--quiet']));
const base = rows.find((r) => r.label === 'float session')?.mb;
for (const r of rows) console.log(`${r.label.padEnd(28)} peak RSS ${r.mb.toFixed(0).padStart(6)} MB  wall ${r.wall.toFixed(1).padStart(6)} s${base ? `  ${(r.mb / base).toFixed(2)}× float` : ''}`);
fs.rmSync(tmp, { recursive: true, force: true });
