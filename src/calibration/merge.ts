// mergeStats: the exact shard merge of stats.ts, with ranges recomputed when every input was
// given ranges under the same settings (ranges are a pure function of the merged histograms).
import { statsWithRanges } from './ranges.js';
import { mergeTensorStats, type RangeConfig, type StatsFile } from './stats.js';

function sameRangeConfig(list: readonly StatsFile[]): RangeConfig | undefined {
  const first = list[0]?.rangeConfig;
  if (!first) return undefined;
  const key = JSON.stringify(first);
  return list.every((s) => s.rangeConfig && JSON.stringify(s.rangeConfig) === key) ? first : undefined;
}

/** Merges labelled stats (labels name the inputs in error messages). */
export function mergeLabelled(inputs: readonly { stats: StatsFile; label: string }[]): StatsFile {
  const merged = mergeTensorStats(inputs);
  const rc = sameRangeConfig(inputs.map((i) => i.stats));
  if (!rc) return merged;
  return statsWithRanges(merged, { algo: rc.algo, percentile: rc.percentile, symmetricActivations: rc.symmetric, activationType: rc.activationType, movingAverage: false });
}

/** Exact merge of the stats of disjoint shards of the data: mergeStats(a, b, ...). */
export function mergeStats(...stats: StatsFile[]): StatsFile {
  return mergeLabelled(stats.map((s, i) => ({ stats: s, label: `stats #${i + 1}` })));
}
