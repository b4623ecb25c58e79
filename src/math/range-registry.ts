// The registry of range algorithms (ALGORITHMS.md §2): name → pure function of a histogram. The
// config schema takes its `algo` choices from here, so adding an algorithm is its own file (plus
// its tests) and one line below; nothing else lists the names.
import type { StreamingHistogram } from './histogram.js';
import { klRange } from './kl.js';
import { mseRange } from './mse.js';
import { minmaxRange, percentileRange } from './range.js';
import { autoRange } from './auto-range.js';
import type { RangeOptions, RangeResult } from './range-types.js';

type RangeFn = (h: StreamingHistogram, options: RangeOptions) => RangeResult;

export const RANGE_ALGORITHMS = {
  minmax: (h) => minmaxRange(h),
  kl: klRange,
  mse: mseRange,
  percentile: percentileRange,
  // Per tensor, the candidate above with the least expected squared error on its histogram (the
  // result names the one chosen); --algo auto in quantize() then settles it on the model output.
  auto: autoRange,
} as const satisfies Record<string, RangeFn>;

export type RangeAlgorithmName = keyof typeof RANGE_ALGORITHMS;
export const RANGE_ALGORITHM_NAMES = Object.freeze(Object.keys(RANGE_ALGORITHMS) as RangeAlgorithmName[]);

/** Dispatches to the §2 algorithm `algo`. */
export function chooseRange(algo: RangeAlgorithmName, h: StreamingHistogram, options: RangeOptions = {}): RangeResult {
  const fn: RangeFn | undefined = Object.hasOwn(RANGE_ALGORITHMS, algo) ? RANGE_ALGORITHMS[algo] : undefined;
  if (!fn) throw new RangeError(`unknown range algorithm '${String(algo)}'`);
  return fn(h, options);
}
