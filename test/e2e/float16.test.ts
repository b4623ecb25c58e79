// float16-weight models (exporters' fp16 copies, Casts at the boundary) quantize from their float16
// weights like their float32 originals: same accuracy, same size, boundary types kept.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, quantize, readModel, saveStats, writeModel } from '../../src/index.js';
import { DataType, GraphBuilder, Tensor, floatToHalf } from '../../src/ir/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { Session } from '../../src/runtime/index.js';
import { toFloat16Weights } from '../passes/f16-helper.js';
import { CALIB, fixture, logits, sqnr, tmpDir } from './helpers.js';

const dir = tmpDir('f16');

describe('float16-weight models', () => {
  it.each(['lenet_bn', 'resnet_mini', 'vit_mini'])('%s: the float16 copy quantizes to the SQNR of the float32 original (±0.5 dB over the four algorithms) and is as small', async (m) => {
    const f16 = path.join(dir, `${m}.f16.onnx`);
    writeModel(toFloat16Weights(readModel(fixture(m))), f16);
    expect(readModel(f16).graph.nodes.filter((n) => n.opType === 'Cast')).toHaveLength(2);
    const stats = { f32: path.join(dir, `${m}.32.stats.json`), f16: path.join(dir, `${m}.16.stats.json`) };
    saveStats(await calibrate(fixture(m), { data: CALIB, config: { calibCount: 100 } }), stats.f32);
    saveStats(await calibrate(f16, { data: CALIB, config: { calibCount: 100 } }), stats.f16);
    // Each against the function its own weights define: the float16 copy's weights widened to
    // float32 (what qtool quantizes from; onnxruntime's float16 kernels would add their own rounding).
    const widened = path.join(dir, `${m}.f16-widened.onnx`);
    const w = readModel(f16);
    prepareModel(w);
    writeModel(w, widened);
    const [ref32, ref16] = [await logits(fixture(m)), await logits(widened)];
    const diffs: number[] = [];
    for (const algo of ['minmax', 'kl', 'mse', 'percentile'] as const) {
      const a = await quantize(fixture(m), { output: path.join(dir, `${m}.${algo}.q32.onnx`), stats: stats.f32, config: { algo } });
      const b = await quantize(f16, { output: path.join(dir, `${m}.${algo}.q16.onnx`), stats: stats.f16, config: { algo } });
      const [dbA, dbB] = [sqnr(ref32, await logits(a.output)), sqnr(ref16, await logits(b.output))];
      console.log(`${m} ${algo}: float32 original ${dbA.toFixed(2)} dB, ${a.sizes.quantized} B; float16 copy ${dbB.toFixed(2)} dB, ${b.sizes.quantized} B`);
      expect(b.plan.nodes.filter((n) => n.status === 'quantized').length).toBe(a.plan.nodes.filter((n) => n.status === 'quantized').length);
      expect(b.sizes.quantized).toBeLessThanOrEqual(a.sizes.quantized * 1.01);
      expect(readModel(b.output).graph.nodes.some((n) => n.opType === 'Cast')).toBe(false);
      diffs.push(dbB - dbA);
    }
    // One quantization is one draw of rounding noise: the float16 perturbation (resnet_mini's copy
    // is 56.8 dB from its float32 model) moves a single algorithm's SQNR by up to ±1.4 dB with
    // 7-bit weights. Same SQNR means no systematic loss: the mean difference stays within 0.5 dB.
    const mean = diffs.reduce((x, y) => x + y, 0) / diffs.length;
    console.log(`${m}: mean SQNR difference float16 − float32 ${mean.toFixed(2)} dB`);
    expect(Math.abs(mean)).toBeLessThanOrEqual(0.5);
    for (const d of diffs) expect(Math.abs(d)).toBeLessThanOrEqual(2);
  });

  it('float16 inputs and outputs keep their type; the Casts inside go; onnxruntime runs it', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 2, 4, 4], DataType.FLOAT16);
    const w = Tensor.fromTyped('w', DataType.FLOAT16, [3, 2, 1, 1], Uint16Array.from([0.5, -1, 2, 0.25, 1, 1], floatToHalf));
    b.graph.addInitializer(w);
    const c = b.op1('Conv', [x, 'w']);
    const up = b.op1('Cast', [c], { to: DataType.FLOAT });
    const r = b.op1('Relu', [up]);
    const down = b.op1('Cast', [r], { to: DataType.FLOAT16 });
    b.output(down, [1, 3, 4, 4], DataType.FLOAT16);
    const model = b.model([{ domain: '', version: 13 }]);
    const notes = prepareModel(model, { checkInvariants: true });
    const g = model.graph;
    expect(notes.join('\n')).toMatch(/float16-to-float32/);
    expect(g.inputs[0]!.elemType).toBe(DataType.FLOAT16);
    expect(g.outputs[0]!.elemType).toBe(DataType.FLOAT16);
    expect(g.constantOf('w')!.dtype).toBe(DataType.FLOAT);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Cast', 'Conv', 'Relu', 'Cast']);
    const file = path.join(dir, 'io16.onnx');
    writeModel(model, file);
    const s = await Session.open(file);
    const data = Uint16Array.from({ length: 32 }, (_, i) => floatToHalf(i / 8 - 2));
    const out = await s.run({ x: { dtype: DataType.FLOAT16, dims: [1, 2, 4, 4], data } });
    expect(out[s.outputNames[0]!]!.dims).toEqual([1, 3, 4, 4]);
    expect(fs.existsSync(file)).toBe(true);
  });
});
