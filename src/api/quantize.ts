// quantize(): read → prepare → calibrate (or reuse stats) → plan → rewrite → write → verify.
// The only place these layers are wired together for the main job.
import fs from 'node:fs';
import { UserInputError } from '../errors.js';
import { opsetVersion, type Model } from '../ir/index.js';
import { readModelFile } from '../onnx/index.js';
import { takeDataWarnings } from '../data/index.js';
import { guardModeWeights, guardRanges, guardWeights } from '../quant/guard.js';
import { removeOnFailure, writeChecked } from './write-checked.js';
import type { QuantConfig } from '../config/index.js';
import { ensureMsDomain, ensureOpset, insertQdq, lowerToQOperator, prepareModel } from '../passes/index.js';
import { analyzeGraph, type Analysis } from '../quant/analyze.js';
import { planQuantization, tensorsToCalibrate, type Overrides, type QuantPlan, type RangeInput } from '../quant/plan.js';
import { atomicWrite } from '../onnx/io.js';
import { QTOOL_VERSION } from '../version.js';
import { verifyAndReport } from './compare.js';
import type { GateResult, Gates, Progress, Report } from '../report/index.js';
import { autoTargetNote, defaultOutputPath, resolveConfig, type ConfigSources } from './options.js';
import { obtainRanges, type CalibrationProgress } from './ranges.js';
import { applyDynamic, applyWeightOnly } from './modes.js';

export interface QuantizeOptions extends ConfigSources {
  output?: string;
  /** Calibration data folder (static mode). */
  data?: string;
  /** Reuse statistics from `qtool calibrate` instead of calibrating. */
  stats?: string;
  /** `--preprocess` spec for image folders. */
  preprocess?: string;
  /** Pinned ranges/dtypes/granularity: a plan file or its `activations`/`weights` subset. */
  overrides?: string | Overrides;
  /** Write the QuantPlan here. */
  savePlan?: string;
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
  notes: string[];
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
  const notes = prepareModel(model);
  const targetNote = autoTargetNote(config, opts.config?.target);
  if (targetNote) notes.push(targetNote);
  const analysis = config.mode === 'static' ? analyzeGraph(model.graph, config) : undefined;
  if (analysis) notes.push(...opsetNotes(model, analysis, config));
  if (analysis) guardWeights(model.graph, analysis, input);
  const overrides = loadOverrides(opts.overrides);
  let plan: QuantPlan;
  let tensorMap: Record<string, string> = {};
  /** QOperator: dequantized tensors the lowering removed → the integer tensor that replaced them. */
  let integerTensors = new Map<string, string>();
  let calib = { ms: 0, samples: 0 };
  if (config.mode === 'static') {
    const needed = tensorsToCalibrate(model.graph, config, analysis);
    const r = await obtainRanges(model, needed, config, { data: opts.data, stats: opts.stats, preprocess: opts.preprocess, onProgress: opts.onProgress, label: input });
    calib = { ms: r.ms, samples: r.samples };
    notes.push(...takeDataWarnings());
    guardRanges(model.graph, new Map([...r.ranges, ...r.observed]), input, opts.data ?? opts.stats ?? '');
    plan = planQuantization(model.graph, config, { ranges: r.ranges, observed: r.observed, overrides, perChannelAllowed: (opsetVersion(model) ?? 0) >= 13, analysis });
    notes.push(...floatLayerPoolNotes(model, plan));
    const res = insertQdq(model, plan, { wideTypeDomain: (opsetVersion(model) ?? 0) >= 21 ? '' : 'com.microsoft' });
    tensorMap = res.tensorMap;
    notes.push(...res.notes);
    if (Object.values(plan.activations).some((a) => a.dtype === 'int16') && (opsetVersion(model) ?? 0) < 21) ensureMsDomain(model);
    if (config.format === 'qoperator') {
      const integerOf = new Map(Object.values(tensorMap).map((dq) => [dq, model.graph.producerOf(dq)?.inputs[0]]));
      notes.push(...lowerToQOperator(model));
      integerTensors = new Map([...integerOf].filter(([dq, q]) => !model.graph.producerOf(dq) && q && (model.graph.producerOf(q) || model.graph.isGraphInput(q))) as [string, string][]);
    }
  } else {
    guardModeWeights(model.graph, input, config);
    plan = config.mode === 'dynamic' ? applyDynamic(model, config) : applyWeightOnly(model, config);
  }
  model.graph.toposort();
  model.graph.cleanup();
  model.graph.checkInvariants();
  recordMetadata(model, plan, tensorMap, integerTensors);
  if (opts.savePlan) atomicWrite(opts.savePlan, [Buffer.from(`${JSON.stringify(plan, null, 2)}\n`)]);
  await writeChecked(model, output, { inputPath: input, floatModel: input, threads: config.threads });
  const floatBytes = fs.statSync(input).size;
  const qBytes = fs.statSync(output).size;
  const verified = await removeOnFailure(output, () => verifyWritten(input, output, config, opts, notes));
  return {
    input, output, config, plan, notes, tensorMap,
    sizes: { float: floatBytes, quantized: qBytes, ratio: qBytes / floatBytes },
    timings: { calibrationMs: calib.ms, totalMs: performance.now() - t0, calibrationSamples: calib.samples },
    report: verified?.report, gateFailures: verified?.failures ?? [], reportFiles: verified?.files ?? [],
  };
}

