import type { Command } from 'commander';
import {
  COMMAND_LINE, GateError, QUANT_SCHEMA, JOB_SCHEMA, RECIPE_SCHEMA, UsageError, checkLayer, gateFailureMessage, isQuantKey, loadRecipe, quantize,
  renderText, reportWarnings, resolveConfig, collapses, LOUD_CODES, throwAll, type JobOptions, type QuantConfig, type QuantizeResult, type RecipeKey,
} from '../index.js';
import { reportFlag } from './compare.js';
import { errorCode, runCommand, stdio } from './run.js';
import { formatBytes } from './inspect.js';
import { addCalibrateMethod, addSchemaOptions, givenFlags } from './schema-options.js';
import { columns, phaseView, seconds, wrap } from './terminal.js';
import { searchFrom, searchProblems, renderSearchText, type SearchRecord } from './sensitivity.js';

/** The QuantConfig flags of quantize (calibrate takes a subset). */
export const QUANT_FLAGS = (Object.keys(QUANT_SCHEMA) as RecipeKey[]).filter((k) => !RECIPE_SCHEMA[k].cliHidden && k !== 'movingAverage');
const JOB_FLAGS = (Object.keys(JOB_SCHEMA) as RecipeKey[]).filter((k) => k !== 'json' && k !== 'quiet');

export function registerQuantize(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('quantize')
    .description('quantize a float ONNX model to INT8 (default: static, QDQ, per-channel int8 weights, uint8 activations)')
    .argument('<model>', 'float ONNX model');
  addSchemaOptions(cmd, ['output', 'data', 'stats', 'savePlan', 'overrides', 'preprocess']);
  addSchemaOptions(cmd, QUANT_FLAGS);
  addCalibrateMethod(cmd);
  addSchemaOptions(cmd, JOB_FLAGS.filter((k) => !['output', 'data', 'stats', 'savePlan', 'overrides', 'preprocess'].includes(k)));
  cmd
    .option('--config <file>', 'a recipe: any of these options in JSON or YAML, kebab-case (flags override it; relative paths are from its folder)')
    .option('--json', 'print a JSON summary (or the error) as one object on the last line of stdout')
    .option('--quiet', 'no progress output')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string) => {
      const flags = givenFlags(cmd);
      setExit(await runCommand(() => run(model, flags), { debug: !!flags.debug, json: !!flags.json }));
    });
}

interface Job {
  config: Readonly<QuantConfig>;
  job: JobOptions;
  cliConfig: Record<string, unknown>;
  configFile?: string;
}

/** Flags over the config file, every problem reported at once; usage errors before any work. */
function resolveJob(flags: Record<string, unknown>): Job {
  const { config: configFile, json: _j, quiet: _q, debug: _d, ...rest } = flags;
  throwAll(checkLayer({ values: rest, origin: COMMAND_LINE }, RECIPE_SCHEMA).errors.map((message) => ({ origin: COMMAND_LINE, message })));
  const cliConfig: Record<string, unknown> = {};
  const cliJob: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) (isQuantKey(k) ? cliConfig : cliJob)[k] = v;
  const checkedJob = checkLayer({ values: cliJob, origin: COMMAND_LINE }, JOB_SCHEMA).values;
  const file = typeof configFile === 'string' ? loadRecipe(configFile) : { job: {} as JobOptions };
  const job: JobOptions = { ...file.job, ...checkedJob, json: flags.json === true || file.job.json, quiet: flags.quiet === true || file.job.quiet };
  const config = resolveConfig({ configFile: configFile as string | undefined, config: cliConfig, configOrigin: COMMAND_LINE });
  checkJob(config, job);
  return { config, job, cliConfig, configFile: configFile as string | undefined };
}

