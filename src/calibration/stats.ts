// The stats file: what one calibration run observed, versioned, mergeable across shards.
//
//   { format: 'qtool.stats', version: 1,
//     model: { file, sha256 (input file bytes), preparedSha256 (the prepared graph qtool calibrated) },
//     samples, bins,
//     movingAverage?: { constant, batchSize, note }          only with --moving-average
//     tensors: { name: { min, max, count, histogram, movingAverage?: { min, max, batches },
//                        channels?: { axis, absMax: [per channel] } } },
//     rangeConfig?: { algo, percentile, symmetric, activationType },  ranges?: { name: { min, max, algo } } }
//
// `channels` (per-channel abs-max, for the outlier-channel check) is absent in files written before
// it existed and for tensors without a channel fact; such a file still loads, and the check cannot
// fire for those tensors. Everything except movingAverage is a function of the multiset of samples: independent of batch
// order, batch size (up to onnxruntime's last-bit GEMM differences) and sharding, so shards merge
// exactly. The file holds no paths, times or host details: identical inputs give identical bytes.
import { UserInputError } from '../errors.js';
import { MOVING_AVERAGE_CONSTANT, StreamingHistogram, type StreamingHistogramJSON } from '../math/index.js';
import type { ActivationType, Algo } from '../config/index.js';
import type { ChannelAbsMax, MovingAverageResult, TensorObservation } from './collectors.js';

export const STATS_FORMAT = 'qtool.stats';
export const STATS_VERSION = 1;

export interface ModelIdentity {
  /** File name of the model (no folder). */
  readonly file: string;
  /** sha256 of the model file's bytes. */
  readonly sha256: string;
  /** sha256 of the prepared graph (BN folded, Identity removed) whose tensors were observed. */
  readonly preparedSha256: string;
}

export interface TensorStats {
  /** Exact smallest / largest finite value (null if none was seen); equal to the histogram's. */
  readonly min: number | null;
  readonly max: number | null;
  /** Finite values observed. */
  readonly count: number;
  readonly histogram: StreamingHistogramJSON;
  /** Only in moving-average files: the averaged per-batch extrema. */
  readonly movingAverage?: MovingAverageResult;
  /** Largest |x| per channel along `axis`, for tensors whose readers have a channel axis. */
  readonly channels?: ChannelAbsMax;
}

export interface MovingAverageInfo {
  readonly constant: number;
  readonly batchSize: number;
  readonly note: string;
}

export interface RangeConfig {
  readonly algo: Algo;
  readonly percentile: number;
  readonly symmetric: boolean;
  readonly activationType: ActivationType;
}

export interface RangeEntry {
  readonly min: number;
  readonly max: number;
  /** --algo auto records the algorithm it chose for this tensor: "auto: mse". */
  readonly algo: Algo | `auto: ${Algo}`;
}

export interface StatsFile {
  readonly format: typeof STATS_FORMAT;
  readonly version: typeof STATS_VERSION;
  readonly model: ModelIdentity;
  readonly samples: number;
  readonly bins: number;
  readonly movingAverage?: MovingAverageInfo;
  readonly tensors: Readonly<Record<string, TensorStats>>;
  readonly rangeConfig?: RangeConfig;
  readonly ranges?: Readonly<Record<string, RangeEntry>>;
}

export const MOVING_AVERAGE_NOTE =
  'order-dependent: these moving-average ranges depend on the order and batch size of the samples; they cannot be merged';

export function tensorStats(o: TensorObservation): TensorStats {
  const histogram = o.histogram.toJSON();
  const base = { min: histogram.min, max: histogram.max, count: histogram.count, histogram };
  return {
    ...base,
    ...(o.movingAverage ? { movingAverage: { ...o.movingAverage } } : {}),
    ...(o.channels ? { channels: { axis: o.channels.axis, absMax: [...o.channels.absMax] } } : {}),
  };
}

/** The shards' per-channel abs-max merged (a maximum: exact in any order); none unless every shard has it on the same axis and channels. */
function mergeChannels(all: readonly TensorStats[]): ChannelAbsMax | undefined {
  const [first, ...rest] = all.map((t) => t.channels);
  if (!first || rest.some((c) => !c || c.axis !== first.axis || c.absMax.length !== first.absMax.length)) return undefined;
  return { axis: first.axis, absMax: first.absMax.map((v, k) => Math.max(v, ...rest.map((c) => c!.absMax[k]!))) };
}

