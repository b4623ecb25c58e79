// compare(): the verification half of qtool — a float model against its quantized counterpart on
// evaluation data: output metrics, per-layer error analysis, size and latency, in one Report.
import fs from 'node:fs';
import { QTOOL_VERSION } from '../version.js';
import { UserInputError } from '../errors.js';
import { Tensor, type Feeds, type Model, type ValueInfo } from '../ir/index.js';
import { readModelFile } from '../onnx/index.js';
import { checkLabels, openDataFolder, parsePreprocess, readLabels, type DataSource, type PreprocessSpec } from '../data/index.js';
import { Session, hostFromTensor } from '../runtime/index.js';
import { prepareModel } from '../passes/index.js';
import {
  applyGates, coverage, displayHistogram, evaluateGates, evaluateLayers, evaluateOutputs, measureLatency, modelFormat,
  resolveTensorMap, validateGates, writeReports, LATENCY_DEFAULTS, REPORT_SCHEMA, REPORT_VERSION, VERSION_KEY,
  type GateResult, type Gates, type LatencyOptions, type LatencySection, type LayerResult, type LayerMetrics, type LayerSection,
  type ModelSummary, type Progress, type Report, type TensorMapping,
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
  /** Histograms kept for the worst tensors (default 8). */
  histograms?: number;
  /** Bytes of exposed tensors per batch one per-layer pass may hold (default 256 MiB). */
  layerBudgetBytes?: number;
  onProgress?: (p: Progress) => void;
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

/** The tensor map against the float graph; retried on the prepared graph when names are missing. */
function mapTensors(floatPath: string, float: Model, quant: Model): { mapping: TensorMapping; model: Model; prepared: boolean } {
  const first = resolveTensorMap(quant, float.graph);
  if (first.missing.length === 0) return { mapping: first, model: float, prepared: false };
  const prepared = readModelFile(floatPath);
  prepareModel(prepared);
  const second = resolveTensorMap(quant, prepared.graph);
  const [best, model, isPrepared] = second.missing.length < first.missing.length ? [second, prepared, true] : [first, float, false];
  for (const t of best.missing) best.skipped.push({ tensor: t, reason: 'not a tensor of the float model' });
  return { mapping: best, model, prepared: isPrepared };
}

function rankLayers(results: LayerResult[], histograms: number): LayerMetrics[] {
  const key = (x: number) => (Number.isNaN(x) ? Infinity : x);
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
  }));
}

interface Ctx {
  floatPath: string;
  quantPath: string;
  float: Model;
  quant: Model;
  source: DataSource;
  batchSize: number;
  opts: CompareOptions;
  preprocess: PreprocessSpec | undefined;
  threads: number;
  warnings: string[];
}

