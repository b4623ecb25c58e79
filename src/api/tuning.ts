// The shared machinery of `qtool sensitivity` and the accuracy-driven search (`--target-*`):
// calibrate ONCE, cache one float pass over the evaluation data, then build and score many
// variants of the plan in memory (no files): a variant keeps some units in float or int16.
//
// A unit is a quantized node (not a pass-through op) with the tensors it owns in the plan: the
// activation groups of its outputs (after a Relu/Clip folded into its range) and its weights.
//   float fallback: the node is excluded (excludeNodes) and its output groups get no Q/DQ, so the
//                   next layer reads its output in float (its own weights stay int8).
//   int16 fallback: the activation groups of its inputs and outputs are int16, with their observed
//                   range, and so are its weights; onnxruntime runs int16 Q/DQ (opset 21 or
//                   com.microsoft) and the node itself in float on the dequantized values.
import { UnsupportedError, UsageError, UserInputError } from '../errors.js';
import { opsetVersion, type Feeds, type Model } from '../ir/index.js';
import { readModelFile, encodeModel, decodeModel, hasLazyTensors, largeModelBytes } from '../onnx/index.js';
import { ensureRequirements, pipelineFor, prepareModel, runPipeline } from '../passes/index.js';
import { analyzeGraph, type Analysis } from '../quant/analyze.js';
import { dropActivations, planStatic, tensorsToCalibrate, type Overrides, type Planned, type QuantPlan, type RangeInput } from '../quant/plan.js';
import type { QuantConfig } from '../config/index.js';
import { openDataFolder, parsePreprocess, readLabels } from '../data/index.js';
import { Session } from '../runtime/index.js';
import { hostToFloats } from '../report/evaluate.js';
import type { StatsFile } from '../calibration/index.js';
import { resolveConfig, type ConfigSources } from './options.js';
import { obtainRanges, type CalibrationProgress } from './ranges.js';
import { applyBiasCorrections, measureBiasCorrections, type BiasCorrections } from './bias-correction.js';
import { channelAxesFor, outlierFloatNodes, withOutliers, type OutlierRecord } from '../quant/outliers.js';
import { outliersFor } from './outlier-channels.js';

export type Fallback = 'float' | 'int16';

export interface TuningSource extends ConfigSources {
  /** Calibration data folder. */
  data?: string;
  /** Reuse statistics from `qtool calibrate` (a file or its contents). */
  stats?: string | StatsFile;
  preprocess?: string;
  /** Held-out evaluation data (default: the calibration data, in-sample). */
  evalData?: string;
  /** Class indices of the evaluation samples, for accuracy (and --target-drop). */
  labels?: string;
  /** Evaluate on the first N samples only. */
  evalCount?: number;
  onProgress?: CalibrationProgress;
}

export interface Unit {
  /** Node name in the (prepared) model: the original node's name. */
  node: string;
  opType: string;
  /** Activation tensors of its output groups (what a float fallback leaves unquantized). */
  outputs: string[];
  /** Activation tensors of its input groups (int16 together with `outputs` in an int16 fallback). */
  inputs: string[];
  weights: string[];
}

export interface Metrics {
  /** SQNR of the primary output against the float model, dB. */
  sqnrDb: number;
  /** Top-1 agreement with the float model (0..1), when the primary output is a [N, classes] score. */
  agreement: number | null;
  /** Top-1 accuracy (0..1) with labels. */
  accuracy: number | null;
}

/** Which units fall back, and how. */
export interface Variant {
  float?: readonly string[];
  int16?: readonly string[];
  /** Only these units are quantized; every other unit is kept in float (sensitivity's "alone"). */
  only?: readonly string[];
  /** Ranges to plan with instead of the calibrated ones (--algo auto). */
  ranges?: ReadonlyMap<string, RangeInput>;
}

/** Kept-in-float nodes and the tensors left without Q/DQ, as the plan and --overrides carry them. */
export interface KeepFloat {
  nodes: string[];
  tensors: string[];
}

export interface TuningContext {
  input: string;
  config: Readonly<QuantConfig>;
  /** The prepared float model, encoded (every variant decodes a fresh copy). */
  base: Uint8Array;
  analysis: Analysis;
  ranges: Map<string, RangeInput>;
  observed: Map<string, { min: number; max: number }>;
  stats: StatsFile;
  /** Tensors kept float for their outlier channels (with their readers), in every variant. */
  outliers: ReadonlyMap<string, OutlierRecord>;
  /** The full-int8 plan. */
  plan: QuantPlan;
  units: Unit[];
  batches: Feeds[];
  primary: string;
  /** Cached float primary output per batch. */
  floatOut: Float32Array[];
  classes: number | null;
  labels: number[] | null;
  floatMetrics: { accuracy: number | null };
  evalData: string;
  inSample: boolean;
  samples: number;
  timings: { calibrationMs: number; floatPassMs: number };
  trials: number;
  trialMs: number;
  /** --bias-correction: measured once with the full-int8 plan (float inputs, so per unit independent). */
  biasCorrection?: BiasCorrections;
}

