import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { openDataFolder, countSamples } from '../../src/data/index.js';
import { DataType, type ValueInfo } from '../../src/ir/index.js';
import { readModelFile } from '../../src/onnx/index.js';
import { collect, concat, errorOf, ramp, tmpDir, writeNpy } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CALIB = path.join(ROOT, 'calibration-data/mnist');
const MNIST: ValueInfo = { name: 'input', elemType: DataType.FLOAT, shape: ['N', 1, 28, 28] };

/** An independent reading of a v1 .npy of float32: header length at bytes 8–9, data after it. */
function rawFloats(file: string): Float32Array {
  const b = fs.readFileSync(file);
  const start = 10 + b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.byteLength));
}

describe('the mnist calibration folder', () => {
  const files = fs.readdirSync(CALIB).filter((f) => f.endsWith('.npy')).sort();

  it('uses the real model input and finds 200 samples', async () => {
    const inputs = readModelFile(path.join(ROOT, 'fixtures/mnist/lenet_bn.onnx')).graph.feedInputs();
    expect(inputs.map((i) => i.name)).toEqual(['input']);
    const src = await openDataFolder(CALIB, { inputs });
    expect(files).toHaveLength(200);
    expect(src.sampleCount).toBe(200);
    expect(src.files.map((f) => path.basename(f))).toEqual(files);
    expect(await countSamples(CALIB, { inputs })).toBe(200);
  });

  it('yields the raw .npy values, one sample per batch, in file order', async () => {
    const batches = await collect(await openDataFolder(CALIB, { inputs: [MNIST] }));
    expect(batches).toHaveLength(200);
    for (const k of [0, 1, 57, 199]) {
      const t = batches[k]!.input!;
      expect(t.dtype).toBe(DataType.FLOAT);
      expect(t.dims).toEqual([1, 1, 28, 28]);
      expect(Array.from(t.data as Float32Array)).toEqual(Array.from(rawFloats(path.join(CALIB, files[k]!))));
    }
  });

  it('batches of 14 concatenate to the single-sample stream', async () => {
    const single = await collect(await openDataFolder(CALIB, { inputs: [MNIST] }));
    const batched = await collect(await openDataFolder(CALIB, { inputs: [MNIST], batchSize: 14 }));
    expect(batched).toHaveLength(Math.ceil(200 / 14));
    expect(batched.slice(0, -1).every((b) => b.input!.dims[0] === 14)).toBe(true);
    expect(batched.at(-1)!.input!.dims).toEqual([200 % 14, 1, 28, 28]);
    expect(batched[0]!.input!.data).toBeInstanceOf(Float32Array);
    expect(concat(batched, 'input')).toEqual(concat(single, 'input'));
  });

  it('count takes the first N samples in order', async () => {
    const src = await openDataFolder(CALIB, { inputs: [MNIST], count: 30, batchSize: 8 });
    expect(src.sampleCount).toBe(30);
    expect(src.files).toHaveLength(30);
    const batches = await collect(src);
    expect(batches.map((b) => b.input!.dims[0])).toEqual([8, 8, 8, 6]);
    const expected = files.slice(0, 30).flatMap((f) => Array.from(rawFloats(path.join(CALIB, f))));
    expect(concat(batches, 'input')).toEqual(expected);
  });

  it('can be iterated twice with the same result', async () => {
    const src = await openDataFolder(CALIB, { inputs: [MNIST], count: 5, batchSize: 2 });
    expect(concat(await collect(src), 'input')).toEqual(concat(await collect(src), 'input'));
  });
});

