// The outlier-channel rule (quant/outliers.ts) on synthetic per-channel statistics: the spread is
// max / median of the live channels, the threshold fires at or above config.outlierRatio and not
// below, 0 turns it off, and the readers of a flagged tensor are named.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/api/options.js';
import { readModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { analyzeModelGraph } from '../../src/quant/analyze.js';
import { channelAxesFor, channelSpread, findOutliers, isOutlierSpread, outlierFloatNodes } from '../../src/quant/outliers.js';
import { fixture } from '../e2e/helpers.js';

/** 64 channels around 1 (median 1), with channel 7 at `top` and channel 8 dead. */
function absMax(top: number): number[] {
  const a = Array.from({ length: 64 }, (_, k) => (k < 20 ? 0.5 : k < 44 ? 1 : 1.5));
  a[7] = top;
  a[8] = 0;
  return a;
}

describe('channelSpread', () => {
  it('is the largest abs-max over the median of the channels that are not all zero', () => {
    expect(channelSpread([1, 1, 1, 1, 100])).toEqual({ ratio: 100, channel: 4, max: 100, median: 1 });
    // Dead channels (0) are left out of the median: live [1, 2, 4] → median 2.
    expect(channelSpread([0, 0, 0, 2, 1, 4])).toEqual({ ratio: 2, channel: 5, max: 4, median: 2 });
    // Even count: the mean of the two middle values.
    expect(channelSpread([1, 3, 2, 10])!.median).toBe(2.5);
    expect(channelSpread([0, 0, 5])).toBeUndefined();
    expect(channelSpread([])).toBeUndefined();
  });

  it('fires at or above the threshold, not below it, and never at threshold 0', () => {
    const median = channelSpread(absMax(1))!.median;
    expect(median).toBe(1);
    const below = channelSpread(absMax(63.9 * median));
    const above = channelSpread(absMax(64 * median));
    expect(below!.ratio).toBeCloseTo(63.9, 9);
    expect(isOutlierSpread(below, 64)).toBe(false);
    expect(isOutlierSpread(above, 64)).toBe(true);
    expect(isOutlierSpread(channelSpread(absMax(1e6)), 0)).toBe(false);
    expect(isOutlierSpread(undefined, 64)).toBe(false);
  });
});

describe('findOutliers on resnet_mini with synthetic channel statistics', () => {
  const model = readModelFile(fixture('resnet_mini'));
  prepareModel(model);
  const g = model.graph;
  const config = resolveConfig({ config: { target: 'ort-cpu' } });
  const a = analyzeModelGraph(g, config);
  const T = '/layer3/relu1/Relu_output_0';

  it('asks for channels on axis 1 of the conv inputs and the last axis of the Gemm input; none when the check is off', () => {
    const axes = channelAxesFor(g, a, config);
    expect(axes.get(T)).toBe(1);
    expect(axes.get('/flatten/Flatten_output_0')).toBe(-1);
    expect(axes.size).toBeGreaterThanOrEqual(7);
    expect(channelAxesFor(g, a, { ...config, outlierRatio: 0 }).size).toBe(0);
  });

  it('flags a tensor whose spread reaches the threshold, with its readers; not one just below', () => {
    const median = channelSpread(absMax(1))!.median;
    const at = (top: number) => findOutliers(g, a, config, new Map([[T, { axis: 1, absMax: absMax(top) }]]));
    expect(at(63 * median).size).toBe(0);
    const found = at(1000 * median);
    expect([...found.keys()]).toEqual([T]);
    const o = found.get(T)!;
    expect(o).toMatchObject({ code: 'outlier-channels', axis: 1, channel: 7, consumers: ['/layer3/conv2/Conv'] });
    expect(o.ratio).toBeCloseTo(1000, 6);
    expect(o.message).toContain('1000×');
    expect(outlierFloatNodes(found).get('/layer3/conv2/Conv')?.code).toBe('outlier-channels');
    // A stricter threshold (config outlierRatio) moves the line.
    expect(findOutliers(g, a, { ...config, outlierRatio: 2000 }, new Map([[T, { axis: 1, absMax: absMax(1000 * median) }]])).size).toBe(0);
  });

  it('tensors without channel statistics (older stats files) are not checked', () => {
    expect(findOutliers(g, a, config, new Map()).size).toBe(0);
  });
});
