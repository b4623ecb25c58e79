// The large-model path (onnx/io.ts LARGE_MODEL_BYTES) at small scale: a fixture with its weights in
// external data, quantized with the threshold forced to 0, keeps its weights in their file (lazy
// tensors, sessions that reference them in place, verification one session at a time, output
// streamed with external data) and gives the same model and the same verification figures as the
// in-memory path. The > 2 GB run itself is scripts/large-model.mjs, outside npm test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { quantize } from '../../src/api/quantize.js';
import { encodeModel, hasLazyTensors, modelWithOutputs, readModelFile, writeModelFile } from '../../src/onnx/index.js';

const root = path.resolve(__dirname, '../..');
const data = path.join(root, 'calibration-data/mnist');
const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-large-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const saved = process.env.QTOOL_LARGE_MODEL_BYTES;
afterEach(() => {
  if (saved === undefined) delete process.env.QTOOL_LARGE_MODEL_BYTES;
  else process.env.QTOOL_LARGE_MODEL_BYTES = saved;
});

/** resnet_mini with every tensor of 1 KiB or more in `resnet.onnx.data`. */
function externalFixture(): string {
  const dir = tmpDir();
  const file = path.join(dir, 'resnet.onnx');
  const r = writeModelFile(readModelFile(path.join(root, 'fixtures/mnist/resnet_mini.onnx')), file, { externalData: true });
  expect(r.externalDataFile).toBe('resnet.onnx.data');
  return file;
}

/** A model file (external data or not) as one inline protobuf, for byte comparison. */
const inlineBytes = (file: string) => Buffer.from(encodeModel(readModelFile(file, { lazyExternalBytes: Infinity })));

async function runOnce(file: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(file, { logSeverityLevel: 4 });
  try {
    const x = new ort.Tensor('float32', Float32Array.from({ length: 28 * 28 }, (_, i) => ((i * 37) % 101) / 101), [1, 1, 28, 28]);
    const out = await s.run({ [s.inputNames[0]!]: x });
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('large-model path', () => {
  it('keeps external weights in their file and hands sessions references, not bytes', () => {
    const file = externalFixture();
    const weights = fs.statSync(`${file}.data`).size;
    const eager = readModelFile(file);
    expect(hasLazyTensors(eager)).toBe(false);
    process.env.QTOOL_LARGE_MODEL_BYTES = '0';
    const lazy = readModelFile(file);
    expect(hasLazyTensors(lazy)).toBe(true);
    const s = modelWithOutputs(lazy, []);
    expect(typeof s === 'object' && !(s instanceof Uint8Array)).toBe(true);
    const { bytes, externalDataFolder } = s as { bytes: Uint8Array; externalDataFolder: string };
    expect(externalDataFolder).toBe(path.dirname(file));
    expect(bytes.byteLength).toBeLessThan(weights / 4);
    // The same values either way.
    for (const [name, t] of eager.graph.initializers) expect(Buffer.from(lazy.graph.initializers.get(name)!.raw).equals(Buffer.from(t.raw))).toBe(true);
  });

  it('quantizes to the same model and the same verification figures as the in-memory path', async () => {
    const file = externalFixture();
    const dir = path.dirname(file);
    const config = { algo: 'minmax', target: 'ort-cpu', calibCount: 32 } as const;
    const verify = { latency: false };
    const a = await quantize(file, { output: path.join(dir, 'a.onnx'), data, config, verify });
    process.env.QTOOL_LARGE_MODEL_BYTES = '0';
    // Latency too: timed one model after the other on this path.
    const b = await quantize(file, { output: path.join(dir, 'b.onnx'), data, config, verify: { latency: { batchSizes: [1, 8] } } });
    // In memory: one inline protobuf; large model: external data out, as in.
    expect(fs.existsSync(path.join(dir, 'a.onnx.data'))).toBe(false);
    expect(fs.statSync(path.join(dir, 'b.onnx.data')).size).toBeGreaterThan(fs.statSync(path.join(dir, 'b.onnx')).size);
    delete process.env.QTOOL_LARGE_MODEL_BYTES;
    expect(inlineBytes(path.join(dir, 'b.onnx')).equals(inlineBytes(path.join(dir, 'a.onnx')))).toBe(true);
    expect(b.report!.outputs).toEqual(a.report!.outputs);
    expect(b.report!.layers!.tensors.map((t) => [t.tensor, t.ownSqnrDb, t.accumulatedSqnrDb])).toEqual(a.report!.layers!.tensors.map((t) => [t.tensor, t.ownSqnrDb, t.accumulatedSqnrDb]));
    expect(await runOnce(path.join(dir, 'b.onnx'))).toEqual(await runOnce(path.join(dir, 'a.onnx')));
    expect(b.report!.latency!.results.map((r) => r.batch)).toEqual([1, 8]);
    for (const r of b.report!.latency!.results) expect(r.floatMs > 0 && r.quantizedMs > 0 && Number.isFinite(r.speedup)).toBe(true);
  });
});
