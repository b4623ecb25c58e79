// Calibration benchmark (run after `npm run build`): node bench/calibration.mjs [--skip-rss] [--skip-224]
//  (a) peak RSS of calibrate --algo kl on resnet_mini, 200 vs 2,000 samples (each in a child process)
//  (b) time of one kl search on one tensor's histogram
//  (c) calibrate --algo kl wall time / plain onnxruntime-node loop wall time over the same samples,
//      one process, on resnet_mini (batch 1 and 32)
//  (d) the same on a 224×224 CNN: bench/out/resnet18.onnx (built with bench/models.ts into a temp
//      folder when missing) over 32 random [1,3,224,224] .npy samples
// Each ratio comes with where calibrate's time goes: fixed costs (read, prepare, hashes, sessions,
// size probe), the per-batch loop with and without the histogram worker, and the kl searches.
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
import { TensorCollector, augmentedModelBytes, observeTensors, planObservation } from '../dist/calibration/index.js';
import { Node, Tensor, makeAttr } from '../dist/ir/index.js';
import { randomNpyFolder } from './samples.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(root, 'fixtures/mnist/resnet_mini.onnx');
const DATA = path.join(root, 'calibration-data/mnist');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (kib) => (kib / 1024).toFixed(1);
const ms = (x) => x.toFixed(0);

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
  const elapsed = performance.now() - t0;
  global.gc?.();
  const heapAfterGcMiB = process.memoryUsage().heapUsed / 2 ** 20;
  process.stdout.write(JSON.stringify({ samples: stats.samples, maxRssKiB: process.resourceUsage().maxRSS, ms: elapsed, heapAfterGcMiB }) + '\n');
}

