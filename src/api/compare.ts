// compare(): the verification half of qtool — a float model against its quantized counterpart on
// evaluation data: output metrics, per-layer error analysis, size and latency, in one Report.
import fs from 'node:fs';
import { QTOOL_VERSION } from '../version.js';
import { UserInputError } from '../errors.js';
import { Tensor, type Feeds, type Model, type ValueInfo } from '../ir/index.js';
import { hasLazyTensors, readModelFile, selfContainedBytes } from '../onnx/index.js';
import { batchLength, checkLabels, openDataFolder, parseFixedInputs, parsePreprocess, readLabels, type DataSource, type PreprocessSpec } from '../data/index.js';
import { hostFromTensor } from '../runtime/index.js';
import { prepareModel } from '../passes/index.js';
import {
  applyGates, closeSessions, collapseWarnings, coverage, displayHistogram, evaluateGates, evaluatePass, measureLatency, modelFormat, readPlanNodes,
  readTensorMap, resolveEntries, resolveTensorMap, suggestion, tensorNodes, validateCollapse, validateGates, worstNodes, writeReports,
  LATENCY_DEFAULTS, REPORT_SCHEMA, REPORT_VERSION, VERSION_KEY,
  type CollapseThresholds, type OpenSessions, type GateResult, type LatencyOptions, type LatencySection, type LayerResult, type LayerMetrics,
  type LayerSection, type MapEntry, type ModelSummary, type PlanNodeEntry, type Progress, type Report, type ReportWarning, type TensorMapping,
  type Gates,
  EQUALIZE_KEY,
} from '../report/index.js';
import { INSTRUMENTED_NOTE } from '../report/format.js';

export interface CompareOptions {
  /** Evaluation data folder (DESIGN.md "Data folders"). */
  data: string;
  /** Class indices in sample order (.json array or integer .npy), for accuracy on the primary output. */
  labels?: string;
  /** Evaluate only the first N samples. */
  count?: number;
  /** Samples per batch (default: the input's fixed batch dim, else 32). */
  batchSize?: number;
  /** Per-layer analysis (default true). */
  perLayer?: boolean;
  /** Samples the per-layer errors are summed over: the first N (default: all; the output metrics always use all). */
  layerSamples?: number;
  /** Sum the per-layer errors on a worker thread running this compiled script, or never (false); default: when it pays. */
  layerWorker?: URL | false;
  /** The data is the calibration data: the report marks its figures as in-sample. */
  inSample?: boolean;
  /** onnxruntime intra-op threads for every session (default 2). */
  threads?: number;
  /** Measure latency (default true), optionally with options. */
  latency?: boolean | LatencyOptions;
  /** Gates to evaluate into report.gates (compare never throws for a failed gate; see evaluateGates). */
  gates?: Gates;
  /** Image folders: how to turn images into tensors (a --preprocess spec or its parsed form). */
  preprocess?: string | PreprocessSpec;
  /** Inputs given one value for every batch: `name=<number|zeros|file.npy>` (--fixed-input). */
  fixedInputs?: readonly string[];
  /** Histograms kept for the worst tensors (default 8). */
  histograms?: number;
  /** Bytes of exposed tensors per batch one per-layer pass may hold (default 256 MiB). */
  layerBudgetBytes?: number;
  /** Warn (codes output-sqnr-low / output-agreement-low) under these (default 20 dB, 98%). */
  collapse?: CollapseThresholds;
  /**
   * The command to repeat with the worst layers kept in float, as words (default:
   * `qtool quantize <float> -o <quantized> --data <data>`).
   */
  command?: readonly string[];
  onProgress?: (p: Progress) => void;
}

/** One model of the pair: in memory, and the file it is (or was written to). */
export interface ComparedModel {
  model: Model;
  path: string;
  /** The model's encoding as it is in memory (e.g. the file just written), when at hand: sessions append their outputs to it. */
  bytes?: Uint8Array;
}

/** The quantized model of a pair, whose file may still be being written. */
export interface QuantizedModel extends Omit<ComparedModel, 'bytes'> {
  /**
   * As ComparedModel's, or a promise while the file is still being written and checked: the
   * compare core prepares the float side meanwhile and touches nothing of the quantized model
   * (file or session) before the promise settles; a rejection fails the compare.
   */
  bytes?: Uint8Array | PromiseLike<Uint8Array | undefined>;
}

