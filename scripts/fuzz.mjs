#!/usr/bin/env node
// qtool's fuzzer: mutates the fixture models and calibration files, runs the built CLI on each in
// a child process (30 s and 2 GB RSS at most) and classifies the outcome:
//   clean  exit 1 or 2 with one `qtool: ...` line on stderr, no stack trace, no `internal error`
//   valid  exit 0, and the written model loads in onnxruntime-node (or onnxruntime cannot load
//          the input either: qtool writes such a model without its check, see write-checked.ts)
//   fail   anything else: a stack trace, `internal error`, a signal, a hang (past 30 s, no CPU
//          progress in 10 s, or past 300 s), RSS over the limit,
//          exit 0 with an output onnxruntime refuses, a write left at -o after an error
// Every failing input is copied to --out (default fuzz-failures/) with the command that failed, so
// it can be replayed: `node scripts/fuzz.mjs --replay fuzz-failures/<case>` or the test in
// test/robust/fuzz-replay.test.ts, which replays every case kept in test/robust/fuzz-cases/.
//   npm run fuzz -- --iterations N --seed S [--jobs 2] [--out DIR]
//                   [--fresh-every 50] [--verify-every 50] [--load-every 4] [--verbose] [--case I]
//
// Cost. A fresh `node bin/qtool.js` spends ~0.55 s of CPU importing qtool before it reads a byte,
// and most cases end at the parse. So each job keeps a runner (scripts/fuzz-runner.mjs), a child
// process that imports the CLI once and runs case after case through its main(), under the same
// time and memory limits and the same classification (its death mid-case is that case's outcome;
// it is restarted then, and every 200 cases). Every --fresh-every-th case still runs as a fresh
// `node bin/qtool.js` process, as the replay test does. Most quantize cases pass --no-verify;
// every --verify-every-th one runs the full verification instead. qtool itself loads and runs
// every model it writes in onnxruntime (its write check child) before exit 0; the fuzzer loads a
// valid output again in its own onnxruntime for every fresh case and every --load-every-th other
// one, so that a regression of that guarantee still shows up.
import { fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The build under test is copied once at start (bin/, dist/, package.json, node_modules linked):
 * rebuilding dist/ while a long run goes on must not show up as failures of half-written modules.
 */
function snapshotBuild() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-fuzz-build-'));
  for (const d of ['bin', 'dist']) fs.cpSync(path.join(repo, d), path.join(dir, d), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(repo, 'scripts/fuzz-runner.mjs'), path.join(dir, 'scripts/fuzz-runner.mjs'));
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const root = process.argv.includes('--iterations') ? snapshotBuild() : repo;
const { ModelProtoType } = await import(path.join(root, 'dist/onnx/schema.js'));
const ort = await import('onnxruntime-node');

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const iterations = Number(opt('--iterations', 1000));
const seed = Number(opt('--seed', 1));
const jobs = Number(opt('--jobs', 2));
const outDir = path.resolve(opt('--out', path.join(repo, 'fuzz-failures')));
const replay = opt('--replay', undefined);
const TIME_LIMIT_MS = Number(opt('--time-limit', 30_000));
const FRESH_EVERY = Number(opt('--fresh-every', 50));
const VERIFY_EVERY = Number(opt('--verify-every', 50));
const LOAD_EVERY = Number(opt('--load-every', 4));
const RUNNER_CASES = 200;
const verbose = argv.includes('--verbose');
const RSS_LIMIT_KB = 2 * 1024 * 1024;

// ---- deterministic randomness (mulberry32) ------------------------------------------------
function rng(s) {
  let a = s >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

// ---- seeds --------------------------------------------------------------------------------
const FIXTURES = ['lenet_bn', 'resnet_mini', 'lstm_rows', 'vit_mini'].map((n) => path.join(repo, 'fixtures/mnist', `${n}.onnx`)).filter((f) => fs.existsSync(f));
const models = FIXTURES.map((f) => ({ file: f, bytes: fs.readFileSync(f) }));
const calibDir = path.join(repo, 'calibration-data/mnist');
const calibFiles = fs.readdirSync(calibDir).filter((f) => f.endsWith('.npy')).sort().slice(0, 2).map((f) => fs.readFileSync(path.join(calibDir, f)));

// ---- mutations ----------------------------------------------------------------------------
const EXTREME_INTS = [0, 1, -1, 2, 3, 7, 255, 256, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, -(2 ** 31)];
const EXTREME_FLOATS = [0, -0, 1e-45, 1e-38, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1e30, 65504];

function bitFlips(b, r) {
  const out = Buffer.from(b);
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) {
    const k = r.int(out.length);
    out[k] ^= 1 << r.int(8);
  }
  return out;
}
function truncate(b, r) {
  return Buffer.from(b.subarray(0, r.int(b.length)));
}
const floatBits = (x) => {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0];
};

