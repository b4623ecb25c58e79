// Target presets and wide types, each checked in the written model and in onnxruntime.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel } from '../../src/index.js';
import { CALIB, fixture, logits, sqnr, tmpDir, top1 } from './helpers.js';

const dir = tmpDir('presets');
const q = (m: string, name: string, config: Record<string, unknown>) =>
  quantize(fixture(m), { output: path.join(dir, `${m}.${name}.onnx`), data: CALIB, config: { calibCount: 100, ...config } });

describe('target presets', () => {
  it('tensorrt: int8 activations with zero point 0, float biases, per-channel weights; Relu kept', async () => {
    const r = await q('resnet_mini', 'trt', { target: 'tensorrt' });
    for (const a of Object.values(r.plan.activations)) expect([a.dtype, a.zeroPoint]).toEqual(['int8', 0]);
    expect(Object.keys(r.plan.biases)).toEqual([]);
    expect(Object.values(r.plan.weights).every((w) => w.axis !== null)).toBe(true);
    const g = readModel(r.output).graph;
    expect(g.nodes.filter((n) => n.opType === 'Relu').length).toBe(7);
    for (const n of g.nodes.filter((x) => x.opType === 'Conv')) expect(g.producerOf(n.inputs[2]!)).toBeUndefined();
    const [f, qq] = [await logits(fixture('resnet_mini')), await logits(r.output)];
    expect(top1(f) - top1(qq)).toBeLessThanOrEqual(0.2);
  });

  it('ort-cpu-novnni: 7-bit weights (reduce-range, [-64, 64]) and the accuracy bar still holds', async () => {
    const r = await q('lenet_bn', 'novnni', { target: 'ort-cpu-novnni' });
    const g = readModel(r.output).graph;
    for (const n of g.nodes.filter((x) => x.opType === 'DequantizeLinear' && g.constantOf(x.inputs[0]!)?.dtype === 3)) {
      const v = g.constantOf(n.inputs[0]!)!.toFloat64();
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(64);
    }
    const [f, qq] = [await logits(fixture('lenet_bn')), await logits(r.output)];
    expect(top1(f) - top1(qq)).toBeLessThanOrEqual(0.2);
  });

  it('int16 activations at opset 13 use the com.microsoft Q/DQ and beat int8 on SQNR', async () => {
    const r16 = await q('vit_mini', 'int16', { activationType: 'int16' });
    const r8 = await q('vit_mini', 'int8', {});
    const g = readModel(r16.output);
    expect(g.opsets.find((o) => o.domain === '')!.version).toBe(13);
    const qdq = g.graph.nodes.filter((n) => n.opType === 'QuantizeLinear');
    expect(qdq.length).toBeGreaterThan(0);
    expect(qdq.every((n) => n.domain === 'com.microsoft')).toBe(true);
    const f = await logits(fixture('vit_mini'));
    expect(sqnr(f, await logits(r16.output))).toBeGreaterThan(sqnr(f, await logits(r8.output)) + 6);
  });

  it('first/last-layer policy: float keeps those layers float with the reason in the plan', async () => {
    const r = await q('lenet_bn', 'edges', { firstLayer: 'float', lastLayer: 'float' });
    const float = r.plan.nodes.filter((n) => n.status === 'float');
    expect(float.map((n) => n.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/first layer kept in float/), expect.stringMatching(/last layer kept in float/)]));
    // lenet's first conv feeds Relu → MaxPool: the slow-uint8-pool case is flagged.
    expect(r.notes.filter((n) => n.startsWith('warning:'))).toEqual([expect.stringMatching(/\/conv1\/Conv is kept in float and feeds a MaxPool/)]);
    const [f, qq] = [await logits(fixture('lenet_bn')), await logits(r.output)];
    expect(top1(f) - top1(qq)).toBeLessThanOrEqual(0.2);
  });
});
