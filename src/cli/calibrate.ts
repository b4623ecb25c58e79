import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { calibrate, saveStats, type CalibrateOptions, type StatsFile } from '../index.js';
import { createProgress } from './progress.js';
import { runCommand, stdio } from './run.js';

type Algo = NonNullable<NonNullable<CalibrateOptions['config']>['algo']>;
export const ALGOS: readonly Algo[] = ['minmax', 'kl', 'mse', 'percentile', 'auto'];

interface Flags {
  data: string;
  output?: string;
  algo?: Algo;
  percentile?: number;
  calibCount?: number;
  batchSize?: number;
  movingAverage?: boolean;
  provider?: string;
  threads?: number;
  preprocess?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

export function percentileArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 50 || n > 100) throw new InvalidArgumentError('must be a number in (50, 100].');
  return n;
}

export function registerCalibrate(program: Command, setExit: (code: number) => void): void {
  program
    .command('calibrate')
    .description('observe activation statistics (min/max and histograms) over a data folder and save them for quantize --stats')
    .argument('<model>', 'ONNX model file')
    .requiredOption('--data <dir>', 'calibration data folder (.npy/.npz/.pb/images)')
    .option('-o, --output <stats.json>', 'stats file to write (default: <model>.stats.json beside the model)')
    .addOption(new Option('--algo <algo>', 'also store the ranges this algorithm picks (any algo can still be chosen later from the same stats)').choices(ALGOS))
    .option('--percentile <P>', 'percentile algorithm: kept percentile (default 99.999)', percentileArg)
    .option('--calib-count <N>', 'use only the first N samples', positiveInt)
    .option('--batch-size <B>', 'samples per inference batch (default 1)', positiveInt)
    .option('--moving-average', 'minmax only: moving average of per-batch extrema; ORDER-DEPENDENT (depends on sample order and batch size, cannot be merged)')
    .option('--provider <list>', 'execution providers in order of preference, e.g. cuda,cpu (default cpu)')
    .option('--threads <N>', 'onnxruntime intra-op threads', positiveInt)
    .option('--preprocess <spec>', 'image preprocessing, e.g. "resize=224,mean=0.485;0.456;0.406,std=0.229;0.224;0.225"')
    .option('--json', 'print one JSON summary object as the last line of stdout')
    .option('--quiet', 'no progress output')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string, flags: Flags) => {
      setExit(await runCommand(() => runCalibrate(model, flags), !!flags.debug));
    });
}

function defaultStatsPath(model: string): string {
  const base = path.basename(model).replace(/\.onnx$/i, '');
  return path.join(path.dirname(model), `${base}.stats.json`);
}

async function runCalibrate(model: string, flags: Flags): Promise<void> {
  const out = flags.output ?? defaultStatsPath(model);
  const progress = createProgress({ label: 'calibrating', unit: 'samples', quiet: flags.quiet });
  const t0 = performance.now();
  let stats: StatsFile;
  try {
    stats = await calibrate(model, {
      data: flags.data,
      config: {
        algo: flags.algo,
        percentile: flags.percentile,
        calibCount: flags.calibCount,
        batchSize: flags.batchSize,
        movingAverage: flags.movingAverage,
        providers: flags.provider?.split(',').map((p) => p.trim()).filter(Boolean),
        threads: flags.threads,
      },
      preprocess: flags.preprocess,
      includeRanges: flags.algo !== undefined || !!flags.movingAverage,
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }
  saveStats(stats, out);
  const seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
  const tensors = Object.keys(stats.tensors).length;
  const algo = stats.rangeConfig?.algo ?? null;
  if (flags.json) {
    stdio.out(JSON.stringify({ stats: out, model: stats.model.file, samples: stats.samples, tensors, algo, movingAverage: !!stats.movingAverage, seconds }));
    return;
  }
  stdio.out(`calibrated ${tensors} tensors of ${stats.model.file} over ${stats.samples} samples in ${seconds.toFixed(1)} s → ${out}`);
  if (stats.movingAverage) stdio.out(`note: ${stats.movingAverage.note}`);
  if (stats.ranges) stdio.out(renderRanges(stats));
}

export function renderRanges(stats: StatsFile): string {
  const entries = Object.entries(stats.ranges ?? {});
  const width = Math.min(60, Math.max(6, ...entries.map(([n]) => n.length)));
  const fmt = (v: number) => v.toPrecision(6);
  return [`ranges (${stats.rangeConfig?.algo})`, ...entries.map(([n, r]) => `  ${n.padEnd(width)}  [${fmt(r.min)}, ${fmt(r.max)}]`)].join('\n');
}
