// `qtool sensitivity` and the `--target-*` / `--budget` / `--fallback` options of `qtool quantize`
// (JOB_SCHEMA entries; the search itself is api/autotune.ts).
import { Option, type Command } from 'commander';
import {
  COMMAND_LINE, JOB_SCHEMA, QUANT_SCHEMA, autotune, checkLayer, isQuantKey, parseBudget, quantize, renderSearchHtml, renderSearchText,
  renderSensitivityHtml, renderSensitivityText, sensitivity, throwAll, tuningJson as toJson, writeTuningFiles,
  type AccuracyTarget, type JobOptions, type QuantizeOptions, type QuantizeResult, type SearchRecord, type SensitivityResult,
} from '../index.js';
import { runCommand, stdio } from './run.js';
import { createProgress } from './progress.js';
import { addCalibrateMethod, addSchemaOptions, givenFlags } from './schema-options.js';
import { QUANT_FLAGS } from './quantize.js';

export function registerSensitivity(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('sensitivity')
    .description('rank the quantized units: output error of each alone, and what keeping each in float or int16 recovers')
    .argument('<model>', 'float ONNX model');
  addSchemaOptions(cmd, ['data', 'stats', 'preprocess', 'evalData', 'labels', 'evalCount']);
  cmd
    .option('--no-alone', 'skip the "only this unit quantized" trials')
    .addOption(new Option('--fallback <precision>', 'measure only this fallback (default both)').choices(['int16', 'float']))
    .option('--report <file>', 'write the ranking: .json, .html or .txt (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
  addSchemaOptions(cmd, QUANT_FLAGS);
  addCalibrateMethod(cmd);
  cmd
    .option('--config <file>', 'a recipe (JSON or YAML): its quantization options apply; flags override them')
    .option('--json', 'print the ranking as JSON (the last line)')
    .option('--quiet', 'no progress output')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string) => {
      const flags = givenFlags(cmd);
      setExit(await runCommand(() => runSensitivity(model, flags, cmd.opts().alone !== false), { debug: !!flags.debug, json: !!flags.json }));
    });
}

async function runSensitivity(model: string, flags: Record<string, unknown>, alone: boolean): Promise<void> {
  const { config: configFile, json, quiet, debug: _d, alone: _a, fallback, report, data, stats, preprocess, evalData, labels, evalCount, ...rest } = flags;
  const cliConfig: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(rest)) (isQuantKey(k) ? (cliConfig[k] = v) : unknown.push(k));
  const job = checkLayer({ values: { data, stats, preprocess, evalData, labels, evalCount }, origin: COMMAND_LINE }, { ...QUANT_SCHEMA, ...JOB_OPTS });
  throwAll([...job.errors, ...unknown.map((k) => `unknown option '${k}'`)].map((message) => ({ origin: COMMAND_LINE, message })));
  const j = job.values as JobOptions;
  const silent = !!quiet || !!json;
  const progress = createProgress({ label: 'calibrating', unit: 'samples', quiet: silent });
  const units = createProgress({ label: 'units', unit: 'units', quiet: silent });
  let r: SensitivityResult;
  try {
    r = await sensitivity(model, {
      data: j.data, stats: j.stats, evalData: j.evalData, labels: j.labels, preprocess: j.preprocess, evalCount: j.evalCount,
      configFile: configFile as string | undefined, config: cliConfig, configOrigin: COMMAND_LINE, onProgress: (d, t) => progress.update(d, t), aloneTrials: alone,
      fallbacks: fallback ? [fallback as 'float' | 'int16'] : undefined,
      onUnit: (d, t) => { progress.stop(); units.update(d, t); },
    });
  } finally {
    progress.stop();
    units.stop();
  }
  const files = writeTuningFiles((report as string[] | undefined) ?? [], { json: () => toJson(r), html: () => renderSensitivityHtml(r), text: () => renderSensitivityText(r) });
  if (json) stdio.out(toJson(r, false));
  else if (!quiet) stdio.out([renderSensitivityText(r), ...files.map((f) => `wrote ${f}`)].join('\n'));
}

// The job options sensitivity shares with quantize, validated by the same schema entries.
const JOB_OPTS = { data: JOB_SCHEMA.data, stats: JOB_SCHEMA.stats, preprocess: JOB_SCHEMA.preprocess, evalData: JOB_SCHEMA.evalData, labels: JOB_SCHEMA.labels, evalCount: JOB_SCHEMA.evalCount };

/** The --target-* target of a job, if any. */
export function targetFrom(job: JobOptions): AccuracyTarget | undefined {
  const given = ([['sqnr', job.targetSqnr], ['drop', job.targetDrop], ['agreement', job.targetAgreement]] as const).filter(([, v]) => v !== undefined);
  if (given.length === 0) return undefined;
  const [kind, value] = given[0]!;
  return { kind, value: value! };
}

/** Usage problems of the search options (reported with quantize's other usage errors). */
export function searchProblems(job: JobOptions): string[] {
  const problems: string[] = [];
  const given = [job.targetSqnr, job.targetDrop, job.targetAgreement].filter((v) => v !== undefined).length;
  if (given > 1) problems.push('give one of --target-sqnr, --target-drop, --target-agreement');
  if (given === 0 && (job.budget !== undefined || job.fallback !== undefined)) problems.push('--budget and --fallback need a --target-sqnr, --target-drop or --target-agreement');
  if (job.budget !== undefined) {
    try {
      parseBudget(job.budget);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (given && job.overrides !== undefined) problems.push('--overrides cannot be combined with --target-*: the search writes its own overrides into the plan (pass that plan to --overrides alone to reproduce a searched model)');
  if (job.targetDrop !== undefined && !job.labels) problems.push('--target-drop needs --labels (class indices of the evaluation samples)');
  return problems;
}

export interface Search {
  run(model: string, opts: QuantizeOptions, onStep?: (line: string) => void): Promise<{ result: QuantizeResult; search?: SearchRecord }>;
}

/** quantize(), or the accuracy search when the job gives a target. */
export function searchFrom(job: JobOptions): Search {
  const target = targetFrom(job);
  if (!target) return { run: async (model, opts) => ({ result: await quantize(model, opts) }) };
  return {
    run: (model, opts, onStep) => autotune(model, {
      ...opts, target, budgetMs: job.budget !== undefined ? parseBudget(job.budget) : undefined, fallback: job.fallback,
      evalData: job.evalData, labels: job.labels, evalCount: job.evalCount, onStep,
    }),
  };
}

export { renderSearchHtml, renderSearchText, type SearchRecord };
