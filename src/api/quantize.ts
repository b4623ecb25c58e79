// quantize(): read → prepare → calibrate (or reuse stats) → plan → rewrite → write → verify.
// The only place these layers are wired together for the main job.
import fs from 'node:fs';
import { UnsupportedError, UserInputError } from '../errors.js';
import { quantizedOps } from '../quant/already-quantized.js';
import { opsetVersion, type Model } from '../ir/index.js';
import { copyModelWithBytes, hasLazyTensors, readModelFile, selfContainedBytes } from '../onnx/index.js';
import { takeDataWarnings } from '../data/index.js';
import { guardModeWeights, guardRanges, guardWeights } from '../quant/guard.js';
import { removeOnFailure, writeChecked } from './write-checked.js';
import { collectGarbage } from './memory.js';
import type { QuantConfig } from '../config/index.js';
import { cleanupAll, ensureRequirements, pipelineFor, prepareModel, runPipeline } from '../passes/index.js';
import { analyzeModelGraph, rareBodies, untakenBodies } from '../quant/analyze.js';
import { planStatic, tensorsToCalibrate, type Overrides, type Planned, type QuantPlan, type RangeInput } from '../quant/plan.js';
import { planWeightForms } from '../quant/plan-forms.js';
import { checkGroupedWeights } from '../quant/plan-weights.js';
import { note, type Note } from '../quant/reasons.js';
import { dynamicOnlyNotes, floatLayerPoolNotes, peakTestNotes } from '../quant/warnings.js';
import { atomicWrite } from '../onnx/io.js';
import { QTOOL_VERSION } from '../version.js';
import { verifyAndReport, type ModelPair, type QuantizedModel } from './compare.js';
import { planNodeEntries, recordMetadata, tensorMapEntries, type CollapseThresholds, type GateResult, type Gates, type LatencyOptions, type Progress, type Report } from '../report/index.js';
import {
  applyRecipe, autoTargetNote, checkModelNames, checkOutputFolders, defaultOutputPath, modelNames, phaseTracker, resolveConfig,
  type ConfigSources, type OnPhase,
} from './options.js';
import { obtainRanges, type CalibrationProgress } from './ranges.js';
import { applyKeepFloat, checkKeepFloat, withKeepFloat } from './tuning.js';
import { channelAxesFor, outlierFloatNodes, outlierNotes, withOutliers } from '../quant/outliers.js';
import { checkOutlierOverrides, outliersFor } from './outlier-channels.js';
import { autoRangesFor } from './auto-algo.js';
import { applyBiasCorrections, measureBiasCorrections } from './bias-correction.js';
import type { StatsFile } from '../calibration/index.js';

export interface QuantizeOptions extends ConfigSources {
  output?: string;
  /** Calibration data folder (static mode). */
  data?: string;
  /** Reuse statistics from `qtool calibrate` (a file, or its contents) instead of calibrating. */
  stats?: string | StatsFile;
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
  /** Called as each phase (read, prepare, calibrate, ranges, rewrite, write, verify) starts and ends. */
  onPhase?: OnPhase;
  /** Compare the written model with the float one (the CLI always does, unless --no-verify); false: never, whatever the config file says. */
  verify?: VerifyOptions | false;
}

