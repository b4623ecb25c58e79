#!/usr/bin/env node
// Opset conversion over a corpus nobody here wrote: every model.onnx of the ONNX backend test data
// (Debian's libonnx-testdata, fetched by scripts/fetch-corpus.sh into .corpus/) whose ai.onnx
// opset is 7–12 is converted to opset 13 and to opset 21 by `qtool upgrade` (the api function the
// command calls, in-process; `--cli` spawns bin/qtool.js instead), and onnxruntime-node runs the
// original and both conversions on the model's test_data_set_*/input_*.pb.
//
//   runnable   onnxruntime-node loads, feeds and runs the original (the rest are listed with the
//              first line of onnxruntime's error and not counted)
//   converted  `qtool upgrade` wrote both the opset-13 and the opset-21 model
//   refused    `qtool upgrade` refused (its one-line reason is listed)
//   equal      every output of both converted models is bit-identical to the original's, or within
//              1e-6 relative (|a−b| ≤ 1e-6·max|original output|) where a kernel changes; models
//              with random ops whose control run (the original twice) differs are compared on
//              dtypes and shapes only
//   failed     converted, but onnxruntime cannot load or run the result, or the outputs differ
//
// With --newer, the models at opset 13–20 are also converted to 21 and reported separately.
// Exits 1 when fewer than 95% of the runnable models convert or any converted model fails.
// Usage: node scripts/upgrade-sweep.mjs [--jobs N] [--filter SUBSTRING] [--cli] [--newer] [--verbose]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { findFiles, parseSweepArgs, progressPrinter, runPool } from './lib/pool.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const CORPUS = path.join(ROOT, '.corpus');
const CORPUS_DATA = path.join(CORPUS, 'pkg', 'usr', 'share', 'libonnx-testdata', 'data');
const TARGETS = [13, 21];
const MODEL_TIMEOUT_MS = 120_000;
const RANDOM_OPS = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial']);