/** What the compare core needs: both models in memory and the rewrite's mapping. */
export interface ModelPair {
  /** The float model the quantized one was made from, as qtool prepared it (BatchNormalization folded). */
  float: ComparedModel;
  quantized: QuantizedModel;
  /** float tensor → tensor-map entry (tensorMapEntries of the rewrite), or undefined: matched by Q→DQ structure. */
  entries?: ReadonlyMap<string, MapEntry>;
  /** The plan's node list (status per node), for naming the quantized node behind each layer. */
  planNodes?: readonly PlanNodeEntry[];
}

const DEFAULT_BATCH = 32;

export const qtoolVersion = (): string => QTOOL_VERSION;

function summary(file: string, model: Model): ModelSummary {
  return {
    path: file,
    bytes: fs.statSync(file).size,
    format: modelFormat(model),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    qtoolVersion: model.metadata.find((m) => m.key === VERSION_KEY)?.value ?? null,
    nodes: model.graph.nodes.length,
  };
}

function checkSameInputs(float: Model, quant: Model, quantPath: string): ValueInfo[] {
  const inputs = float.graph.feedInputs();
  const qNames = new Set(quant.graph.feedInputs().map((i) => i.name));
  const missing = inputs.filter((i) => !qNames.has(i.name)).map((i) => `'${i.name}'`);
  if (missing.length) throw new UserInputError(`${quantPath}: has no input ${missing.join(', ')}; compare needs the same inputs as the float model`);
  return inputs;
}

function fixedBatch(inputs: readonly ValueInfo[]): number | undefined {
  return inputs.map((i) => i.shape?.[0]).find((b): b is number => typeof b === 'number');
}

function loadLabels(file: string | undefined, samples: number, limited: boolean, float: Model): number[] | undefined {
  if (!file) return undefined;
  const out = float.graph.outputs[0];
  const last = out?.shape?.[out.shape.length - 1];
  return checkLabels(file, readLabels(file), { samples, limited, classes: typeof last === 'number' && last > 1 ? last : undefined, output: out?.name });
}

function rankLayers(results: LayerResult[], histograms: number, float: Model, plan: ReadonlyMap<string, PlanNodeEntry> | undefined): LayerMetrics[] {
  // SQNRs to 9 significant digits: tensors holding the same values in another order (a Reshape, a
  // Transpose) differ only in the rounding of their float64 sums, and then rank by name.
  const key = (x: number) => (Number.isNaN(x) ? Infinity : Number.isFinite(x) ? Number(x.toPrecision(9)) : x);
  const sorted = [...results].sort((a, b) => key(a.ownSqnrDb) - key(b.ownSqnrDb) || key(a.accumulatedSqnrDb) - key(b.accumulatedSqnrDb) || (a.target.tensor < b.target.tensor ? -1 : 1));
  return sorted.map((r, i) => ({
    rank: i + 1,
    tensor: r.target.tensor,
    quantized: r.target.quantized,
    dtype: r.target.dtype,
    scale: r.target.scale,
    zeroPoint: r.target.zeroPoint,
    range: r.target.range ?? r.clipRange,
    clipRange: r.clipRange,
    algo: r.target.algo,
    observed: r.observed,
    elements: r.elements,
    ownSqnrDb: r.ownSqnrDb,
    accumulatedSqnrDb: r.accumulatedSqnrDb,
    clipErrorShare: r.clipErrorShare,
    clippedFraction: r.clippedFraction,
    hint: r.hint,
    histogram: i < histograms ? displayHistogram(r.histogram, r.clipRange) : null,
    nodes: tensorNodes(float.graph, r.target.tensor, plan),
  }));
}

interface Ctx {
  pair: ModelPair;
  source: DataSource;
  batchSize: number;
  opts: CompareOptions;
  preprocess: PreprocessSpec | undefined;
  threads: number;
  warnings: ReportWarning[];
}

function mapping(pair: ModelPair): TensorMapping {
  const float = pair.float.model.graph;
  const m = pair.entries ? resolveEntries(pair.entries, pair.quantized.model, float) : resolveTensorMap(pair.quantized.model, float);
  for (const t of m.missing) m.skipped.push({ tensor: t, reason: 'not a tensor of the float model' });
  return m;
}

/** The first `n` samples of a batch, repeating samples when the batch holds fewer. */
function takeSamples(feeds: Feeds, n: number): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (Array.isArray(t.data)) throw new UserInputError(`input '${name}': string inputs cannot be timed`);
    const have = t.dims[0] ?? 1;
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const dims = [n, ...t.dims.slice(1)];
    if (have >= n) {
      out[name] = { dtype: t.dtype, dims, data: t.data.subarray(0, per * n) };
      continue;
    }
    const bytesPer = per * t.data.BYTES_PER_ELEMENT;
    const from = new Uint8Array(t.data.buffer, t.data.byteOffset, have * bytesPer);
    const to = new Uint8Array(n * bytesPer);
    for (let k = 0; k < n; k++) to.set(from.subarray((k % have) * bytesPer, ((k % have) + 1) * bytesPer), k * bytesPer);
    out[name] = hostFromTensor(new Tensor({ name, dtype: t.dtype, dims, bytes: to }));
  }
  return out;
}