export interface VerifyOptions {
  /** Held-out data; without it the calibration data is used and the report says "in-sample". */
  evalData?: string;
  labels?: string;
  reports?: string[];
  gates?: Gates;
  perLayer?: boolean;
  /** Samples the per-layer errors are summed over (default: all; the output metrics use every sample). */
  layerSamples?: number;
  latency?: boolean | LatencyOptions;
  count?: number;
  /** Warn when an output's SQNR or top-1 agreement falls under these (default 20 dB, 98%). */
  collapse?: CollapseThresholds;
  /** The command line to repeat in the report's suggestion (default: input, -o output, --data). */
  command?: readonly string[];
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

/** A body that ran on fewer than this fraction of the calibration samples gets a 'rare-branch' warning. */
const RARE_BRANCH_FRACTION = 0.1;

export async function quantize(input: string, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  const t0 = performance.now();
  const opts = applyRecipe(options);
  const phase = phaseTracker(opts.onPhase);
  const overrides = loadOverrides(opts.overrides);
  const config = withPlanSteps(withKeepFloat(resolveConfig(opts), overrides?.keepFloat), overrides);
  const output = opts.output ?? defaultOutputPath(input);
  if (config.biasCorrection && !overrides?.biasCorrection && !opts.data) throw new UserInputError(`${input}: --bias-correction measures on the calibration data: pass --data <dir> (statistics alone are not enough)`);
  if (fs.existsSync(input) && fs.existsSync(output) && fs.realpathSync(input) === fs.realpathSync(output)) {
    throw new UserInputError(`${output}: refusing to overwrite the input model; choose another output path with -o`);
  }
  checkOutputFolders([['model', output], ['plan', opts.savePlan], ...(opts.verify ? opts.verify.reports ?? [] : []).map((f) => ['report', f] as const)]);
  phase('read');
  let model = readModelFile(input);
  // A large model (external data over largeModelBytes()): its weights stay in their file until a
  // pass needs them, and its output keeps external data (see onnx/io.ts).
  const large = hasLazyTensors(model);
  refuseQuantized(model, input, opts.requantize);
  const original = modelNames(model);
  phase('prepare');
  const notes: Note[] = prepareModel(model, { equalize: config.equalize }).map((m) => note(m.startsWith('equalize: ') ? 'equalized' : 'prepare', m));
  checkModelNames(original, model, config, opts.configOrigin);
  // The float side of verification, and its encoding for verification's sessions.
  const prepared = opts.verify ? copyModelWithBytes(model, input) : undefined;
  const targetNote = autoTargetNote(config, opts.config?.target);
  if (targetNote) notes.push(note('auto-target', targetNote));
  let analysis = config.mode === 'static' ? analyzeModelGraph(model.graph, config) : undefined;
  const pipeline = pipelineFor(config);
  const opsetBefore = opsetVersion(model);
  const upgraded = ensureRequirements(model, pipeline, { config, analysis, overrides });
  notes.push(...upgraded);
  // Unchanged since the copy was encoded: calibration hashes those bytes and opens its sessions from them.
  const encoded = upgraded.length === 0 && opsetVersion(model) === opsetBefore ? prepared?.bytes : undefined;
  // The opset conversion replaces the nodes it adapts (and may add some): analyse the result.
  if (analysis && opsetVersion(model) !== opsetBefore) analysis = analyzeModelGraph(model.graph, config);
  if (analysis) guardWeights(model.graph, analysis, input);
  if (analysis) checkGroupedWeights(model.graph, analysis, config, overrides, (opsetVersion(model) ?? 0) >= 13);
  let planned: Planned;
  let calib = { ms: 0, samples: 0 };
  if (config.mode === 'static') {
    const needed = tensorsToCalibrate(model.graph, config, analysis);
    const channelAxes = channelAxesFor(model.graph, analysis!, config);
    phase('calibrate');
    const r = await obtainRanges(model, needed, config, { data: opts.data, stats: opts.stats, preprocess: opts.preprocess, fixedInputs: opts.fixedInputs, onProgress: opts.onProgress, label: input, onPhase: phase, encoded, channelAxes });
    calib = { ms: r.ms, samples: r.samples };
    notes.push(...takeDataWarnings().map((m) => note('calibration-data', m, true)));
    // Body tensors of a branch that never ran on the calibration data have no values: that branch
    // (and what it holds) stays float.
    const untaken = untakenBodies(analysis!, needed.filter((t) => !(r.stats.tensors[t]?.count ?? 0)));
    if (untaken.size) {
      analysis = analyzeModelGraph(model.graph, config, { floatBodies: untaken });
      const kept = new Set(tensorsToCalibrate(model.graph, config, analysis));
      for (const t of needed) if (!kept.has(t)) (r.ranges.delete(t), r.observed.delete(t));
      // Named outermost: the bodies nested in an untaken one are counted, not listed.
      const top = analysis.bodies!.filter((b) => untaken.has(b.graph) && !analysis!.bodies!.some((o) => untaken.has(o.graph) && o.graph.nodes.includes(b.owner)));
      const nested = untaken.size - top.length;
      const paths = top.map((b) => b.path);
      notes.push(note('untaken-branch', `${paths.length} If/Loop/Scan bod${paths.length > 1 ? 'ies' : 'y'}${nested ? ` (and ${nested} nested in ${paths.length > 1 ? 'them' : 'it'})` : ''} never ran on the calibration data and stay${paths.length > 1 || nested ? '' : 's'} float: ${paths.slice(0, 4).join(', ')}${paths.length > 4 ? ', …' : ''}`, true));
    }
    // A body that ran on few calibration samples is quantized with ranges that rest on those alone:
    // said, with the samples it ran on (calibrated here; --stats files do not record it).
    const rare = r.samplesSeen ? rareBodies(analysis!, r.samplesSeen, r.samples, RARE_BRANCH_FRACTION, untaken) : [];
    if (rare.length) {
      const list = rare.slice(0, 4).map((b) => `${b.path} (${b.samples} of ${r.samples})`).join(', ');
      notes.push(note('rare-branch', `${rare.length} If/Loop/Scan bod${rare.length > 1 ? 'ies' : 'y'} ran on under ${RARE_BRANCH_FRACTION * 100}% of the calibration samples: ${list}${rare.length > 4 ? ', …' : ''}; ${rare.length > 1 ? 'their' : 'its'} ranges rest on those samples alone: add calibration samples that take ${rare.length > 1 ? 'them' : 'it'}, or keep ${rare.length > 1 ? 'their' : 'its'} nodes float with --exclude-nodes`, true));
    }
    // Channels orders of magnitude apart: the tensor and its readers stay float (quant/outliers.ts).
    const outliers = outliersFor(model.graph, analysis!, config, r.stats, overrides?.outlierChannels);
    const analyze = () => analyzeModelGraph(model.graph, config, { floatBodies: untaken, floatNodes: outlierFloatNodes(outliers) });
    if (outliers.size) {
      analysis = analyze();
      notes.push(...outlierNotes(outliers));
    }
    guardRanges(model.graph, new Map([...r.ranges, ...r.observed]), input, opts.data ?? (typeof opts.stats === 'string' ? opts.stats : 'the given statistics'));
    if (config.algo === 'auto') r.ranges = await autoRangesFor(input, r.stats, needed, config, opts, notes);
    const planOpts = { ranges: r.ranges, observed: r.observed, overrides, perChannelAllowed: (opsetVersion(model) ?? 0) >= 13 };
    const makePlan = () => withOutliers(applyKeepFloat(planStatic(model.graph, config, { ...planOpts, analysis }), overrides?.keepFloat), outliers);
    planned = makePlan();
    if (config.biasCorrection) {
      // Measured with this plan's integer weights (or as recorded in --overrides), then planned again.
      const corrections = overrides?.biasCorrection ?? await measureBiasCorrections(model, planned, config, { data: opts.data!, preprocess: opts.preprocess, fixedInputs: opts.fixedInputs, label: input });
      const done = applyBiasCorrections(model, corrections);
      analysis = analyze();
      planned = makePlan();
      planned.plan.biasCorrection = Object.fromEntries(done.corrected.map((n) => [n, corrections[n]!]));
      const shift = Math.max(0, ...Object.values(planned.plan.biasCorrection).flat().map(Math.abs));
      notes.push(note('bias-corrected', `bias correction: ${done.corrected.length} layer bias${done.corrected.length === 1 ? '' : 'es'} corrected${overrides?.biasCorrection ? ' (as recorded in the overrides)' : ''}, largest shift ${shift.toPrecision(3)}${done.skipped.length ? `; not corrected: ${done.skipped.join('; ')}` : ''}`));
    }
    if (config.equalize) planned.plan.equalize = true;
    notes.push(...floatLayerPoolNotes(model.graph, planned.plan), ...dynamicOnlyNotes(model.graph, planned.plan), ...peakTestNotes(model.graph, planned.plan));
  } else {
    guardModeWeights(model.graph, input, config);
    planned = planWeightForms(model.graph, config, overrides);
  }
  const { plan } = planned;
  notes.push(...(planned.notes ?? []));
  phase('rewrite');
  const rewrite = runPipeline(model, pipeline, { ...planned, config });
  // The rewrite stored the plan's integers in the model: drop the plan's copy (as large as the
  // quantized weights) before writing and verifying.
  planned.integers.weights.clear();
  planned.integers.biases.clear();
  if (large) collectGarbage();
  notes.push(...rewrite.notes);
  const { tensorMap } = rewrite;
  cleanupAll(model.graph);
  model.graph.checkInvariants();
  phase('write');
  const integerTensors = new Map(Object.entries(rewrite.integerOf));
  recordMetadata(model, plan, { tensorMap, integerOf: integerTensors }, QTOOL_VERSION);
  if (opts.savePlan) atomicWrite(opts.savePlan, [Buffer.from(`${JSON.stringify(plan, null, 2)}\n`)]);
  const writing = writeChecked(model, output, { inputPath: input, floatModel: input, threads: config.threads, externalData: large || undefined });
  const mapping = { tensorMap, integerOf: integerTensors };
  const pair = (bytes: QuantizedModel['bytes']): ModelPair => ({
    float: { model: prepared!.copy, path: input, bytes: prepared!.bytes }, quantized: { model, path: output, bytes }, entries: tensorMapEntries(plan, mapping), planNodes: planNodeEntries(plan),
  });
  // Verification prepares its float side (data, sizing, the instrumented float session) while the
  // written model's load-and-run check runs in its child process, on the other core; it touches
  // nothing of the quantized model before the check passed (on ResNet-18 224 this hides ~0.5 s).
  // A large model is verified after the write, from its output (below).
  let early: Promise<Awaited<ReturnType<typeof verifyWritten>>> | undefined;
  if (prepared && !large && opts.verify && (opts.verify.evalData ?? opts.data)) {
    const bytes = writing.then((w) => {
      phase('verify');
      return w.externalDataFile ? undefined : selfContainedBytes(output, model);
    });
    early = verifyWritten(pair(bytes), config, opts, notes);
    // Settled later (awaited below); a rejection before then is not an unhandled one.
    early.catch(() => undefined);
    bytes.catch(() => undefined);
  }
  let written: Awaited<typeof writing>;
  try {
    written = await writing;
  } catch (e) {
    // The write's error is the one to report; verification stops at the check's outcome.
    await early?.catch(() => undefined);
    throw e;
  }
  if (written.unchecked) notes.push(note('not-checked', `${input}: ${written.unchecked} (onnxruntime-node cannot load or run the input model either); check the input with onnx.checker or load it in onnxruntime`, true));
  // The written model as verification needs it: a large model's integer weights are dropped from
  // memory and read back from the output's data file only if asked for.
  if (large && prepared) {
    model = readModelFile(output, { lazyExternalBytes: 0 });
    collectGarbage();
  }
  const floatBytes = fs.statSync(input).size;
  const qBytes = fs.statSync(output).size;
  if (opts.verify && !early) phase('verify');
  const verified = prepared && await removeOnFailure(output, () => early ?? verifyWritten(pair(undefined), config, opts, notes));
  phase.end();
  const messages = notes.map((n) => n.message);
  return {
    input, output, config, plan, notes: messages, diagnostics: notes, tensorMap,
    sizes: { float: floatBytes, quantized: qBytes, ratio: qBytes / floatBytes },
    timings: { calibrationMs: calib.ms, totalMs: performance.now() - t0, calibrationSamples: calib.samples },
    report: verified?.report, gateFailures: verified?.failures ?? [], reportFiles: verified?.files ?? [],
  };
}

async function verifyWritten(pair: ModelPair, config: Readonly<QuantConfig>, opts: QuantizeOptions, notes: Note[]) {
  const v = opts.verify;
  if (!v) return undefined;
  const data = v.evalData ?? opts.data;
  if (!data) {
    notes.push(note('not-verified', 'not verified: no --eval-data and no calibration data folder (--stats was used)'));
    return undefined;
  }
  const command = v.command ?? ['qtool', 'quantize', pair.float.path, '-o', pair.quantized.path, ...(opts.data ? ['--data', opts.data] : ['--stats', typeof opts.stats === 'string' ? opts.stats : '<statistics in memory>'])];
  return verifyAndReport(pair, {
    data, labels: v.labels, inSample: !v.evalData, count: v.count ?? (v.evalData ? undefined : config.calibCount),
    threads: config.threads, perLayer: v.perLayer, layerSamples: v.layerSamples, latency: v.latency, preprocess: opts.preprocess, gates: v.gates,
    batchSize: config.batchSize, fixedInputs: opts.fixedInputs,
    reports: v.reports, onProgress: v.onProgress, collapse: v.collapse, command,
  });
}

function refuseQuantized(model: Model, input: string, requantize = false): void {
  const found = quantizedOps(model.graph);
  if (found.length === 0) return;
  const list = found.slice(0, 4).map(([op, n]) => `${n} ${op}`).join(', ');
  if (requantize) return;
  throw new UnsupportedError(`${input}: the model is already quantized (${list}); quantizing it again stacks a second rounding on the first. Quantize the float model instead, or pass --requantize to quantize its remaining float ops`);
}

/** A plan made with --equalize / --bias-correction turns them on when given as --overrides. */
function withPlanSteps(config: Readonly<QuantConfig>, o: Overrides | undefined): Readonly<QuantConfig> {
  if (!o?.equalize && !o?.biasCorrection) return config;
  return Object.freeze({ ...config, equalize: config.equalize || !!o.equalize, biasCorrection: config.biasCorrection || !!o.biasCorrection });
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
  const { activations, weights, keepFloat, equalize, biasCorrection, outlierChannels } = json as Overrides;
  checkKeepFloat(o, keepFloat);
  checkOutlierOverrides(o, outlierChannels);
  if (equalize !== undefined && typeof equalize !== 'boolean') throw new UserInputError(`${o}: "equalize" must be true or false`);
  if (biasCorrection !== undefined && (!biasCorrection || typeof biasCorrection !== 'object' || Object.values(biasCorrection).some((v) => !Array.isArray(v) || v.some((x) => typeof x !== 'number')))) {
    throw new UserInputError(`${o}: "biasCorrection" must map node names to arrays of numbers (as --save-plan writes it)`);
  }
  return { activations, weights, keepFloat, equalize, biasCorrection, outlierChannels };
}

export type { RangeInput };