describe('.npy files', () => {
  it('splits a file of the input rank along axis 0 and takes a file one rank lower as one sample', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a.npy'), '<f4', [10, 1, 28, 28], ramp(10 * 784));
    writeNpy(path.join(dir, 'b.npy'), '<f4', [1, 28, 28], ramp(784, 1e5));
    const src = await openDataFolder(dir, { inputs: [MNIST], batchSize: 4 });
    expect(src.sampleCount).toBe(11);
    const batches = await collect(src);
    expect(batches.map((b) => b.input!.dims)).toEqual([[4, 1, 28, 28], [4, 1, 28, 28], [3, 1, 28, 28]]);
    expect(concat(batches, 'input')).toEqual([...Array.from(ramp(7840)), ...Array.from(ramp(784, 1e5))]);
  });

  it('count stops inside a multi-sample file', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a.npy'), '<f4', [10, 1, 28, 28], ramp(10 * 784));
    writeNpy(path.join(dir, 'b.npy'), '<f4', [10, 1, 28, 28], ramp(10 * 784));
    const src = await openDataFolder(dir, { inputs: [MNIST], count: 3 });
    expect(src.files).toEqual([path.join(dir, 'a.npy')]);
    expect(concat(await collect(src), 'input')).toEqual(Array.from(ramp(3 * 784)));
  });

  it('reads big-endian data, format 2.0 headers, and integer types', async () => {
    const dir = tmpDir();
    const values = Float32Array.from([1.5, -2.25, 0.125, 65504]);
    writeNpy(path.join(dir, 'be.npy'), '>f4', [2, 2], values);
    writeNpy(path.join(dir, 'v2.npy'), '<f4', [1, 2], values.subarray(0, 2), { version: 2 });
    const input: ValueInfo = { name: 'x', elemType: DataType.FLOAT, shape: [null, 2] };
    expect(concat(await collect(await openDataFolder(dir, { inputs: [input] })), 'x')).toEqual([1.5, -2.25, 0.125, 65504, 1.5, -2.25]);

    const idir = tmpDir();
    writeNpy(path.join(idir, 'ids.npy'), '>i8', [2, 3], BigInt64Array.from([1n, -2n, 3n, 4n, 5n, 2n ** 40n]));
    const ids: ValueInfo = { name: 'ids', elemType: DataType.INT64, shape: ['batch', 3] };
    const [batch] = await collect(await openDataFolder(idir, { inputs: [ids], batchSize: 2 }));
    expect(batch!.ids!.data).toEqual(BigInt64Array.from([1n, -2n, 3n, 4n, 5n, 2n ** 40n]));

    const u8 = tmpDir();
    writeNpy(path.join(u8, 'img.npy'), '|u1', [2, 2], Uint8Array.from([0, 255, 7, 128]));
    const [b8] = await collect(await openDataFolder(u8, { inputs: [{ name: 'p', elemType: DataType.UINT8, shape: [null, 2, 2] }] }));
    expect(b8!.p!.dims).toEqual([1, 2, 2]);
    expect(Array.from(b8!.p!.data as Uint8Array)).toEqual([0, 255, 7, 128]);
  });

  it('reports a dtype mismatch naming file, input, expected and found, with a hint', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, '0003.npy'), '<f8', [1, 1, 28, 28], new Float64Array(784));
    const msg = await errorOf(() => openDataFolder(dir, { inputs: [MNIST] }));
    expect(msg).toBe(`${path.join(dir, '0003.npy')}: input 'input' expects float32 [N,1,28,28], found float64 [1,1,28,28] (save the data as float32)`);
  });

  it('reports a shape or rank mismatch on one line', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a.npy'), '<f4', [1, 3, 28, 28], new Float32Array(3 * 784));
    const msg = await errorOf(() => openDataFolder(dir, { inputs: [MNIST] }));
    expect(msg).toBe(`${path.join(dir, 'a.npy')}: input 'input' expects float32 [N,1,28,28], found float32 [1,3,28,28]`);
    expect(msg).not.toContain('\n');

    const r = tmpDir();
    writeNpy(path.join(r, 'flat.npy'), '<f4', [784], new Float32Array(784));
    expect(await errorOf(() => openDataFolder(r, { inputs: [MNIST] }))).toBe(
      `${path.join(r, 'flat.npy')}: input 'input' expects float32 [N,1,28,28], found float32 [784]`,
    );
  });

  it('rejects fortran order, unsupported dtypes and truncated files', async () => {
    const input: ValueInfo = { name: 'x', elemType: DataType.FLOAT, shape: [null, 2] };
    const f = tmpDir();
    writeNpy(path.join(f, 'f.npy'), '<f4', [2, 2], new Float32Array(4), { fortran: true });
    expect(await errorOf(() => openDataFolder(f, { inputs: [input] }))).toMatch(/f\.npy: the array is in Fortran order; .*ascontiguousarray/);

    const c = tmpDir();
    writeNpy(path.join(c, 'c.npy'), '<c8', [1, 2], new Float32Array(4));
    expect(await errorOf(() => openDataFolder(c, { inputs: [input] }))).toMatch(/c\.npy: unsupported numpy dtype '<c8'/);

    const t = tmpDir();
    writeNpy(path.join(t, 't.npy'), '<f4', [4, 2], new Float32Array(8));
    const full = fs.readFileSync(path.join(t, 't.npy'));
    fs.writeFileSync(path.join(t, 't.npy'), full.subarray(0, full.length - 4));
    expect(await errorOf(() => openDataFolder(t, { inputs: [input] }))).toMatch(/t\.npy: truncated \.npy data/);
  });

  it('rejects a batch size that a fixed batch dim forbids, and bad options', async () => {
    const fixed: ValueInfo = { name: 'input', elemType: DataType.FLOAT, shape: [1, 1, 28, 28] };
    expect(await errorOf(() => openDataFolder(CALIB, { inputs: [fixed], batchSize: 8 }))).toMatch(/fixes the batch size to 1; use --batch-size 1/);
    expect((await openDataFolder(CALIB, { inputs: [fixed], count: 3 })).sampleCount).toBe(3);
    expect(await errorOf(() => openDataFolder(CALIB, { inputs: [MNIST], batchSize: 0 }))).toMatch(/batch size must be a whole number/);
    expect(await errorOf(() => openDataFolder(CALIB, { inputs: [MNIST], count: 2.5 }))).toMatch(/sample count must be a whole number/);
  });

  it.runIf(fs.existsSync('/proc/self/fd'))('closes the file when the consumer stops early', async () => {
    const openFds = () => fs.readdirSync('/proc/self/fd').length;
    const dir = tmpDir();
    writeNpy(path.join(dir, 'big.npy'), '<f4', [10, 1, 28, 28], ramp(7840));
    const src = await openDataFolder(dir, { inputs: [MNIST], batchSize: 3 });
    const before = openFds();
    const it = src.batches()[Symbol.asyncIterator]();
    expect((await it.next()).value!.input!.dims).toEqual([3, 1, 28, 28]);
    expect(openFds()).toBe(before + 1);
    await it.return!();
    expect(openFds()).toBe(before);
  });
});
