#!/usr/bin/env node
// Robustness sweep (not part of npm test): quantize every model of ONNX's backend test data whose
// inputs are all float32, using the test_data_set_N folders beside it as calibration data, and
// load each result in onnxruntime. Run `npm run test:corpus` first (it fetches .corpus/).
//   npm run build && node scripts/quantize-sweep.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quantize } from '../dist/index.js';
import { Session } from '../dist/runtime/index.js';
import { readModelFile } from '../dist/onnx/index.js';

function find(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name === 'model.onnx') out.push(p);
  }
  return out;
}

const root = '.corpus';
if (!fs.existsSync(root)) {
  console.error('no .corpus/: run npm run test:corpus first');
  process.exit(1);
}
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-qsweep-'));
const counts = {};
const failures = [];
for (const file of find(root).sort()) {
  let model;
  try {
    model = readModelFile(file);
  } catch {
    continue;
  }
  const feeds = model.graph.feedInputs();
  if (!feeds.length || !feeds.every((v) => v.elemType === 1)) continue;
  try {
    await (await Session.open(file)).close();
  } catch {
    continue; // onnxruntime cannot load the original: nothing to compare
  }
  const name = path.basename(path.dirname(file));
  try {
    const r = await quantize(file, { output: path.join(out, `${name}.int8.onnx`), data: path.dirname(file) });
    await (await Session.open(r.output)).close();
    const key = r.plan.nodes.some((n) => n.status !== 'float') ? 'quantized, loads in onnxruntime' : 'nothing to quantize, loads';
    counts[key] = (counts[key] ?? 0) + 1;
  } catch (e) {
    const key = `${e.constructor.name}`;
    counts[key] = (counts[key] ?? 0) + 1;
    failures.push(`${name}: ${key}: ${String(e.message).split('\n')[0]}`);
  }
}
console.log(counts);
for (const f of failures) console.log(`  ${f}`);
process.exit(failures.some((f) => !/UserInputError/.test(f)) ? 1 : 0);
