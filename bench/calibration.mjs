// Calibration benchmark (run after `npm run build`): node bench/calibration.mjs
//  (a) peak RSS of calibrate --algo kl on resnet_mini, 200 vs 2,000 samples (each in a child process)
//  (b) time of one kl search on one tensor's histogram
//  (c) calibrate wall time / plain onnxruntime-node loop wall time over the same samples, one process
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { calibrate } from '../dist/index.js';
import { StreamingHistogram, chooseRange } from '../dist/math/index.js';
import { readModel } from '../dist/api/model-io.js';
import { prepareModel } from '../dist/passes/index.js';
import { tensorsToCalibrate } from '../dist/quant/plan.js';
import { DEFAULTS } from '../dist/config/index.js';
import { openDataFolder } from '../dist/data/index.js';
import { Session } from '../dist/runtime/index.js';
import { TensorCollector, augmentedModelBytes, planObservation } from '../dist/calibration/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(root, 'fixtures/mnist/resnet_mini.onnx');
const DATA = path.join(root, 'calibration-data/mnist');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (kib) => (kib / 1024).toFixed(1);

function readNpy(file) {
  const b = fs.readFileSync(file);
  const headerLen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLen).toString('latin1');
  const dims = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { head: b.subarray(0, 10 + headerLen), dims, data: new Float32Array(b.buffer.slice(b.byteOffset + 10 + headerLen, b.byteOffset + b.byteLength)) };
}

const files = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.npy')).sort().map((f) => path.join(dir, f));

/** 2,000 samples: the 200, ten times, each copy scaled by (1 + k/100) so no two are equal. */
function makeBigFolder(n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-bench-'));
  const src = files(DATA);
  for (let i = 0; i < n; i++) {
    const { head, data } = readNpy(src[i % src.length]);
    const k = Math.floor(i / src.length);
    const scaled = data.map((v) => v * (1 + k / 100));
    fs.writeFileSync(path.join(dir, `${String(i).padStart(5, '0')}.npy`), Buffer.concat([head, Buffer.from(scaled.buffer)]));
  }
  return dir;
}

async function child(dataDir) {
  const t0 = performance.now();
  const stats = await calibrate(MODEL, { data: dataDir, config: { algo: 'kl' } });
  const ms = performance.now() - t0;
  global.gc?.();
  const heapAfterGcMiB = process.memoryUsage().heapUsed / 2 ** 20;
  process.stdout.write(JSON.stringify({ samples: stats.samples, maxRssKiB: process.resourceUsage().maxRSS, ms, heapAfterGcMiB }) + '\n');
}

function rssOf(dataDir) {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', dataDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/** Peak RSS is the high-water mark of garbage (onnxruntime's output copies) awaiting GC, so take the median of 3 runs. */
function benchRss() {
  const big = makeBigFolder(2000);
  try {
    const runs = { 200: [], 2000: [] };
    for (let rep = 0; rep < 3; rep++) {
      runs[200].push(rssOf(DATA));
      runs[2000].push(rssOf(big));
    }
    console.log('(a) peak RSS, calibrate --algo kl on resnet_mini (child processes, median of 3):');
    const med = {};
    for (const [n, list] of Object.entries(runs)) {
      med[n] = median(list.map((r) => r.maxRssKiB));
      const all = list.map((r) => mib(r.maxRssKiB)).join(', ');
      console.log(`    ${n} samples: ${mib(med[n])} MiB (runs: ${all}; JS heap after GC ${median(list.map((r) => r.heapAfterGcMiB)).toFixed(1)} MiB; ${(median(list.map((r) => r.ms)) / 1000).toFixed(2)} s)`);
    }
    console.log(`    ratio RSS(2000)/RSS(200) = ${(med[2000] / med[200]).toFixed(3)}  (target ≤ 1.10)`);
  } finally {
    fs.rmSync(big, { recursive: true, force: true });
  }
}