/** One protobuf field-level mutation of a decoded ModelProto. Returns a description. */
function fieldMutation(m, r) {
  const g = m.graph;
  const inits = g.initializer;
  const nodes = g.node;
  const choice = r.int(12);
  const t = inits.length ? r.pick(inits) : undefined;
  const n = nodes.length ? r.pick(nodes) : undefined;
  switch (choice) {
    case 0: if (t && t.dims.length) { const k = r.int(t.dims.length); t.dims[k] = r.pick(EXTREME_INTS); return `dims[${k}] of ${t.name} = ${t.dims[k]}`; } break;
    case 1: if (t) { t.data_type = r.int(26); return `data_type of ${t.name} = ${t.data_type}`; } break;
    case 2: if (t && t.raw_data) { t.raw_data = t.raw_data.subarray(0, r.int(t.raw_data.length + 1)); return `raw_data of ${t.name} cut to ${t.raw_data.length}`; } break;
    case 3: if (t) {
      const loc = r.pick(['w.bin', '../w.bin', '/etc/passwd', 'fifo', 'loop', 'dev', '']);
      t.data_location = 1;
      t.external_data = [{ key: 'location', value: loc }, ...(r.next() < 0.5 ? [{ key: 'length', value: String(r.pick(EXTREME_INTS)) }] : []), ...(r.next() < 0.3 ? [{ key: 'offset', value: String(r.pick(EXTREME_INTS)) }] : [])];
      return `${t.name} external at ${loc}`;
    } break;
    case 4: if (n && n.attribute.length) {
      const a = r.pick(n.attribute);
      if (a.ints && a.ints.length) a.ints[r.int(a.ints.length)] = r.pick(EXTREME_INTS);
      else if (a.i !== undefined && a.i !== null) a.i = r.pick(EXTREME_INTS);
      else if (a.f !== undefined && a.f !== null) a.f = floatBits(r.pick(EXTREME_FLOATS));
      else a.type = r.int(15);
      return `attribute ${a.name} of ${n.op_type}`;
    } break;
    case 5: if (n) { n.op_type = r.pick(['Conv', 'Relu', 'MatMul', 'Gemm', 'Add', 'GlobalAveragePool', 'NoSuch', '', 'Identity']); return `op_type of ${n.name} = ${n.op_type}`; } break;
    case 6: if (t && t.raw_data && t.data_type === 1 && t.raw_data.length >= 4) {
      const raw = Buffer.from(t.raw_data);
      const k = r.int(raw.length / 4);
      raw.writeFloatLE(r.pick(EXTREME_FLOATS), k * 4);
      t.raw_data = raw;
      return `${t.name}[${k}] extreme`;
    } break;
    case 7: { const vi = r.pick([...g.input, ...g.output]); const dims = vi?.type?.tensor_type?.shape?.dim; if (dims && dims.length) { const d = r.pick(dims); d.dim_value = r.pick(EXTREME_INTS); return `shape of ${vi.name}`; } break; }
    case 8: if (m.opset_import.length) { m.opset_import[0].version = r.pick([1, 6, 9, 10, 11, 13, 17, 21, 22, 99]); return `opset ${m.opset_import[0].version}`; } break;
    case 9: if (n && n.input.length) { n.input[r.int(n.input.length)] = r.pick(['', 'nope', g.input[0]?.name ?? 'x']); return `input of ${n.name}`; } break;
    case 10: if (g.output.length) { if (r.next() < 0.5) g.output = []; else g.output[0].type = { tensor_type: { elem_type: r.int(26) } }; return 'graph outputs'; } break;
    case 11: if (t) { t.dims = Array.from({ length: r.int(5) }, () => r.pick(EXTREME_INTS)); return `dims of ${t.name} = [${t.dims}]`; } break;
  }
  return 'no-op';
}

