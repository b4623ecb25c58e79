import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataType } from '../../src/ir/index.js';
import { appendGraphOutputs, decodeModel, encodeModel, modelWithOutputs, readModelFile } from '../../src/onnx/index.js';
import { Session } from '../../src/runtime/index.js';
import { readNpyF32 } from '../calibration/helpers.js';

const FIXTURE = path.resolve('fixtures/mnist/resnet_mini.onnx');
const SAMPLE = path.resolve('calibration-data/mnist', fs.readdirSync('calibration-data/mnist').sort()[0]!);

// Sessions that observe intermediate tensors append graph outputs to the bytes the caller already
// encoded (protobuf merges a second `graph` field into the first) instead of encoding again.
describe('appendGraphOutputs', () => {
  const model = readModelFile(FIXTURE);
  const encoded = encodeModel(model);
  const inner = model.graph.nodes.filter((n) => n.opType === 'Relu' || n.opType === 'Add').map((n) => n.outputs[0]!).slice(0, 4);

  it('decodes to the model with the extra outputs after its own, and nothing else changed', () => {
    expect(inner.length).toBe(4);
    const appended = decodeModel(appendGraphOutputs(encoded, inner, DataType.FLOAT));
    const own = model.graph.outputs.map((o) => o.name);
    expect(appended.graph.outputs.map((o) => o.name)).toEqual([...own, ...inner]);
    expect(appended.graph.outputs.slice(own.length).every((o) => o.elemType === DataType.FLOAT)).toBe(true);
    expect(appended.graph.nodes.length).toBe(model.graph.nodes.length);
    // Dropping the extra outputs again gives the original bytes back.
    appended.graph.outputs = appended.graph.outputs.slice(0, own.length);
    expect(Buffer.from(encodeModel(appended)).equals(Buffer.from(encoded))).toBe(true);
  });

  it('onnxruntime returns the same tensors as from a re-encoded model with those outputs', async () => {
    const { dims, data } = readNpyF32(SAMPLE);
    const feeds = { [model.graph.feedInputs()[0]!.name]: { dtype: DataType.FLOAT, dims, data } };
    const a = await Session.open(appendGraphOutputs(encoded, inner, DataType.FLOAT));
    const b = await Session.open(modelWithOutputs(model, inner, { elemType: DataType.FLOAT }));
    const [ra, rb] = [await a.run(feeds, inner), await b.run(feeds, inner)];
    await a.close();
    await b.close();
    for (const name of inner) {
      expect(ra[name]!.dims).toEqual(rb[name]!.dims);
      expect(Buffer.from((ra[name]!.data as Float32Array).buffer).equals(Buffer.from((rb[name]!.data as Float32Array).buffer))).toBe(true);
    }
  });

  it('no names: the bytes are returned as they are', () => {
    expect(appendGraphOutputs(encoded, [], DataType.FLOAT)).toBe(encoded);
  });
});