async function layerSection(ctx: Ctx): Promise<LayerSection> {
  const { mapping, model, prepared } = mapTensors(ctx.floatPath, ctx.float, ctx.quant);
  ctx.warnings.push(...mapping.warnings);
  if (mapping.targets.length === 0) ctx.warnings.push('per-layer analysis found no quantized activation tensor to compare');
  const run = await evaluateLayers({
    float: model, quantized: ctx.quant, targets: mapping.targets, source: ctx.source, batchSize: ctx.batchSize,
    session: { threads: ctx.threads }, budgetBytes: ctx.opts.layerBudgetBytes, onProgress: ctx.opts.onProgress,
  });
  return {
    instrumented: true,
    note: INSTRUMENTED_NOTE,
    mapSource: mapping.source,
    floatGraph: prepared ? 'prepared' : 'original',
    passes: run.passes,
    tensors: rankLayers(run.results, ctx.opts.histograms ?? 8),
    skipped: [...mapping.skipped, ...run.skipped],
    absorbed: mapping.absorbed,
  };
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

async function latencySection(ctx: Ctx, inputs: ValueInfo[]): Promise<LatencySection> {
  const lo = typeof ctx.opts.latency === 'object' ? ctx.opts.latency : {};
  const fixed = fixedBatch(inputs);
  const sizes = fixed !== undefined ? [fixed] : lo.batchSizes ?? [...LATENCY_DEFAULTS.batchSizes];
  const skipReasons = new Map<number, string>();
  if (fixed !== undefined) for (const b of lo.batchSizes ?? LATENCY_DEFAULTS.batchSizes) if (b !== fixed) skipReasons.set(b, `the model input fixes the batch size to ${fixed}`);
  const src = await openDataFolder(ctx.opts.data, { inputs, count: Math.max(...sizes), batchSize: fixed ?? Math.max(...sizes), preprocess: ctx.preprocess });
  let first: Feeds | undefined;
  for await (const b of src.batches()) {
    first = b;
    break;
  }
  const feeds = new Map(sizes.map((n) => [n, takeSamples(first!, n)]));
  return measureLatency({
    floatModel: ctx.floatPath, quantizedModel: ctx.quantPath, feeds, skipReasons, session: { threads: ctx.threads },
    options: { ...lo, batchSizes: [...sizes, ...skipReasons.keys()] }, onProgress: ctx.opts.onProgress,
  });
}

async function outputSection(ctx: Ctx, labels: number[] | undefined) {
  const f = await Session.open(ctx.floatPath, { threads: ctx.threads });
  try {
    const q = await Session.open(ctx.quantPath, { threads: ctx.threads });
    try {
      return await evaluateOutputs({ float: f, quantized: q, source: ctx.source, labels, onProgress: ctx.opts.onProgress });
    } finally {
      await q.close();
    }
  } finally {
    await f.close();
  }
}

/**
 * Compares a float model with its quantized counterpart on `opts.data`. Never throws for a failed
 * gate: the result carries `gates` (see evaluateGates / applyGates), and the caller decides.
 */
export async function compare(floatModel: string, quantModel: string, opts: CompareOptions): Promise<Report> {
  if (!opts?.data) throw new UserInputError('compare needs evaluation data (--data <dir>)');
  if (opts.gates) validateGates(opts.gates);
  const float = readModelFile(floatModel);
  const quant = readModelFile(quantModel);
  const inputs = checkSameInputs(float, quant, quantModel);
  const batchSize = opts.batchSize ?? fixedBatch(inputs) ?? DEFAULT_BATCH;
  const preprocess = typeof opts.preprocess === 'string' ? parsePreprocess(opts.preprocess) : opts.preprocess;
  const source = await openDataFolder(opts.data, { inputs, count: opts.count, batchSize, preprocess });
  const labels = loadLabels(opts.labels, source.sampleCount, opts.count !== undefined, float);
  const threads = opts.threads ?? LATENCY_DEFAULTS.threads;
  const ctx: Ctx = { floatPath: floatModel, quantPath: quantModel, float, quant, source, batchSize, opts, preprocess, threads, warnings: [] };

  const out = await outputSection(ctx, labels);
  for (const name of out.skipped) ctx.warnings.push(`output '${name}' was not compared: it is not numeric, or its size differs between the models`);
  const layers = opts.perLayer === false ? null : await layerSection(ctx);
  const latency = opts.latency === false ? null : await latencySection(ctx, inputs);
  const fs0 = summary(floatModel, float);
  const qs0 = summary(quantModel, quant);
  if (qs0.format === 'float') ctx.warnings.push(`${quantModel} holds no quantized ops (no Q/DQ, no integer kernels)`);
  const report: Report = {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    generator: { name: 'qtool', version: qtoolVersion() },
    createdAt: new Date().toISOString(),
    models: { float: fs0, quantized: qs0 },
    size: { floatBytes: fs0.bytes, quantizedBytes: qs0.bytes, ratio: fs0.bytes ? qs0.bytes / fs0.bytes : 0 },
    data: { dir: opts.data, samples: source.sampleCount, batchSize, inSample: !!opts.inSample, labels: opts.labels ?? null },
    primaryOutput: float.graph.outputs[0]?.name ?? '',
    outputs: out.outputs,
    coverage: coverage(quant),
    layers,
    latency,
    gates: null,
    warnings: ctx.warnings,
  };
  return opts.gates ? applyGates(report, opts.gates) : report;
}

/**
 * The verification step of `qtool quantize` (and of `compare` with --report): compare, evaluate
 * the gates into the report, write every report file. Returns the failed gates rather than
 * throwing, so the caller prints the report first and then throws GateError(gateFailureMessage(failures)).
 */
export async function verifyAndReport(
  floatModel: string,
  quantModel: string,
  opts: CompareOptions & { reports?: readonly string[] },
): Promise<{ report: Report; failures: GateResult[]; files: string[] }> {
  const report = await compare(floatModel, quantModel, opts);
  const files = writeReports(report, opts.reports ?? []);
  return { report, failures: opts.gates ? evaluateGates(report, opts.gates) : [], files };
}
