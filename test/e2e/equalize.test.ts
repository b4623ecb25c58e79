// --equalize and --bias-correction on real onnxruntime sessions.
//
// The depthwise model: the trained lenet_bn fixture (BN folded), with a 1×1 depthwise Conv
// (group = channels) inserted after each Conv, and the per-channel gains that BN folding gives
// depthwise networks planted into it: output channel c of the Conv is divided by d_c and the
// depthwise layer multiplies it back by d_c, d_c log-uniform in [1/32, 32] (seeded). The float
// function is the trained one (exactly, up to float32 rounding); the weight ranges of both layers
// now differ by up to 1000× between channels, which is what per-tensor weights cannot represent.
// It is a planted model, not a trained depthwise network; the real ones (PP-OCR det/rec) are
// measured outside the tests (the lead's note, scripts/real-models.mjs --quant).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { autotune, compare, quantize, readModel, writeModel } from '../../src/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { CALIB, fixture, logits, maxRelDiff, sqnr, tmpDir } from './helpers.js';
import { plantDepthwise } from './depthwise-model.js';
import { logitsOn, sqnrDb, testDigits } from '../tune/helpers.js';


const dir = tmpDir('equalize');
const planted = plantDepthwise(path.join(dir, 'lenet_dw.onnx'));

describe('--equalize: the float function is kept', () => {
  it.each([['lenet_bn', fixture('lenet_bn')], ['resnet_mini', fixture('resnet_mini')], ['lenet_dw (planted depthwise)', planted]])('%s: logits within 1e-4 relative on the 2,000 test digits, and pairs were equalized', async (name, file) => {
    const m = readModel(file);
    const notes = prepareModel(m, { equalize: true });
    const eq = path.join(dir, `${name.split(' ')[0]}.eq.onnx`);
    writeModel(m, eq);
    const pairs = Number(/equalize: (\d+) layer pair/.exec(notes.join('\n'))?.[1] ?? 0);
    expect(pairs).toBeGreaterThan(0);
    const [a, b] = [await logits(file), await logits(eq)];
    expect(maxRelDiff(a, b)).toBeLessThanOrEqual(1e-4);
  });
});

describe('--equalize --bias-correction on the planted depthwise model', () => {
  const run = async (tag: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}, model = planted) => {
    const output = path.join(dir, `${tag}.onnx`);
    // 7-bit weights (ort-cpu-novnni) on every machine, so the figures do not depend on VNNI.
    const r = await quantize(model, { output, data: CALIB, config: { target: 'ort-cpu-novnni', ...config }, verify: false, ...extra });
    return { r, output, db: sqnr(await logits(model), await logits(output)) };
  };

  it('per-tensor weights: equalize + bias correction gain ≥ 10 dB of logits SQNR; the plan records both, and --overrides alone reproduces the model', async () => {
    const plain = await run('pt', { perChannel: false });
    const both = await run('pt-eq-bc', { perChannel: false, equalize: true, biasCorrection: true }, { savePlan: path.join(dir, 'plan.json') });
    // Measured (2,000 test digits, bench/equalize.ts): 2.2 dB without, 34.5 dB with; 10 dB is under a third of that gain.
    expect(both.db - plain.db).toBeGreaterThanOrEqual(10);
    expect(both.r.plan.equalize).toBe(true);
    expect(Object.keys(both.r.plan.biasCorrection ?? {}).length).toBeGreaterThanOrEqual(4);
    expect(both.r.diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(['equalized', 'bias-corrected']));
    // Without the flags: the plan turns equalisation on and applies the recorded corrections.
    const again = await run('pt-overrides', { perChannel: false }, { overrides: path.join(dir, 'plan.json') });
    expect(again.r.diagnostics.find((d) => d.code === 'bias-corrected')?.message).toMatch(/as recorded in the overrides/);
    expect(sqnr(await logits(both.output), await logits(again.output))).toBe(Infinity);
  });

  it('--bias-correction alone, per-tensor weights on the trained lenet_bn: the mean logit error per class shrinks and SQNR rises ≥ 2 dB', async () => {
    const ref = await logits(fixture('lenet_bn'));
    const meanShift = async (file: string) => {
      const q = await logits(file);
      const sums = new Float64Array(10);
      for (let i = 0; i < q.length; i++) sums[i % 10]! += q[i]! - ref[i]!;
      return sums.reduce((a, v) => a + Math.abs(v), 0) / (q.length / 10);
    };
    const plain = await run('lenet-pt', { perChannel: false }, {}, fixture('lenet_bn'));
    const bc = await run('lenet-pt-bc', { perChannel: false, biasCorrection: true }, {}, fixture('lenet_bn'));
    // Measured: 33.4 dB → 38.3 dB (2,000 test digits); 2 dB leaves room for other onnxruntime builds.
    expect(bc.db - plain.db).toBeGreaterThanOrEqual(2);
    expect(await meanShift(bc.output)).toBeLessThan(await meanShift(plain.output));
  });

  it('--target-sqnr with --bias-correction: the searched metric is the written model\'s, and only units left in int8 keep a correction', async () => {
    const evalDir = testDigits(path.join(dir, 'eval'), 300);
    const output = path.join(dir, 'tuned.onnx');
    // lenet_bn, per-tensor: 33 dB plain; 42 dB needs some (not all) of its 4 units in int16.
    const { result, search } = await autotune(fixture('lenet_bn'), {
      output, data: CALIB, config: { target: 'ort-cpu-novnni', perChannel: false, biasCorrection: true }, target: { kind: 'sqnr', value: 42 }, fallback: 'int16',
      verify: { evalData: evalDir.data, perLayer: false, latency: false },
    });
    expect(search.met).toBe(true);
    expect(search.fallback.length).toBeGreaterThan(0);
    expect(search.fallback.length).toBeLessThan(search.units);
    // Within 0.05 dB (batching differs); a search without the corrections would be ~5 dB off.
    expect(sqnrDb(await logitsOn(fixture('lenet_bn'), 300), await logitsOn(output, 300))).toBeCloseTo(search.final.sqnrDb, 1);
    const corrected = Object.keys(result.plan.biasCorrection ?? {});
    expect(corrected.length).toBeGreaterThan(0);
    for (const unit of search.fallback) expect(corrected).not.toContain(unit);
  });

  it('qtool compare equalizes its float model as quantize did: per-layer figures equal the verification\'s', async () => {
    const output = path.join(dir, 'cmp.onnx');
    const r = await quantize(planted, { output, data: CALIB, config: { target: 'ort-cpu-novnni', perChannel: false, equalize: true }, verify: { latency: false, count: 50 } });
    const c = await compare(planted, output, { data: CALIB, count: 50, latency: false });
    const byTensor = (rep: typeof c) => Object.fromEntries((rep.layers?.tensors ?? []).map((t) => [t.tensor, t.accumulatedSqnrDb]));
    const [a, b] = [byTensor(r.report!), byTensor(c)];
    expect(Object.keys(b).length).toBeGreaterThan(3);
    for (const [t, db] of Object.entries(a)) expect(b[t]).toBeCloseTo(db, 6);
  });
});
