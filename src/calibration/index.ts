// Calibration: observe activations over a data source, collect streaming statistics, and
// save/load/merge them as a versioned stats file.
export { ChannelAbsMaxCollector, HistogramCollector, MinMaxCollector, MovingAverageCollector, TensorCollector } from './collectors.js';
export type { ChannelAbsMax, Collector, MinMax, MovingAverageResult, TensorObservation } from './collectors.js';
export { DEFAULT_ACTIVATION_BUDGET, augmentedModelBytes, observeTensors } from './observe.js';
export type { ObserveOptions, ObserveResult } from './observe.js';
export { groupByBudget, planObservation, type ObservationPlan } from './targets.js';
export { MOVING_AVERAGE_NOTE, STATS_FORMAT, STATS_VERSION, buildStats, histogramOf, withRanges } from './stats.js';
export type { ModelIdentity, MovingAverageInfo, RangeConfig, RangeEntry, StatsFile, TensorStats } from './stats.js';
export { loadStats, saveStats, serializeStats, validateStats } from './stats-io.js';
export { mergeLabelled, mergeStats } from './merge.js';
export { rangeConfigOf, rangesFromStats, statsWithRanges } from './ranges.js';
