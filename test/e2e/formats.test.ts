// Every format and mode does what it claims (issue 12): QOperator lowers Conv/Gemm with a bias,
// dynamic and weight-only modes quantize Conv, int4 blocks never exceed K, and a static run on a
// recurrent model says that --mode dynamic quantizes the LSTM.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel, quantize, readModel } from '../../src/index.js';
import { CALIB, fixture, logits, sqnr, tmpDir, top1 } from './helpers.js';

const dir = tmpDir('formats');
const count = (file: string, op: string) => readModel(file).graph.nodes.filter((n) => n.opType === op).length;

/** Convs of the written model that run in float, and DequantizeLinear nodes that feed a Conv. */
function floatConvs(file: string): { conv: number; dqIntoConv: number } {
  const g = readModel(file).graph;
  const convs = g.nodes.filter((n) => n.opType === 'Conv');
  return { conv: convs.length, dqIntoConv: convs.filter((c) => c.inputs.some((i) => g.producerOf(i)?.opType === 'DequantizeLinear')).length };
}

describe('QOperator lowers biased Conv and Gemm', () => {
  for (const f of ['resnet_mini', 'lenet_bn']) {
    it(`${f}: every Conv is a QLinearConv with its int32 bias, the Gemm a QGemm; as accurate as QDQ`, async () => {
      const cfg = { algo: 'minmax' as const, calibCount: 64 };
      const qop = await quantize(fixture(f), { output: path.join(dir, `${f}.qop.onnx`), data: CALIB, config: { ...cfg, format: 'qoperator' } });
      const qdq = await quantize(fixture(f), { output: path.join(dir, `${f}.qdq.onnx`), data: CALIB, config: cfg });
      const ops = inspectModel(qop.output).opHistogram;
      expect(ops.Conv ?? 0).toBe(0);
      expect(ops.Gemm ?? 0).toBe(0);
      expect(ops.QLinearConv).toBe(count(fixture(f), 'Conv'));
      expect(ops['com.microsoft::QGemm']).toBe(count(fixture(f), 'Gemm'));
      const g = readModel(qop.output).graph;
      for (const c of g.nodes.filter((n) => n.opType === 'QLinearConv')) expect(g.constantOf(c.inputs[8]!)?.dtype).toBe(6); // INT32
      const ref = await logits(fixture(f));
      expect(Math.abs(sqnr(ref, await logits(qop.output)) - sqnr(ref, await logits(qdq.output)))).toBeLessThan(0.5);
    });
  }
});

describe('dynamic and weight-only modes quantize Conv', () => {
  it('dynamic: resnet_mini Convs become ConvInteger after DynamicQuantizeLinear; file ≤ 0.35×, top-1 holds', async () => {
    const r = await quantize(fixture('resnet_mini'), { output: path.join(dir, 'resnet.dyn.onnx'), config: { mode: 'dynamic' } });
    expect(floatConvs(r.output).conv).toBe(0);
    expect(count(r.output, 'ConvInteger')).toBe(count(fixture('resnet_mini'), 'Conv'));
    expect(r.plan.nodes.filter((n) => n.opType === 'Conv').every((n) => n.status === 'quantized' && n.code === 'dynamic-int8')).toBe(true);
    expect(r.sizes.ratio).toBeLessThanOrEqual(0.35);
    const [f, q] = [await logits(fixture('resnet_mini')), await logits(r.output)];
    expect(Math.abs(top1(f) - top1(q))).toBeLessThanOrEqual(0.2);
    expect(sqnr(f, q)).toBeGreaterThan(25);
    expect(r.diagnostics.filter((d) => d.code === 'form-caveat')).toHaveLength(1);
  });

  it('weight-only: resnet_mini Conv weights are int8 behind DequantizeLinear', async () => {
    const r = await quantize(fixture('resnet_mini'), { output: path.join(dir, 'resnet.wo.onnx'), config: { mode: 'weight-only' } });
    const c = floatConvs(r.output);
    expect(c.dqIntoConv).toBe(c.conv);
    expect(r.sizes.ratio).toBeLessThanOrEqual(0.35);
    const [f, q] = [await logits(fixture('resnet_mini')), await logits(r.output)];
    expect(Math.abs(top1(f) - top1(q))).toBeLessThanOrEqual(0.2);
  });
});

describe('honest int4 blocks and a hint for recurrent models', () => {
  it('weight-only int4: a block larger than K is clipped (with a warning) and the file is smaller for it', async () => {
    const big = await quantize(fixture('lenet_bn'), { output: path.join(dir, 'lenet.b256.onnx'), config: { mode: 'weight-only', weightType: 'int4', blockSize: 256 } });
    const g = readModel(fixture('lenet_bn')).graph;
    for (const n of g.nodes.filter((x) => x.opType === 'Gemm')) {
      const w = g.constantOf(n.inputs[1]!)!;
      const k = n.attrInt('transB', 0) ? w.dims[1]! : w.dims[0]!;
      const p = big.plan.weights[n.inputs[1]!]!;
      expect(p.dtype).toBe('int4');
      expect(p.blockSize! / 2).toBeLessThan(k);
    }
    expect(big.diagnostics.map((d) => d.code)).toContain('block-clipped');
    const fit = await quantize(fixture('lenet_bn'), { output: path.join(dir, 'lenet.b128.onnx'), config: { mode: 'weight-only', weightType: 'int4', blockSize: 128 } });
    expect(fit.diagnostics.map((d) => d.code)).not.toContain('block-clipped');
    expect(sqnr(await logits(fixture('lenet_bn')), await logits(big.output))).toBeGreaterThan(20);
  });

  it('static mode on lstm_rows keeps the LSTM float and says that --mode dynamic quantizes it', async () => {
    const r = await quantize(fixture('lstm_rows'), { output: path.join(dir, 'lstm.static.onnx'), data: CALIB, config: { calibCount: 16 } });
    expect(r.plan.nodes.find((n) => n.opType === 'LSTM')).toMatchObject({ status: 'float', code: 'no-rule' });
    expect(r.diagnostics.find((d) => d.code === 'recurrent-needs-dynamic')).toMatchObject({ warning: true });
    const d = await quantize(fixture('lstm_rows'), { output: path.join(dir, 'lstm.dynamic.onnx'), config: { mode: 'dynamic' } });
    expect(d.diagnostics.map((x) => x.code)).not.toContain('recurrent-needs-dynamic');
  });
});