async function latencySection(ctx: Ctx, inputs: ValueInfo[], sessions: OpenSessions | undefined): Promise<LatencySection> {
  const lo = typeof ctx.opts.latency === 'object' ? ctx.opts.latency : {};
  const fixed = fixedBatch(inputs);
  const sizes = fixed !== undefined ? [fixed] : lo.batchSizes ?? [...LATENCY_DEFAULTS.batchSizes];
  const skipReasons = new Map<number, string>();
  if (fixed !== undefined) for (const b of lo.batchSizes ?? LATENCY_DEFAULTS.batchSizes) if (b !== fixed) skipReasons.set(b, `the model input fixes the batch size to ${fixed}`);
  const src = await openDataFolder(ctx.opts.data, { inputs, count: Math.max(...sizes), batchSize: fixed ?? Math.max(...sizes), preprocess: ctx.preprocess, fixed: parseFixedInputs(ctx.opts.fixedInputs ?? []) });
  let first: Feeds | undefined;
  for await (const b of src.batches()) {
    first = b;
    break;
  }
  // Fixed inputs (a state, a sample rate) do not repeat along a batch dim: time the batch as read.
  const feeds = src.fixedInputs.length ? new Map([[batchLength(first!), first!]]) : new Map(sizes.map((n) => [n, takeSamples(first!, n)]));
  return measureLatency({
    floatModel: ctx.pair.float.path, quantizedModel: ctx.pair.quantized.path, sessions, feeds, skipReasons, session: { threads: ctx.threads },
    sequential: hasLazyTensors(ctx.pair.float.model) || hasLazyTensors(ctx.pair.quantized.model),
    options: { ...lo, batchSizes: [...sizes, ...skipReasons.keys()] }, onProgress: ctx.opts.onProgress,
  });
}

/**
 * The compare core: both models in memory, one pass over the evaluation data for the output and
 * per-layer metrics, then latency (on the same sessions when that one pass covered everything). Never throws for a failed gate: the result carries
 * `gates` (see evaluateGates / applyGates), and the caller decides.
 */
