// writeChecked: the model (and its external data file) appear at the output only after
// onnxruntime-node loaded and ran them; on failure nothing is left at or beside the output.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { writeChecked } from '../../src/api/write-checked.js';
import { readModelFile } from '../../src/onnx/index.js';
import { Node } from '../../src/ir/index.js';
import { RESNET, cleanup, tmpDir } from './helpers.js';

afterAll(cleanup);

describe('writeChecked', () => {
  it('writes external data beside the output when asked, and both load in onnxruntime', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'm.onnx');
    const model = readModelFile(RESNET);
    const r = await writeChecked(model, out, { externalDataThreshold: 64 * 1024 });
    expect(r.externalDataFile).toBe('m.onnx.data');
    expect(fs.readdirSync(dir).sort()).toEqual(['m.onnx', 'm.onnx.data']);
    const s = await ort.InferenceSession.create(out, { logSeverityLevel: 4 });
    const y = await s.run({ input: new ort.Tensor('float32', new Float32Array(784).fill(0.5), [1, 1, 28, 28]) });
    expect(y.logits!.dims).toEqual([1, 10]);
    await s.release();
  });

  it('a model onnxruntime cannot load leaves nothing behind, external data included', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'm.onnx');
    const model = readModelFile(RESNET);
    const g = model.graph;
    g.addNode(new Node({ name: 'bogus', opType: 'NoSuchOp', inputs: ['logits'], outputs: ['extra'] }));
    g.outputs.push({ name: 'extra', elemType: 1 });
    await expect(writeChecked(model, out, { externalDataThreshold: 64 * 1024 })).rejects.toThrow(/m\.onnx: not written: onnxruntime cannot load the quantized model/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses to write over the input model', async () => {
    const model = readModelFile(RESNET);
    await expect(writeChecked(model, RESNET, { inputPath: RESNET })).rejects.toThrow(/refusing to overwrite the input model/);
  });
});
