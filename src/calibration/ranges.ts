// Ranges from stats: every §2 algorithm is a pure function of a tensor's histogram, so any
// --algo can be chosen after one calibration pass.
import { UserInputError } from '../errors.js';
import type { QuantConfig } from '../config/index.js';
import { chooseRange, qRange, type RangeOptions } from '../math/index.js';
import { histogramOf, withRanges, type RangeConfig, type RangeEntry, type StatsFile } from './stats.js';

type RangeSettings = Pick<QuantConfig, 'algo' | 'percentile' | 'symmetricActivations' | 'activationType' | 'movingAverage'>;

export function rangeConfigOf(config: Readonly<RangeSettings>): RangeConfig {
  return { algo: config.algo, percentile: config.percentile, symmetric: config.symmetricActivations, activationType: config.activationType };
}

function rangeOptions(rc: RangeConfig): RangeOptions {
  const symmetric = rc.symmetric;
  // The integer range mse scores against: the same choice planQuantization makes for activations.
  const { qmin, qmax } = qRange(rc.activationType, { symmetric: symmetric && rc.activationType !== 'uint8' });
  return { symmetric, percentile: rc.percentile, qmin, qmax, excludeZeros: true };
}

/**
 * Range per tensor for config.algo (percentile, symmetry and activation type from the config).
 * Never-negative tensors get one-sided [0, T] ranges (chooseRange). With config.movingAverage the
 * minmax range is the averaged per-batch extrema, which only moving-average stats hold.
 */
export function rangesFromStats(stats: StatsFile, config: Readonly<RangeSettings>): Map<string, RangeEntry> {
  const rc = rangeConfigOf(config);
  const options = rangeOptions(rc);
  const out = new Map<string, RangeEntry>();
  for (const [name, t] of Object.entries(stats.tensors)) {
    if (config.movingAverage && rc.algo === 'minmax') {
      if (!t.movingAverage) throw new UserInputError('these stats hold no moving-average ranges; calibrate with --moving-average');
      const oneSided = t.histogram.negatives === 0;
      out.set(name, { min: oneSided ? 0 : t.movingAverage.min, max: t.movingAverage.max, algo: 'minmax' });
      continue;
    }
    const r = chooseRange(rc.algo, histogramOf(stats, name), options);
    // auto records the algorithm it chose for the tensor.
    out.set(name, { min: r.min, max: r.max, algo: rc.algo === 'auto' && r.algo !== 'auto' ? `auto: ${r.algo}` : rc.algo });
  }
  return out;
}

/** The stats with ranges for config.algo attached (replacing any there were). */
export function statsWithRanges(stats: StatsFile, config: Readonly<RangeSettings>): StatsFile {
  return withRanges(stats, rangeConfigOf(config), Object.fromEntries(rangesFromStats(stats, config)));
}
