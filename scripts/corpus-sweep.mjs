#!/usr/bin/env node
// Round trip over a corpus nobody here wrote: every model.onnx of the ONNX project's backend test
// data (Debian's libonnx-testdata, fetched by scripts/fetch-corpus.sh into .corpus/) and every
// fixtures/**/*.onnx goes through qtool's codec and onnxruntime-node:
//
//   a. read (readModelFile) → encode (encodeModel) → plain-decode both byte strings: the decoded
//      ModelProtos must be deep-equal, field by field, unknown fields included.
//   b. onnxruntime-node runs the original bytes, the re-encoded bytes, and the model rebuilt from
//      the IR alone (every kept `source` message dropped, so tensors are written from their
//      decoded bytes and attributes from their decoded values) on each test_data_set_*/input_*.pb
//      beside the model, fed in the order of the session's inputs (by the .pb's name when it has
//      one); fixtures and models without data get deterministic synthetic feeds. Every output of
//      both must be bit-identical to the original's (raw bytes, so NaNs compare as bits). Models
//      with random ops get a control run (a fresh session of the original); where the control
//      already differs the model is recorded as nondeterministic and only dtypes and shapes are
//      compared. A model whose outputs differ without random ops gets the control run too.
//   c. Exclusions from (b) only where onnxruntime-node cannot load, feed or run the ORIGINAL
//      model, with the first line of its error as the reason. (a) applies to every model.
//   Informational (never a failure): the original's outputs against the corpus's reference
//   output_*.pb, which checks qtool's decoding of the input .pb files.
//
// onnxruntime runs with its default graph optimization level, one intra-op thread per session.
// Prints a summary, writes .corpus/summary.json, exits 1 on any failure.
// Runs models in worker processes (QTOOL_SWEEP_JOBS, default: one per core, at most 4) so that a
// crash or hang inside onnxruntime is recorded against its model instead of ending the sweep.
//
// Usage: node scripts/corpus-sweep.mjs [--jobs N] [--filter SUBSTRING] [--verbose]
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
const FIXTURES = path.join(ROOT, 'fixtures');
const MODEL_TIMEOUT_MS = 120_000;

/** Ops whose outputs may differ between two runs of the same model. */
const RANDOM_OPS = new Set([
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'Dropout',
]);

// ---------------------------------------------------------------------------------------------
// Coordinator

async function main() {
  const args = parseSweepArgs('corpus-sweep', process.argv.slice(2));
  const t0 = Date.now();
  ensureCorpus();
  let models = [
    ...findFiles(CORPUS_DATA, (f) => path.basename(f) === 'model.onnx').map((p) => ({ path: p, kind: 'corpus' })),
    ...findFiles(FIXTURES, (f) => f.endsWith('.onnx')).map((p) => ({ path: p, kind: 'fixture' })),
  ];
  if (args.filter) models = models.filter((m) => rel(m.path).includes(args.filter));
  if (models.length === 0) {
    console.error('corpus-sweep: no models found');
    process.exit(1);
  }
  const jobs = Math.max(1, Math.min(args.jobs, models.length));
  console.log(`corpus-sweep: ${models.length} models (${models.filter((m) => m.kind === 'corpus').length} corpus, ${models.filter((m) => m.kind === 'fixture').length} fixtures), ${jobs} worker process(es)`);

  const results = await runPool({
    script: fileURLToPath(import.meta.url), args: ['--worker'], items: models, jobs, timeoutMs: MODEL_TIMEOUT_MS,
    failed: (m, why) => crashResult(m, why),
    progress: progressPrinter(args.verbose, (r) => `${r.model}: round-trip ${r.roundTrip.ok ? 'ok' : 'FAIL'}, ort ${r.ort.status}`),
  }).catch((e) => {
    console.error(`corpus-sweep: ${e.message}`);
    process.exit(1);
  });
  const seconds = (Date.now() - t0) / 1000;
  const summary = summarize(results, seconds);
  printSummary(summary);
  fs.mkdirSync(CORPUS, { recursive: true });
  fs.writeFileSync(path.join(CORPUS, 'summary.json'), `${JSON.stringify({ ...summary, results }, null, 2)}\n`);
  console.log(`\nwrote ${rel(path.join(CORPUS, 'summary.json'))}`);
  const failed = summary.roundTrip.fail + summary.ort.failed;
  console.log(`\ncorpus-sweep: ${summary.total - countFailedModels(results)} passed, ${countFailedModels(results)} failed`);
  process.exit(failed > 0 ? 1 : 0);
}


