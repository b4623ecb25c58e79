// Models exported by other tools: weights held in Constant nodes (paddle2onnx style), an opset
// below 13 that must be upgraded for per-channel Q/DQ, and an upgrade that would change meaning.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel, writeModel } from '../../src/index.js';
import fs from 'node:fs';
import { GraphBuilder, Node, makeAttr } from '../../src/ir/index.js';
// @ts-expect-error plain .mjs script without types
import { npyBytes } from '../../scripts/mnist-data.mjs';
import { CALIB, fixture, logits, sqnr, tmpDir, top1 } from './helpers.js';

const dir = tmpDir('general');

/** The same model with every initializer moved into a Constant node. */
function asConstants(src: string, dst: string): void {
  const m = readModel(src);
  const g = m.graph;
  for (const [name, t] of [...g.initializers]) {
    g.removeInitializer(name);
    g.addNode(new Node({ name: `const_${name}`, opType: 'Constant', outputs: [name], attributes: [makeAttr.tensor('value', t)] }), { before: g.nodes[0] });
  }
  writeModel(m, dst);
}

describe('general models', () => {
  it('weights in Constant nodes quantize like initializers (same accuracy, the file shrinks)', async () => {
    const src = path.join(dir, 'resnet_const.onnx');
    asConstants(fixture('resnet_mini'), src);
    expect(readModel(src).graph.initializers.size).toBe(0);
    const a = await quantize(fixture('resnet_mini'), { output: path.join(dir, 'a.onnx'), data: CALIB, config: { calibCount: 50 } });
    const b = await quantize(src, { output: path.join(dir, 'b.onnx'), data: CALIB, config: { calibCount: 50 } });
    expect(b.plan.weights).toEqual(a.plan.weights);
    expect(b.sizes.ratio).toBeLessThan(0.35);
    const [la, lb] = [await logits(a.output), await logits(b.output)];
    expect(Math.abs(top1(la) - top1(lb))).toBeLessThanOrEqual(0.05);
    expect(sqnr(la, lb)).toBeGreaterThan(60);
  });

  it('opset 11 is upgraded to 13 for per-channel Q/DQ when no op changes meaning', async () => {
    const m = readModel(fixture('lenet_bn'));
    m.opsets = [{ domain: '', version: 11 }];
    const src = path.join(dir, 'lenet11.onnx');
    writeModel(m, src);
    const r = await quantize(src, { output: path.join(dir, 'lenet11.int8.onnx'), data: CALIB, config: { calibCount: 10 } });
    expect(r.notes.join('\n')).toMatch(/opset upgraded from 11 to 13/);
    expect(readModel(r.output).opsets.find((o) => o.domain === '')!.version).toBe(13);
    expect(top1(await logits(r.output))).toBeGreaterThan(98.5);
  });

  it('converts an op whose meaning changes at 13 (Softmax) instead of refusing', async () => {
    const m = readModel(fixture('lenet_bn'));
    m.opsets = [{ domain: '', version: 11 }];
    const g = m.graph;
    const out = g.outputs[0]!.name;
    const last = g.producerOf(out)!;
    g.setNodeOutput(last, 0, 'pre_softmax');
    g.addNode(new Node({ name: 'sm', opType: 'Softmax', inputs: ['pre_softmax'], outputs: [out], attributes: [makeAttr.int('axis', 1)] }));
    const src = path.join(dir, 'lenet11sm.onnx');
    writeModel(m, src);
    const r = await quantize(src, { output: path.join(dir, 'x.onnx'), data: CALIB, config: { calibCount: 4 } });
    expect(r.notes.join('\n')).toMatch(/opset upgraded from 11 to 13 .*Softmax→13/);
    expect(readModel(r.output).opsets.find((o) => o.domain === '')!.version).toBe(13);
  });

  it('a model that fixes its batch dim is fed that many samples at a time without --batch-size', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 3]);
    b.output(b.op1('Relu', [b.op1('MatMul', [x, b.randomInit('w', [3, 2])])]));
    const m = path.join(dir, 'fixed4.onnx');
    writeModel(b.model(), m);
    const data = path.join(dir, 'fixed4-data');
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(data, 'a.npy'), npyBytes(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [8, 3]));
    const r = await quantize(m, { output: path.join(dir, 'fixed4.int8.onnx'), data });
    expect(r.timings.calibrationSamples).toBe(8);
    await expect(quantize(m, { output: path.join(dir, 'y.onnx'), data, config: { calibCount: 6 } })).rejects.toThrow(/6 samples, but the model fixes the batch size to 4; pass --calib-count 4/);
  });
});
