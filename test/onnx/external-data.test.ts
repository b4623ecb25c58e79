// External data (TensorProto.data_location = EXTERNAL): locations that leave the model's folder are
// refused, a valid relative file is read, and writeModelFile moves large tensors to a `.data` file
// that onnxruntime loads from the path with the same outputs as the inline model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/errors.js';
import { Graph, Node, Tensor, DataType, type Model } from '../../src/ir/index.js';
import { decodeModelToPlainObject, encodeModel, readModelFile, writeModelFile } from '../../src/onnx/index.js';
import { ModelProtoType } from '../../src/onnx/schema.js';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-extdata-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A model whose one initializer 'w' (float32 [2, 2]) lives in an external file. */
function externalModelBytes(entries: { key: string; value: string }[], extra: Record<string, unknown> = {}): Uint8Array {
  return ModelProtoType.encode({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ input: ['x', 'w'], output: ['y'], op_type: 'Add' }],
      initializer: [{ name: 'w', data_type: DataType.FLOAT, dims: [2, 2], data_location: 1, external_data: entries, ...extra }],
      input: [{ name: 'x', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: 2 }, { dim_value: 2 }] } } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: 2 }, { dim_value: 2 }] } } } }],
    },
  }).finish();
}

const W = new Float32Array([1.5, -2, 0.25, 8]);
const X = new Float32Array([1, 2, 3, 4]);

async function runOrt(model: string | Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Buffer>> {
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const r = await s.run(feeds);
    const out: Record<string, Buffer> = {};
    for (const name of s.outputNames) {
      const d = r[name]!.data as Float32Array;
      out[name] = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    }
    return out;
  } finally {
    await s.release();
  }
}

describe('reading external data', () => {
  for (const [what, location] of [
    ['a parent-folder path', '../x.bin'],
    ['a nested escape', 'sub/../../x.bin'],
    ['an absolute path', path.join(os.tmpdir(), 'x.bin')],
  ] as const) {
    it(`refuses ${what} with a UserInputError naming the tensor`, () => {
      const dir = tmpDir();
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, externalModelBytes([{ key: 'location', value: location }]));
      let err: unknown;
      try {
        readModelFile(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserInputError);
      expect((err as Error).message).toContain("tensor 'w'");
      expect((err as Error).message).toContain(location);
    });
  }

  it('reads a valid relative file at its offset and length, and runs the same in onnxruntime', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'weights'));
    const data = Buffer.concat([Buffer.from('8 bytes!'), Buffer.from(W.buffer), Buffer.from('tail')]);
    fs.writeFileSync(path.join(dir, 'weights', 'w.bin'), data);
    const file = path.join(dir, 'model.onnx');
    fs.writeFileSync(file, externalModelBytes(
      [{ key: 'location', value: 'weights/w.bin' }, { key: 'offset', value: '8' }, { key: 'length', value: '16' }],
      { doc_string: 'kept', metadata_props: [{ key: 'origin', value: 'external' }] },
    ));
    const model = readModelFile(file);
    const w = model.graph.initializers.get('w')!;
    expect([...w.toFloat32()]).toEqual([...W]);

    // Written back without an external file, the data is inline and the tensor's other fields stay.
    const inline = encodeModel(model);
    const t = (decodeModelToPlainObject(inline) as any).graph.initializer[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(t.raw_data).toBe(`b:${Buffer.from(W.buffer).toString('hex')}`);
    expect(t.external_data).toBeUndefined();
    expect(t.data_location).toBeUndefined();
    expect(t.doc_string).toBe('kept');
    expect(t.metadata_props).toEqual([{ key: 'origin', value: 'external' }]);

    const feeds = { x: new ort.Tensor('float32', X, [2, 2]) };
    const fromPath = await runOrt(file, feeds);
    const fromInline = await runOrt(inline, feeds);
    expect(fromPath.y!.equals(fromInline.y!)).toBe(true);
    expect([...new Float32Array(new Uint8Array(fromInline.y!).buffer)]).toEqual([2.5, 0, 3.25, 12]);
  });

  it('refuses a missing or short external file with a UserInputError', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'model.onnx');
    fs.writeFileSync(file, externalModelBytes([{ key: 'location', value: 'missing.bin' }]));
    expect(() => readModelFile(file)).toThrow(UserInputError);
    fs.writeFileSync(path.join(dir, 'short.bin'), Buffer.alloc(10));
    fs.writeFileSync(file, externalModelBytes([{ key: 'location', value: 'short.bin' }]));
    expect(() => readModelFile(file)).toThrow(/truncated/);
    fs.writeFileSync(file, externalModelBytes([{ key: 'location', value: 'short.bin' }, { key: 'offset', value: 'x' }]));
    expect(() => readModelFile(file)).toThrow(UserInputError);
  });
});

