// quantize(): read → prepare → calibrate (or reuse stats) → plan → rewrite → write → verify.
// The only place these layers are wired together for the main job.
import fs from 'node:fs';
import { UnsupportedError, UserInputError } from '../errors.js';
import { quantizedOps } from '../quant/already-quantized.js';
import { opsetVersion, type Model } from '../ir/index.js';
import { readModelFile, writeModelFile } from '../onnx/index.js';
import type { QuantConfig } from '../config/index.js';
import { ensureRequirements, pipelineFor, prepareModel, runPipeline } from '../passes/index.js';
import { analyzeGraph } from '../quant/analyze.js';
import { planStatic, tensorsToCalibrate, type Overrides, type Planned, type QuantPlan, type RangeInput } from '../quant/plan.js';
import { planWeightForms } from '../quant/plan-forms.js';
import { note, type Note } from '../quant/reasons.js';
import { floatLayerPoolNotes, subgraphNotes } from '../quant/warnings.js';
import { atomicWrite } from '../onnx/io.js';
import { QTOOL_VERSION } from '../version.js';
import { verifyAndReport } from './compare.js';
import type { GateResult, Gates, Progress, Report } from '../report/index.js';
import { autoTargetNote, defaultOutputPath, resolveConfig, type ConfigSources } from './options.js';
import { obtainRanges, type CalibrationProgress } from './ranges.js';

export interface QuantizeOptions extends ConfigSources {
  output?: string;
  /** Calibration data folder (static mode). */
  data?: string;
  /** Reuse statistics from `qtool calibrate` instead of calibrating. */
  stats?: string;
  /** `--preprocess` spec for image folders. */
  preprocess?: string;
  /** Inputs given one value for every batch: `name=<number|zeros|file.npy>` (--fixed-input). */
  fixedInputs?: readonly string[];
  /** Pinned ranges/dtypes/granularity: a plan file or its `activations`/`weights` subset. */
  overrides?: string | Overrides;
  /** Write the QuantPlan here. */
  savePlan?: string;
  /** Quantize a model that already holds quantized ops (refused otherwise). */
  requantize?: boolean;
  onProgress?: CalibrationProgress;
  /** Compare the written model with the float one (the CLI always does, unless --no-verify). */
  verify?: VerifyOptions;
}

export interface VerifyOptions {
  /** Held-out data; without it the calibration data is used and the report says "in-sample". */
  evalData?: string;
  labels?: string;
  reports?: string[];
  gates?: Gates;
  perLayer?: boolean;
  latency?: boolean;
  count?: number;
  onProgress?: (p: Progress) => void;
}

export interface QuantizeResult {
  input: string;
  output: string;
  config: Readonly<QuantConfig>;
  plan: QuantPlan;
  /** The messages of `diagnostics`, in order. */
  notes: string[];
  /** What the run wants the user to know, as {code, message}. */
  diagnostics: Note[];
  /** float tensor → quantized-model tensor holding its dequantized value. */
  tensorMap: Record<string, string>;
  sizes: { float: number; quantized: number; ratio: number };
  timings: { calibrationMs: number; totalMs: number; calibrationSamples: number };
  /** The verification report, when asked for and data was available. */
  report?: Report;
  /** Failed accuracy gates (the model is written regardless). */
  gateFailures: GateResult[];
  /** Report files written. */
  reportFiles: string[];
}

export async function quantize(input: string, opts: QuantizeOptions = {}): Promise<QuantizeResult> {
  const t0 = performance.now();
  const config = resolveConfig(opts);
  const output = opts.output ?? defaultOutputPath(input);
  if (fs.existsSync(input) && fs.existsSync(output) && fs.realpathSync(input) === fs.realpathSync(output)) {
    throw new UserInputError(`${output}: refusing to overwrite the input model; choose another output path with -o`);
  }
  const model = readModelFile(input);
  refuseQuantized(model, input, opts.requantize);
  const notes: Note[] = prepareModel(model).map((m) => note('prepare', m));
  const targetNote = autoTargetNote(config, opts.config?.target);
  if (targetNote) notes.push(note('auto-target', targetNote));
  const analysis = config.mode === 'static' ? analyzeGraph(model.graph, config) : undefined;
  const pipeline = pipelineFor(config);
  notes.push(...ensureRequirements(model, pipeline, { config, analysis }));
  const overrides = loadOverrides(opts.overrides);
  let planned: Planned;
  let calib = { ms: 0, samples: 0 };
  if (config.mode === 'static') {
    const needed = tensorsToCalibrate(model.graph, config, analysis);
    const r = await obtainRanges(model, needed, config, { data: opts.data, stats: opts.stats, preprocess: opts.preprocess, fixedInputs: opts.fixedInputs, onProgress: opts.onProgress, label: input });
    calib = { ms: r.ms, samples: r.samples };
    planned = planStatic(model.graph, config, { ranges: r.ranges, observed: r.observed, overrides, perChannelAllowed: (opsetVersion(model) ?? 0) >= 13, analysis });
    notes.push(...floatLayerPoolNotes(model.graph, planned.plan), ...subgraphNotes(model.graph, config));
  } else {
    planned = planWeightForms(model.graph, config, overrides);
  }
  const { plan } = planned;
  const rewrite = runPipeline(model, pipeline, { ...planned, config });
  notes.push(...rewrite.notes);
  const { tensorMap } = rewrite;
  model.graph.toposort();
  model.graph.cleanup();
  model.graph.checkInvariants();
  recordMetadata(model, plan, tensorMap, new Map(Object.entries(rewrite.integerOf)));
  if (opts.savePlan) atomicWrite(opts.savePlan, [Buffer.from(`${JSON.stringify(plan, null, 2)}\n`)]);
  writeModelFile(model, output, { inputPath: input });
  const floatBytes = fs.statSync(input).size;
  const qBytes = fs.statSync(output).size;
  const verified = await verifyWritten(input, output, config, opts, notes);
  const messages = notes.map((n) => n.message);
  return {
    input, output, config, plan, notes: messages, diagnostics: notes, tensorMap,
    sizes: { float: floatBytes, quantized: qBytes, ratio: qBytes / floatBytes },
    timings: { calibrationMs: calib.ms, totalMs: performance.now() - t0, calibrationSamples: calib.samples },
    report: verified?.report, gateFailures: verified?.failures ?? [], reportFiles: verified?.files ?? [],
  };
}