function ensureCorpus() {
  if (fs.existsSync(path.join(CORPUS, '.fetched')) && fs.existsSync(CORPUS_DATA)) return;
  console.log('corpus-sweep: .corpus/ is missing; running scripts/fetch-corpus.sh');
  const r = spawnSync('bash', [path.join(HERE, 'fetch-corpus.sh')], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0 || !fs.existsSync(CORPUS_DATA)) {
    console.error('corpus-sweep: fetching the corpus failed');
    process.exit(1);
  }
}

function rel(p) {
  const r = path.relative(CORPUS_DATA, p);
  return r.startsWith('..') ? path.relative(ROOT, p) : r;
}

function crashResult(m, why) {
  return {
    model: rel(m.path), kind: m.kind,
    roundTrip: { ok: false, error: `not checked: ${why}` },
    ort: { status: 'failed', reason: why },
  };
}

function countFailedModels(results) {
  return results.filter((r) => !r.roundTrip.ok || r.ort.status === 'failed').length;
}

function summarize(results, seconds) {
  const excluded = {};
  for (const r of results.filter((x) => x.ort.status === 'excluded')) {
    (excluded[r.ort.reason] ??= []).push(r.model);
  }
  const groups = Object.entries(excluded)
    .map(([reason, models]) => ({ reason, count: models.length, models }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  return {
    corpus: fs.existsSync(path.join(CORPUS, '.fetched')) ? fs.readFileSync(path.join(CORPUS, '.fetched'), 'utf8').trim() : undefined,
    seconds: Math.round(seconds * 10) / 10,
    total: results.length,
    corpusModels: results.filter((r) => r.kind === 'corpus').length,
    fixtures: results.filter((r) => r.kind === 'fixture').length,
    roundTrip: {
      pass: results.filter((r) => r.roundTrip.ok).length,
      fail: results.filter((r) => !r.roundTrip.ok).length,
      byteIdentical: results.filter((r) => r.roundTrip.byteIdentical).length,
      notByteIdentical: results.filter((r) => r.roundTrip.ok && !r.roundTrip.byteIdentical).map((r) => r.model),
      failures: results.filter((r) => !r.roundTrip.ok).map((r) => ({ model: r.model, error: r.roundTrip.error })),
    },
    ort: {
      identical: results.filter((r) => r.ort.status === 'identical').length,
      identicalWithControl: results.filter((r) => r.ort.status === 'identical' && r.ort.control).length,
      nondeterministic: results.filter((r) => r.ort.status === 'nondeterministic').map((r) => ({ model: r.model, reason: r.ort.reason })),
      excluded: results.filter((r) => r.ort.status === 'excluded').length,
      exclusions: groups,
      failed: results.filter((r) => r.ort.status === 'failed').length,
      failures: results.filter((r) => r.ort.status === 'failed').map((r) => ({ model: r.model, reason: r.ort.reason })),
      runs: results.reduce((s, r) => s + (r.ort.runs ?? 0), 0),
      referenceAgrees: results.filter((r) => r.ort.reference === 'agrees').length,
      referenceChecked: results.filter((r) => r.ort.reference && r.ort.reference !== 'no reference').length,
      referenceDisagrees: results.filter((r) => r.ort.reference && !['agrees', 'no reference'].includes(r.ort.reference))
        .map((r) => ({ model: r.model, reason: r.ort.reference })),
      syntheticFeeds: results.filter((r) => r.ort.synthetic).map((r) => r.model),
    },
  };
}

function printSummary(s) {
  console.log(`\n=== corpus sweep: ${s.total} models (${s.corpusModels} from ${s.corpus ?? 'the corpus'}, ${s.fixtures} fixtures) in ${s.seconds} s ===`);
  console.log(`round trip (plain-decoded ModelProto deep-equal): ${s.roundTrip.pass} pass, ${s.roundTrip.fail} fail` +
    ` (${s.roundTrip.byteIdentical} also byte-identical)`);
  for (const f of s.roundTrip.failures) console.log(`  FAIL ${f.model}: ${f.error}`);
  const notIdentical = s.roundTrip.notByteIdentical;
  if (notIdentical.length) {
    console.log(`  re-encoded to other bytes (deep-equal all the same): ${notIdentical.length > 20 ? `${notIdentical.slice(0, 20).join(', ')}, …` : notIdentical.join(', ')}`);
  }
  const nd = s.ort.nondeterministic.length;
  console.log(`onnxruntime, original vs re-encoded and vs rebuilt from the IR: ${s.ort.identical} bit-identical` +
    ` (${s.ort.identicalWithControl} of them random-op models with a stable control), ${nd} nondeterministic (control differs),` +
    ` ${s.ort.excluded} excluded, ${s.ort.failed} failed; ${s.ort.runs} session runs`);
  console.log(`informational: onnxruntime on the original agrees with the corpus's reference outputs for ${s.ort.referenceAgrees} of ${s.ort.referenceChecked} models` +
    ' (inputs decoded by qtool; rtol 1e-3, atol 1e-5)');
  for (const d of s.ort.referenceDisagrees) console.log(`  differs from reference ${d.model}: ${d.reason}`);
  if (s.ort.syntheticFeeds.length) console.log(`  synthetic feeds (no test_data_set): ${s.ort.syntheticFeeds.join(', ')}`);
  for (const n of s.ort.nondeterministic) console.log(`  nondeterministic (control differs) ${n.model}: ${n.reason}`);
  if (s.ort.exclusions.length) console.log('excluded (onnxruntime-node cannot load, feed or run the original):');
  for (const g of s.ort.exclusions) {
    console.log(`  ${g.count} × ${g.reason}`);
    console.log(`      ${g.models.join(', ')}`);
  }
  for (const f of s.ort.failures) console.log(`  FAIL ${f.model}: ${f.reason}`);
}

// ---------------------------------------------------------------------------------------------
// Worker: checks one model per message

async function workerMain() {
  const onnx = await import(path.join(ROOT, 'dist', 'onnx', 'index.js'));
  const ir = await import(path.join(ROOT, 'dist', 'ir', 'index.js'));
  const ort = (await import('onnxruntime-node')).default ?? (await import('onnxruntime-node'));
  const ctx = { onnx, ir, ort };
  process.on('message', async (msg) => {
    let result;
    try {
      result = await checkModel(ctx, msg);
    } catch (e) {
      result = crashResult(msg, `sweep error: ${firstLine(e)}`);
    }
    process.send({ index: msg.index, result });
  });
  process.on('disconnect', () => process.exit(0));
}

async function checkModel(ctx, m) {
  const { onnx } = ctx;
  const result = { model: rel(m.path), kind: m.kind, roundTrip: { ok: false }, ort: { status: 'failed' } };
  const original = new Uint8Array(fs.readFileSync(m.path));

  // (a) lossless round trip
  let model;
  let reencoded;
  try {
    model = onnx.readModelFile(m.path);
    reencoded = onnx.encodeModel(model);
    const a = onnx.decodeModelToPlainObject(original);
    const b = onnx.decodeModelToPlainObject(reencoded);
    if (isDeepStrictEqual(a, b)) {
      result.roundTrip = { ok: true, byteIdentical: Buffer.from(original).equals(Buffer.from(reencoded)) };
    } else {
      result.roundTrip = { ok: false, error: `decoded ModelProtos differ: ${firstDifference(a, b)}` };
    }
  } catch (e) {
    result.roundTrip = { ok: false, error: `${e?.name ?? 'Error'}: ${firstLine(e)}` };
  }

  // The same model written from the IR alone (every `source` message dropped): tensors from their
  // decoded bytes, attributes from their decoded values. Checks the decoder, not just the copy.
  let rebuilt;
  try {
    rebuilt = onnx.encodeModel(stripSources(onnx.readModelFile(m.path)));
  } catch (e) {
    rebuilt = e instanceof Error ? e : new Error(String(e));
  }

  // (b) onnxruntime on the original, the re-encoded and the rebuilt bytes
  result.ort = await compareInOrt(ctx, m, original, reencoded, rebuilt, model);
  return result;
}

async function compareInOrt(ctx, m, original, reencoded, rebuilt, model) {
  const { ort } = ctx;
  const opts = { logSeverityLevel: 4, intraOpNumThreads: 1, interOpNumThreads: 1 };
  const excluded = (reason) => ({ status: 'excluded', reason });
  if (!model) return { status: 'failed', reason: 'not run: qtool could not read the model (see the round trip)' };

  let orig;
  try {
    orig = await ort.InferenceSession.create(original, opts);
  } catch (e) {
    return excluded(`cannot load: ${ortReason(e)}`);
  }
  try {
    let feedSets;
    let synthetic = false;
    let sets = [];
    try {
      sets = findDataSets(m.path);
      if (sets.length === 0 && orig.inputNames.length > 0) {
        feedSets = [syntheticFeeds(ctx, orig, model)];
        synthetic = true;
      } else {
        feedSets = sets.map((dir) => loadFeeds(ctx, dir, orig, model));
      }
      if (feedSets.length === 0) feedSets = [{}];
    } catch (e) {
      if (e instanceof CannotFeed) return excluded(`cannot feed: ${e.message}`);
      throw e;
    }

    let origOut;
    try {
      origOut = await runAll(orig, feedSets);
    } catch (e) {
      return excluded(`cannot run: ${ortReason(e)}`);
    }
    const randomOps = model ? randomOpsOf(model) : [];
    const base = {
      runs: feedSets.length, synthetic: synthetic || undefined, randomOps: randomOps.length ? randomOps : undefined,
      reference: synthetic || randomOps.length ? undefined : referenceCheck(ctx, sets, orig.outputNames, origOut),
    };
    const variants = [{ label: 're-encoded', bytes: reencoded }, { label: 'rebuilt from the IR', bytes: rebuilt }];
    const outs = [];
    for (const v of variants) {
      if (v.bytes instanceof Error || !v.bytes) {
        return { status: 'failed', reason: `no ${v.label} model: ${v.bytes ? firstLine(v.bytes) : 'the round trip threw'}`, ...base };
      }
      let s;
      try {
        s = await ort.InferenceSession.create(v.bytes, opts);
      } catch (e) {
        return { status: 'failed', reason: `the original loads but the ${v.label} model does not: ${ortReason(e)}`, ...base };
      }
      try {
        outs.push(await runAll(s, feedSets));
      } catch (e) {
        return { status: 'failed', reason: `the original runs but the ${v.label} model does not: ${ortReason(e)}`, ...base };
      } finally {
        await s.release();
      }
      base.runs += feedSets.length;
    }
    const diffs = () => variants.map((v, i) => {
      const d = compareOutputs(origOut, outs[i]);
      return d && `${v.label}: ${d}`;
    }).filter(Boolean);
    let diff = diffs();
    if (randomOps.length === 0 && diff.length === 0) return { status: 'identical', ...base };

    // Control: a fresh session of the original, run on the same feeds in the same order.
    const control = await ort.InferenceSession.create(original, opts);
    let controlOut;
    try {
      controlOut = await runAll(control, feedSets);
    } finally {
      await control.release();
    }
    base.runs += feedSets.length;
    const controlDiff = compareOutputs(origOut, controlOut);
    if (!controlDiff) {
      if (diff.length === 0) return { status: 'identical', control: 'stable', ...base };
      return { status: 'failed', reason: `outputs differ while the control (original run twice) agrees: ${diff.join('; ')}`, ...base };
    }
    diff = variants.map((v, i) => {
      const d = compareOutputs(origOut, outs[i], { bits: false });
      return d && `${v.label}: ${d}`;
    }).filter(Boolean);
    if (diff.length) return { status: 'failed', reason: `nondeterministic model, and dtypes/shapes differ: ${diff.join('; ')}`, ...base };
    return {
      status: 'nondeterministic',
      reason: `control differs (${controlDiff}); random ops: ${randomOps.join(', ') || 'none'}; dtypes and shapes match`,
      ...base,
    };
  } finally {
    await orig.release();
  }
}

class CannotFeed extends Error {}

/**
 * Informational: onnxruntime's outputs for the original model against the corpus's reference
 * output_*.pb (ONNX backend-test tolerance, rtol 1e-3 and atol 1e-5). The inputs went through
 * qtool's TensorProto decoder, so a decoder bug shows here even though it would feed the original
 * and the re-encoded model the same wrong values. Returns 'agrees', 'no reference' or the first
 * disagreement.
 */
function referenceCheck(ctx, sets, outputNames, outs) {
  let compared = 0;
  for (let s = 0; s < sets.length; s++) {
    const files = fs.readdirSync(sets[s]).filter((f) => /^output_\d+\.pb$/.test(f))
      .sort((x, y) => Number(x.match(/\d+/)[0]) - Number(y.match(/\d+/)[0]));
    for (const f of files) {
      const k = Number(f.match(/\d+/)[0]);
      let ref;
      try {
        ref = ctx.onnx.decodeTensorBytes(new Uint8Array(fs.readFileSync(path.join(sets[s], f))), f);
      } catch {
        continue;
      }
      const name = ref.name && outputNames.includes(ref.name) ? ref.name : outputNames[k];
      const got = outs[s][name];
      if (!got) continue;
      const where = `${sets.length > 1 ? `set ${s} ` : ''}output '${name}'`;
      const dtype = FROM_ORT[got.type];
      if (dtype !== ref.dtype) return `${where}: ${got.type} vs reference ${ctx.ir.dtypeName(ref.dtype)}`;
      if (!isDeepStrictEqual(got.dims.map(Number), [...ref.dims])) return `${where}: dims [${got.dims}] vs reference [${ref.dims}]`;
      compared++;
      if (dtype === 8) {
        const want = JSON.stringify((ref.strings ?? []).map((b) => Buffer.from(b).toString('utf8')));
        if (got.bytes.toString() !== want) return `${where}: strings differ from the reference`;
        continue;
      }
      const bytes = new Uint8Array(got.bytes);
      const a = new ctx.ir.Tensor({ name, dtype, dims: ref.dims, bytes }).toFloat64();
      const b = ref.toFloat64();
      for (let i = 0; i < b.length; i++) {
        const x = a[i];
        const y = b[i];
        if (Number.isNaN(x) && Number.isNaN(y)) continue;
        if (x === y) continue;
        if (!(Math.abs(x - y) <= 1e-5 + 1e-3 * Math.abs(y))) return `${where}[${i}]: ${x} vs reference ${y}`;
      }
    }
  }
  return compared ? 'agrees' : 'no reference';
}

async function runAll(session, feedSets) {
  const outs = [];
  for (const feeds of feedSets) {
    const r = await session.run(feeds);
    const o = {};
    for (const name of session.outputNames) {
      const t = r[name];
      o[name] = { type: t.type, dims: [...t.dims], bytes: tensorBytes(t) };
      t.dispose?.();
    }
    outs.push(o);
  }
  return outs;
}

function tensorBytes(t) {
  const d = t.data;
  if (Array.isArray(d)) return Buffer.from(JSON.stringify(d));
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** First difference between two lists of output maps, or '' when bit-identical. */
function compareOutputs(a, b, { bits = true } = {}) {
  for (let s = 0; s < a.length; s++) {
    for (const name of Object.keys(a[s])) {
      const x = a[s][name];
      const y = b[s][name];
      const where = `${a.length > 1 ? `set ${s} ` : ''}output '${name}'`;
      if (!y) return `${where} missing`;
      if (x.type !== y.type) return `${where}: ${x.type} vs ${y.type}`;
      if (!isDeepStrictEqual(x.dims, y.dims)) return `${where}: dims [${x.dims}] vs [${y.dims}]`;
      if (bits && !x.bytes.equals(y.bytes)) {
        let i = 0;
        while (i < x.bytes.length && x.bytes[i] === y.bytes[i]) i++;
        return `${where}: bytes differ from offset ${i} of ${x.bytes.length}`;
      }
    }
  }
  return '';
}

function findDataSets(modelPath) {
  const dir = path.dirname(modelPath);
  return fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^test_data_set_\d+$/.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort((x, y) => Number(x.match(/(\d+)$/)[1]) - Number(y.match(/(\d+)$/)[1]));
}

const ORT_TYPES = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 21: 'uint4', 22: 'int4',
};
const TYPED = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array, float64: Float64Array, uint32: Uint32Array,
  uint64: BigUint64Array, uint4: Uint8Array, int4: Uint8Array,
};
const FROM_ORT = Object.fromEntries(Object.entries(ORT_TYPES).map(([k, v]) => [v, Number(k)]));

/** The graph's feed inputs (not initializers) with their TypeProto kind. */
function feedInputs(model) {
  return model.graph.feedInputs().map((v) => {
    const t = v.source?.type;
    const kind = !t ? 'untyped' : t.tensor_type ? 'tensor' : t.sequence_type ? 'sequence' : t.optional_type ? 'optional'
      : t.map_type ? 'map' : t.sparse_tensor_type ? 'sparse tensor' : t.opaque_type ? 'opaque' : 'untyped';
    return { name: v.name, kind, elemType: v.elemType, shape: v.shape };
  });
}

/** The input types that onnxruntime-node's API cannot express (it feeds ort.Tensor only). */
function checkFeedable(ctx, session, model) {
  if (!model) return;
  const byName = new Map(feedInputs(model).map((i) => [i.name, i]));
  for (const name of session.inputNames) {
    const i = byName.get(name);
    if (!i) continue;
    if (i.kind !== 'tensor' && i.kind !== 'untyped') throw new CannotFeed(`input '${name}' has ${i.kind === 'optional' ? 'an' : 'a'} ${i.kind} type; onnxruntime-node feeds tensors only`);
    if (i.elemType !== undefined && !ORT_TYPES[i.elemType]) {
      throw new CannotFeed(`input '${name}' is ${ctx.ir.dtypeName(i.elemType)}; onnxruntime-node has no such tensor type`);
    }
  }
}

function loadFeeds(ctx, dir, session, model) {
  checkFeedable(ctx, session, model);
  const files = fs.readdirSync(dir).filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((x, y) => Number(x.match(/\d+/)[0]) - Number(y.match(/\d+/)[0]));
  const names = session.inputNames;
  const feeds = {};
  const tensors = files.map((f) => ctx.onnx.decodeTensorBytes(new Uint8Array(fs.readFileSync(path.join(dir, f))), path.join(dir, f)));
  // Named tensors go to their input; the rest fill the remaining inputs in order.
  const unnamed = [];
  for (const t of tensors) {
    if (t.name && names.includes(t.name) && !(t.name in feeds)) feeds[t.name] = toOrt(ctx, t, t.name);
    else unnamed.push(t);
  }
  const free = names.filter((n) => !(n in feeds));
  unnamed.forEach((t, k) => {
    if (k < free.length) feeds[free[k]] = toOrt(ctx, t, free[k]);
  });
  return feeds;
}

function toOrt(ctx, t, inputName) {
  const type = ORT_TYPES[t.dtype];
  if (!type) throw new CannotFeed(`input '${inputName}' is ${ctx.ir.dtypeName(t.dtype)}; onnxruntime-node has no such tensor type`);
  if (type === 'string') return new ctx.ort.Tensor('string', (t.strings ?? []).map((s) => Buffer.from(s).toString('utf8')), [...t.dims]);
  const raw = t.raw;
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  return new ctx.ort.Tensor(type, new TYPED[type](buf), [...t.dims]);
}

/** Deterministic feeds for a model without test data: dynamic dims are 2, values a fixed LCG. */
function syntheticFeeds(ctx, session, model) {
  checkFeedable(ctx, session, model);
  const byName = new Map(feedInputs(model).map((i) => [i.name, i]));
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const feeds = {};
  for (const name of session.inputNames) {
    const i = byName.get(name);
    if (!i || i.elemType === undefined || !i.shape) throw new CannotFeed(`input '${name}' has no tensor type and shape to make a synthetic feed from`);
    const dims = i.shape.map((d) => (typeof d === 'number' ? d : 2));
    const n = dims.reduce((a, b) => a * b, 1);
    const type = ORT_TYPES[i.elemType];
    let data;
    if (type === 'float32' || type === 'float64') data = TYPED[type].from({ length: n }, () => rnd() * 2 - 1);
    else if (type === 'int64') data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 4)));
    else if (type === 'string') data = Array.from({ length: n }, () => 'x');
    else if (TYPED[type]) data = TYPED[type].from({ length: n }, () => Math.floor(rnd() * 4));
    else throw new CannotFeed(`input '${name}' is ${ctx.ir.dtypeName(i.elemType)}; no synthetic feed for it`);
    feeds[name] = new ctx.ort.Tensor(type, data, dims);
  }
  return feeds;
}