export async function compareModels(pair: ModelPair, opts: CompareOptions): Promise<Report> {
  if (!opts?.data) throw new UserInputError('compare needs evaluation data (--data <dir>)');
  if (opts.gates) validateGates(opts.gates);
  if (opts.collapse) validateCollapse(opts.collapse);
  const float = pair.float.model;
  const quant = pair.quantized.model;
  const inputs = checkSameInputs(float, quant, pair.quantized.path);
  const batchSize = opts.batchSize ?? fixedBatch(inputs) ?? DEFAULT_BATCH;
  const preprocess = typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess;
  const open = (b: number) => openDataFolder(opts.data, { inputs, count: opts.count, batchSize: b, preprocess, fixed: parseFixedInputs(opts.fixedInputs ?? []) });
  const source = await open(batchSize);
  const labels = loadLabels(opts.labels, source.sampleCount, opts.count !== undefined, float);
  const threads = opts.threads ?? LATENCY_DEFAULTS.threads;
  const ctx: Ctx = { pair, source, batchSize, opts, preprocess, threads, warnings: [] };
  const plan = pair.planNodes ? new Map(pair.planNodes.map((n) => [n.name, n])) : undefined;

  const m = opts.perLayer === false ? undefined : mapping(pair);
  if (m) {
    ctx.warnings.push(...m.warnings);
    if (m.targets.length === 0) ctx.warnings.push({ code: 'no-layer-targets', message: 'per-layer analysis found no quantized activation tensor to compare' });
  }
  // Without per-layer targets the latency phase times the evaluation pass's sessions (report/latency.ts): they stay open until then.
  const run = await evaluatePass({
    float, quantized: quant, floatBytes: pair.float.bytes, quantizedBytes: pair.quantized.bytes, targets: m?.targets ?? [], layerSamples: opts.layerSamples, layerWorker: opts.layerWorker, source, labels, session: { threads, spinning: m?.targets.length ? false : undefined }, budgetBytes: opts.layerBudgetBytes,
    reopen: fixedBatch(inputs) === undefined && opts.batchSize === undefined ? open : undefined, onProgress: opts.onProgress,
    // Sessions with compared tensors exposed are no measure of speed (onnxruntime allocates every
    // graph output on every run: ResNet-18's float model took 242 ms at batch 8 there against 81 ms
    // plain): latency then times the model files; plain evaluation sessions are reused.
    keepSessions: opts.latency !== false && !m?.targets.length,
  });
  let latency: LatencySection | null;
  try {
    // Settled already (the pass opened the quantized model): a file still being written is done.
    await pair.quantized.bytes;
    latency = opts.latency === false ? null : await latencySection(ctx, inputs, run.sessions);
  } finally {
    await closeSessions(run.sessions);
  }
  for (const name of run.skippedOutputs) ctx.warnings.push({ code: 'output-not-compared', message: `output '${name}' was not compared: it is not numeric, or its size differs between the models` });
  const layers: LayerSection | null = m ? {
    instrumented: true,
    note: INSTRUMENTED_NOTE,
    mapSource: m.source,
    floatGraph: 'prepared',
    passes: run.layers.passes,
    samples: run.layers.samples,
    tensors: rankLayers(run.layers.results, opts.histograms ?? 8, float, plan),
    skipped: [...m.skipped, ...run.layers.skipped],
    absorbed: m.absorbed,
  } : null;
  const fs0 = summary(pair.float.path, float);
  const qs0 = summary(pair.quantized.path, quant);
  if (qs0.format === 'float') ctx.warnings.push({ code: 'no-quantized-ops', message: `${pair.quantized.path} holds no quantized ops (no Q/DQ, no integer kernels)` });
  const rows = layers?.tensors ?? [];
  const command = opts.command ?? ['qtool', 'quantize', pair.float.path, '-o', pair.quantized.path, '--data', opts.data];
  const next = suggestion(worstNodes(rows, plan), command);
  ctx.warnings.push(...collapseWarnings(run.outputs, rows, next, opts.collapse));
  const report: Report = {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    generator: { name: 'qtool', version: qtoolVersion() },
    createdAt: new Date().toISOString(),
    models: { float: fs0, quantized: qs0 },
    size: { floatBytes: fs0.bytes, quantizedBytes: qs0.bytes, ratio: fs0.bytes ? qs0.bytes / fs0.bytes : 0 },
    data: { dir: opts.data, samples: source.sampleCount, batchSize, inSample: !!opts.inSample, labels: opts.labels ?? null },
    primaryOutput: float.graph.outputs[0]?.name ?? '',
    outputs: run.outputs,
    coverage: coverage(quant),
    layers,
    latency,
    gates: null,
    warnings: ctx.warnings,
    suggestion: next,
  };
  return opts.gates ? applyGates(report, opts.gates) : report;
}

/**
 * Compares a float model file with its quantized counterpart: reads both, prepares the float model
 * as quantize did (the tensor map names its tensors), reads the map and the plan's nodes from the
 * quantized model's metadata, and runs the compare core.
 */
export async function compare(floatModel: string, quantModel: string, opts: CompareOptions): Promise<Report> {
  if (!opts?.data) throw new UserInputError('compare needs evaluation data (--data <dir>)');
  const float = readModelFile(floatModel);
  const quant = readModelFile(quantModel);
  // The tensor map names tensors of the float graph as quantize prepared it (equalized or not).
  prepareModel(float, { equalize: quant.metadata.some((m) => m.key === EQUALIZE_KEY && m.value === 'true') });
  const map = readTensorMap(quant);
  return compareModels({
    float: { model: float, path: floatModel },
    quantized: { model: quant, path: quantModel, bytes: selfContainedBytes(quantModel, quant) },
    // absent or unusable: resolveTensorMap falls back to the Q→DQ structure and says why.
    entries: map instanceof Map ? map : undefined,
    planNodes: readPlanNodes(quant),
  }, opts);
}

/**
 * The verification step of `qtool quantize` (and of `compare` with --report): compare, evaluate
 * the gates into the report, write every report file. Returns the failed gates rather than
 * throwing, so the caller prints the report first and then throws GateError(gateFailureMessage(failures)).
 */
export async function verifyAndReport(
  models: readonly [string, string] | ModelPair,
  opts: CompareOptions & { reports?: readonly string[] },
): Promise<{ report: Report; failures: GateResult[]; files: string[] }> {
  const report = 'float' in models ? await compareModels(models, opts) : await compare(models[0], models[1], opts);
  const files = writeReports(report, opts.reports ?? []);
  return { report, failures: opts.gates ? evaluateGates(report, opts.gates) : [], files };
}