async function verifyWritten(input: string, output: string, config: Readonly<QuantConfig>, opts: QuantizeOptions, notes: Note[]) {
  const v = opts.verify;
  if (!v) return undefined;
  const data = v.evalData ?? opts.data;
  if (!data) {
    notes.push(note('not-verified', 'not verified: no --eval-data and no calibration data folder (--stats was used)'));
    return undefined;
  }
  return verifyAndReport(input, output, {
    data, labels: v.labels, inSample: !v.evalData, count: v.count ?? (v.evalData ? undefined : config.calibCount),
    threads: config.threads, perLayer: v.perLayer, latency: v.latency, preprocess: opts.preprocess, gates: v.gates,
    batchSize: config.batchSize, fixedInputs: opts.fixedInputs,
    reports: v.reports, onProgress: v.onProgress,
  });
}

function refuseQuantized(model: Model, input: string, requantize = false): void {
  const found = quantizedOps(model.graph);
  if (found.length === 0) return;
  const list = found.slice(0, 4).map(([op, n]) => `${n} ${op}`).join(', ');
  if (requantize) return;
  throw new UnsupportedError(`${input}: the model is already quantized (${list}); quantizing it again stacks a second rounding on the first. Quantize the float model instead, or pass --requantize to quantize its remaining float ops`);
}

function loadOverrides(o: string | Overrides | undefined): Overrides | undefined {
  if (o === undefined || typeof o !== 'string') return o;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(o, 'utf8'));
  } catch (e) {
    throw new UserInputError(`${o}: cannot read overrides (${(e as Error).message.split('\n')[0]}); pass a plan JSON saved with --save-plan`);
  }
  if (!json || typeof json !== 'object') throw new UserInputError(`${o}: overrides must be a JSON object with "activations" and/or "weights"`);
  const { activations, weights } = json as Overrides;
  return { activations, weights };
}

/**
 * metadata_props that let `qtool compare` work on the two files alone:
 *   qtool.tensor_map  float tensor → [quantized, algo, [min, max]] where `quantized` holds its
 *                     dequantized value (QDQ), or [integer, algo, [min, max], dtype, scale, zeroPoint]
 *                     when the QOperator lowering replaced it by an integer tensor
 *   qtool.nodes       the plan's node list: [name, opType, status] or [name, opType, status, reason]
 * Tuples rather than objects because the keys would repeat per entry, in every model file.
 * Numbers are rounded to 7 significant digits: the exact scale and zero point are in the graph.
 */
function recordMetadata(model: Model, plan: QuantPlan, tensorMap: Record<string, string>, integerTensors: Map<string, string>): void {
  const r7 = (x: number) => Number(x.toPrecision(7));
  const map: Record<string, unknown> = {};
  for (const [t, q] of Object.entries(tensorMap)) {
    const a = plan.activations[plan.absorbed[t] ?? t];
    if (!a) continue;
    const integer = integerTensors.get(q);
    const entry = [integer ?? q, a.algo ?? a.source, a.range.map(r7)];
    map[t] = integer ? [...entry, a.dtype, a.scale, a.zeroPoint] : entry;
  }
  const nodes = plan.nodes.map((n) => (n.status === 'quantized' ? [n.name, n.opType, n.status] : [n.name, n.opType, n.status, n.reason]));
  const keep = model.metadata.filter((m) => !m.key.startsWith('qtool.'));
  model.metadata = [
    ...keep,
    { key: 'qtool.version', value: QTOOL_VERSION },
    { key: 'qtool.tensor_map', value: JSON.stringify(map) },
    { key: 'qtool.nodes', value: JSON.stringify(nodes) },
  ];
}

export type { RangeInput };