function mutateModel(bytes, r) {
  const kind = r.int(10);
  if (kind < 2) return { bytes: bitFlips(bytes, r), what: 'bit flips' };
  if (kind < 3) return { bytes: truncate(bytes, r), what: 'truncation' };
  const m = ModelProtoType.decode(bytes);
  const whats = [];
  for (let i = 0, k = 1 + r.int(2); i < k; i++) {
    // a mutation that does not apply to the picked tensor or node is drawn again (3 tries): an
    // unchanged model only repeats the fixture's own quantization, the costliest case there is
    let what = 'no-op';
    for (let t = 0; t < 3 && what === 'no-op'; t++) what = fieldMutation(m, r);
    whats.push(what);
  }
  return { bytes: Buffer.from(ModelProtoType.encode(m).finish()), what: whats.join('; ') };
}

function mutateCalib(files, r) {
  const out = files.map((b) => Buffer.from(b));
  const k = r.int(out.length);
  const kind = r.int(6);
  if (kind === 0) out[k] = bitFlips(out[k], r);
  else if (kind === 1) out[k] = truncate(out[k], r);
  else if (kind === 2) out[k] = bitFlips(out[k].subarray(0, 128), r).length ? Buffer.concat([bitFlips(out[k].subarray(0, 128), r), out[k].subarray(128)]) : out[k];
  else if (kind === 3) { const v = r.pick(EXTREME_FLOATS); for (const b of out) for (let i = 128; i + 4 <= b.length; i += 4) b.writeFloatLE(v, i); return { files: out, what: `all values ${v}` }; }
  else if (kind === 4) { const b = out[k]; const hdr = b.subarray(10, 128).toString('latin1').replace(/\(([^)]*)\)/, `(${r.pick(['999999999, 1, 28, 28', '1, 1, 28', '0, 1, 28, 28', '1, 1, 28, 28, 1', '-1, 1, 28, 28', ''])})`); out[k] = Buffer.concat([b.subarray(0, 10), Buffer.from(hdr.padEnd(118).slice(0, 118), 'latin1'), b.subarray(128)]); }
  else if (r.next() < 0.1) return { files: out, what: 'calib unchanged' };
  else { // the rest of kind 5: another dtype or order in the header
    const b = out[k];
    const hdr = b.subarray(10, 128).toString('latin1').replace(/'descr': *'[^']*'/, `'descr': '${r.pick(['<f8', '<f2', '|u1', '|i1', '<i8', '>f4', '|b1', '|O', '<c8', '<U4', 'x'])}'`).replace(/False/, r.next() < 0.3 ? 'True' : 'False');
    out[k] = Buffer.concat([b.subarray(0, 10), Buffer.from(hdr.padEnd(118).slice(0, 118), 'latin1'), b.subarray(128)]);
  }
  return { files: out, what: `calib file ${k} mutation ${kind}` };
}

// ---- one case -----------------------------------------------------------------------------
/**
 * The activation range algorithm: the default (mse, whose search costs some 0.35 s of CPU on
 * these models) on a third of the cases, the cheap minmax on a third, percentile, kl and mse
 * named on the rest. Not `auto`: its search builds and scores dozens of candidate models
 * (some 23 s of CPU on vit_mini), for no parsing or validation path of its own.
 */
