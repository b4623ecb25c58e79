// Every mode goes plan → rewrite: `--save-plan` then `--overrides` round-trips in dynamic and
// weight-only mode, and an override changes what is written. Plus the two bugs the restructuring
// fixed (a test each).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel } from '../../src/index.js';
import type { QuantPlan } from '../../src/quant/plan.js';
import { CALIB, fixture, logits, sqnr, tmpDir } from './helpers.js';

const dir = tmpDir('plans');
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const readPlan = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as QuantPlan;
const ops = (f: string) => readModel(f).graph.nodes.map((n) => `${n.domain}:${n.opType}`);

describe('plans in every mode', () => {
  for (const mode of ['dynamic', 'weight-only'] as const) {
    it(`${mode}: the saved plan lists the weights; fed back as overrides it gives the same file`, async () => {
      const planFile = path.join(dir, `${mode}.plan.json`);
      const a = await quantize(fixture('vit_mini'), { output: path.join(dir, `${mode}.a.onnx`), savePlan: planFile, config: { mode } });
      const plan = readPlan(planFile);
      expect(plan.mode).toBe(mode);
      const quantized = plan.nodes.filter((n) => n.status === 'quantized');
      expect(quantized.length).toBeGreaterThan(0);
      expect(Object.keys(plan.weights).length).toBeGreaterThan(0);
      for (const w of Object.values(plan.weights)) expect(w).toMatchObject({ dtype: 'int8', axis: expect.any(Number) });
      const b = await quantize(fixture('vit_mini'), { output: path.join(dir, `${mode}.b.onnx`), overrides: planFile, config: { mode } });
      expect(sha(b.output)).toBe(sha(a.output));
    });
  }

  it('dynamic: perChannel: false on one weight writes one scale for it and changes the output; the model still runs', async () => {
    const planFile = path.join(dir, 'dyn.plan.json');
    const a = await quantize(fixture('vit_mini'), { output: path.join(dir, 'dyn.pc.onnx'), savePlan: planFile, config: { mode: 'dynamic' } });
    const plan = readPlan(planFile);
    const [name, w] = Object.entries(plan.weights)[0]!;
    expect(w.scales.length).toBeGreaterThan(1);
    const b = await quantize(fixture('vit_mini'), {
      output: path.join(dir, 'dyn.pt.onnx'), savePlan: path.join(dir, 'dyn.pt.plan.json'),
      overrides: { weights: { [name]: { perChannel: false } } }, config: { mode: 'dynamic' },
    });
    expect(b.plan.weights[name]).toMatchObject({ axis: null, scales: [expect.any(Number)] });
    expect(sha(b.output)).not.toBe(sha(a.output));
    const [ref, pc, pt] = [await logits(fixture('vit_mini')), await logits(a.output), await logits(b.output)];
    expect(sqnr(ref, pt)).toBeGreaterThan(15);
    expect(sqnr(ref, pt)).not.toBe(sqnr(ref, pc));
  });

  it('weight-only: dtype int4 on one weight turns only that node into MatMulNBits', async () => {
    const base = await quantize(fixture('lenet_bn'), { output: path.join(dir, 'wo.onnx'), config: { mode: 'weight-only' } });
    const gemm = readModel(fixture('lenet_bn')).graph.nodes.find((n) => n.opType === 'Gemm')!;
    const weight = gemm.inputs[1]!;
    expect(base.plan.weights[weight]).toMatchObject({ dtype: 'int8' });
    const r = await quantize(fixture('lenet_bn'), { output: path.join(dir, 'wo.int4.onnx'), overrides: { weights: { [weight]: { dtype: 'int4' } } }, config: { mode: 'weight-only' } });
    expect(r.plan.weights[weight]).toMatchObject({ dtype: 'int4', blockSize: 32 });
    expect(r.plan.nodes.find((n) => n.name === gemm.name)).toMatchObject({ status: 'quantized', code: 'weight-only-int4' });
    expect(ops(base.output)).not.toContain('com.microsoft:MatMulNBits');
    expect(ops(r.output).filter((o) => o === 'com.microsoft:MatMulNBits')).toHaveLength(1);
    expect(readModel(r.output).opsets).toContainEqual({ domain: 'com.microsoft', version: 1 });
    expect(sqnr(await logits(fixture('lenet_bn')), await logits(r.output))).toBeGreaterThan(20);
  });

  it('an override the mode cannot write is refused, naming the weight', async () => {
    const r = await quantize(fixture('lstm_rows'), { output: path.join(dir, 'lstm.onnx'), config: { mode: 'dynamic' } });
    const lstm = readModel(fixture('lstm_rows')).graph.nodes.find((n) => n.opType === 'LSTM')!;
    const w = lstm.inputs[1]!;
    expect(r.plan.weights[w]).toMatchObject({ dtype: 'int8', axis: 0 });
    const bad = quantize(fixture('lstm_rows'), { output: path.join(dir, 'bad.onnx'), overrides: { weights: { [w]: { perChannel: false } } }, config: { mode: 'dynamic' } });
    await expect(bad).rejects.toThrow(`weight '${w}' is quantized per output channel only`);
  });
});

describe('the two bugs of the scattered op knowledge', () => {
  it('static --weight-type int4 on an opset-13 model imports com.microsoft for its DequantizeLinear, and onnxruntime runs it', async () => {
    const r = await quantize(fixture('lenet_bn'), { output: path.join(dir, 'int4.onnx'), data: CALIB, config: { weightType: 'int4', calibCount: 32 } });
    const m = readModel(r.output);
    expect(m.opsets.find((o) => o.domain === '')!.version).toBeLessThan(21);
    expect(m.graph.nodes.some((n) => n.domain === 'com.microsoft' && n.opType === 'DequantizeLinear')).toBe(true);
    expect(m.opsets).toContainEqual({ domain: 'com.microsoft', version: 1 });
    const out = await logits(r.output);
    expect(sqnr(await logits(fixture('lenet_bn')), out)).toBeGreaterThan(10);
  });

  it('dynamic --include-ops Gemm leaves the LSTM float (lstm_rows)', async () => {
    const r = await quantize(fixture('lstm_rows'), { output: path.join(dir, 'gemm-only.onnx'), config: { mode: 'dynamic', includeOps: ['Gemm'] } });
    expect(r.plan.nodes.find((n) => n.opType === 'LSTM')).toMatchObject({ status: 'float', code: 'not-included' });
    expect(r.plan.nodes.find((n) => n.opType === 'Gemm')).toMatchObject({ status: 'quantized' });
    const written = ops(r.output);
    expect(written).toContain(':LSTM');
    expect(written).not.toContain('com.microsoft:DynamicQuantizeLSTM');
    expect(written).toContain('com.microsoft:DynamicQuantizeMatMul');
  });
});