export async function openTuning(input: string, src: TuningSource): Promise<TuningContext> {
  const config = resolveConfig(src);
  if (config.mode !== 'static') throw new UsageError(`sensitivity and --target-* work in static mode only (got --mode ${config.mode})`);
  if (config.format !== 'qdq') throw new UsageError('sensitivity and --target-* search on QDQ models; drop --format qoperator');
  const model = readModelFile(input);
  // The search builds every trial model in memory, as one buffer: not for a large model.
  if (hasLazyTensors(model)) throw new UnsupportedError(`${input}: sensitivity and --target-* build every trial model in memory, which a model with over ${(largeModelBytes() / 2 ** 20).toFixed(0)} MiB of external data does not fit; run qtool quantize with --exclude-nodes instead`);
  prepareModel(model, { equalize: config.equalize });
  // As quantize() does: raise the opset the pipeline needs before calibrating, and analyse the result.
  let analysis = analyzeGraph(model.graph, config);
  const opsetBefore = opsetVersion(model);
  ensureRequirements(model, pipelineFor(config), { config, analysis });
  if (opsetVersion(model) !== opsetBefore) analysis = analyzeGraph(model.graph, config);
  const needed = tensorsToCalibrate(model.graph, config, analysis);
  const channelAxes = channelAxesFor(model.graph, analysis, config);
  const r = await obtainRanges(model, needed, config, { data: src.data, stats: src.stats, preprocess: src.preprocess, onProgress: src.onProgress, label: input, channelAxes });
  // As quantize() does: outlier-channel tensors and their readers stay float in every variant.
  const outliers = outliersFor(model.graph, analysis, config, r.stats);
  if (outliers.size) analysis = analyzeGraph(model.graph, config, { floatNodes: outlierFloatNodes(outliers) });
  const base = encodeModel(model);
  const full = withOutliers(planStatic(model.graph, config, { ranges: r.ranges, observed: r.observed, perChannelAllowed: (opsetVersion(model) ?? 0) >= 13, analysis }), outliers);
  const { plan } = full;
  const units = findUnits(model, analysis, plan);
  if (config.biasCorrection && !src.data) throw new UserInputError(`${input}: --bias-correction measures on the calibration data: pass --data <dir>`);
  const biasCorrection = config.biasCorrection ? await measureBiasCorrections(model, full, config, { data: src.data!, preprocess: src.preprocess, label: input }) : undefined;

  const evalData = src.evalData ?? src.data;
  if (!evalData) throw new UserInputError(`${input}: the search needs evaluation data: pass --eval-data <dir> (or --data)`);
  const t0 = performance.now();
  const inputs = model.graph.feedInputs();
  const fixed = inputs.map((i) => i.shape?.[0]).find((b): b is number => typeof b === 'number');
  const count = src.evalCount ?? (src.evalData ? undefined : config.calibCount);
  const source = await openDataFolder(evalData, { inputs, count, batchSize: fixed ?? 32, preprocess: src.preprocess ? parsePreprocess(src.preprocess) : undefined });
  const batches: Feeds[] = [];
  for await (const b of source.batches()) batches.push(b);
  const primary = model.graph.outputs[0]?.name;
  if (!primary) throw new UserInputError(`${input}: the model has no output`);
  const fs = await Session.open(base, { threads: config.threads, label: input });
  const floatOut: Float32Array[] = [];
  let classes: number | null = null;
  try {
    for (const b of batches) {
      const o = (await fs.run(b, [primary]))[primary]!;
      const f = hostToFloats(o);
      if (!f) throw new UserInputError(`${input}: output '${primary}' is not numeric; the search needs a numeric primary output`);
      floatOut.push(Float32Array.from(f));
      if (o.dims.length === 2 && (o.dims[1] ?? 0) > 1) classes = o.dims[1]!;
    }
  } finally {
    await fs.close();
  }
  let labels: number[] | null = null;
  if (src.labels) {
    labels = readLabels(src.labels);
    if (labels.length < source.sampleCount) throw new UserInputError(`${src.labels}: ${labels.length} labels for ${source.sampleCount} samples; give one label per sample, in sample order`);
    if (classes === null) throw new UserInputError(`${src.labels}: labels need a [N, classes] primary output; '${primary}' is not one`);
  }
  const ctx: TuningContext = {
    input, config, base, analysis, ranges: r.ranges, observed: r.observed, stats: r.stats, outliers, plan, units, batches, primary, floatOut,
    classes, labels, floatMetrics: { accuracy: null }, evalData, inSample: !src.evalData, samples: source.sampleCount,
    timings: { calibrationMs: r.ms, floatPassMs: performance.now() - t0 }, trials: 0, trialMs: 0, biasCorrection,
  };
  if (labels && classes) ctx.floatMetrics.accuracy = accuracyOf(floatOut, classes, labels);
  return ctx;
}

