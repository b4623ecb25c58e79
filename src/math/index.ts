// Public surface of src/math: pure numerics on typed arrays (ALGORITHMS.md §1, §2).

export {
  FLOAT32_MIN_NORMAL,
  channelLayout,
  computeScaleZeroPoint,
  dequantizeArray,
  fakeQuantize,
  perChannelMinMax,
  qRange,
  quantizeArray,
  quantizeValue,
  quantizeWeightPerChannel,
  roundHalfToEven,
} from './qparams.js';
export type {
  ChannelLayout,
  PerChannelOptions,
  PerChannelQuantization,
  QRange,
  QRangeOptions,
  QType,
  QuantParams,
  ScaleOptions,
} from './qparams.js';

export { INT32_MAX, INT32_MIN, float32AtLeast, quantizeBias, requiredWeightScaleForBias } from './bias.js';
export type { BiasQuantization } from './bias.js';

export { DEFAULT_BINS, MIN_WIDTH_EXP, StreamingHistogram } from './histogram.js';
export type { StreamingHistogramJSON } from './histogram.js';

export { absHistogram, forEachSegment, massOutside, positiveHistogram, signedHistogram } from './rebin.js';
export type { AbsHistogram, SegmentVisitor, UniformHistogram } from './rebin.js';

export type { RangeAlgorithm, RangeOptions, RangeResult } from './range-types.js';
export { KL_EPS, KL_MSE_GUARD, KL_START_BIN, klRange, klSearch } from './kl.js';
export type { KlCellGrid, KlSearchOptions, KlSearchResult } from './kl.js';
export { HistogramMoments, MSE_ASYMMETRIC_STEP, MSE_START_BIN, mseRange } from './mse.js';
export {
  MOVING_AVERAGE_CONSTANT,
  MovingAverageMinMax,
  minmaxRange,
  percentileRange,
} from './range.js';

export { RANGE_ALGORITHMS, RANGE_ALGORITHM_NAMES, chooseRange, type RangeAlgorithmName } from './range-registry.js';

export { clippedFraction, cosineSimilarity, maxAbsDiff, meanAbsDiff, sqnrDb, top1Agreement } from './metrics.js';

export { QE_SIMD_MIN_LENGTH, emptySums, quantErrorSums, quantErrorSumsScalar } from './quant-error.js';
export type { Counterpart, QuantErrorParams, QuantErrorSums } from './quant-error.js';