function algo(r) {
  const x = r.next();
  if (x < 1 / 3) return [];
  if (x < 2 / 3) return ['--algo', 'minmax'];
  return ['--algo', r.pick(['percentile', 'kl', 'mse'])];
}

function makeCase(i, caseSeed, verify = false) {
  const r = rng(caseSeed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-fuzz-'));
  const src = r.pick(models);
  const mutateWhich = r.int(4); // 0-2 model, 3 calibration files
  const model = mutateWhich < 3 ? mutateModel(src.bytes, r) : { bytes: src.bytes, what: 'model unchanged' };
  fs.writeFileSync(path.join(dir, 'model.onnx'), model.bytes);
  // things for external-data mutations to point at
  fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(64));
  fs.symlinkSync('/dev/zero', path.join(dir, 'dev'));
  fs.symlinkSync('loop', path.join(dir, 'loop'));
  const calib = path.join(dir, 'calib');
  fs.mkdirSync(calib);
  const c = mutateWhich === 3 ? mutateCalib(calibFiles, r) : { files: calibFiles, what: '' };
  c.files.forEach((b, k) => fs.writeFileSync(path.join(calib, `${String(k).padStart(4, '0')}.npy`), b));
  const command = r.next() < 0.25 && mutateWhich < 3
    ? ['inspect', 'model.onnx']
    : ['quantize', 'model.onnx', '--data', 'calib', '-o', 'out.onnx', '--calib-count', '2', ...(verify ? ['--eval-count', '2'] : ['--no-verify']), '--quiet', ...(r.next() < 0.2 ? ['--mode', r.pick(['dynamic', 'weight-only'])] : []), ...(r.next() < 0.15 ? ['--format', 'qoperator'] : []), ...algo(r)];
  const meta = { iteration: i, seed: caseSeed, source: path.basename(src.file), mutation: [model.what, c.what].filter(Boolean).join('; '), command };
  fs.writeFileSync(path.join(dir, 'case.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return { dir, meta };
}

function needsFifo(dir) {
  // A FIFO named `fifo` beside the model (external-data mutations may point at it).
  const f = path.join(dir, 'fifo');
  if (!fs.existsSync(f)) spawnSyncQuiet('mkfifo', [f]);
}
import { spawnSync } from 'node:child_process';
function spawnSyncQuiet(cmd, a) {
  spawnSync(cmd, a, { stdio: 'ignore' });
}

function rssKb(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Watches a process running one case: past the time limit it must keep using CPU in every further
 * 10 s window (on a loaded machine a starved but working run takes longer), nothing may run past
 * 10x the limit at all, and its RSS with its children's (the onnxruntime check child) stays under
 * the limit. `kill(why)` is called at most once. Returns a function that stops watching and gives
 * the peak RSS.
 */
function watch(pid, kill) {
  const t0 = performance.now();
  let lastCpu = -1, peak = 0, killed = false;
  const killFor = (why) => {
    if (killed) return;
    killed = true;
    kill(why);
  };
  const check = () => {
    const cpu = cpuTicks(pid) + childPids(pid).reduce((s, p) => s + cpuTicks(p), 0);
    if (cpu <= lastCpu || performance.now() - t0 > 10 * TIME_LIMIT_MS) return killFor('hang');
    lastCpu = cpu;
    timer = setTimeout(check, 10_000);
  };
  let timer = setTimeout(check, TIME_LIMIT_MS);
  const poll = setInterval(() => {
    const kb = rssKb(pid) + childPids(pid).reduce((s, p) => s + rssKb(p), 0);
    peak = Math.max(peak, kb);
    if (kb > RSS_LIMIT_KB) killFor('rss');
  }, 100);
  return () => {
    clearTimeout(timer);
    clearInterval(poll);
    return peak;
  };
}

/** Runs qtool in `dir` as a fresh `node bin/qtool.js` process; resolves with the outcome. */
function runCase(dir, command) {
  needsFifo(dir);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'bin/qtool.js'), ...command], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QTOOL_ORT_LOG_LEVEL: '' } });
    let stdout = '', stderr = '', killedFor;
    child.stdout.setEncoding('utf8').on('data', (s) => (stdout = (stdout + s).slice(-20000)));
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr = (stderr + s).slice(-20000)));
    const stop = watch(child.pid, (why) => {
      killedFor = why;
      child.kill('SIGKILL');
    });
    child.on('close', (code, signal) => {
      const peakKb = stop();
      resolve({ code, signal, stdout, stderr, killedFor, peakKb, ms: performance.now() - t0, fresh: true });
    });
  });
}