function rssOf(dataDir) {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', dataDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/**
 * Peak RSS is the process baseline plus the dead onnxruntime output copies awaiting GC (V8 frees
 * them at its next GC, which external memory alone triggers only every few tens of MiB), so take
 * the median of 5 runs.
 */
function benchRss() {
  const big = makeBigFolder(2000);
  try {
    const runs = { 200: [], 2000: [] };
    for (let rep = 0; rep < 5; rep++) {
      runs[200].push(rssOf(DATA));
      runs[2000].push(rssOf(big));
    }
    console.log('(a) peak RSS, calibrate --algo kl on resnet_mini (child processes, median of 5):');
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
async function plainLoop(model, dir, batchSize) {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model);
  const input = session.inputNames[0];
  const list = files(dir);
  let inference = 0;
  for (let i = 0; i < list.length; i += batchSize) {
    const batch = list.slice(i, i + batchSize).map((f) => readNpy(f));
    const per = batch[0].data.length;
    const data = new Float32Array(batch.length * per);
    batch.forEach((d, k) => data.set(d.data, k * per));
    const t1 = performance.now();
    await session.run({ [input]: new ort.Tensor('float32', data, [batch.length, ...batch[0].dims.slice(1)]) });
    inference += performance.now() - t1;
  }
  await session.release();
  return { wall: performance.now() - t0, inference };
}

/** calibrate's observation loop alone (model read and prepared beforehand), with the histogram worker forced on or off. */
async function loopOnly(model, dir, batchSize, worker) {
  const m = readModel(model);
  prepareModel(m);
  const tensors = tensorsToCalibrate(m.graph, DEFAULTS);
  const t0 = performance.now();
  const source = await openDataFolder(dir, { inputs: m.graph.feedInputs(), batchSize });
  await observeTensors(m, tensors, source, { batchSize, worker });
  return performance.now() - t0;
}

/** The loop's parts, run one after the other on this thread (the same calls observeTensors makes). */
async function breakdown(model, dir, batchSize) {
  const T = {};
  let t = performance.now();
  const lap = (k) => {
    const now = performance.now();
    T[k] = (T[k] ?? 0) + now - t;
    t = now;
  };
  const m = readModel(model);
  prepareModel(m);
  const plan = planObservation(m.graph, tensorsToCalibrate(m.graph, DEFAULTS));
  lap('read+prepare');
  const source = await openDataFolder(dir, { inputs: m.graph.feedInputs(), batchSize });
  lap('open data folder');
  const session = await Session.open(augmentedModelBytes(m, plan.fetched), { optimizationLevel: 'all' });
  lap('session');
  const collectors = new Map([...plan.fromFeeds, ...plan.fetched].map((n) => [n, new TensorCollector()]));
  let elements = 0;
  for await (const feeds of source.batches()) {
    lap('read batches');
    for (const n of plan.fromFeeds) collectors.get(n).observe(feeds[n].data);
    const out = await session.run(feeds, plan.fetched);
    lap('onnxruntime (augmented)');
    for (const n of plan.fetched) collectors.get(n).observe(out[n].data);
    lap('histograms');
    for (const n of plan.fromFeeds) elements += feeds[n].data.length;
    for (const n of plan.fetched) elements += out[n].data.length;
  }
  await session.close();
  const kl = [...collectors.values()].map((c) => c.result().histogram);
  t = performance.now();
  for (const h of kl) chooseRange('kl', h);
  lap(`kl searches (${kl.length})`);
  const parts = Object.entries(T).map(([k, v]) => `${k} ${ms(v)}`).join(', ');
  return `${parts}; ${(elements / 1e6).toFixed(1)}M values binned, ${((T.histograms * 1e6) / elements).toFixed(2)} ns each`;
}

/**
 * What onnxruntime alone needs to produce the calibrated tensors, with no qtool work at all, as
 * ratios to plain session.run over the same batches (best of 5 after a warm-up, all sessions
 * at the same options):
 *  - the augmented model with every calibrated tensor fetched (what calibrate runs), nothing binned;
 *  - one in-graph ReduceMax per calibrated tensor, only those scalars fetched: the cheapest
 *    observation of every value there is (it still takes the fusions the tapped tensors were part of);
 *  - a 2048-bin |x| histogram per tensor built in the graph (Abs, Mul, Floor, Cast, Clip, Reshape,
 *    ScatterElements with reduction=add; opset raised to 16, which these models allow), plus its
 *    ReduceMax: what binning inside onnxruntime would cost, at a fixed bin width.
 * Any calibration that looks at every value costs at least the second.
 */
async function floors(model, dir, batchSize) {
  const m = readModel(model);
  prepareModel(m);
  const plan = planObservation(m.graph, tensorsToCalibrate(m.graph, DEFAULTS));
  const source = await openDataFolder(dir, { inputs: m.graph.feedInputs(), batchSize });
  const batches = [];
  for await (const feeds of source.batches()) batches.push(feeds);
  const options = { optimizationLevel: 'all', spinning: false };
  const plain = await Session.open(fs.readFileSync(model), options);
  const fetched = await Session.open(augmentedModelBytes(m, plan.fetched), options);
  const taps = plan.fetched.map((t) => {
    const out = m.graph.uniqueName(`${t}_max`);
    m.graph.addNode(new Node({ opType: 'ReduceMax', inputs: [t], outputs: [out], attributes: [{ name: 'keepdims', type: 2, value: 0 }] }));
    return out;
  });
  const tapped = await Session.open(augmentedModelBytes(m, taps), options);
  const g = m.graph;
  for (const o of m.opsets) if (o.domain === '' || o.domain === 'ai.onnx') o.version = Math.max(o.version, 16);
  g.addInitializer(Tensor.fromFloat32('bench_inv_width', [], new Float32Array([64])));
  g.addInitializer(Tensor.fromInt64('bench_bin_lo', [], [0]));
  g.addInitializer(Tensor.fromInt64('bench_bin_hi', [], [2047]));
  g.addInitializer(Tensor.fromInt64('bench_flat', [1], [-1]));
  g.addInitializer(Tensor.fromFloat32('bench_zero_bins', [2048], new Float32Array(2048)));
  const hists = plan.fetched.map((t, k) => {
    const add = (op, inputs, attributes = []) => {
      const out = g.uniqueName(`${t}_${op}`);
      g.addNode(new Node({ opType: op, inputs, outputs: [out], attributes }));
      return out;
    };
    const bins = add('Clip', [add('Cast', [add('Floor', [add('Mul', [add('Abs', [t]), 'bench_inv_width'])])], [makeAttr.int('to', 7)]), 'bench_bin_lo', 'bench_bin_hi']);
    const flat = add('Reshape', [bins, 'bench_flat']);
    const ones = add('ConstantOfShape', [add('Shape', [flat])], [{ name: 'value', type: 4, value: Tensor.fromFloat32(`bench_one_${k}`, [1], new Float32Array([1])) }]);
    return add('ScatterElements', ['bench_zero_bins', flat, ones], [makeAttr.int('axis', 0), makeAttr.string('reduction', 'add')]);
  });
  const binned = await Session.open(augmentedModelBytes(m, [...taps, ...hists]), options);
  const best = async (session, names) => {
    let b = Infinity;
    for (let rep = 0; rep < 6; rep++) {
      const t0 = performance.now();
      for (const feeds of batches) await session.run(feeds, names);
      if (rep > 0) b = Math.min(b, performance.now() - t0);
    }
    return b;
  };
  const p = await best(plain, undefined);
  const f = await best(fetched, plan.fetched);
  const r = await best(tapped, taps);
  const h = await best(binned, [...taps, ...hists]);
  for (const s of [plain, fetched, tapped, binned]) await s.close();
  return `plain session.run ${ms(p)} ms; with the ${plan.fetched.length} tensors fetched ${ms(f)} ms (${(f / p).toFixed(2)}×); ` +
    `with one ReduceMax per tensor and nothing copied out ${ms(r)} ms (${(r / p).toFixed(2)}×); ` +
    `with in-graph histograms (ScatterElements add) ${ms(h)} ms (${(h / p).toFixed(2)}×)`;
}

/** calibrate --algo kl vs the plain loop, interleaved in one process; median of `reps` after a warm-up. */
async function ratio(label, model, dir, batchSize, reps) {
  const plain = [];
  const inner = [];
  const calib = [];
  const fixed = [];
  const loops = { worker: [], inline: [] };
  for (let rep = 0; rep <= reps; rep++) {
    const p = await plainLoop(model, dir, batchSize);
    let t0 = performance.now();
    await calibrate(model, { data: dir, config: { algo: 'kl', batchSize } });
    const c = performance.now() - t0;
    t0 = performance.now();
    await calibrate(model, { data: dir, config: { batchSize, calibCount: 1 } });
    const f = performance.now() - t0;
    const lw = await loopOnly(model, dir, batchSize, true);
    const li = await loopOnly(model, dir, batchSize, false);
    if (rep === 0) continue;
    plain.push(p.wall);
    inner.push(p.inference);
    calib.push(c);
    fixed.push(f);
    loops.worker.push(lw);
    loops.inline.push(li);
  }
  const [p, i, c] = [median(plain), median(inner), median(calib)];
  console.log(`    ${label}, batch ${String(batchSize).padStart(2)}: calibrate --algo kl ${ms(c)} ms, plain loop ${ms(p)} ms (of which session.run ${ms(i)} ms) → ratio ${(c / p).toFixed(2)} (target ≤ 1.5)`);
  console.log(`        calibrate with 1 sample (fixed costs: read, hash, prepare, encode, session, probe) ${ms(median(fixed))} ms; ` +
    `observation loop alone (open data + sessions + batches): histogram worker forced on ${ms(median(loops.worker))} ms, all on one thread ${ms(median(loops.inline))} ms ` +
    '(calibrate picks the worker only for ≥ 16 batches of ≥ 1 MiB and ≥ 256 MiB in all)');
  console.log(`        one after the other, on one thread (ms, one run): ${await breakdown(model, dir, batchSize)}`);
  console.log(`        onnxruntime alone, no qtool work (best of 5): ${await floors(model, dir, batchSize)}`);
}

async function benchRatio() {
  console.log('(c) calibrate / plain onnxruntime-node loop on resnet_mini, 200 samples, same process (median of 5, after a warm-up):');
  for (const batchSize of [1, 32]) await ratio('resnet_mini', MODEL, DATA, batchSize, 5);
}

/** bench/out/resnet18.onnx, or a fresh build of it in a temp folder. */
function cnn224() {
  const out = path.join(root, 'bench/out/resnet18.onnx');
  if (fs.existsSync(out)) return { file: out, cleanup: () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-bench-models-'));
  const r = spawnSync('npx', ['tsx', path.join(root, 'bench/models.ts'), dir], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the 224×224 models failed: ${r.stderr}`);
  return { file: path.join(dir, 'resnet18.onnx'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function bench224() {
  const model = cnn224();
  const dir = randomNpyFolder(32, [3, 224, 224]);
  try {
    console.log(`(d) calibrate / plain loop on a 224×224 CNN (${path.relative(root, model.file)}), 32 random samples, same process (median of 3, after a warm-up):`);
    for (const batchSize of [1, 8]) await ratio('resnet18', model.file, dir, batchSize, 3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.cleanup();
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  const skip = new Set(process.argv.slice(2));
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (!skip.has('--skip-rss')) benchRss();
  await benchKl();
  await benchRatio();
  if (!skip.has('--skip-224')) await bench224();
  console.log(`load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
