#!/usr/bin/env node
// Quantize sweep over a corpus nobody here wrote (runs in .ci/run after `npm run test:corpus`,
// which fetches .corpus/; not part of npm test): every model.onnx of ONNX's backend test data
// whose inputs are all float32 and that onnxruntime-node itself can load is quantized with the
// default options, its test_data_set_N folders as calibration data. Each model runs in a worker
// process, so a native crash or a hang is recorded against it instead of ending the sweep.
//
// Outcomes:
//   quantized       written, holds quantized nodes, loads and runs in onnxruntime-node on the
//                   model's first test_data_set, with the float model's output names and shapes
//   float           nothing to quantize; the written model loads and runs the same way
//   refused         a clean qtool error (UserInputError, ModelError, UnsupportedError): one line,
//                   nothing left at -o. A "use --batch-size N" refusal is retried once with N.
//   FAIL            anything else: an internal error (not a QtoolError), an output that does not
//                   load or run or has other output shapes, a file left at -o after an error, a
//                   crash (signal or exit of the worker), a hang (over 120 s)
// Skipped (not counted as outcomes): inputs that are not all float32, originals onnxruntime
// cannot load, models without test data.
//
// Prints the counts and every refusal and failure, writes .corpus/quantize-summary.json, exits 1
// on any FAIL.
//   npm run build && node scripts/quantize-sweep.mjs [--jobs N] [--filter SUBSTRING] [--verbose]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFiles, parseSweepArgs, progressPrinter, runPool } from './lib/pool.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const CORPUS = path.join(ROOT, '.corpus');
const CORPUS_DATA = path.join(CORPUS, 'pkg', 'usr', 'share', 'libonnx-testdata', 'data');
const MODEL_TIMEOUT_MS = 120_000;
const CLEAN_ERRORS = new Set(['UserInputError', 'ModelError', 'UnsupportedError']);

if (process.argv[2] === '--worker') await worker();
else await main();

// ---------------------------------------------------------------------------------------------
// Coordinator