/** Quantized non-pass-through nodes of the full plan, in graph order, with the tensors they own. */
function findUnits(model: Model, a: Analysis, plan: QuantPlan): Unit[] {
  const g = model.graph;
  const byGroup = new Map<string, string[]>();
  for (const [t, p] of Object.entries(plan.activations)) byGroup.set(p.group, [...(byGroup.get(p.group) ?? []), t]);
  const groupTensors = (ts: string[]) => {
    const groups = new Set(ts.map((t) => plan.activations[plan.absorbed[t] ?? t]?.group).filter((x): x is string => !!x));
    return [...groups].flatMap((gr) => byGroup.get(gr) ?? []).sort();
  };
  const units: Unit[] = [];
  for (const n of g.nodes) {
    const d = a.decisions.get(n)!;
    if (d.status !== 'quantized' || !d.rule || d.rule.passThrough) continue;
    const outputs = groupTensors(n.outputs.filter(Boolean));
    const inputs = groupTensors(n.inputs.filter((t, i) => d.rule!.inputs[i]?.kind === 'activation' && !!t));
    const weights = n.inputs.filter((t) => plan.weights[t]);
    if (outputs.length === 0 && inputs.length === 0 && weights.length === 0) continue;
    units.push({ node: n.name, opType: n.opType, outputs, inputs, weights });
  }
  return units;
}

export function unitByName(ctx: TuningContext, name: string): Unit {
  const u = ctx.units.find((x) => x.node === name);
  if (!u) throw new UserInputError(`no quantized unit named '${name}' in ${ctx.input}`);
  return u;
}

/** The overrides (and kept-float list) that express a variant; what the final quantize() gets. */
export function variantOverrides(ctx: TuningContext, v: Variant): { overrides: Overrides; keepFloat: KeepFloat } {
  const floatNames = new Set(v.float ?? []);
  if (v.only) for (const u of ctx.units) if (!v.only.includes(u.node)) floatNames.add(u.node);
  const keepFloat: KeepFloat = { nodes: [], tensors: [] };
  const tensors = new Set<string>();
  for (const name of floatNames) {
    const u = unitByName(ctx, name);
    keepFloat.nodes.push(u.node);
    for (const t of u.outputs) tensors.add(t);
  }
  keepFloat.nodes.sort();
  keepFloat.tensors = [...tensors].sort();
  const activations: NonNullable<Overrides['activations']> = {};
  for (const name of v.int16 ?? []) {
    const u = unitByName(ctx, name);
    // The int8 range (mse, kl, percentile) clips to balance 8-bit rounding; at int16 rounding is
    // negligible and clipping would dominate, so an int16 tensor takes its observed range.
    for (const t of [...u.inputs, ...u.outputs]) {
      const o = ctx.observed.get(t);
      activations[t] = o ? { dtype: 'int16', range: [o.min, Math.max(o.max, 0)] } : { dtype: 'int16' };
    }
  }
  const weights: NonNullable<Overrides['weights']> = {};
  for (const name of v.int16 ?? []) for (const w of unitByName(ctx, name).weights) weights[w] = { dtype: 'int16' };
  // Bias corrections of the units that stay int8 (a fallen-back unit's weights are not int8 any more).
  const moved = new Set([...floatNames, ...(v.int16 ?? [])]);
  const biasCorrection = ctx.biasCorrection && Object.fromEntries(Object.entries(ctx.biasCorrection).filter(([n]) => !moved.has(n)));
  return { overrides: { activations, weights, keepFloat, ...(biasCorrection ? { biasCorrection } : {}) }, keepFloat };
}

/**
 * Leaves the kept-float tensors (and every tensor sharing a range group with one) without Q/DQ, and
 * the biases that would be scaled by them in float (their integers go too; the node's bias input
 * stays float). The nodes themselves are excluded by the caller (config.excludeNodes). Returns a
 * new plan, with `keepFloat` recorded, and its integers.
 */
