// --equalize and --bias-correction on a depthwise model, and the cost of --target-sqnr there:
//   npm run build && npx tsx bench/equalize.ts [rounds=1] [--mobilenetv2]
// Model: lenet_bn with planted 1×1 depthwise layers (test/e2e/depthwise-model.ts), and the
// fixtures lenet_bn / resnet_mini (and with --mobilenetv2 the bench MobileNetV2, bench/models.ts). Figures: logits SQNR against float on the 2,000 held-out test
// digits and top-1 (float top-1 in the header), per-tensor and per-channel weights, each with
// nothing, --equalize, --bias-correction, both. Cost: wall time of `qtool quantize --per-tensor
// --target-sqnr 30` (a fresh CLI process, its final quantize included) as a multiple of one plain
// `qtool quantize --per-tensor`, medians of `rounds`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quantize } from '../src/index.js';
import { plantDepthwise } from '../test/e2e/depthwise-model.js';
import { logits, sqnr, top1 } from '../test/e2e/helpers.js';
// @ts-expect-error plain .mjs script without types
import { writeSplit } from '../scripts/mnist-data.mjs';
import { Session } from '../src/runtime/index.js';
import { buildBenchModels } from './models.js';
import { imageBatch, writeCalibrationFolder } from './data.js';

const rounds = Number(process.argv[2] ?? 1);
const withMobileNet = process.argv.includes('--mobilenetv2');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-bench-eq-'));
const CALIB = 'calibration-data/mnist';
const variants = [['none', {}], ['--equalize', { equalize: true }], ['--bias-correction', { biasCorrection: true }], ['both', { equalize: true, biasCorrection: true }]] as const;

/** One table row per weight granularity: SQNR (and top-1 where there are labels) of each variant. */
async function rows(name: string, file: string, calib: string, outputs: (model: string) => Promise<Float32Array>, top?: (l: Float32Array) => number) {
  const ref = await outputs(file);
  for (const perChannel of [false, true]) {
    const cells: string[] = [];
    for (const [, extra] of variants) {
      const output = path.join(dir, 'q.onnx');
      await quantize(file, { output, data: calib, config: { perChannel, ...extra }, verify: false });
      const q = await outputs(output);
      cells.push(`${sqnr(ref, q).toFixed(2)} dB${top ? `, ${top(q).toFixed(2)}%` : ''}`);
    }
    console.log(`| ${name}${top ? ` (float ${top(ref).toFixed(2)}%)` : ''} | ${perChannel ? 'per-channel' : 'per-tensor'} | ${cells.join(' | ')} |`);
  }
}

console.log('| model | weights | none | --equalize | --bias-correction | both |');
console.log('|---|---|---|---|---|---|');
const planted = plantDepthwise(path.join(dir, 'lenet_dw.onnx'));
for (const [name, file] of [['lenet_dw (planted depthwise)', planted], ['lenet_bn', 'fixtures/mnist/lenet_bn.onnx'], ['resnet_mini', 'fixtures/mnist/resnet_mini.onnx']] as const) {
  await rows(name, file, CALIB, logits, top1);
}
if (withMobileNet) {
  // bench/models.ts: torchvision-shaped MobileNetV2, random weights with fitted BN statistics (no
  // task metric); 16 synthetic calibration images, SQNR of the logits on 8 others.
  const [mb] = (await buildBenchModels(path.join(dir, 'mb'))).filter((m) => m.name === 'mobilenetv2');
  const calib = path.join(dir, 'calib224');
  writeCalibrationFolder(calib, 16, 1);
  const evalBatch = imageBatch(8, 5_001);
  const outputs = async (model: string) => {
    const s = await Session.open(model, { threads: 2 });
    const r = await s.run({ input: { dtype: 1, dims: [8, 3, 224, 224], data: evalBatch } });
    await s.close();
    return Float32Array.from(r[s.outputNames[0]!]!.data as Float32Array);
  };
  await rows('MobileNetV2 (bench, random weights)', mb!.file, calib, outputs);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function time(args: string[]): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/qtool.js', ...args], { encoding: 'utf8' });
  return { ms: performance.now() - t0, out: r.stdout };
}
const evalData = writeSplit('test', path.join(dir, 'eval'), 500).data;
const common = [planted, '--data', CALIB, '--quiet', '--per-tensor', '-o', path.join(dir, 'out.onnx'), '--no-verify'];
const plain: number[] = [];
const tuned: number[] = [];
let info = '';
for (let r = 0; r < rounds; r++) {
  plain.push(time(['quantize', ...common]).ms);
  const t = time(['quantize', ...common, '--eval-data', evalData, '--target-sqnr', '30', '--json']);
  tuned.push(t.ms);
  const s = JSON.parse(t.out.trim().split('\n').pop()!).search;
  info = `${s.met ? 'met' : 'missed'}, ${s.fallback.length}/${s.units} units in ${s.mode}, ${s.trials} trials, ${Number(s.steps[0].metrics.sqnrDb).toFixed(2)} → ${Number(s.final.sqnrDb).toFixed(2)} dB`;
}
const p = median(plain);
console.log(`\n--target-sqnr cost on lenet_dw, --per-tensor, 500 eval digits, medians of ${rounds}, ${os.cpus().length} cores: plain quantize ${(p / 1000).toFixed(2)} s; --target-sqnr 30 ${(median(tuned) / 1000).toFixed(2)} s = ${(median(tuned) / p).toFixed(1)}× (${info})`);