describe('writing external data', () => {
  // y = x · w with w float32 [16, 32] (2 KiB, over the 1 KiB minimum for moving a tensor out).
  function matMulModel(): Model {
    const w = new Float32Array(16 * 32);
    for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.37) * 3;
    const graph = new Graph({
      name: 'mm',
      nodes: [new Node({ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] })],
      initializers: [Tensor.fromFloat32('w', [16, 32], w)],
      inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['N', 16] }],
      outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['N', 32] }],
    });
    return {
      irVersion: 8, opsets: [{ domain: '', version: 13 }], producerName: 't', producerVersion: '', metadata: [],
      graph, functions: [], source: undefined,
    };
  }

  it('moves tensors to a .data file under a lowered threshold; the model re-reads and runs the same', async () => {
    const dir = tmpDir();
    const model = matMulModel();
    const inlineFile = path.join(dir, 'inline.onnx');
    const extFile = path.join(dir, 'ext.onnx');
    const inlineResult = writeModelFile(model, inlineFile);
    expect(inlineResult.externalDataFile).toBeUndefined();
    const result = writeModelFile(model, extFile, { externalDataThreshold: 1024 });
    expect(result.externalDataFile).toBe('ext.onnx.data');
    const dataFile = path.join(dir, 'ext.onnx.data');
    expect(fs.statSync(dataFile).size).toBe(16 * 32 * 4);
    expect(fs.statSync(extFile).size).toBeLessThan(1024);

    // The protobuf points at the file; no data is inline.
    const w = (decodeModelToPlainObject(fs.readFileSync(extFile)) as any).graph.initializer[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(w.data_location).toBe(1);
    expect(w.raw_data).toBeUndefined();
    expect(w.external_data).toContainEqual({ key: 'location', value: 'ext.onnx.data' });

    const reread = readModelFile(extFile);
    const original = model.graph.initializers.get('w')!;
    expect(Buffer.from(reread.graph.initializers.get('w')!.raw).equals(Buffer.from(original.raw))).toBe(true);
    expect(reread.graph.initializers.get('w')!.dims).toEqual([16, 32]);

    const x = new Float32Array(3 * 16).map((_, i) => (i % 7) - 3);
    const feeds = { x: new ort.Tensor('float32', x, [3, 16]) };
    const fromExt = await runOrt(extFile, feeds);
    const fromInline = await runOrt(inlineFile, feeds);
    const fromBytes = await runOrt(encodeModel(model), feeds);
    expect(fromExt.y!.length).toBe(3 * 32 * 4);
    expect(fromExt.y!.equals(fromInline.y!)).toBe(true);
    expect(fromExt.y!.equals(fromBytes.y!)).toBe(true);

    // Read from the external version and written inline again: same bytes as the inline file.
    const again = path.join(dir, 'again.onnx');
    writeModelFile(reread, again);
    expect(fs.existsSync(`${again}.data`)).toBe(false);
    expect(Buffer.from(readModelFile(again).graph.initializers.get('w')!.raw).equals(Buffer.from(original.raw))).toBe(true);
    expect((await runOrt(again, feeds)).y!.equals(fromInline.y!)).toBe(true);

    // A model read from a file (tensors keep their decoded message) moves out the same way.
    const fromFile = path.join(dir, 'from-file.onnx');
    expect(writeModelFile(readModelFile(inlineFile), fromFile, { externalDataThreshold: 1024 }).externalDataFile).toBe('from-file.onnx.data');
    const w2 = (decodeModelToPlainObject(fs.readFileSync(fromFile)) as any).graph.initializer[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(w2.raw_data).toBeUndefined();
    expect(w2.name).toBe('w');
    expect(Buffer.from(readModelFile(fromFile).graph.initializers.get('w')!.raw).equals(Buffer.from(original.raw))).toBe(true);
    expect((await runOrt(fromFile, feeds)).y!.equals(fromInline.y!)).toBe(true);
  });
});

describe('sessions for models past the 2 GB protobuf limit', () => {
  it('modelWithOutputs writes a temporary model with external data that onnxruntime opens by path', async () => {
    const { GraphBuilder } = await import('../../src/ir/index.js');
    const { modelWithOutputs } = await import('../../src/onnx/index.js');
    const { Session } = await import('../../src/runtime/index.js');
    const b = new GraphBuilder();
    const x = b.input('x', [1, 64]);
    const h = b.op1('MatMul', [x, b.randomInit('w1', [64, 64])]);
    b.output(b.op1('Relu', [b.op1('MatMul', [h, b.randomInit('w2', [64, 8])])]));
    const model = b.model();
    const small = modelWithOutputs(model, [h]);
    const large = modelWithOutputs(model, [h], { externalDataThreshold: 1000 });
    expect(small).toBeInstanceOf(Uint8Array);
    expect(typeof large).toBe('string');
    expect(fs.existsSync(`${large}.data`)).toBe(true);
    expect(model.graph.outputs).toHaveLength(1);
    const feeds = { x: { dtype: 1, dims: [1, 64], data: Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)) } };
    const [a, c] = [await (await Session.open(small)).run(feeds, [h]), await (await Session.open(large)).run(feeds, [h])];
    expect(Buffer.from((c[h]!.data as Float32Array).buffer).equals(Buffer.from((a[h]!.data as Float32Array).buffer))).toBe(true);
  });
});
