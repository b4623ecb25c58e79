import { describe, expect, it } from 'vitest';
import { DEFAULTS, JOB_SCHEMA, QUANT_SCHEMA, checkLayer, checkValue, normalizeConfig, type QuantConfig } from '../../src/config/index.js';
import { LATENCY_DEFAULTS } from '../../src/report/index.js';
import { closest } from '../../src/config/suggest.js';
import { RANGE_ALGORITHMS, RANGE_ALGORITHM_NAMES } from '../../src/math/range-registry.js';
import { UsageError, UserInputError } from '../../src/errors.js';

const errorOf = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('no error');
};

describe('one schema', () => {
  it('DEFAULTS are the schema defaults (2048 bins, 99.999, mse, ...)', () => {
    for (const [k, e] of Object.entries(QUANT_SCHEMA)) {
      const d = (e as { default?: unknown }).default;
      expect(DEFAULTS[k as keyof QuantConfig], k).toEqual(d);
    }
    expect([DEFAULTS.histogramBins, DEFAULTS.percentile, DEFAULTS.algo]).toEqual([2048, 99.999, 'mse']);
  });

  it('--latency-batches: its default is the latency measurement\'s; whole numbers ≥ 1, from a comma list or a list', () => {
    expect([...JOB_SCHEMA.latencyBatches.default]).toEqual([...LATENCY_DEFAULTS.batchSizes]);
    expect(checkValue(JOB_SCHEMA.latencyBatches, '1, 8')).toEqual({ value: [1, 8] });
    expect(checkValue(JOB_SCHEMA.latencyBatches, [8, 1, 8])).toEqual({ value: [8, 1] });
    for (const bad of ['0', '1,,8', 'x', '', [], [1.5], 'a,1']) expect(checkValue(JOB_SCHEMA.latencyBatches, bad), String(bad)).toHaveProperty('want');
  });

  it('the algo choices are the range-algorithm registry', () => {
    expect(QUANT_SCHEMA.algo.choices).toEqual(Object.keys(RANGE_ALGORITHMS));
    expect(RANGE_ALGORITHM_NAMES).toContain(DEFAULTS.algo);
  });

  it('validation reports every error at once, each named as its origin writes it', () => {
    const e = errorOf(() => normalizeConfig([{ values: { algo: 'entropy', calibCount: 'abc', perChannel: 'yes', frobnicate: 1 }, origin: 'command line' }]));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/^4 problems: /);
    expect(e.message).toContain('--algo must be one of minmax, kl, mse, percentile, auto, got "entropy"');
    expect(e.message).toContain('--calib-count must be a whole number ≥ 1, got "abc"');
    expect(e.message).toContain('--per-channel must be true or false');
    expect(e.message).toContain("unknown option 'frobnicate'");
    const f = errorOf(() => normalizeConfig([{ values: { 'calib-count': 0 }, origin: 'recipe.yaml' }]));
    expect(f).toBeInstanceOf(UserInputError);
    expect(f.message).toBe("recipe.yaml: 'calib-count' must be a whole number ≥ 1, got 0");
  });

  it('unknown keys fail with the closest match', () => {
    const r = checkLayer({ values: { calibrationCount: 3, 'exclude-node': 'a' }, origin: 'qtool.yaml' });
    expect(r.errors).toEqual([
      "unknown option 'calibrationCount'; did you mean 'calib-count'?",
      "unknown option 'exclude-node'; did you mean 'exclude-nodes'?",
    ]);
  });

  it('kebab-case and camelCase keys, perTensor and calibrateMethod aliases', () => {
    const c = normalizeConfig([{ values: { 'calib-count': 5, perTensor: true, 'calibrate-method': 'Distribution', provider: 'cpu' }, origin: 'x.json' }]);
    expect([c.calibCount, c.perChannel, c.algo, c.providers]).toEqual([5, false, 'mse', ['cpu']]);
    expect(normalizeConfig([{ values: { calibrateMethod: 'Entropy' }, origin: 'o' }]).algo).toBe('kl');
    expect(normalizeConfig([{ values: { calibrateMethod: 'MinMax' }, origin: 'o' }]).algo).toBe('minmax');
    expect(checkLayer({ values: { calibrateMethod: 'Histogram' }, origin: 'command line' }).errors[0]).toMatch(/--calibrate-method must be one of MinMax, Entropy, Percentile, Distribution/);
  });

  it('later layers override earlier ones; contradictions within one layer are errors', () => {
    const c = normalizeConfig([{ values: { algo: 'kl', perChannel: true }, origin: 'f.yaml' }, { values: { algo: 'minmax', perTensor: true }, origin: 'command line' }]);
    expect([c.algo, c.perChannel]).toEqual(['minmax', false]);
    expect(errorOf(() => normalizeConfig([{ values: { perChannel: true, perTensor: true }, origin: 'command line' }])).message).toBe(
      '--per-channel and --per-tensor contradict each other; give one',
    );
  });

  it('closest() finds near names and nothing for far ones', () => {
    expect(closest('Gem', ['Conv', 'Gemm', 'MatMul'])).toEqual(['Gemm']);
    expect(closest('xyzzy', ['Conv', 'Gemm'])).toEqual([]);
  });
});