async function benchKl() {
  const stats = await calibrate(MODEL, { data: DATA });
  const [name, t] = Object.entries(stats.tensors).sort((a, b) => b[1].count - a[1].count)[0];
  const signed = Object.entries(stats.tensors).find(([, s]) => s.histogram.negatives > 0);
  console.log('(b) one kl search on one tensor\'s histogram (median of 50):');
  for (const [n, s] of [[name, t], signed]) {
    const h = StreamingHistogram.fromJSON(s.histogram);
    const times = [];
    let r;
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      r = chooseRange('kl', h);
      times.push(performance.now() - t0);
    }
    console.log(`    ${n} (${h.neverNegative ? 'one-sided' : 'signed'}, ${r.candidates} candidates): ${median(times).toFixed(2)} ms → [${r.min.toPrecision(5)}, ${r.max.toPrecision(5)}]`);
  }
}

/** What a user's own loop costs: open the model, read every .npy, run it (default session options). */
async function plainLoop(batchSize) {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(MODEL);
  const list = files(DATA);
  let inference = 0;
  for (let i = 0; i < list.length; i += batchSize) {
    const batch = list.slice(i, i + batchSize).map((f) => readNpy(f).data);
    const data = new Float32Array(batch.length * 784);
    batch.forEach((d, k) => data.set(d, k * 784));
    const t1 = performance.now();
    await session.run({ input: new ort.Tensor('float32', data, [batch.length, 1, 28, 28]) });
    inference += performance.now() - t1;
  }
  await session.release();
  return { wall: performance.now() - t0, inference };
}

async function benchRatio() {
  console.log('(c) calibrate / plain onnxruntime-node loop on resnet_mini, 200 samples, same process (median of 5, after a warm-up):');
  for (const batchSize of [1, 32]) {
    const plain = [];
    const inner = [];
    const calib = [];
    for (let rep = 0; rep < 6; rep++) {
      const p = await plainLoop(batchSize);
      const t0 = performance.now();
      await calibrate(MODEL, { data: DATA, config: { batchSize } });
      const c = performance.now() - t0;
      if (rep === 0) continue;
      plain.push(p.wall);
      inner.push(p.inference);
      calib.push(c);
    }
    const [p, i, c] = [median(plain), median(inner), median(calib)];
    console.log(`    batch ${String(batchSize).padStart(2)}: calibrate ${c.toFixed(0)} ms, plain loop ${p.toFixed(0)} ms (of which session.run ${i.toFixed(0)} ms) → ratio ${(c / p).toFixed(2)} (target ≤ 1.5)`);
    console.log(`              where calibrate's time goes (ms, one run): ${await breakdown(batchSize)}`);
  }
}

/** The steps of calibrate() timed one by one (the same calls observeTensors makes). */
async function breakdown(batchSize) {
  const T = {};
  let t = performance.now();
  const lap = (k) => {
    const now = performance.now();
    T[k] = (T[k] ?? 0) + now - t;
    t = now;
  };
  const model = readModel(MODEL);
  prepareModel(model);
  const plan = planObservation(model.graph, tensorsToCalibrate(model.graph, DEFAULTS));
  lap('read+prepare');
  const source = await openDataFolder(DATA, { inputs: model.graph.feedInputs(), batchSize });
  lap('open data folder');
  const session = await Session.open(augmentedModelBytes(model, plan.fetched), { optimizationLevel: 'all' });
  lap('session');
  const collectors = new Map([...plan.fromFeeds, ...plan.fetched].map((n) => [n, new TensorCollector()]));
  for await (const feeds of source.batches()) {
    lap('read batches');
    for (const n of plan.fromFeeds) collectors.get(n).observe(feeds[n].data);
    const out = await session.run(feeds, plan.fetched);
    lap('onnxruntime (augmented)');
    for (const n of plan.fetched) collectors.get(n).observe(out[n].data);
    lap('histograms');
  }
  await session.close();
  return Object.entries(T).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  benchRss();
  await benchKl();
  await benchRatio();
}