async function main() {
  const args = parseSweepArgs('upgrade-sweep', process.argv.slice(2), ['cli', 'newer']);
  const t0 = Date.now();
  if (!fs.existsSync(CORPUS_DATA)) {
    const r = spawnSync('bash', [path.join(HERE, 'fetch-corpus.sh')], { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0) process.exit(1);
  }
  const onnx = await import(path.join(ROOT, 'dist', 'onnx', 'index.js'));
  let models = [];
  for (const p of findFiles(CORPUS_DATA, (f) => path.basename(f) === 'model.onnx')) {
    let v;
    try {
      v = onnx.readModelFile(p).opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
    } catch {
      continue;
    }
    if (v >= 7 && v <= 12) models.push({ path: p, opset: v, targets: TARGETS });
    else if (args.newer && v >= 13 && v <= 20) models.push({ path: p, opset: v, targets: [21] });
  }
  if (args.filter) models = models.filter((m) => rel(m.path).includes(args.filter));
  const jobs = Math.max(1, Math.min(args.jobs, models.length));
  console.log(`upgrade-sweep: ${models.length} corpus models (opset 7–12 → ${TARGETS.join(' and ')}${args.newer ? ', 13–20 → 21' : ''}), ${jobs} worker process(es)${args.cli ? ', via bin/qtool.js' : ''}`);
  const results = await runPool({
    script: fileURLToPath(import.meta.url), args: ['--worker', ...(args.cli ? ['--cli'] : [])], items: models, jobs, timeoutMs: MODEL_TIMEOUT_MS,
    failed: (m, why) => ({ model: rel(m.path), opset: m.opset, status: 'failed', reason: why }),
    progress: progressPrinter(args.verbose, (r) => `${r.model}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`),
  }).catch((e) => {
    console.error(`upgrade-sweep: ${e.message}`);
    process.exit(1);
  });
  const seconds = (Date.now() - t0) / 1000;
  const s = summarize(results.filter((r) => r.opset <= 12), seconds);
  print(s, '7–12', '13 and 21');
  const newer = args.newer ? summarize(results.filter((r) => r.opset > 12), seconds) : undefined;
  if (newer) print(newer, '13–20', '21');
  fs.writeFileSync(path.join(CORPUS, 'upgrade-summary.json'), `${JSON.stringify({ ...s, newer, results }, null, 2)}\n`);
  const ok = [s, newer].every((x) => !x || x.runnable === 0 || (x.converted / x.runnable >= 0.95 && x.failed.length === 0));
  console.log(`\nupgrade-sweep: ${ok ? 'pass' : 'FAIL'} (wrote ${path.relative(ROOT, path.join(CORPUS, 'upgrade-summary.json'))})`);
  process.exit(ok ? 0 : 1);
}


const rel = (p) => path.relative(CORPUS_DATA, p);

function summarize(results, seconds) {
  const group = (status) => {
    const m = {};
    for (const r of results.filter((x) => x.status === status)) (m[r.reason] ??= []).push(r.model);
    return Object.entries(m).map(([reason, models]) => ({ reason, count: models.length, models })).sort((a, b) => b.count - a.count);
  };
  const runnable = results.filter((r) => r.status !== 'not runnable');
  return {
    seconds: Math.round(seconds * 10) / 10,
    models: results.length,
    byOpset: Object.fromEntries([...new Set(results.map((r) => r.opset))].sort((a, b) => a - b).map((v) => [v, results.filter((r) => r.opset === v).length])),
    notRunnable: group('not runnable'),
    runnable: runnable.length,
    converted: runnable.filter((r) => r.status !== 'refused').length,
    equal: runnable.filter((r) => r.status === 'equal').length,
    bitIdentical: runnable.filter((r) => r.status === 'equal' && r.identical).length,
    withinTolerance: runnable.filter((r) => r.status === 'equal' && !r.identical && !r.nondeterministic).map((r) => ({ model: r.model, maxRel: r.maxRel, at: r.differsAt })),
    nondeterministic: runnable.filter((r) => r.status === 'equal' && r.nondeterministic).map((r) => r.model),
    adapted: runnable.filter((r) => r.status === 'equal' && r.steps?.length).length,
    refused: group('refused'),
    failed: runnable.filter((r) => r.status === 'failed').map((r) => ({ model: r.model, reason: r.reason })),
  };
}

function print(s, range, targets) {
  console.log(`\n=== upgrade sweep: ${s.models} corpus models at opset ${range} (${Object.entries(s.byOpset).map(([v, n]) => `${n} at ${v}`).join(', ')}); ${s.seconds} s in all ===`);
  console.log(`runnable in onnxruntime-node: ${s.runnable}`);
  console.log(`converted to ${targets}: ${s.converted} of ${s.runnable} (${s.runnable ? ((100 * s.converted) / s.runnable).toFixed(1) : '0'}%)`);
  console.log(`equal outputs: ${s.equal} (${s.bitIdentical} bit-identical, ${s.withinTolerance.length} within 1e-6 relative, ${s.nondeterministic.length} random-op models compared on dtypes/shapes); ${s.adapted} of them needed an adapter`);
  for (const w of s.withinTolerance) console.log(`  within tolerance ${w.model}: max rel ${w.maxRel.toExponential(2)} (bit-identical except at opset ${w.at.join(', ')})`);
  console.log(`refused: ${s.refused.reduce((a, g) => a + g.count, 0)}`);
  for (const g of s.refused) console.log(`  ${g.count} × ${g.reason}\n      ${g.models.join(', ')}`);
  console.log(`failed: ${s.failed.length}`);
  for (const f of s.failed) console.log(`  FAIL ${f.model}: ${f.reason}`);
  console.log(`not runnable (onnxruntime-node cannot load, feed or run the original): ${s.notRunnable.reduce((a, g) => a + g.count, 0)}`);
  for (const g of s.notRunnable) console.log(`  ${g.count} × ${g.reason}`);
}

// ---------------------------------------------------------------------------------------------
// Worker

async function worker(cli) {
  const onnx = await import(path.join(ROOT, 'dist', 'onnx', 'index.js'));
  const api = await import(path.join(ROOT, 'dist', 'api', 'upgrade.js'));
  const ort = (await import('onnxruntime-node')).default;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-upgrade-sweep-'));
  process.on('disconnect', () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(0);
  });
  process.on('message', async (m) => {
    let result;
    try {
      result = await check({ onnx, api, ort, tmp, cli }, m);
    } catch (e) {
      result = { model: rel(m.path), opset: m.opset, status: 'failed', reason: `sweep error: ${firstLine(e)}` };
    }
    process.send({ index: m.index, result });
  });
}

