import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/api/calibrate.js';
import { calibrationFiles, DATA, fixture, plainMinMax } from './helpers.js';

// qtool's observed min/max must be exactly what a plain onnxruntime-node loop sees over the same
// 200 samples on the prepared graph (same tensors, same bits).
describe.each(['resnet_mini', 'lenet_bn'])('%s: min/max equal a plain onnxruntime loop', (name) => {
  it('every calibrated tensor, exactly', async () => {
    const files = calibrationFiles();
    expect(files).toHaveLength(200);
    const [stats, reference] = await Promise.all([calibrate(fixture(name), { data: DATA }), plainMinMax(fixture(name), files)]);
    expect(stats.samples).toBe(200);
    expect(Object.keys(stats.tensors)).toEqual([...reference.keys()]);
    for (const [t, ref] of reference) {
      const got = stats.tensors[t]!;
      // + 0: qtool reports -0 as +0.
      expect({ t, min: got.min, max: got.max, count: got.count }).toEqual({ t, min: ref.min + 0, max: ref.max + 0, count: ref.count });
      expect(Object.is(got.min, ref.min + 0) && Object.is(got.max, ref.max + 0)).toBe(true);
    }
  });
});
