// --stochastic-rounding, --pow2-scales and --group-size on the real fixtures, in onnxruntime-node:
// what they write, that it runs, what it costs in logits SQNR on the 2,000 MNIST test digits, and
// that the saved plan reproduces the model through --overrides.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel } from '../../src/index.js';
import { isFloat32PowerOfTwo } from '../../src/math/qparams.js';
import { encodeModel } from '../../src/onnx/index.js';
import type { QuantPlan } from '../../src/quant/plan.js';
import { qtool } from '../cli/helpers.js';
import { CALIB, fixture, logits, sqnr, tmpDir } from './helpers.js';

const dir = tmpDir('seedflags');
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
/**
 * The model without qtool's metadata: a static plan fed back as --overrides pins every range, so
 * the metadata's tensor map says algo 'override' where the first run said 'mse'; the graph, every
 * initializer and every attribute must be byte-identical.
 */
const graphSha = (f: string) => {
  const m = readModel(f);
  m.metadata = m.metadata.filter((e) => !e.key.startsWith('qtool.'));
  return crypto.createHash('sha256').update(encodeModel(m)).digest('hex');
};
const readPlan = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as QuantPlan;
const out = (name: string) => path.join(dir, `${name}.onnx`);
const base = { data: CALIB } as const;

/** Every scale input of every QuantizeLinear/DequantizeLinear, as stored (float32 values). */
function storedScales(file: string): { name: string; values: Float32Array }[] {
  const g = readModel(file).graph;
  const names = new Set(g.nodes.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear').map((n) => n.inputs[1]!));
  return [...names].map((name) => ({ name, values: g.constantOf(name)!.toFloat32() }));
}

describe('--stochastic-rounding', () => {
  it('same seed: byte-identical models; another seed: another model; the plan records it and --overrides reproduces it', async () => {
    const planFile = path.join(dir, 'sr.plan.json');
    const a = await quantize(fixture('lenet_bn'), { ...base, output: out('sr-a'), savePlan: planFile, config: { stochasticRounding: true, seed: 5 } });
    const b = await quantize(fixture('lenet_bn'), { ...base, output: out('sr-b'), config: { stochasticRounding: true, seed: 5 } });
    const c = await quantize(fixture('lenet_bn'), { ...base, output: out('sr-c'), config: { stochasticRounding: true, seed: 6 } });
    const nearest = await quantize(fixture('lenet_bn'), { ...base, output: out('sr-n') });
    expect(sha(a.output)).toBe(sha(b.output));
    expect(sha(c.output)).not.toBe(sha(a.output));
    expect(sha(nearest.output)).not.toBe(sha(a.output));
    const plan = readPlan(planFile);
    const weights = Object.values(plan.weights);
    expect(weights.length).toBeGreaterThan(0);
    for (const w of weights) expect(w).toMatchObject({ rounding: 'stochastic', seed: 5 });
    expect(a.diagnostics.map((d) => d.code)).toContain('stochastic-rounding');
    // No flag: the plan alone says how each weight was rounded.
    const r = await quantize(fixture('lenet_bn'), { ...base, output: out('sr-r'), overrides: planFile });
    expect(graphSha(r.output)).toBe(graphSha(a.output));
    expect(graphSha(r.output)).not.toBe(graphSha(c.output));
    // And it still classifies: within 3 dB of nearest rounding's SQNR (measured: 29.8–38.4 dB over
    // seeds 0–4 against 37.2 nearest, bench/seedflags.mjs; seed 5 must not collapse).
    const ref = await logits(fixture('lenet_bn'));
    expect(sqnr(ref, await logits(a.output))).toBeGreaterThan(25);
  });

  it('weight-only int4 (MatMulNBits blocks): seeded too, recorded in the plan, and onnxruntime runs it', async () => {
    const cfg = { mode: 'weight-only', weightType: 'int4', stochasticRounding: true, seed: 1 } as const;
    const a = await quantize(fixture('vit_mini'), { output: out('wo-a'), config: cfg });
    const b = await quantize(fixture('vit_mini'), { output: out('wo-b'), config: cfg });
    const n = await quantize(fixture('vit_mini'), { output: out('wo-n'), config: { mode: 'weight-only', weightType: 'int4' } });
    expect(sha(a.output)).toBe(sha(b.output));
    expect(sha(a.output)).not.toBe(sha(n.output));
    const int4 = Object.values(a.plan.weights).filter((w) => w.dtype === 'int4');
    expect(int4.length).toBeGreaterThan(0);
    for (const w of int4) expect(w).toMatchObject({ rounding: 'stochastic', seed: 1, blockSize: 32 });
    expect(sqnr(await logits(fixture('vit_mini')), await logits(a.output))).toBeGreaterThan(10);
  });

  it('--seed without --stochastic-rounding is a usage error (exit 2, one line)', () => {
    const r = qtool(['quantize', fixture('lenet_bn'), '--data', CALIB, '-o', out('usage'), '--seed', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--seed');
    expect(fs.existsSync(out('usage'))).toBe(false);
  });
});

describe('--pow2-scales', () => {
  // Bound: pow2 gives up at most one bit of resolution per tensor (the scale at most doubles, so
  // each tensor's rounding noise at most quadruples: 20·log10(2) = 6.02 dB; the activations take
  // the power of two above, the weights the neighbour with less error). Measured (logits SQNR,
  // free vs pow2): target ort-cpu-novnni lenet_bn 37.21 vs 41.05 dB, resnet_mini 33.08 vs 31.88,
  // vit_mini 31.18 vs 28.65; target ort-cpu (full-range int8 weights, finer, so the doubling
  // shows more) lenet_bn 45.81 vs 40.99, resnet_mini 36.29 vs 32.81, vit_mini 31.66 vs 28.69.
  for (const f of ['lenet_bn', 'resnet_mini', 'vit_mini'] as const) {
    it(`${f}: every Q/DQ scale in the model is an exact power of two, and the SQNR stays within one bit (6.02 dB) of free scales`, async () => {
      const free = await quantize(fixture(f), { ...base, output: out(`free-${f}`) });
      const p2 = await quantize(fixture(f), { ...base, output: out(`pow2-${f}`), config: { pow2Scales: true } });
      const scales = storedScales(p2.output);
      expect(scales.length).toBeGreaterThan(10);
      const bad = scales.flatMap(({ name, values }) => [...values].filter((v) => !isFloat32PowerOfTwo(v)).map((v) => `${name}=${v}`));
      expect(bad).toEqual([]);
      // The free model does have other scales (so the check above can fail).
      expect(storedScales(free.output).some(({ values }) => [...values].some((v) => !isFloat32PowerOfTwo(v)))).toBe(true);
      // The bias scale is s_x·s_w: a power of two too, and equal to the product the plan records.
      for (const b of Object.values(p2.plan.biases)) {
        const sx = p2.plan.activations[b.activation]!.scale;
        const sw = p2.plan.weights[b.weight]!.scales;
        b.scales.forEach((s, c) => expect(s).toBe(Math.fround(sx * sw[sw.length === 1 ? 0 : c]!)));
      }
      const ref = await logits(fixture(f));
      const [sFree, sPow2] = [sqnr(ref, await logits(free.output)), sqnr(ref, await logits(p2.output))];
      console.log(`${f} (${free.plan.target}): free scales ${sFree.toFixed(2)} dB, pow2 ${sPow2.toFixed(2)} dB`);
      expect(sPow2).toBeGreaterThan(sFree - 20 * Math.log10(2));
      if (f === 'lenet_bn') {
        // Recorded per tensor: the saved plan alone (no flag) gives the same graph.
        const planFile = path.join(dir, 'pow2.plan.json');
        fs.writeFileSync(planFile, JSON.stringify(p2.plan));
        expect(Object.values(p2.plan.activations).every((a) => a.pow2Scales === true)).toBe(true);
        const r = await quantize(fixture(f), { ...base, output: out('pow2-r'), overrides: planFile });
        expect(graphSha(r.output)).toBe(graphSha(p2.output));
      }
    });
  }
});

describe('--pow2-scales with per-tensor uint8 weights (asymmetric: the zero point follows the scale)', () => {
  it('lenet_bn: all scales powers of two, every weight zero point inside uint8, and it still classifies', async () => {
    const r = await quantize(fixture('lenet_bn'), { ...base, output: out('pow2-u8'), config: { pow2Scales: true, weightType: 'uint8', perChannel: false, target: 'ort-cpu' } });
    const bad = storedScales(r.output).flatMap(({ name, values }) => [...values].filter((v) => !isFloat32PowerOfTwo(v)).map((v) => `${name}=${v}`));
    expect(bad).toEqual([]);
    for (const w of Object.values(r.plan.weights)) {
      expect(w).toMatchObject({ dtype: 'uint8', axis: null, pow2Scales: true });
      expect(w.zeroPoints[0]).toBeGreaterThanOrEqual(0);
      expect(w.zeroPoints[0]).toBeLessThanOrEqual(255);
    }
    expect(sqnr(await logits(fixture('lenet_bn')), await logits(r.output))).toBeGreaterThan(25);
  });
});

describe('--group-size (static QDQ, blocked DequantizeLinear)', () => {
  it('resnet_mini: runs in onnxruntime, blocked weight DQs at opset 21, SQNR ≥ per-tensor weights; the plan reproduces it', async () => {
    const planFile = path.join(dir, 'g8.plan.json');
    const g = await quantize(fixture('resnet_mini'), { ...base, output: out('g8'), savePlan: planFile, config: { groupSize: 8 } });
    const pt = await quantize(fixture('resnet_mini'), { ...base, output: out('pt'), config: { perChannel: false } });
    const m = readModel(g.output);
    expect(m.opsets.find((o) => o.domain === '')!.version).toBe(21);
    const blocked = m.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.attrInt('block_size', 0) === 8);
    expect(blocked.length).toBeGreaterThanOrEqual(8);
    const grouped = Object.values(g.plan.weights).filter((w) => w.blockSize === 8);
    expect(grouped.length).toBe(blocked.length);
    const ref = await logits(fixture('resnet_mini'));
    const [sG, sPt] = [sqnr(ref, await logits(g.output)), sqnr(ref, await logits(pt.output))];
    // Measured: 34.38 dB with groups of 8, 31.15 per-tensor, 33.08 per-channel (bench/seedflags.mjs).
    expect(sG).toBeGreaterThanOrEqual(sPt);
    const r = await quantize(fixture('resnet_mini'), { ...base, output: out('g8-r'), overrides: planFile });
    expect(readModel(r.output).opsets.find((o) => o.domain === '')!.version).toBe(21);
    expect(graphSha(r.output)).toBe(graphSha(g.output));
  });

  it('vit_mini: int8 groups on MatMul are refused before calibration, naming the node; int4 groups run', async () => {
    const refused = quantize(fixture('vit_mini'), { ...base, output: out('vit-g'), config: { groupSize: 16, target: 'ort-cpu' } });
    await expect(refused).rejects.toThrow(/--group-size: MatMul '[^']+' \(weight '[^']+'\) cannot run with per-group int8 weights on ort-cpu/);
    expect(fs.existsSync(out('vit-g'))).toBe(false);
    const cli = qtool(['quantize', fixture('vit_mini'), '--data', CALIB, '-o', out('vit-g-cli'), '--group-size', '16', '--target', 'ort-cpu', '--quiet']);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toContain('--exclude-nodes');
    expect(fs.existsSync(out('vit-g-cli'))).toBe(false);
    const g4 = await quantize(fixture('vit_mini'), { ...base, output: out('vit-g4'), config: { groupSize: 16, weightType: 'int4' } });
    const pt4 = await quantize(fixture('vit_mini'), { ...base, output: out('vit-pt4'), config: { weightType: 'int4', perChannel: false } });
    const ref = await logits(fixture('vit_mini'));
    // Measured: 20.23 dB with groups of 16, 15.09 per-tensor, 19.65 per-channel int4 (bench/seedflags.mjs).
    expect(sqnr(ref, await logits(g4.output))).toBeGreaterThanOrEqual(sqnr(ref, await logits(pt4.output)));
  });

  it('contradictions are usage errors: dynamic mode, --format qoperator, --per-tensor', () => {
    for (const extra of [['--mode', 'dynamic'], ['--format', 'qoperator'], ['--per-tensor']]) {
      const r = qtool(['quantize', fixture('lenet_bn'), '--data', CALIB, '-o', out('usage-g'), '--group-size', '8', ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--group-size');
    }
  });
});
