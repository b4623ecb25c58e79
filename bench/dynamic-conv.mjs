#!/usr/bin/env node
// Dynamic mode on a conv net: quantizes resnet_mini with --mode dynamic (Convs → ConvInteger after
// DynamicQuantizeLinear, Gemm → DynamicQuantizeMatMul) and prints its latency against the float
// model in onnxruntime-node (2 threads, batch 1 and 8, medians over alternating rounds) and the
// file-size ratio. Numbers only: nothing here asserts.
//   npm run build && node bench/dynamic-conv.mjs [--rounds 15] [--model fixtures/mnist/resnet_mini.onnx]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quantize } from '../dist/index.js';
import { Session } from '../dist/runtime/index.js';

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const model = arg('--model', 'fixtures/mnist/resnet_mini.onnx');
const rounds = Number(arg('--rounds', 15));
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-dyn-')), 'dynamic.onnx');
const r = await quantize(model, { output: out, config: { mode: 'dynamic' } });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function time(s, feeds, reps) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await s.run(feeds);
  return (performance.now() - t0) / reps;
}

console.log(`${model}: dynamic/float file size ${r.sizes.ratio.toFixed(3)} (${r.sizes.quantized} / ${r.sizes.float} bytes); ${os.cpus()[0].model}, load ${os.loadavg()[0].toFixed(1)}`);
const [f, q] = [await Session.open(model, { threads: 2 }), await Session.open(out, { threads: 2 })];
for (const batch of [1, 8]) {
  const feeds = { [f.inputNames[0]]: { dtype: 1, dims: [batch, 1, 28, 28], data: Float32Array.from({ length: batch * 784 }, (_, i) => Math.sin(i)) } };
  const reps = batch === 1 ? 50 : 10;
  await time(f, feeds, reps);
  await time(q, feeds, reps);
  const tf = [];
  const tq = [];
  for (let i = 0; i < rounds; i++) {
    tf.push(await time(f, feeds, reps));
    tq.push(await time(q, feeds, reps));
  }
  const [mf, mq] = [median(tf), median(tq)];
  console.log(`batch ${batch}: float ${mf.toFixed(3)} ms, dynamic ${mq.toFixed(3)} ms, speed-up ${(mf / mq).toFixed(2)}× (paired median ${median(tf.map((x, i) => x / tq[i])).toFixed(2)}×)`);
}
await f.close();
await q.close();
fs.rmSync(path.dirname(out), { recursive: true, force: true });