/** One job's runner (scripts/fuzz-runner.mjs): a child that runs cases through the CLI's main(). */
class Runner {
  constructor() {
    this.child = undefined;
    this.cases = 0;
  }
  async start() {
    const child = fork(path.join(root, 'scripts/fuzz-runner.mjs'), [root], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, QTOOL_ORT_LOG_LEVEL: '' } });
    this.child = child;
    this.cases = 0;
    this.err = '';
    this.out = '';
    child.stderr.setEncoding('utf8').on('data', (s) => {
      this.err += s;
      this.onData?.();
    });
    child.stdout.setEncoding('utf8').on('data', (s) => (this.out = (this.out + s).slice(-20000)));
    child.on('message', (m) => this.onMessage?.(m));
    this.closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    this.closed.then((c) => this.onClose?.(c));
    await new Promise((resolve, reject) => {
      this.onMessage = (m) => m.ready && resolve();
      this.onClose = (c) => reject(new Error(`fuzz runner ended at start (${c.code ?? c.signal}): ${this.err.slice(-2000)}`));
    });
  }
  async stopRunner() {
    if (!this.child) return;
    const c = this.child;
    this.child = undefined;
    this.onClose = undefined;
    c.kill('SIGKILL');
    await this.closed;
  }
  /** Runs one case; resolves with the same fields as runCase. */
  async run(id, dir, command) {
    if (!this.child || this.cases >= RUNNER_CASES) {
      await this.stopRunner();
      await this.start();
    }
    this.cases++;
    needsFifo(dir);
    const t0 = performance.now();
    this.err = '';
    this.out = '';
    const res = await new Promise((resolve) => {
      let killedFor, reply;
      const stop = watch(this.child.pid, (why) => {
        killedFor = why;
        this.child.kill('SIGKILL');
      });
      const marker = `\0END ${id}\0`;
      const finish = () => {
        const k = this.err.indexOf(marker);
        if (!reply || k < 0) return;
        const native = this.err.slice(0, k);
        this.err = this.err.slice(k + marker.length);
        this.onData = this.onMessage = this.onClose = undefined;
        resolve({ code: reply.code, signal: null, stdout: reply.stdout, stderr: native + reply.stderr, killedFor, peakKb: stop() });
      };
      this.onMessage = (m) => {
        if (m.id !== id) return;
        reply = m;
        finish();
      };
      this.onData = finish;
      this.onClose = ({ code, signal }) => {
        // The runner ended in the middle of the case: that is the case's outcome.
        this.child = undefined;
        this.onData = this.onMessage = this.onClose = undefined;
        resolve({ code, signal, stdout: this.out, stderr: this.err, killedFor, peakKb: stop() });
      };
      this.child.send({ id, dir, command });
    });
    return { ...res, ms: performance.now() - t0, fresh: false };
  }
}