async function check(ctx, m) {
  const base = { model: rel(m.path), opset: m.opset };
  const opts = { logSeverityLevel: 4, intraOpNumThreads: 1, interOpNumThreads: 1 };
  let orig;
  let feeds;
  let ref;
  const notTensor = ctx.onnx.readModelFile(m.path).graph.feedInputs().find((v) => v.source?.type && !v.source.type.tensor_type);
  if (notTensor) return { ...base, status: 'not runnable', reason: `input '${notTensor.name}' is not a tensor; onnxruntime-node feeds tensors only` };
  try {
    orig = await ctx.ort.InferenceSession.create(m.path, opts);
    feeds = dataSets(m.path).map((d) => loadFeeds(ctx, d, orig.inputNames));
    if (feeds.length === 0) feeds = [{}];
    ref = await runAll(orig, feeds);
  } catch (e) {
    return { ...base, status: 'not runnable', reason: ortReason(e) };
  }
  const model = ctx.onnx.readModelFile(m.path);
  const random = randomOps(model);
  let control;
  if (random) control = await runAll(await ctx.ort.InferenceSession.create(m.path, opts), feeds);
  const nondeterministic = random && !!compare(ref, control, 0);
  const steps = [];
  let worst = 0;
  let identical = true;
  const differsAt = [];
  for (const to of m.targets) {
    const out = path.join(ctx.tmp, `${m.index}-${to}.onnx`);
    try {
      if (ctx.cli) {
        const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'qtool.js'), 'upgrade', m.path, '--opset', String(to), '-o', out, '--json'], { encoding: 'utf8' });
        if (r.status !== 0) return { ...base, status: 'refused', reason: r.stderr.trim().split('\n')[0].replace(m.path, '<model>') };
        steps.push(...JSON.parse(r.stdout.trim().split('\n').pop()).steps.map((s) => ({ ...s, to })));
      } else {
        steps.push(...ctx.api.upgrade(m.path, { opset: to, output: out }).steps.map((s) => ({ ...s, to })));
      }
    } catch (e) {
      if (e?.name === 'UnsupportedError' || e?.name === 'UserInputError') return { ...base, status: 'refused', reason: `qtool: ${firstLine(e).replace(m.path, '<model>')}` };
      return { ...base, status: 'failed', reason: `upgrade to ${to} threw: ${firstLine(e)}` };
    }
    let got;
    try {
      const s = await ctx.ort.InferenceSession.create(out, opts);
      got = await runAll(s, feeds);
      await s.release();
    } catch (e) {
      return { ...base, status: 'failed', reason: `opset ${to}: the original runs, the converted model does not: ${ortReason(e)}`, steps };
    } finally {
      fs.rmSync(out, { force: true });
    }
    if (nondeterministic) {
      const d = compare(ref, got, Infinity);
      if (d) return { ...base, status: 'failed', reason: `opset ${to} (random ops): ${d}`, steps };
      continue;
    }
    const exact = compare(ref, got, 0);
    if (!exact) continue;
    identical = false;
    differsAt.push(to);
    const d = compare(ref, got, 1e-6);
    if (d) return { ...base, status: 'failed', reason: `opset ${to}: ${d}`, steps };
    worst = Math.max(worst, maxRel(ref, got));
  }
  await orig.release();
  return { ...base, status: 'equal', identical: identical && !nondeterministic, nondeterministic: nondeterministic || undefined, maxRel: worst || undefined, differsAt: differsAt.length ? differsAt : undefined, steps };
}

function dataSets(modelPath) {
  const dir = path.dirname(modelPath);
  return fs.readdirSync(dir).filter((e) => /^test_data_set_\d+$/.test(e)).sort((a, b) => Number(a.match(/\d+$/)[0]) - Number(b.match(/\d+$/)[0])).map((e) => path.join(dir, e));
}