/**
 * Drops every decoded message the IR keeps (`source`), so that the encoder writes the model from
 * the IR's own values: tensors as raw_data from their decoded bytes, attributes from their decoded
 * values, value infos from elem type and shape (non-tensor value infos keep their message, which
 * the IR does not model). Local functions stay as they are (the IR keeps them as messages).
 */
function stripSources(model) {
  const strip = (g) => {
    g.source = undefined;
    const vi = (v) => (v.source?.type?.tensor_type ? { name: v.name, elemType: v.elemType, shape: v.shape } : v);
    g.inputs = g.inputs.map(vi);
    g.outputs = g.outputs.map(vi);
    g.valueInfo = new Map([...g.valueInfo].map(([k, v]) => [k, vi(v)]));
    for (const t of g.initializers.values()) t.source = undefined;
    for (const n of g.nodes) {
      n.source = undefined;
      for (const a of n.attributes) {
        a.source = undefined;
        if (a.type === 4) a.value.source = undefined;
        if (a.type === 9) for (const t of a.value) t.source = undefined;
      }
      for (const sub of n.subgraphs()) strip(sub);
    }
  };
  strip(model.graph);
  model.source = undefined;
  return model;
}

/** Random op types used anywhere in the model: graph, subgraphs and local functions. */
function randomOpsOf(model) {
  const found = new Set();
  const visit = (g) => {
    for (const n of g.nodes) {
      if (RANDOM_OPS.has(n.opType)) found.add(n.opType);
      for (const sub of n.subgraphs()) visit(sub);
    }
  };
  visit(model.graph);
  for (const f of model.functions ?? []) for (const n of f.node ?? []) if (RANDOM_OPS.has(n.op_type)) found.add(n.op_type);
  return [...found].sort();
}

function ortReason(e) {
  return firstLine(e).replace(/^\[ONNXRuntimeError\] : \d+ : /, '');
}

function firstLine(e) {
  return String(e?.message ?? e).split('\n')[0].trim();
}

/** Path and values of the first difference between two plain-decoded messages. */
function firstDifference(a, b, at = '$') {
  if (isDeepStrictEqual(a, b)) return '';
  const show = (v) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  };
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return `${at}: ${a.length} vs ${b.length} elements`;
      for (let i = 0; i < a.length; i++) {
        const d = firstDifference(a[i], b[i], `${at}[${i}]`);
        if (d) return d;
      }
    } else {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (!(k in a)) return `${at}.${k}: absent in the original, ${show(b[k])} after the round trip`;
        if (!(k in b)) return `${at}.${k}: ${show(a[k])} in the original, absent after the round trip`;
        const d = firstDifference(a[k], b[k], `${at}.${k}`);
        if (d) return d;
      }
    }
  }
  return `${at}: ${show(a)} vs ${show(b)}`;
}

// Last, so that every module-level constant above is initialised before either side starts.
if (process.argv.includes('--worker')) {
  await workerMain();
} else {
  await main();
}