function cpuTicks(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function classify(dir, command, res, load = true) {
  if (res.killedFor === 'hang') return { outcome: 'fail', why: `hang (no CPU progress for 10 s after ${TIME_LIMIT_MS / 1000} s, or over ${TIME_LIMIT_MS / 100} s)` };
  if (res.killedFor === 'rss') return { outcome: 'fail', why: 'RSS over 2 GB' };
  if (res.signal) return { outcome: 'fail', why: `signal ${res.signal}` };
  const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
  const out = path.join(dir, 'out.onnx');
  if (res.code === 0) {
    if (command[0] !== 'quantize') return { outcome: 'valid' };
    if (!fs.existsSync(out)) return { outcome: 'fail', why: 'exit 0 without an output' };
    if (!load) return { outcome: 'valid' };
    try {
      const s = await ort.InferenceSession.create(out, { logSeverityLevel: 4 });
      await s.release();
      return { outcome: 'valid' };
    } catch (e) {
      // qtool's contract (src/api/write-checked.ts): an input that onnxruntime itself cannot load
      // (custom ops, an invalid graph) is quantized and written without the check; only an output
      // of an input onnxruntime loads has to load.
      if (await inputUnloadable(path.join(dir, command[1]))) return { outcome: 'valid', unchecked: true };
      return { outcome: 'fail', why: `exit 0 but onnxruntime cannot load the output: ${String(e.message).split('\n')[0]}` };
    }
  }
  if (/internal error/.test(res.stderr)) return { outcome: 'fail', why: `internal error: ${lines.find((l) => /internal error/.test(l))}` };
  if (/^\s+at /m.test(res.stderr)) return { outcome: 'fail', why: 'stack trace' };
  if (/\x1b\[/.test(res.stderr)) return { outcome: 'fail', why: 'raw onnxruntime log on stderr' };
  if ((res.code === 1 || res.code === 2) && lines.length === 1 && lines[0].startsWith('qtool: ')) {
    const left = fs.readdirSync(dir).filter((f) => f.startsWith('out.onnx') || f.startsWith('.out.onnx'));
    if (command[0] === 'quantize' && left.length) return { outcome: 'fail', why: `error but ${left.join(', ')} left behind` };
    return { outcome: 'clean' };
  }
  return { outcome: 'fail', why: `exit ${res.code} with ${lines.length} stderr line(s): ${lines.slice(0, 3).join(' | ').slice(0, 300)}` };
}

/** Whether onnxruntime refuses to load the (mutated) input model: asked of qtool's check child, in its own process. */
function inputUnloadable(model) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'dist/api/check-child.js')], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
    child.on('close', () => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        resolve(!r.ok && r.stage === 'load');
      } catch {
        resolve(false);
      }
    });
    child.stdin.end(JSON.stringify({ model, feeds: [], threads: 1 }));
  });
}

function keepFailure(dir, meta, res, verdict) {
  const name = `${meta.seed}`;
  const dest = path.join(outDir, name);
  fs.mkdirSync(outDir, { recursive: true });
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest);
  for (const f of ['model.onnx', 'w.bin', 'case.json']) if (fs.existsSync(path.join(dir, f))) fs.copyFileSync(path.join(dir, f), path.join(dest, f));
  fs.cpSync(path.join(dir, 'calib'), path.join(dest, 'calib'), { recursive: true });
  fs.writeFileSync(path.join(dest, 'result.json'), `${JSON.stringify({ ...verdict, code: res.code, signal: res.signal, stderr: res.stderr.slice(-4000) }, null, 2)}\n`);
  return dest;
}

/** Re-creates the links a case folder needs (they are not copied) and runs it. */
export async function replayCase(caseDir) {
  const meta = JSON.parse(fs.readFileSync(path.join(caseDir, 'case.json'), 'utf8'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-fuzz-replay-'));
  fs.cpSync(caseDir, dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'w.bin'))) fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(64));
  fs.symlinkSync('/dev/zero', path.join(dir, 'dev'));
  fs.symlinkSync('loop', path.join(dir, 'loop'));
  fs.rmSync(path.join(dir, 'result.json'), { force: true });
  const res = await runCase(dir, meta.command);
  const verdict = await classify(dir, meta.command, res);
  fs.rmSync(dir, { recursive: true, force: true });
  return { meta, res, verdict };
}

