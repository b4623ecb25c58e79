// The outlier-channel check (quant/outliers.ts) between calibration and planning: per-channel
// statistics in, the tensors kept float (with their readers) out; a plan given as --overrides
// brings its recorded decisions, which hold even with statistics that have no channels.
import { UserInputError } from '../errors.js';
import type { Graph } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import type { StatsFile } from '../calibration/index.js';
import type { Analysis } from '../quant/analyze.js';
import { findOutliers, type ChannelStats, type OutlierRecord } from '../quant/outliers.js';

/** The tensors of `stats` that have per-channel abs-max. */
export function channelStatsOf(stats: StatsFile): Map<string, ChannelStats> {
  return new Map(Object.entries(stats.tensors).flatMap(([t, s]) => (s.channels ? [[t, s.channels] as const] : [])));
}

/** Outlier tensors found in `stats`, plus those a plan recorded (--overrides) for tensors of this analysis. */
export function outliersFor(g: Graph, a: Analysis, config: Readonly<QuantConfig>, stats: StatsFile, recorded?: Readonly<Record<string, OutlierRecord>>): Map<string, OutlierRecord> {
  const found = findOutliers(g, a, config, channelStatsOf(stats));
  const known = new Set(a.activations);
  for (const [t, o] of Object.entries(recorded ?? {})) if (!found.has(t) && known.has(t)) found.set(t, o);
  return found;
}

/** --overrides: `outlierChannels` must map tensor names to records as --save-plan writes them. */
export function checkOutlierOverrides(file: string, o: unknown): void {
  if (o === undefined) return;
  const isRecord = (v: unknown): boolean => {
    const r = v as Partial<OutlierRecord> | null;
    return !!r && typeof r === 'object' && r.code === 'outlier-channels' && typeof r.message === 'string' &&
      [r.axis, r.channel, r.ratio].every((x) => typeof x === 'number') && Array.isArray(r.consumers) && r.consumers.every((c) => typeof c === 'string');
  };
  if (!o || typeof o !== 'object' || Array.isArray(o) || !Object.values(o).every(isRecord)) {
    throw new UserInputError(`${file}: "outlierChannels" must map tensor names to { code, message, axis, channel, ratio, consumers } (as --save-plan writes it); fix it or remove it`);
  }
}