export function buildStats(init: {
  model: ModelIdentity;
  samples: number;
  bins: number;
  observations: ReadonlyMap<string, TensorObservation>;
  movingAverageBatchSize?: number;
}): StatsFile {
  const tensors: Record<string, TensorStats> = {};
  for (const [name, o] of init.observations) tensors[name] = tensorStats(o);
  const ma = init.movingAverageBatchSize;
  return {
    format: STATS_FORMAT,
    version: STATS_VERSION,
    model: { file: init.model.file, sha256: init.model.sha256, preparedSha256: init.model.preparedSha256 },
    samples: init.samples,
    bins: init.bins,
    ...(ma === undefined ? {} : { movingAverage: { constant: MOVING_AVERAGE_CONSTANT, batchSize: ma, note: MOVING_AVERAGE_NOTE } }),
    tensors,
  };
}

/** The tensor's histogram as a live StreamingHistogram. */
export function histogramOf(stats: StatsFile, name: string): StreamingHistogram {
  const t = stats.tensors[name];
  if (!t) throw new UserInputError(`the stats file has no statistics for tensor '${name}'`);
  return StreamingHistogram.fromJSON(t.histogram);
}

/** The same stats with ranges replaced (or removed when `ranges` is undefined). */
export function withRanges(stats: StatsFile, rangeConfig?: RangeConfig, ranges?: Record<string, RangeEntry>): StatsFile {
  const { rangeConfig: _c, ranges: _r, ...rest } = stats;
  return rangeConfig && ranges ? { ...rest, rangeConfig: { ...rangeConfig }, ranges } : rest;
}

/**
 * Exact merge of shards (§2: histogram merge is exact in any order): samples add, histograms
 * merge, min/max/count follow. Refuses stats of different models, bins or tensor sets, and
 * moving-average stats (order-dependent). Ranges are dropped (merge.ts recomputes them).
 */
export function mergeTensorStats(inputs: readonly { stats: StatsFile; label: string }[]): StatsFile {
  if (inputs.length === 0) throw new UserInputError('merge-stats: nothing to merge');
  const [head, ...rest] = inputs;
  const a = head!.stats;
  for (const { stats, label } of inputs) {
    if (stats.movingAverage) {
      throw new UserInputError(`${label}: moving-average stats depend on batch order and cannot be merged; calibrate all the data in one run`);
    }
  }
  const names = Object.keys(a.tensors);
  for (const { stats: b, label } of rest) {
    const what = `${head!.label} and ${label}`;
    if (b.model.sha256 !== a.model.sha256 || b.model.preparedSha256 !== a.model.preparedSha256) {
      throw new UserInputError(`${what} are stats of different models (${a.model.file} ${a.model.sha256.slice(0, 12)} vs ${b.model.file} ${b.model.sha256.slice(0, 12)})`);
    }
    if (b.bins !== a.bins) throw new UserInputError(`${what} have different histogram bins (${a.bins} vs ${b.bins})`);
    const other = Object.keys(b.tensors);
    const missing = names.find((n) => !(n in b.tensors)) ?? other.find((n) => !(n in a.tensors));
    if (missing !== undefined) {
      throw new UserInputError(`${what} observed different tensors (e.g. '${missing}'); calibrate the shards with the same options`);
    }
  }
  const tensors: Record<string, TensorStats> = {};
  for (const name of names) {
    const h = StreamingHistogram.fromJSON(a.tensors[name]!.histogram);
    for (const { stats } of rest) h.merge(StreamingHistogram.fromJSON(stats.tensors[name]!.histogram));
    const channels = mergeChannels(inputs.map((i) => i.stats.tensors[name]!));
    tensors[name] = tensorStats(channels ? { histogram: h, channels } : { histogram: h });
  }
  return {
    format: STATS_FORMAT,
    version: STATS_VERSION,
    model: { ...a.model },
    samples: inputs.reduce((s, i) => s + i.stats.samples, 0),
    bins: a.bins,
    tensors,
  };
}