async function main() {
  if (replay) {
    const { meta, res, verdict } = await replayCase(path.resolve(replay));
    console.log(JSON.stringify({ ...meta, ...verdict, code: res.code, stderr: res.stderr.trim().slice(-500) }, null, 2));
    process.exit(verdict.outcome === 'fail' ? 1 : 0);
  }
  const counts = { clean: 0, valid: 0, fail: 0 };
  const failures = [];
  const t0 = performance.now();
  let next = 0;
  const master = rng(seed);
  const seeds = Array.from({ length: iterations }, () => Math.floor(master.next() * 2 ** 31));
  const ways = { fresh: 0, runner: 0, loaded: 0, verified: 0, unchecked: 0 };
  async function worker() {
    const runner = new Runner();
    try {
      await work(runner);
    } finally {
      await runner.stopRunner();
    }
  }
  const only = opt('--case', undefined);
  async function work(runner) {
    while (next < iterations) {
      const i = next++;
      if (only !== undefined && i !== Number(only)) continue;
      const { dir, meta } = makeCase(i, seeds[i], VERIFY_EVERY > 0 && i % VERIFY_EVERY === VERIFY_EVERY - 1);
      try {
        const fresh = FRESH_EVERY > 0 && i % FRESH_EVERY === 0;
        const res = fresh ? await runCase(dir, meta.command) : await runner.run(i, dir, meta.command);
        const load = fresh || (LOAD_EVERY > 0 && i % LOAD_EVERY === 1);
        const verdict = await classify(dir, meta.command, res, load);
        counts[verdict.outcome]++;
        if (verbose) console.log(`#${i} ${fresh ? 'fresh ' : 'runner'} ${meta.command[0]} ${verdict.outcome.padEnd(5)} ${res.ms.toFixed(0).padStart(6)} ms${load ? ' +load' : ''}${meta.command[0] === 'quantize' && !meta.command.includes('--no-verify') ? ' +verify' : ''} ${meta.source}: ${meta.mutation} [${meta.command.slice(2).join(" ")}]`);
        if (fresh) ways.fresh++;
        else ways.runner++;
        if (load && verdict.outcome === 'valid' && meta.command[0] === 'quantize') ways.loaded++;
        if (verdict.unchecked) ways.unchecked++;
        if (!meta.command.includes('--no-verify') && meta.command[0] === 'quantize') ways.verified++;
        if (verdict.outcome === 'fail') {
          const kept = keepFailure(dir, meta, res, verdict);
          failures.push({ ...meta, why: verdict.why, kept });
          console.log(`FAIL #${i} (${meta.source}: ${meta.mutation}; ${meta.command[0]}): ${verdict.why} -> ${kept}`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      const done = counts.clean + counts.valid + counts.fail;
      if (done % 50 === 0) console.log(`${done}/${iterations}: ${counts.clean} clean errors, ${counts.valid} valid, ${counts.fail} failures (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  const summary = (stopped) => {
    const wall = (performance.now() - t0) / 1000;
    const done = counts.clean + counts.valid + counts.fail;
    console.log(`fuzz: ${done} of ${iterations} iterations${stopped ? ' (stopped early)' : ''}, seed ${seed}, ${jobs} jobs, ${wall.toFixed(0)} s wall`);
    console.log(`outcomes: ${counts.clean} clean errors, ${counts.valid} valid models/runs, ${counts.fail} failures`);
    console.log(`how: ${ways.fresh} cases in a fresh qtool process, ${ways.runner} in a runner; ${ways.verified} quantize runs with the full verification; ${ways.loaded} valid outputs loaded again by the fuzzer (${ways.unchecked} of them not loadable, from an input onnxruntime cannot load either)`);
    for (const f of failures) console.log(`  failure: seed ${f.seed} ${f.why} (${f.kept})`);
  };
  process.once('SIGTERM', () => {
    summary(true);
    process.exit(counts.fail > 0 ? 1 : 0);
  });
  await Promise.all(Array.from({ length: jobs }, worker));
  summary(false);
  process.exit(counts.fail > 0 ? 1 : 0);
}
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