const ORT_TYPES = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64' };
const TYPED = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array, float64: Float64Array, uint32: Uint32Array, uint64: BigUint64Array };

function loadFeeds(ctx, dir, names) {
  const files = fs.readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f)).sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]));
  const feeds = {};
  const unnamed = [];
  for (const f of files) {
    const t = ctx.onnx.decodeTensorBytes(new Uint8Array(fs.readFileSync(path.join(dir, f))), f);
    if (t.name && names.includes(t.name) && !(t.name in feeds)) feeds[t.name] = toOrt(ctx, t);
    else unnamed.push(t);
  }
  const free = names.filter((n) => !(n in feeds));
  unnamed.forEach((t, k) => {
    if (k < free.length) feeds[free[k]] = toOrt(ctx, t);
  });
  return feeds;
}

function toOrt(ctx, t) {
  const type = ORT_TYPES[t.dtype];
  if (!type) throw new Error(`cannot feed element type ${t.dtype}`);
  if (type === 'string') return new ctx.ort.Tensor('string', (t.strings ?? []).map((s) => Buffer.from(s).toString('utf8')), [...t.dims]);
  const raw = t.raw;
  return new ctx.ort.Tensor(type, new TYPED[type](raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), [...t.dims]);
}

async function runAll(session, feedSets) {
  const outs = [];
  for (const feeds of feedSets) {
    const r = await session.run(feeds);
    outs.push(Object.fromEntries(session.outputNames.map((n) => [n, { type: r[n].type, dims: [...r[n].dims].map(Number), data: r[n].data }])));
  }
  return outs;
}

const FLOATS = new Set(['float32', 'float64']);

/** First difference beyond `rtol` (relative to the output's largest magnitude), or ''. rtol 0 =
 * bit-identical, Infinity = dtypes and shapes only. */
function compare(a, b, rtol) {
  for (let s = 0; s < a.length; s++) {
    for (const [name, x] of Object.entries(a[s])) {
      const y = b[s][name];
      const where = `${a.length > 1 ? `set ${s} ` : ''}output '${name}'`;
      if (!y) return `${where} missing`;
      if (x.type !== y.type) return `${where}: ${x.type} vs ${y.type}`;
      if (!isDeepStrictEqual(x.dims, y.dims)) return `${where}: dims [${x.dims}] vs [${y.dims}]`;
      if (rtol === Infinity) continue;
      if (rtol === 0 || !FLOATS.has(x.type)) {
        const same = Array.isArray(x.data) ? isDeepStrictEqual(x.data, y.data) : Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).equals(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
        if (!same) return `${where}: values differ${rtol === 0 ? '' : ' (not a float output)'}`;
        continue;
      }
      let scale = 0;
      for (const v of x.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < x.data.length; i++) {
        const p = x.data[i];
        const q = y.data[i];
        if (Object.is(p, q) || (Number.isNaN(p) && Number.isNaN(q))) continue;
        if (!(Math.abs(p - q) <= rtol * scale)) return `${where}[${i}]: ${p} vs ${q} (beyond ${rtol} relative)`;
      }
    }
  }
  return '';
}

function maxRel(a, b) {
  let worst = 0;
  for (let s = 0; s < a.length; s++) {
    for (const [name, x] of Object.entries(a[s])) {
      if (!FLOATS.has(x.type)) continue;
      let scale = 0;
      for (const v of x.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < x.data.length; i++) {
        const d = Math.abs(x.data[i] - b[s][name].data[i]);
        if (Number.isFinite(d) && scale > 0 && d > 0) worst = Math.max(worst, d / scale);
      }
    }
  }
  return worst;
}

function randomOps(model) {
  let found = false;
  const visit = (g) => {
    for (const n of g.nodes) {
      if (RANDOM_OPS.has(n.opType)) found = true;
      for (const sub of n.subgraphs()) visit(sub);
    }
  };
  visit(model.graph);
  return found;
}

const firstLine = (e) => String(e?.message ?? e).split('\n')[0].trim();
const ortReason = (e) => firstLine(e).replace(/^\[ONNXRuntimeError\] : \d+ : /, '');

if (process.argv.includes('--worker')) await worker(process.argv.includes('--cli'));
else await main();
