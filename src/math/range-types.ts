// Shared result and option types of the range algorithms (ALGORITHMS.md §2).

import type { StreamingHistogram } from './histogram.js';

export type RangeAlgorithm = import('./range-registry.js').RangeAlgorithmName;

export interface RangeOptions {
  /**
   * The tensor will be quantized symmetrically (z fixed at the middle of the integer range).
   * percentile: cut |x| at p instead of (100 − p)/2 % per tail; mse: search ±T; kl: score the
   * symmetric quantizer's levels. Default false.
   */
  readonly symmetric?: boolean;
  /** percentile only, required there (its default is in the config schema). */
  readonly percentile?: number;
  /**
   * mse and kl: the integer range the tensor will be quantized to, since the error (and kl's level
   * grid) depends on it.
   * Default int8 [-127, 127] when symmetric, uint8 [0, 255] otherwise (qRange's table).
   */
  readonly qmin?: number;
  readonly qmax?: number;
  /**
   * kl only, off by default (§2 as written keeps them): drop exact zeros from the |x| histogram.
   * After ReLU the zero spike (often half the tensor) sits in bin 0, and every candidate whose
   * first level merges bin 0 with bin 1 pays ~0.5·log 2 of divergence for it, which pushes the
   * unsigned search to thresholds that clip much of the real signal.
   */
  readonly excludeZeros?: boolean;
}

export interface RangeResult {
  readonly min: number;
  readonly max: number;
  readonly algo: RangeAlgorithm;
  /** The tensor is never negative, so the range is [0, T] (§2: do not waste half the range). */
  readonly oneSided: boolean;
  /** kl / mse / percentile: clip value(s) the search found, before clamping to the data. */
  readonly threshold?: number;
  readonly thresholdLow?: number;
  /** kl: index m of the winning candidate; T = (m + 0.5)·binWidth. */
  readonly bin?: number;
  readonly binWidth?: number;
  /** kl: KL(P‖Q) at the minimum. */
  readonly divergence?: number;
  /** mse: expected squared error per finite value at the optimum. */
  readonly meanSquaredError?: number;
  /** kl / mse: number of thresholds evaluated. */
  readonly candidates?: number;
  /** Set when the search could not run and min/max was returned instead. */
  readonly fallback?: 'empty' | 'constant' | 'no-candidate';
}

type Extra = Omit<RangeResult, 'min' | 'max' | 'algo' | 'oneSided'>;

/**
 * Final range: never-negative tensors get [0, T]; otherwise the search result is clamped to the
 * observed [min, max] (no data lies beyond it, so clamping never adds clipping and only narrows
 * an asymmetric range; a symmetric quantizer re-expands it to ±max|·|).
 */
export function finishRange(
  h: StreamingHistogram,
  algo: RangeAlgorithm,
  lo: number,
  hi: number,
  extra: Extra = {},
): RangeResult {
  const oneSided = h.neverNegative;
  const min = oneSided ? 0 : Math.max(lo, h.min);
  const max = Math.min(hi, h.max);
  return { min, max, algo, oneSided, ...extra };
}

/** Result for histograms no search can run on (empty or a single value), else undefined. */
export function degenerateRange(h: StreamingHistogram, algo: RangeAlgorithm): RangeResult | undefined {
  if (h.count === 0) return { min: 0, max: 0, algo, oneSided: true, fallback: 'empty' };
  if (h.min === h.max) return finishRange(h, algo, h.min, h.max, { fallback: 'constant' });
  return undefined;
}
