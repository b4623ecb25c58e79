// The outlier-channel check (quant/outliers.ts) between calibration and planning: per-channel
// statistics in, the tensors kept float (with their readers) out; a plan given as --overrides
// brings its recorded decisions instead, which hold even with statistics that have no channels.
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

/**
 * The outlier tensors: as a plan recorded them (--overrides with `outlierChannels`, empty when
 * none fired: the plan decides, whatever the statistics or --outlier-ratio say, so it reproduces
 * its model), else as found in `stats`.
 */
export function outliersFor(g: Graph, a: Analysis, config: Readonly<QuantConfig>, stats: StatsFile, recorded?: Readonly<Record<string, OutlierRecord>>): Map<string, OutlierRecord> {
  if (!recorded) return findOutliers(g, a, config, channelStatsOf(stats));
  const known = new Set(a.activations);
  return new Map(Object.entries(recorded).filter(([t]) => known.has(t)));
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
