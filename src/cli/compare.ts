import type { Command } from 'commander';
import {
  checkValue, collapses, helpText, LOUD_CODES, gateFailureMessage, renderJson, renderText, reportFiles, reportFormat, reportWarnings, verifyAndReport, GateError, UsageError,
  JOB_SCHEMA, type Gates,
} from '../index.js';
import { runCommand, stdio } from './run.js';
import { phaseView } from './terminal.js';

interface CompareFlags {
  data: string;
  labels?: string;
  calibCount?: string;
  batchSize?: string;
  report?: string[];
  perLayer: boolean;
  layerSamples?: string;
  latency: boolean;
  latencyBatches?: string;
  inSample?: boolean;
  preprocess?: string;
  threads?: string;
  maxDrop?: string;
  minSqnr?: string;
  minAgreement?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  warnSqnr?: string;
  warnAgreement?: string;
  strict?: boolean;
  fixedInput?: string[];
}

export function number(flag: string, v: string | undefined, opts: { int?: boolean; min?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`${flag} expects ${opts.int ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got '${v}'`);
  }
  return n;
}

/** --latency-batches, checked as quantize's (config/schema.ts). */
function latencyBatches(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const r = checkValue(JOB_SCHEMA.latencyBatches, v);
  if ('want' in r) throw new UsageError(`--latency-batches expects ${r.want}, got '${v}'`);
  return r.value as number[];
}

/** The --report values (repeatable or comma lists), each with a known extension, else a usage error. */
export function reportFlag(values: string[] | undefined): string[] {
  const files = reportFiles(values);
  for (const f of files) {
    try {
      reportFormat(f);
    } catch (e) {
      throw new UsageError(`--report ${(e as Error).message}`);
    }
  }
  return files;
}

export function gatesFrom(o: Pick<CompareFlags, 'maxDrop' | 'minSqnr' | 'minAgreement' | 'labels'>): Gates {
  const gates: Gates = {
    maxDrop: number('--max-drop', o.maxDrop, { min: 0 }),
    minSqnr: number('--min-sqnr', o.minSqnr),
    minAgreement: number('--min-agreement', o.minAgreement, { min: 0 }),
  };
  if (gates.minAgreement !== undefined && gates.minAgreement > 1) throw new UsageError(`--min-agreement is a fraction in [0, 1], got ${gates.minAgreement}`);
  if (gates.maxDrop !== undefined && !o.labels) throw new UsageError('--max-drop needs --labels to measure accuracy');
  return gates;
}

async function run(floatModel: string, quantModel: string, o: CompareFlags): Promise<void> {
  const gates = gatesFrom(o);
  const files = reportFlag(o.report);
  const progress = phaseView({ quiet: o.quiet || o.json });
  let result;
  try {
    result = await verifyAndReport([floatModel, quantModel], {
      data: o.data, labels: o.labels, count: number('--calib-count', o.calibCount, { int: true, min: 1 }),
      batchSize: number('--batch-size', o.batchSize, { int: true, min: 1 }), perLayer: o.perLayer, latency: o.latency && { batchSizes: latencyBatches(o.latencyBatches) },
      layerSamples: number('--layer-samples', o.layerSamples, { int: true, min: 1 }), inSample: o.inSample, threads: number('--threads', o.threads, { int: true, min: 1 }), gates, preprocess: o.preprocess,
      fixedInputs: o.fixedInput, reports: files, onProgress: progress.onVerify, collapse: collapseFrom(o),
    });
  } finally {
    progress.stop();
  }
  const { report, failures } = result;
  const warnings = reportWarnings(report);
  // The slower-model warning is loud on purpose: printed even with --quiet.
  for (const w of warnings) if (!o.quiet || LOUD_CODES.has(w.code)) stdio.err(`qtool: WARNING: ${w.message}`);
  if (o.json) stdio.out(renderJson(report, { pretty: false }));
  else if (!o.quiet) stdio.out(renderText(report));
  // With --json the report line above carries the gates; it stays the last line of stdout.
  if (failures.length) throw Object.assign(new GateError(gateFailureMessage(failures)), { jsonReported: !!o.json });
  const collapsed = o.strict ? collapses(report) : [];
  if (collapsed.length) throw Object.assign(new GateError(`--strict: ${collapsed.map((w) => w.message.split(';')[0]).join('; ')}`), { jsonReported: !!o.json });
}

/** --warn-sqnr / --warn-agreement: the collapse thresholds (defaults 20 dB, 0.98). */
export function collapseFrom(o: { warnSqnr?: string; warnAgreement?: string }) {
  const minAgreement = number('--warn-agreement', o.warnAgreement, { min: 0 });
  if (minAgreement !== undefined && minAgreement > 1) throw new UsageError(`--warn-agreement is a fraction in [0, 1], got ${minAgreement}`);
  return { minSqnrDb: number('--warn-sqnr', o.warnSqnr), minAgreement };
}

export function registerCompare(program: Command, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description('compare a quantized model with its float original: output metrics, per-layer errors, size, latency, gates')
    .argument('<float>', 'float ONNX model')
    .argument('<quantized>', 'quantized ONNX model')
    .requiredOption('--data <dir>', 'evaluation data folder')
    .option('--labels <file>', 'class indices in sample order (.json array or .npy), for accuracy')
    .option('--calib-count <n>', 'use only the first N samples')
    .option('--batch-size <b>', 'samples per batch')
    .option('--report <file>', 'write a report: .json, .md or .html (repeatable, or a comma list)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-per-layer', 'skip the per-layer analysis')
    .option('--layer-samples <n>', 'sum the per-layer errors over the first N samples (default: all; the output metrics use every sample)')
    .option('--no-latency', 'skip the latency measurement')
    .option('--latency-batches <n,n,...>', helpText('latencyBatches'))
    .option('--in-sample', 'the data is the calibration data: mark the figures as in-sample')
    .option('--preprocess <spec>', 'image folders: preprocessing, as for quantize')
    .option('--threads <n>', 'onnxruntime intra-op threads (default 2)')
    .option('--max-drop <pp>', 'fail (exit 3) when accuracy drops by more than PP percentage points (needs --labels)')
    .option('--min-sqnr <db>', 'fail (exit 3) when the primary output SQNR is below DB')
    .option('--min-agreement <f>', 'fail (exit 3) when top-1 agreement (0..1) is below F')
    .option('--warn-sqnr <db>', 'warn when an output SQNR is below DB (default 20)')
    .option('--warn-agreement <f>', 'warn when top-1 agreement (0..1) is below F (default 0.98)')
    .option('--strict', 'a collapsed output (one of those warnings) fails with exit 3')
    .option('--fixed-input <name=value>', 'an input fed one value for every batch: a number, zeros, or a .npy file (repeatable; also <data>/fixed/<name>.npy)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'print the report as one JSON object on the last line')
    .option('--quiet', 'print nothing but errors and the slower-model warning')
    .option('--debug', 'show stack traces on errors')
    .action(async (floatModel: string, quantModel: string, opts: CompareFlags) => {
      setExit(await runCommand(() => run(floatModel, quantModel, opts), { debug: !!opts.debug, json: !!opts.json }));
    });
}
