// `qtool sensitivity` and the `--target-*` / `--budget` / `--fallback` flags of `qtool quantize`.
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { sensitivity, type SensitivityResult } from '../api/sensitivity.js';
import { autotune, parseBudget, type AccuracyTarget, type SearchRecord } from '../api/autotune.js';
import type { QuantizeOptions, QuantizeResult } from '../api/quantize.js';
import { renderSearchHtml, renderSearchText, renderSensitivityHtml, renderSensitivityText, toJson, writeTuningFiles } from '../report/render-sensitivity.js';
import { addQuantOptions, configFromFlags } from './quantize.js';
import { number } from './compare.js';
import { runCommand, stdio } from './run.js';
import { createProgress } from './progress.js';

interface SensitivityFlags {
  data?: string; stats?: string; evalData?: string; labels?: string; evalCount?: string; report?: string[]; config?: string;
  preprocess?: string; json?: boolean; quiet?: boolean; debug?: boolean; alone: boolean; fallback?: string; [k: string]: unknown;
}

export function registerSensitivity(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('sensitivity')
    .description('rank the quantized units: output error of each alone, and what keeping each in float or int16 recovers')
    .argument('<model>', 'float ONNX model')
    .option('--data <dir>', 'calibration data folder')
    .option('--stats <file>', 'reuse statistics from qtool calibrate instead of calibrating')
    .option('--eval-data <dir>', 'held-out evaluation data (default: the calibration data, in-sample)')
    .option('--labels <file>', 'class indices of the evaluation samples, for accuracy')
    .option('--eval-count <n>', 'evaluate on the first N samples only')
    .option('--no-alone', 'skip the "only this unit quantized" trials')
    .addOption(new Option('--fallback <precision>', 'measure only this fallback (default both)').choices(['int16', 'float']))
    .option('--report <file>', 'write the ranking: .json, .html or .txt (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
  addQuantOptions(cmd)
    .option('--json', 'print the ranking as JSON (the last line)')
    .option('--quiet', 'no progress output')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string, flags: SensitivityFlags) => {
      setExit(await runCommand(async () => {
        const progress = createProgress({ label: 'calibrating', unit: 'samples', quiet: flags.quiet || flags.json });
        const units = createProgress({ label: 'units', unit: 'units', quiet: flags.quiet || flags.json });
        let r: SensitivityResult;
        try {
          r = await sensitivity(model, {
            data: flags.data, stats: flags.stats, evalData: flags.evalData, labels: flags.labels, preprocess: flags.preprocess,
            evalCount: number('--eval-count', flags.evalCount, { int: true, min: 1 }), configFile: flags.config,
            config: configFromFlags(flags as never), onProgress: (d, t) => progress.update(d, t), aloneTrials: flags.alone,
            fallbacks: flags.fallback ? [flags.fallback as 'float' | 'int16'] : undefined,
            onUnit: (d, t) => { progress.stop(); units.update(d, t); },
          });
        } finally {
          progress.stop();
          units.stop();
        }
        const files = writeTuningFiles(flags.report ?? [], { json: () => toJson(r), html: () => renderSensitivityHtml(r), text: () => renderSensitivityText(r) });
        if (flags.json) stdio.out(toJson(r, false));
        else if (!flags.quiet) stdio.out([renderSensitivityText(r), ...files.map((f) => `wrote ${f}`)].join('\n'));
      }, !!flags.debug));
    });
}

export interface TuneFlags {
  targetSqnr?: string; targetDrop?: string; targetAgreement?: string; budget?: string; fallback?: string;
}

/** Adds --target-sqnr / --target-drop / --target-agreement / --budget / --fallback to `quantize`. */
export function addTuneOptions(cmd: Command): Command {
  return cmd
    .option('--target-sqnr <db>', 'search: fall back the fewest units until the output SQNR reaches DB')
    .option('--target-drop <pp>', 'search: … until accuracy drops by at most PP points (needs --labels)')
    .option('--target-agreement <pct>', 'search: … until top-1 agreement with float reaches PCT percent')
    .option('--budget <time>', 'time budget of the search, e.g. 90s, 10m (default 10m); the best model is written when it ends')
    .addOption(new Option('--fallback <precision>', 'higher precision for the units the search moves (default int16)').choices(['int16', 'float']));
}

export function targetFrom(f: TuneFlags): AccuracyTarget | undefined {
  const given = ([['sqnr', f.targetSqnr], ['drop', f.targetDrop], ['agreement', f.targetAgreement]] as const).filter(([, v]) => v !== undefined);
  if (given.length > 1) throw new UsageError('give one of --target-sqnr, --target-drop, --target-agreement');
  if (given.length === 0) {
    if (f.budget !== undefined || f.fallback !== undefined) throw new UsageError('--budget and --fallback need a --target-sqnr, --target-drop or --target-agreement');
    return undefined;
  }
  const [kind, v] = given[0]!;
  return { kind, value: number(`--target-${kind}`, v, kind === 'sqnr' ? {} : { min: 0 })! };
}

/** Runs quantize, or the search when a target is given; prints the search's table. */
export async function quantizeOrSearch(model: string, f: TuneFlags & { json?: boolean; quiet?: boolean; evalData?: string; labels?: string; evalCount?: string }, opts: QuantizeOptions, run: (m: string, o: QuantizeOptions) => Promise<QuantizeResult>): Promise<{ result: QuantizeResult; search?: SearchRecord }> {
  const target = targetFrom(f);
  if (!target) return { result: await run(model, opts) };
  const quiet = f.quiet || f.json;
  const { result, search } = await autotune(model, {
    ...opts, target, budgetMs: f.budget ? parseBudget(f.budget) : undefined, fallback: f.fallback as 'int16' | 'float' | undefined,
    evalData: f.evalData, labels: f.labels, evalCount: number('--eval-count', f.evalCount, { int: true, min: 1 }),
    onStep: quiet ? undefined : (l) => stdio.err(`qtool: ${l}`),
  });
  if (!f.json && !f.quiet) stdio.out(renderSearchText(search));
  return { result, search };
}

export { renderSearchHtml };
