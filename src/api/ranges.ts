// Statistics for quantize(): reuse a stats file, or calibrate the prepared model in memory.
import { UserInputError } from '../errors.js';
import type { Model } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { loadStats, rangesFromStats, type StatsFile } from '../calibration/index.js';
import type { RangeInput } from '../quant/plan.js';
import { calibratePrepared } from './calibrate.js';

export type CalibrationProgress = (done: number, total: number) => void;

export interface RangeSource {
  data?: string;
  stats?: string | StatsFile;
  preprocess?: string;
  fixedInputs?: readonly string[];
  onProgress?: CalibrationProgress;
  /** Tensor → channel axis to keep per-channel abs-max along (quant/outliers.ts channelAxesFor). */
  channelAxes?: ReadonlyMap<string, number>;
  /** Called with 'ranges' once the statistics are in (the range search follows). */
  onPhase?: (phase: 'ranges') => void;
  label: string;
  /** The model's encoding as it is now, when the caller has it (calibration hashes it and appends its outputs to it). */
  encoded?: Uint8Array;
}

export async function obtainRanges(model: Model, needed: readonly string[], config: Readonly<QuantConfig>, src: RangeSource): Promise<{
  ranges: Map<string, RangeInput>; observed: Map<string, { min: number; max: number }>; ms: number; samples: number; stats: StatsFile;
  /** Calibrated here: the samples each tensor had values on (ObserveResult.samplesSeen); undefined for given stats. */
  samplesSeen?: Map<string, number>;
}> {
  const t0 = performance.now();
  let stats: StatsFile;
  let samplesSeen: Map<string, number> | undefined;
  if (src.stats) {
    stats = typeof src.stats === 'string' ? loadStats(src.stats) : src.stats;
    const missing = needed.find((t) => !(t in stats.tensors));
    if (missing) throw new UserInputError(`${typeof src.stats === 'string' ? src.stats : 'statistics'}: no statistics for tensor '${missing}'; these stats were made for another model or other options (run qtool calibrate on this model)`);
  } else {
    if (!src.data) throw new UserInputError(`${src.label}: static quantization needs calibration data: pass --data <dir> (or --stats stats.json, or --mode dynamic)`);
    ({ stats, samplesSeen } = await calibratePrepared(model, needed, { data: src.data, config, preprocess: src.preprocess, fixedInputs: src.fixedInputs, onProgress: src.onProgress, label: src.label, encoded: src.encoded, channelAxes: src.channelAxes }));
  }
  src.onPhase?.('ranges');
  const all = rangesFromStats(stats, config);
  const ranges = new Map<string, RangeInput>();
  const observed = new Map<string, { min: number; max: number }>();
  for (const t of needed) {
    const r = all.get(t);
    if (r) ranges.set(t, r);
    const s = stats.tensors[t];
    if (s && s.min !== null && s.max !== null) observed.set(t, { min: Math.min(0, s.min), max: s.max });
  }
  return { ranges, observed, ms: performance.now() - t0, samples: stats.samples, stats, samplesSeen };
}
