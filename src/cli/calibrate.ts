import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { COMMAND_LINE, RANGE_ALGORITHM_NAMES, calibrate, isQuantKey, resolveConfig, saveStats, type StatsFile } from '../index.js';
import { addCalibrateMethod, addSchemaOptions, givenFlags } from './schema-options.js';
import { createProgress } from './progress.js';
import { runCommand, stdio } from './run.js';

export const ALGOS = RANGE_ALGORITHM_NAMES;

interface Flags {
  data: string;
  fixedInput?: string[];
  output?: string;
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

const CALIBRATE_FLAGS = ['algo', 'percentile', 'calibCount', 'batchSize', 'movingAverage', 'providers', 'threads', 'equalize'] as const;

export function registerCalibrate(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('calibrate')
    .description('observe activation statistics (min/max and histograms) over a data folder and save them for quantize --stats')
    .argument('<model>', 'ONNX model file')
    .requiredOption('--data <dir>', 'calibration data folder (.npy/.npz/.pb, or images with --preprocess)')
    .option('-o, --output <stats.json>', 'stats file to write (default: <model>.stats.json beside the model)');
  addSchemaOptions(cmd, CALIBRATE_FLAGS);
  addCalibrateMethod(cmd);
  addSchemaOptions(cmd, ['preprocess', 'fixedInput']);
  cmd
    .option('--json', 'print one JSON summary object (or the error) as the last line of stdout')
    .option('--quiet', 'no progress output')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string) => {
      const flags = cmd.opts() as Flags;
      setExit(await runCommand(() => runCalibrate(model, flags, givenFlags(cmd)), { debug: !!flags.debug, json: !!flags.json }));
    });
}

function defaultStatsPath(model: string): string {
  const base = path.basename(model).replace(/\.onnx$/i, '');
  return path.join(path.dirname(model), `${base}.stats.json`);
}

async function runCalibrate(model: string, flags: Flags, given: Record<string, unknown>): Promise<void> {
  const out = flags.output ?? defaultStatsPath(model);
  const values = Object.fromEntries(Object.entries(given).filter(([k]) => isQuantKey(k)));
  if (values.movingAverage && values.algo === undefined && values.calibrateMethod === undefined) values.algo = 'minmax';
  const config = resolveConfig({ config: values, configOrigin: COMMAND_LINE });
  const algoGiven = values.algo !== undefined || values.calibrateMethod !== undefined;
  const progress = createProgress({ label: 'calibrating', unit: 'samples', quiet: flags.quiet });
  const t0 = performance.now();
  let stats: StatsFile;
  try {
    stats = await calibrate(model, {
      data: flags.data,
      config: {
        algo: algoGiven || config.movingAverage ? config.algo : undefined,
        percentile: values.percentile !== undefined ? config.percentile : undefined,
        calibCount: config.calibCount,
        batchSize: config.batchSize,
        movingAverage: config.movingAverage,
        providers: config.providers,
        threads: config.threads,
        equalize: config.equalize || undefined,
      },
      preprocess: flags.preprocess,
      fixedInputs: flags.fixedInput,
      includeRanges: algoGiven || config.movingAverage,
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