export function applyKeepFloat(planned: Planned, keep: KeepFloat | undefined): Planned {
  if (!keep || (keep.nodes.length === 0 && keep.tensors.length === 0)) return planned;
  const out = dropActivations(planned, keep.tensors);
  return { ...out, plan: { ...out.plan, keepFloat: { nodes: [...keep.nodes], tensors: [...keep.tensors] } } };
}

/** The config with kept-float nodes added to excludeNodes. */
export function withKeepFloat(config: Readonly<QuantConfig>, keep: KeepFloat | undefined): Readonly<QuantConfig> {
  if (!keep?.nodes.length) return config;
  return Object.freeze({ ...config, excludeNodes: [...new Set([...config.excludeNodes, ...keep.nodes])] });
}

/** Builds a variant in memory, exactly as quantize() would write it: the QDQ model's bytes and its plan. */
export function buildVariant(ctx: TuningContext, v: Variant): { bytes: Uint8Array; plan: QuantPlan } {
  const { overrides, keepFloat } = variantOverrides(ctx, v);
  const model = decodeModel(ctx.base, { label: ctx.input });
  const config = withKeepFloat(ctx.config, keepFloat);
  if (overrides.biasCorrection) applyBiasCorrections(model, overrides.biasCorrection);
  const analysis = analyzeGraph(model.graph, config, { floatNodes: outlierFloatNodes(ctx.outliers) });
  // The base model already has the opset the pipeline needs (openTuning raised it).
  const planned = withOutliers(applyKeepFloat(planStatic(model.graph, config, { ranges: v.ranges ?? ctx.ranges, observed: ctx.observed, overrides, perChannelAllowed: (opsetVersion(model) ?? 0) >= 13, analysis }), keepFloat), ctx.outliers);
  const { plan } = planned;
  runPipeline(model, pipelineFor(config), { ...planned, config });
  model.graph.toposort();
  model.graph.cleanup();
  return { bytes: encodeModel(model), plan };
}

/** Scores model bytes on the cached evaluation batches against the cached float outputs. */
export async function scoreBytes(ctx: TuningContext, bytes: Uint8Array): Promise<Metrics> {
  const s = await Session.open(bytes, { threads: ctx.config.threads, label: `${ctx.input} (trial)` });
  const outs: Float32Array[] = [];
  try {
    for (const b of ctx.batches) {
      const f = hostToFloats((await s.run(b, [ctx.primary]))[ctx.primary]!);
      outs.push(Float32Array.from(f ?? []));
    }
  } finally {
    await s.close();
  }
  let sig = 0;
  let noise = 0;
  ctx.floatOut.forEach((f, k) => {
    const q = outs[k]!;
    for (let i = 0; i < f.length; i++) {
      sig += f[i]! * f[i]!;
      noise += (f[i]! - q[i]!) ** 2;
    }
  });
  const sqnrDb = noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
  let agreement: number | null = null;
  if (ctx.classes) {
    let same = 0;
    let n = 0;
    ctx.floatOut.forEach((f, k) => {
      const rows = f.length / ctx.classes!;
      for (let r = 0; r < rows; r++, n++) if (argmax(f, r, ctx.classes!) === argmax(outs[k]!, r, ctx.classes!)) same++;
    });
    agreement = n ? same / n : null;
  }
  const accuracy = ctx.labels && ctx.classes ? accuracyOf(outs, ctx.classes, ctx.labels) : null;
  return { sqnrDb, agreement, accuracy };
}

/** Builds and scores one variant. */
export async function tryVariant(ctx: TuningContext, v: Variant): Promise<Metrics> {
  const t0 = performance.now();
  const { bytes } = buildVariant(ctx, v);
  const m = await scoreBytes(ctx, bytes);
  ctx.trials++;
  ctx.trialMs += performance.now() - t0;
  return m;
}

function argmax(a: Float32Array, row: number, c: number): number {
  let best = 0;
  for (let k = 1; k < c; k++) if (a[row * c + k]! > a[row * c + best]!) best = k;
  return best;
}

function accuracyOf(outs: Float32Array[], classes: number, labels: readonly number[]): number {
  let ok = 0;
  let n = 0;
  for (const o of outs) {
    const rows = o.length / classes;
    for (let r = 0; r < rows; r++, n++) if (argmax(o, r, classes) === labels[n]) ok++;
  }
  return n ? ok / n : 0;
}

/** --overrides: `keepFloat` must be { nodes: string[], tensors: string[] }. */
export function checkKeepFloat(file: string, k: unknown): void {
  if (k === undefined) return;
  const list = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const o = k as KeepFloat;
  if (!o || typeof o !== 'object' || !list(o.nodes) || !list(o.tensors)) {
    throw new UserInputError(`${file}: "keepFloat" must be {"nodes": [node names], "tensors": [tensor names]}; fix it or remove it`);
  }
}
