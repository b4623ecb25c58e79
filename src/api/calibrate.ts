// calibrate() and mergeStatsFiles(): read → prepare → pick tensors → observe over the data →
// stats (and ranges when an algorithm is asked for).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { normalizeConfig, type QuantConfig } from '../config/index.js';
import { openDataFolder, parseFixedInputs, parsePreprocess } from '../data/index.js';
import { encodeModel, hasLazyTensors } from '../onnx/index.js';
import { prepareModel } from '../passes/index.js';
import { tensorsToCalibrate } from '../quant/plan.js';
import { analyzeModelGraph } from '../quant/analyze.js';
import { channelAxesFor } from '../quant/outliers.js';
import {
  buildStats, loadStats, mergeLabelled, observeTensors, saveStats, statsWithRanges, type StatsFile,
} from '../calibration/index.js';
import { readModel } from './model-io.js';
import type { Model } from '../ir/index.js';

export { loadStats, saveStats, mergeStats, rangesFromStats, serializeStats } from '../calibration/index.js';
export type { RangeEntry, StatsFile, TensorStats, ModelIdentity, RangeConfig } from '../calibration/index.js';

export interface CalibrateOptions {
  /** Data folder (DESIGN.md "Data folders"). */
  data: string;
  /** Options over DEFAULTS: algo, percentile, histogramBins, movingAverage, calibCount, batchSize, providers, threads, ... */
  config?: Partial<QuantConfig>;
  /** Image preprocessing spec, e.g. "resize=224,mean=0.485;0.456;0.406,std=0.229;0.224;0.225". */
  preprocess?: string;
  /** Inputs given one value for every batch: `name=<number|zeros|file.npy>` (--fixed-input). */
  fixedInputs?: readonly string[];
  /** Attach ranges for config.algo; default: when config.algo or config.movingAverage is given. */
  includeRanges?: boolean;
  /** Bytes of fetched activations per batch one pass may hold (default 512 MiB); more tensors mean more passes. */
  budgetBytes?: number;
  /** Samples processed (over all passes) and the total, after every batch. */
  onProgress?: (done: number, total: number) => void;
}

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

/** Calibrates the prepared graph of `modelPath` over the samples in `opts.data`. */
export async function calibrate(modelPath: string, opts: CalibrateOptions): Promise<StatsFile> {
  const values = { ...(opts.config ?? {}) };
  // The moving average is a minmax option: asking for it picks minmax whatever the default algo.
  if (values.movingAverage && values.algo === undefined) values.algo = 'minmax';
  const config = normalizeConfig([{ values, origin: 'calibrate options' }]);
  const model = readModel(modelPath);
  const fileSha = sha256(fs.readFileSync(modelPath));
  prepareModel(model, { equalize: config.equalize });
  const { encoded, hash } = preparedBytes(model);
  const analysis = analyzeModelGraph(model.graph, config);
  const tensors = tensorsToCalibrate(model.graph, config, analysis);
  const { stats } = await observeToStats(model, tensors, config, {
    channelAxes: channelAxesFor(model.graph, analysis, config),
    data: opts.data, preprocess: opts.preprocess, budgetBytes: opts.budgetBytes, onProgress: opts.onProgress, label: modelPath,
    identity: { file: path.basename(modelPath), sha256: fileSha, preparedSha256: hash }, encoded,
  });
  const ranges = opts.includeRanges ?? (opts.config?.algo !== undefined || config.movingAverage);
  return ranges ? statsWithRanges(stats, config) : stats;
}

export interface MergeOptions {
  /** Attach ranges for config.algo (else ranges are kept only when every input had them under the same settings). */
  config?: Partial<QuantConfig>;
}