function checkJob(config: Readonly<QuantConfig>, job: JobOptions): void {
  const problems: string[] = [];
  if (config.mode === 'static' && !job.data && !job.stats) {
    problems.push('static quantization needs calibration data: pass --data <dir> (or --stats stats.json, or --mode dynamic|weight-only)');
  }
  if (job.verify === false) {
    // The --target-* search evaluates on --eval-data/--labels/--eval-count even without the verification.
    const searched = job.targetSqnr !== undefined || job.targetDrop !== undefined || job.targetAgreement !== undefined;
    const given = (['evalData', 'labels', 'evalCount', 'report', 'maxDrop', 'minSqnr', 'minAgreement'] as const)
      .filter((k) => job[k] !== undefined && !(searched && (k === 'evalData' || k === 'labels' || k === 'evalCount')));
    if (given.length) problems.push(`--no-verify contradicts ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} (they need the verification)`);
    if (job.perLayer === false || job.latency === false || job.layerSamples !== undefined) problems.push('--no-verify makes --no-per-layer/--no-latency/--layer-samples meaningless; give one');
  }
  if (job.maxDrop !== undefined && !job.labels) problems.push('--max-drop needs --labels to measure accuracy');
  if (job.evalCount !== undefined && !job.evalData && !job.data) problems.push('--eval-count needs --eval-data or --data');
  problems.push(...searchProblems(job));
  throwAll(problems.map((message) => ({ origin: COMMAND_LINE, message })));
  reportFlag(job.report);
}

async function run(model: string, flags: Record<string, unknown>): Promise<void> {
  const t0 = performance.now();
  const { config, job, cliConfig, configFile } = resolveJob(flags);
  const view = phaseView({ quiet: job.quiet || job.json });
  const search = searchFrom(job);
  let result: QuantizeResult;
  let record: SearchRecord | undefined;
  try {
    ({ result, search: record } = await search.run(model, {
      output: job.output, data: job.data, stats: job.stats, savePlan: job.savePlan, overrides: job.overrides, preprocess: job.preprocess,
      fixedInputs: job.fixedInput, requantize: job.requantize,
      configFile, config: cliConfig, configOrigin: COMMAND_LINE, onProgress: view.onCalibration, onPhase: view.onPhase,
      verify: job.verify === false ? false : {
        evalData: job.evalData, labels: job.labels, reports: reportFlag(job.report), perLayer: job.perLayer, layerSamples: job.layerSamples, latency: job.latency === false ? false : { batchSizes: job.latencyBatches && [...job.latencyBatches] }, count: job.evalCount,
        gates: { maxDrop: job.maxDrop, minSqnr: job.minSqnr, minAgreement: job.minAgreement }, onProgress: view.onVerify,
        collapse: { minSqnrDb: job.warnSqnr, minAgreement: job.warnAgreement }, command: ['qtool', ...process.argv.slice(2)],
      },
    }, job.quiet || job.json ? undefined : (line) => stdio.err(`qtool: ${line}`)));
  } finally {
    view.stop();
  }
  const width = columns();
  if (result.report) {
    for (const w of reportWarnings(result.report)) if (!job.quiet || LOUD_CODES.has(w.code)) stdio.err(wrap(`qtool: WARNING: ${w.message}`, columns(process.stderr)));
  }
  const totalMs = performance.now() - t0;
  const collapsed = job.strict && result.report ? collapses(result.report) : [];
  const gateError = result.gateFailures.length ? new GateError(gateFailureMessage(result.gateFailures))
    : collapsed.length ? new GateError(`--strict: ${collapsed.map((w) => w.message.split(';')[0]).join('; ')}`)
    : record && !record.met ? new GateError(`target ${record.target.label} missed by ${record.shortfall} (${record.reason}); the best model found was written to ${result.output}`)
    : undefined;
  if (job.json) {
    const error = gateError ? { error: { code: errorCode(gateError), exitCode: gateError.exitCode, message: gateError.message } } : {};
    const phases = Object.fromEntries(view.times.map(([p, ms]) => [p, Number((ms / 1000).toFixed(3))]));
    stdio.out(JSON.stringify({ ...summary(result), files: files(result, job.savePlan), seconds: Number((totalMs / 1000).toFixed(3)), phases, ...(record ? { search: record } : {}), ...error }, record ? (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v) : undefined));
  }
  else if (!job.quiet) {
    const parts = [...(record ? [renderSearchText(record), ''] : []), ...(result.report ? [renderText(result.report), ''] : []), renderSummary(result, config), renderFiles(result, job.savePlan), renderTimes(totalMs, view.times)];
    stdio.out(wrap(parts.join('\n'), width));
  }
  // With --json the summary line above already carries the error: it stays the last line.
  if (gateError) throw Object.assign(gateError, { jsonReported: job.json });
}

