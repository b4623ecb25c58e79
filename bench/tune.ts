// Cost of `qtool sensitivity` and of `qtool quantize --target-sqnr` as multiples of one plain
// `qtool quantize` (each a fresh CLI process, wall time; run after `npm run build`):
//   npx tsx bench/tune.ts [rounds=3]
// Models: resnet_mini, and resnet_mini with a planted outlier channel (test/tune/models.ts), where
// plain int8 misses the 30 dB target. Evaluation: 500 held-out test digits.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { plantOutlier } from '../test/tune/models.js';
// @ts-expect-error plain .mjs script without types
import { writeSplit } from '../scripts/mnist-data.mjs';

const rounds = Number(process.argv[2] ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-bench-tune-'));
const evalData = writeSplit('test', path.join(dir, 'eval'), 500).data;
const models = [['resnet_mini', 'fixtures/mnist/resnet_mini.onnx'], ['resnet_mini + outlier', plantOutlier(dir)]] as const;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(args: string[]): { ms: number; code: number | null; out: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/qtool.js', ...args], { encoding: 'utf8' });
  return { ms: performance.now() - t0, code: r.status, out: r.stdout };
}

const rows: string[] = [];
for (const [name, file] of models) {
  const out = path.join(dir, 'out.onnx');
  const common = [file, '--data', 'calibration-data/mnist', '--quiet'];
  const plain: number[] = [];
  const sens: number[] = [];
  const tuned: number[] = [];
  let info = '';
  for (let r = 0; r < rounds; r++) {
    plain.push(time(['quantize', ...common, '-o', out, '--no-verify']).ms);
    sens.push(time(['sensitivity', ...common, '--eval-data', evalData]).ms);
    const t = time(['quantize', ...common, '-o', out, '--no-verify', '--eval-data', evalData, '--target-sqnr', '30', '--json']);
    tuned.push(t.ms);
    const s = JSON.parse(t.out.trim().split('\n').pop()!).search;
    info = `${s.met ? 'met' : 'missed'}, ${s.fallback.length}/${s.units} units in ${s.mode}, ${s.trials} trials, step 0 ${Number(s.steps[0].metrics.sqnrDb).toFixed(2)} dB → ${Number(s.final.sqnrDb).toFixed(2)} dB`;
  }
  const p = median(plain);
  rows.push(`| ${name} | ${(p / 1000).toFixed(2)} s | ${(median(sens) / 1000).toFixed(2)} s (${(median(sens) / p).toFixed(1)}×) | ${(median(tuned) / 1000).toFixed(2)} s (${(median(tuned) / p).toFixed(1)}×) | ${info} |`);
}
console.log(`medians of ${rounds} rounds, 2 cores, ${os.cpus()[0]?.model}`);
console.log('| model | plain quantize | sensitivity (alone + float + int16) | --target-sqnr 30 (incl. its final quantize) | search |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