/** Exact merge of stats files of disjoint data shards, written atomically to `out`. */
export function mergeStatsFiles(paths: readonly string[], out: string, opts: MergeOptions = {}): StatsFile {
  const inputs = paths.map((p) => ({ stats: loadStats(p), label: p }));
  let merged = mergeLabelled(inputs);
  if (opts.config?.algo !== undefined) {
    merged = statsWithRanges(merged, normalizeConfig([{ values: { ...opts.config }, origin: 'merge options' }]));
  }
  saveStats(merged, out);
  return merged;
}

interface ObserveToStatsOptions {
  data: string;
  preprocess?: string;
  fixedInputs?: readonly string[];
  budgetBytes?: number;
  onProgress?: (done: number, total: number) => void;
  label: string;
  identity: { file: string; sha256: string; preparedSha256: string };
  /** The prepared model's bytes (see ObserveOptions.encoded). */
  encoded?: Uint8Array;
  /** Tensor → axis of its per-channel abs-max (ObserveOptions.channelAxes). */
  channelAxes?: ReadonlyMap<string, number>;
}

/** The calibration data of `model` as the config asks for it (--calib-count, --batch-size, --preprocess, --fixed-input). */
export function openCalibrationData(model: Model, config: Readonly<QuantConfig>, opts: { data: string; preprocess?: string; fixedInputs?: readonly string[] }) {
  return openDataFolder(opts.data, {
    inputs: model.graph.feedInputs(),
    count: config.calibCount,
    batchSize: config.batchSize,
    preprocess: opts.preprocess ? parsePreprocess(opts.preprocess) : undefined,
    fixed: parseFixedInputs(opts.fixedInputs ?? []),
  });
}

/** Observes `tensors` of an already prepared model over a data folder; returns the stats (and ObserveResult.samplesSeen). */
async function observeToStats(model: Model, tensors: readonly string[], config: Readonly<QuantConfig>, opts: ObserveToStatsOptions): Promise<{ stats: StatsFile; samplesSeen: Map<string, number> }> {
  const source = await openCalibrationData(model, config, opts);
  const { observations, samples, samplesSeen } = await observeTensors(model, tensors, source, {
    batchSize: source.batchSize,
    bins: config.histogramBins,
    movingAverage: config.movingAverage,
    providers: config.providers,
    threads: config.threads,
    budgetBytes: opts.budgetBytes,
    onProgress: opts.onProgress,
    label: opts.label,
    encoded: opts.encoded,
    channelAxes: opts.channelAxes,
  });
  const stats = buildStats({
    model: opts.identity,
    samples,
    bins: config.histogramBins,
    observations,
    movingAverageBatchSize: config.movingAverage ? source.batchSize : undefined,
  });
  return { stats, samplesSeen };
}

/** quantize()'s calibration: the model is already read and prepared in memory. */
export async function calibratePrepared(
  model: Model,
  tensors: readonly string[],
  opts: { data: string; config: Readonly<QuantConfig>; preprocess?: string; fixedInputs?: readonly string[]; onProgress?: (done: number, total: number) => void; label: string; encoded?: Uint8Array; channelAxes?: ReadonlyMap<string, number> },
): Promise<{ stats: StatsFile; samplesSeen: Map<string, number> }> {
  const { encoded, hash } = opts.encoded ? { encoded: opts.encoded, hash: sha256(opts.encoded) } : preparedBytes(model);
  const identity = { file: path.basename(opts.label), sha256: sha256(fs.readFileSync(opts.label)), preparedSha256: hash };
  return observeToStats(model, tensors, opts.config, { ...opts, identity, encoded });
}

/**
 * The prepared model's hash, and its bytes for the sessions to append outputs to. A large model
 * (weights left in their external data file) is hashed as it references them, and its sessions
 * are built by modelWithOutputs, which keeps those references: no buffer of the whole model.
 */
function preparedBytes(model: Model): { encoded?: Uint8Array; hash: string } {
  if (hasLazyTensors(model)) return { hash: sha256(encodeModel(model, { referenceLazy: true })) };
  const encoded = encodeModel(model);
  return { encoded, hash: sha256(encoded) };
}