export function summary(r: QuantizeResult) {
  const count = (s: string) => r.plan.nodes.filter((n) => n.status === s).length;
  return {
    input: r.input, output: r.output, mode: r.config.mode, format: r.config.format,
    // The range algorithm does nothing in dynamic and weight-only modes (no calibration).
    algo: r.config.mode === 'static' ? r.config.algo : null, target: r.config.target,
    nodes: { quantized: count('quantized'), absorbed: count('absorbed'), float: count('float') },
    sizes: r.sizes, calibrationSamples: r.timings.calibrationSamples, notes: r.notes,
    verification: r.report ? {
      inSample: r.report.data.inSample, samples: r.report.data.samples, outputs: r.report.outputs,
      worstLayers: r.report.layers?.tensors.slice(0, 5).map((t) => ({ tensor: t.tensor, ownSqnrDb: t.ownSqnrDb, hint: t.hint })) ?? null,
      latency: r.report.latency, gates: r.report.gates, warnings: r.report.warnings,
    } : null,
    reports: r.reportFiles,
  };
}

function files(r: QuantizeResult, plan: string | undefined): { model: string; plan: string | null; reports: string[] } {
  return { model: r.output, plan: plan ?? null, reports: r.reportFiles };
}

function renderSummary(r: QuantizeResult, config: Readonly<QuantConfig>): string {
  const s = summary(r);
  const floatNodes = r.plan.nodes.filter((n) => n.status === 'float');
  const reasons = new Map<string, number>();
  for (const n of floatNodes) reasons.set(`${n.opType}: ${n.reason}`, (reasons.get(`${n.opType}: ${n.reason}`) ?? 0) + 1);
  const how = config.mode === 'static'
    ? `${s.mode}, ${s.format}, algo ${s.algo}, target ${s.target}; ${s.calibrationSamples} calibration samples`
    : `${s.mode}, ${s.format}, target ${s.target}`;
  return [
    `quantized ${r.input}`,
    `  ${how}`,
    `  nodes: ${s.nodes.quantized} quantized, ${s.nodes.absorbed} folded into a producer's range, ${s.nodes.float} left in float`,
    ...[...reasons].map(([k, n]) => `    float ×${n}  ${k}`),
    `  size: ${formatBytes(r.sizes.float)} → ${formatBytes(r.sizes.quantized)} (${(r.sizes.ratio * 100).toFixed(1)}%)`,
    ...r.notes.map((n) => `  note: ${n}`),
  ].join('\n');
}

function renderFiles(r: QuantizeResult, plan: string | undefined): string {
  const f = files(r, plan);
  const rows: [string, string][] = [['model', f.model], ...(f.plan ? [['plan', f.plan] as [string, string]] : []), ...f.reports.map((x) => ['report', x] as [string, string])];
  return ['wrote', ...rows.map(([k, v]) => `  ${k.padEnd(7)}${v}`)].join('\n');
}

function renderTimes(totalMs: number, times: [string, number][]): string {
  return `done in ${seconds(totalMs)} (${times.map(([p, ms]) => `${p} ${seconds(ms)}`).join(', ')})`;
}