async function verifyWritten(input: string, output: string, config: Readonly<QuantConfig>, opts: QuantizeOptions, notes: string[]) {
  const v = opts.verify;
  if (!v) return undefined;
  const data = v.evalData ?? opts.data;
  if (!data) {
    notes.push('not verified: no --eval-data and no calibration data folder (--stats was used)');
    return undefined;
  }
  return verifyAndReport(input, output, {
    data, labels: v.labels, inSample: !v.evalData, count: v.count ?? (v.evalData ? undefined : config.calibCount),
    threads: config.threads, perLayer: v.perLayer, latency: v.latency, preprocess: opts.preprocess, gates: v.gates,
    reports: v.reports, onProgress: v.onProgress,
  });
}

/**
 * A layer kept in float whose output reaches a MaxPool (directly or through its Relu/Clip): ORT
 * moves the following QuantizeLinear above the pool and then runs a uint8 NCHW MaxPool far slower
 * than either float pooling or the int8 conv it replaced (measured: ResNet-18 2.6× → 1.6×).
 */
function floatLayerPoolNotes(model: Model, plan: QuantPlan): string[] {
  const g = model.graph;
  const notes: string[] = [];
  for (const entry of plan.nodes.filter((n) => n.status === 'float' && /layer kept in float/.test(n.reason))) {
    const node = g.nodes.find((n) => n.name === entry.name);
    let value = node?.outputs[0];
    for (let hops = 0; value && hops < 2; hops++) {
      const next = g.consumersOf(value);
      if (next.some((c) => c.opType === 'MaxPool')) {
        notes.push(`warning: ${entry.name} is kept in float and feeds a MaxPool; onnxruntime then runs that pool on uint8 in a slow generic kernel, so the model may be slower than with the layer in int8`);
        break;
      }
      value = next.length === 1 && ['Relu', 'Clip'].includes(next[0]!.opType) ? next[0]!.outputs[0] : undefined;
    }
  }
  return notes;
}

/** Raises the opset only as far as the rewrite needs it: 13 for per-channel weights, 10 for Q/DQ. */
function opsetNotes(model: Model, a: Analysis, config: Readonly<QuantConfig>): string[] {
  const quantized = [...a.decisions.values()].filter((d) => d.status !== 'float');
  if (quantized.length === 0) return [];
  const weights = quantized.some((d) => d.rule?.inputs.some((r) => r.kind === 'weight'));
  const note = config.perChannel && weights
    ? ensureOpset(model, 13, 'per-channel Q/DQ (the axis attribute)')
    : ensureOpset(model, 10, 'QuantizeLinear/DequantizeLinear');
  return note ? [note] : [];
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
