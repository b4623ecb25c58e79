// `npm run bench`: build the models, run the speed benchmark, analyse what onnxruntime runs, and
// write docs/benchmarks.md (and the raw figures to bench/out/bench.json).
//
//   npm run bench [-- --models resnet18,mobilenetv2] [-- --doc docs/benchmarks.md]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeFusion, printFusion, type FusionReport } from './fusion.js';
import { peakRssMiB, reply, runChild } from './measure.js';
import { renderReport, speedup, TARGETS, type BenchReport } from './report.js';
import { OUT, runSpeed, VARIANT_KEYS } from './speed.js';

const SELF = fileURLToPath(import.meta.url);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return reply(peakRssMiB());
  const t0 = performance.now();
  const keys = arg('--models')?.split(',');
  const doc = arg('--doc') ?? 'docs/benchmarks.md';
  const speed = await runSpeed(keys);
  const baselineRssMiB = await runChild<number>(SELF, []).catch(() => NaN);
  console.log('\n== what onnxruntime runs (optimisation level extended)');
  const fusion: BenchReport['fusion'] = {};
  for (const r of speed.results) {
    fusion[r.model.key] = {};
    for (const f of VARIANT_KEYS) {
      const q = r.quantized[f];
      if (!q || !('output' in q)) continue;
      try {
        const a: FusionReport = await analyzeFusion(q.output);
        printFusion(a);
        fusion[r.model.key]![f] = a;
      } catch (e) {
        fusion[r.model.key]![f] = { error: (e as Error).message };
      }
    }
  }
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const report: BenchReport = { ...speed, command, wallS: (performance.now() - t0) / 1000, baselineRssMiB, fusion };
  fs.writeFileSync(path.join(OUT, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.mkdirSync(path.dirname(doc), { recursive: true });
  fs.writeFileSync(doc, renderReport(report));
  console.log('\n== targets (issue 6), QDQ');
  for (const r of speed.results) {
    for (const [b, want] of Object.entries(TARGETS[r.model.key] ?? {})) {
      const s = speedup(r, 'qdq', Number(b));
      console.log(`  ${r.model.title} batch ${b}: ${s === undefined ? 'not measured' : `${s.toFixed(2)}×`} (target ≥ ${want}×) ${s !== undefined && s >= want ? 'holds' : 'DOES NOT HOLD'}`);
    }
  }
  console.log(`\nwrote ${doc} and ${path.join(OUT, 'bench.json')} in ${report.wallS.toFixed(0)} s`);
}

await main();