async function main() {
  const args = parseSweepArgs('quantize-sweep', process.argv.slice(2));
  const t0 = Date.now();
  if (!fs.existsSync(CORPUS_DATA)) {
    console.error(`quantize-sweep: ${path.relative(ROOT, CORPUS_DATA)} is missing: run npm run test:corpus first (it fetches the corpus)`);
    process.exit(1);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    console.error('quantize-sweep: dist/ is missing: run npm run build first');
    process.exit(1);
  }
  let models = findFiles(CORPUS_DATA, (f) => path.basename(f) === 'model.onnx');
  if (args.filter) models = models.filter((m) => rel(m).includes(args.filter));
  if (!models.length) {
    console.error('quantize-sweep: no models found');
    process.exit(1);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-qsweep-'));
  const jobs = Math.max(1, Math.min(args.jobs, models.length));
  console.log(`quantize-sweep: ${models.length} models, ${jobs} worker process(es), outputs in ${out}`);
  let results;
  try {
    results = await runPool({
      script: fileURLToPath(import.meta.url), args: ['--worker'], items: models, jobs, timeoutMs: MODEL_TIMEOUT_MS,
      send: (file, index) => ({ index, file, outDir: out }),
      failed: (file, why) => ({ model: rel(file), outcome: 'FAIL', reason: why.startsWith('timed out') ? `hang: ${why}` : `crash: ${why}` }),
      progress: progressPrinter(args.verbose, (r) => `${r.model}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`, (r) => r.outcome === 'FAIL'),
    });
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const seconds = (Date.now() - t0) / 1000;

  const counts = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  const group = (outcome) => {
    const by = new Map();
    for (const r of results.filter((x) => x.outcome === outcome)) {
      const key = r.reason.replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N');
      if (!by.has(key)) by.set(key, []);
      by.get(key).push(r);
    }
    return [...by].sort((a, b) => b[1].length - a[1].length);
  };
  console.log(`\nquantize-sweep: ${results.length} models in ${seconds.toFixed(1)} s`);
  for (const k of ['quantized', 'float', 'refused', 'skipped', 'FAIL']) console.log(`  ${k.padEnd(10)} ${counts[k] ?? 0}`);
  const retried = results.filter((r) => r.retriedWithBatchSize && r.outcome !== 'refused').length;
  if (retried) console.log(`  (${retried} of the quantized/float ones after a retry with the --batch-size the refusal asked for)`);
  for (const outcome of ['skipped', 'refused', 'FAIL']) {
    const groups = group(outcome);
    if (!groups.length) continue;
    console.log(`\n${outcome}:`);
    for (const [, rs] of groups) {
      const shown = outcome === 'skipped' ? [] : rs.slice(0, outcome === 'FAIL' ? rs.length : 3);
      console.log(`  ${String(rs.length).padStart(3)} × ${rs[0].reason}`);
      if (shown.length) console.log(`        ${shown.map((r) => r.model).join(', ')}${rs.length > shown.length ? ', …' : ''}`);
    }
  }
  fs.writeFileSync(path.join(CORPUS, 'quantize-summary.json'), `${JSON.stringify({ seconds, counts, results }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(ROOT, path.join(CORPUS, 'quantize-summary.json'))}`);
  const failed = counts.FAIL ?? 0;
  console.log(`quantize-sweep: ${failed ? `${failed} FAILED` : 'no crash, no internal error, every output loads and runs'}`);
  process.exit(failed ? 1 : 0);
}


function rel(p) {
  return path.relative(CORPUS_DATA, p);
}

// ---------------------------------------------------------------------------------------------
// Worker: one model per message

async function worker() {
  const dist = (p) => import(path.join(ROOT, 'dist', p));
  const ctx = {
    api: await dist('index.js'),
    onnx: await dist('onnx/index.js'),
    runtime: await dist('runtime/index.js'),
  };
  process.on('message', async (msg) => {
    let result;
    try {
      result = await sweepOne(ctx, msg.file, msg.outDir);
    } catch (e) {
      result = { outcome: 'FAIL', reason: `sweep error: ${String(e?.message ?? e).split('\n')[0]}` };
    }
    process.send({ index: msg.index, result: { model: rel(msg.file), ...result } });
  });
}

const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

async function sweepOne(ctx, file, outDir) {
  let model;
  try {
    model = ctx.onnx.readModelFile(file);
  } catch (e) {
    return { outcome: 'skipped', reason: `qtool cannot read the original: ${e.name}` };
  }
  const feeds = model.graph.feedInputs();
  if (!feeds.length || !feeds.every((v) => v.elemType === 1)) return { outcome: 'skipped', reason: 'inputs are not all float32' };
  const dataDir = path.dirname(file);
  const set0 = fs.readdirSync(dataDir).filter((d) => /^test_data_set_\d+$/.test(d)).sort()[0];
  if (!set0) return { outcome: 'skipped', reason: 'no test_data_set_N folder' };

  let floatOut;
  try {
    floatOut = await runOnce(ctx, file, path.join(dataDir, set0));
  } catch (e) {
    return { outcome: 'skipped', reason: `onnxruntime cannot load or run the original: ${firstLine(e).replace(/^.*?: onnxruntime /, 'onnxruntime ')}` };
  }

  const output = path.join(outDir, `${rel(dataDir).replaceAll(path.sep, '__')}.int8.onnx`);
  let r;
  let retriedWithBatchSize;
  for (let attempt = 0; ; attempt++) {
    try {
      r = await ctx.api.quantize(file, { output, data: dataDir, config: retriedWithBatchSize ? { batchSize: retriedWithBatchSize } : undefined });
      break;
    } catch (e) {
      const left = leftovers(output);
      if (left.length) return { outcome: 'FAIL', reason: `left ${left.join(', ')} after ${e?.name}: ${firstLine(e)}` };
      if (!(e instanceof ctx.api.QtoolError) || !CLEAN_ERRORS.has(e.name)) {
        return { outcome: 'FAIL', reason: `internal error (${e?.name ?? typeof e}): ${firstLine(e)}` };
      }
      const asked = /use --batch-size (\d+)/.exec(e.message);
      if (attempt === 0 && asked) {
        retriedWithBatchSize = Number(asked[1]);
        continue;
      }
      return { outcome: 'refused', reason: `${e.name}: ${firstLine(e).replaceAll(file, '<model>').replaceAll(dataDir, '<data>')}`, retriedWithBatchSize };
    }
  }

  let qOut;
  try {
    qOut = await runOnce(ctx, r.output, path.join(dataDir, set0));
  } catch (e) {
    return { outcome: 'FAIL', reason: `the written model does not load or run: ${firstLine(e).replaceAll(r.output, '<output>')}` };
  }
  fs.rmSync(r.output, { force: true }); // keeps the temp folder small
  for (const [k, t] of Object.entries(floatOut)) {
    if (!qOut[k]) return { outcome: 'FAIL', reason: `the written model lacks output '${k}'` };
    if (qOut[k].dims.join() !== t.dims.join()) return { outcome: 'FAIL', reason: `output '${k}' is [${qOut[k].dims}], the float model's is [${t.dims}]` };
  }
  const quantized = r.plan.nodes.some((n) => n.status !== 'float');
  return { outcome: quantized ? 'quantized' : 'float', reason: '', retriedWithBatchSize };
}

/** Files beside `output` that a failed quantize must not leave: the output itself or its temps. */
function leftovers(output) {
  const dir = path.dirname(output);
  const base = path.basename(output);
  return fs.readdirSync(dir).filter((f) => f === base || (f.startsWith(`${base}.`) && f.endsWith('.tmp')));
}

/** Runs `file` once on the input_N.pb of `setDir` (by name where the tensor has one, else in order). */
async function runOnce(ctx, file, setDir) {
  const session = await ctx.runtime.Session.open(file);
  try {
    const names = session.inputNames;
    const tensors = fs.readdirSync(setDir).filter((f) => /^input_\d+\.pb$/.test(f))
      .sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]))
      .map((f) => ctx.onnx.decodeTensorBytes(new Uint8Array(fs.readFileSync(path.join(setDir, f))), path.join(setDir, f)));
    const feeds = {};
    const unnamed = [];
    for (const t of tensors) {
      if (t.name && names.includes(t.name) && !(t.name in feeds)) feeds[t.name] = ctx.runtime.hostFromTensor(t);
      else unnamed.push(t);
    }
    names.filter((n) => !(n in feeds)).forEach((n, k) => {
      if (unnamed[k]) feeds[n] = ctx.runtime.hostFromTensor(unnamed[k]);
    });
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: t.dims }]));
  } finally {
    await session.close();
  }
}
