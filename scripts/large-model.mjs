#!/usr/bin/env node
// A model over 2 GB, end to end (not part of npm test): builds a synthetic MatMul+Relu chain whose
// weights (float32, > 2 GiB in all) live in an external data file, writes a few calibration
// samples, runs `qtool quantize` on it under /usr/bin/time, and prints wall time, the peak RSS of
// the quantize process (and of its onnxruntime check child, which /usr/bin/time folds into the
// maximum over the process tree), the output's sizes and whether onnxruntime-node loads it.
// /usr/bin/time's figure is the largest RSS of any ONE process of the tree (getrusage keeps the
// maximum, not the sum), so the script also samples /proc every 100 ms and prints the largest SUM
// of RSS over the tree (quantize process + check child) seen at once.
//   node scripts/large-model.mjs [--dir /tmp/x] [--width 4096] [--layers 33] [--keep] [--reuse] [-- extra qtool args]
// --reuse: keep the model already built in --dir (same width and layers) instead of building it again.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ModelProtoType } = await import(path.join(root, 'dist/onnx/schema.js'));

const args = process.argv.slice(2);
const sep = args.indexOf('--');
const extra = sep >= 0 ? args.slice(sep + 1) : [];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && (sep < 0 || i < sep) ? args[i + 1] : dflt;
};
const width = Number(opt('--width', 4096));
const layers = Number(opt('--layers', 33));
const keep = args.includes('--keep');
const reuse = args.includes('--reuse');
const dir = opt('--dir', undefined) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-large-'));
fs.mkdirSync(dir, { recursive: true });

// Deterministic weights: xorshift, uniform in ±sqrt(3/width)·sqrt(2) (He init keeps the Relu chain's scale).
let s = 0x9e3779b9;
const rnd = () => {
  s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
  return s / 2 ** 32;
};
const modelFile = path.join(dir, 'large.onnx');
const dataName = 'large.onnx.data';
const t0 = performance.now();
const reused = reuse && fs.existsSync(modelFile) && fs.existsSync(path.join(dir, dataName)) && fs.statSync(path.join(dir, dataName)).size === layers * width * width * 4;
const fd = fs.openSync(reused ? '/dev/null' : path.join(dir, dataName), 'w');
const bound = Math.sqrt(6 / width);
const layerBytes = width * width * 4;
const initializer = [];
const node = [];
let offset = 0;
const row = new Float32Array(width * 256);
for (let l = 0; l < layers; l++) {
  for (let r = 0; r < width; r += 256) {
    for (let i = 0; i < row.length; i++) row[i] = (rnd() * 2 - 1) * bound;
    if (!reused) fs.writeSync(fd, new Uint8Array(row.buffer));
  }
  initializer.push({
    name: `w${l}`, data_type: 1, dims: [width, width], data_location: 1,
    external_data: [{ key: 'location', value: dataName }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(layerBytes) }],
  });
  offset += layerBytes;
  const x = l === 0 ? 'x' : `r${l - 1}`;
  node.push({ name: `mm${l}`, op_type: 'MatMul', input: [x, `w${l}`], output: [`m${l}`] });
  node.push({ name: `relu${l}`, op_type: 'Relu', input: [`m${l}`], output: [l === layers - 1 ? 'y' : `r${l}`] });
}
fs.closeSync(fd);
const vi = (name) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 1 }, { dim_value: width }] } } } });
fs.writeFileSync(modelFile, ModelProtoType.encode({
  ir_version: 8, opset_import: [{ domain: '', version: 13 }], producer_name: 'qtool large-model.mjs',
  graph: { name: 'large', node, initializer, input: [vi('x')], output: [vi('y')] },
}).finish());
const calib = path.join(dir, 'calib');
fs.mkdirSync(calib, { recursive: true });
for (let k = 0; k < 4; k++) {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (1, ${width}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = Buffer.from(`${header}${' '.repeat(pad)}\n`, 'latin1');
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  const data = Float32Array.from({ length: width }, () => rnd() * 2 - 1);
  fs.writeFileSync(path.join(calib, `${String(k).padStart(4, '0')}.npy`), Buffer.concat([pre, h, Buffer.from(data.buffer)]));
}
const modelBytes = fs.statSync(modelFile).size + fs.statSync(path.join(dir, dataName)).size;
console.log(`${reused ? 'reused' : 'built'} ${modelFile}: ${(modelBytes / 2 ** 30).toFixed(2)} GiB (${layers} MatMul ${width}x${width}, external data) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const out = path.join(dir, 'large.int8.onnx');
const cmd = [path.join(root, 'bin/qtool.js'), 'quantize', modelFile, '--data', calib, '-o', out, '--calib-count', '4', ...extra];
console.log(`running: node ${cmd.join(' ')}`);
const t1 = performance.now();
const child = spawn('/usr/bin/time', ['-f', 'TIME maxrss_kb=%M elapsed=%e', process.execPath, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
child.stdout.resume();
// The sum of VmRSS over the tree under /usr/bin/time, sampled.
const treeRss = () => {
  const kids = new Map();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      kids.set(Number(p), { ppid, rss });
    } catch { /* gone */ }
  }
  let sum = 0;
  const walk = (pid) => {
    for (const [k, v] of kids) if (v.ppid === pid) { sum += v.rss; walk(k); }
  };
  walk(child.pid);
  return sum;
};
let sumPeakKb = 0;
const timer = setInterval(() => (sumPeakKb = Math.max(sumPeakKb, treeRss())), 100);
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
clearInterval(timer);
const r = { status, stderr };
const wall = (performance.now() - t1) / 1000;
const timeLine = r.stderr.split('\n').find((l) => l.startsWith('TIME')) ?? '';
const rssKb = Number(/maxrss_kb=(\d+)/.exec(timeLine)?.[1] ?? NaN);
process.stderr.write(r.stderr.split('\n').filter((l) => !l.startsWith('TIME')).slice(-8).join('\n') + '\n');
console.log(`exit ${r.status}; wall ${wall.toFixed(1)} s; peak RSS ${(rssKb / 2 ** 20).toFixed(2)} GiB = ${((rssKb * 1024) / modelBytes).toFixed(2)}x the model's ${(modelBytes / 2 ** 30).toFixed(2)} GiB (largest single process, /usr/bin/time)`);
console.log(`peak sum of RSS over the process tree (sampled every 100 ms): ${(sumPeakKb / 2 ** 20).toFixed(2)} GiB = ${((sumPeakKb * 1024) / modelBytes).toFixed(2)}x`);
if (r.status === 0) {
  const outBytes = fs.statSync(out).size + (fs.existsSync(`${out}.data`) ? fs.statSync(`${out}.data`).size : 0);
  console.log(`output ${out}${fs.existsSync(`${out}.data`) ? ' + .data' : ''}: ${(outBytes / 2 ** 20).toFixed(1)} MiB (${(outBytes / modelBytes).toFixed(3)}x)`);
  const ort = await import('onnxruntime-node');
  const sess = await ort.InferenceSession.create(out, { logSeverityLevel: 4 });
  const y = await sess.run({ x: new ort.Tensor('float32', new Float32Array(width).fill(0.5), [1, width]) });
  console.log(`onnxruntime-node loads and runs the output: y[0..3] = ${[...y.y.data.slice(0, 4)].map((v) => v.toFixed(4)).join(', ')}`);
  await sess.release();
}
if (!keep) fs.rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
