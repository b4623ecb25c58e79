import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel } from '../../src/index.js';
import { fixture, logits, sqnr, tmpDir, top1 } from './helpers.js';

const dir = tmpDir('modes');
const ops = (file: string) => readModel(file).graph.nodes.map((n) => n.opType);
/** MatMul/Gemm nodes of the float model whose second input is a constant 2-D weight. */
function weightedMatMuls(file: string): number {
  const g = readModel(file).graph;
  return g.nodes.filter((n) => ['MatMul', 'Gemm'].includes(n.opType) && g.constantOf(n.inputs[1]!)?.dims.length === 2).length;
}

describe('dynamic and weight-only modes (no calibration data)', () => {
  it('dynamic: lstm_rows Gemm becomes DynamicQuantizeMatMul; LSTM stays float with a reason; accuracy holds', async () => {
    const r = await quantize(fixture('lstm_rows'), { output: path.join(dir, 'lstm.dyn.onnx'), config: { mode: 'dynamic' } });
    expect(ops(r.output)).toContain('DynamicQuantizeMatMul');
    expect(r.plan.nodes.find((n) => n.opType === 'LSTM')!.reason).toMatch(/MatMul\/Gemm weights only/);
    const [f, q] = [await logits(fixture('lstm_rows')), await logits(r.output)];
    expect(top1(f) - top1(q)).toBeLessThanOrEqual(0.2);
    expect(sqnr(f, q)).toBeGreaterThan(35);
  });

  it('weight-only int8: DQ(int8 W) → MatMul, the file shrinks, accuracy holds', async () => {
    const r = await quantize(fixture('vit_mini'), { output: path.join(dir, 'vit.wo.onnx'), config: { mode: 'weight-only' } });
    expect(ops(r.output).filter((o) => o === 'DequantizeLinear').length).toBe(weightedMatMuls(fixture('vit_mini')));
    expect(weightedMatMuls(fixture('vit_mini'))).toBe(13); // 12 projections + the head; 4 attention MatMuls have no weight
    expect(r.sizes.ratio).toBeLessThan(0.45);
    const [f, q] = [await logits(fixture('vit_mini')), await logits(r.output)];
    expect(top1(f) - top1(q)).toBeLessThanOrEqual(0.2);
  });

  it('weight-only int4: MatMulNBits (blocks of 32 along K) loads and runs in onnxruntime', async () => {
    const r = await quantize(fixture('vit_mini'), { output: path.join(dir, 'vit.int4.onnx'), config: { mode: 'weight-only', weightType: 'int4', blockSize: 32 } });
    expect(ops(r.output).filter((o) => o === 'MatMulNBits').length).toBe(weightedMatMuls(fixture('vit_mini')));
    const [f, q] = [await logits(fixture('vit_mini')), await logits(r.output)];
    expect(top1(f) - top1(q)).toBeLessThanOrEqual(1);
  });

  it('static mode without --data says what to pass', async () => {
    await expect(quantize(fixture('lenet_bn'), { output: path.join(dir, 'x.onnx') })).rejects.toThrow(/needs calibration data: pass --data/);
  });
});
