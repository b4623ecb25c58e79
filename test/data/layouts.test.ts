import fs from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { describe, it, expect } from 'vitest';
import { openDataFolder, countSamples } from '../../src/data/index.js';
import { DataType, type ValueInfo } from '../../src/ir/index.js';
import { TensorProtoType } from '../../src/onnx/schema.js';
import { collect, concat, errorOf, npyBytes, ramp, tmpDir, writeNpy } from './helpers.js';

// A two-input model: an image-like tensor and a vector, both with a symbolic batch dim.
const A: ValueInfo = { name: 'a', elemType: DataType.FLOAT, shape: ['N', 2, 3] };
const B: ValueInfo = { name: 'b', elemType: DataType.INT64, shape: ['N', 4] };
const ONE: ValueInfo = { name: 'x', elemType: DataType.FLOAT, shape: ['N', 3] };

function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function ints(n: number, base: number): BigInt64Array {
  return BigInt64Array.from({ length: n }, (_, i) => BigInt(base + i));
}
function writeNpz(file: string, members: Record<string, Uint8Array>, level: 0 | 6 = 6): void {
  fs.writeFileSync(file, zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [`${k}.npy`, v])), { level }));
}
function tensorPb(opts: { name?: string; dims: number[]; dtype: number; raw?: Uint8Array; floats?: number[] }): Uint8Array {
  const msg = TensorProtoType.create({ name: opts.name ?? '', dims: opts.dims, data_type: opts.dtype, ...(opts.raw ? { raw_data: opts.raw } : {}) });
  const head = TensorProtoType.encode(msg).finish();
  if (!opts.floats) return head;
  // float_data (field 4, packed) written by hand: tag 0x22, byte length, little-endian float32s.
  const body = bytesOf(Float32Array.from(opts.floats));
  return Uint8Array.from([...head, 0x22, body.length, ...body]);
}
const bigints = (b: { data: unknown }) => Array.from(b.data as BigInt64Array, Number);

describe('.npz archives', () => {
  it('feeds a two-input model from keys named as the inputs, deflated or stored', async () => {
    const dir = tmpDir();
    writeNpz(path.join(dir, 's0.npz'), { a: npyBytes('<f4', [2, 2, 3], ramp(12)), b: npyBytes('<i8', [2, 4], ints(8, 0)) });
    writeNpz(path.join(dir, 's1.npz'), { b: npyBytes('<i8', [4], ints(4, 100)), a: npyBytes('<f4', [2, 3], ramp(6, 50)) }, 0);
    const src = await openDataFolder(dir, { inputs: [A, B], batchSize: 2 });
    expect(src.sampleCount).toBe(3);
    const batches = await collect(src);
    expect(batches.map((b) => [b.a!.dims, b.b!.dims])).toEqual([[[2, 2, 3], [2, 4]], [[1, 2, 3], [1, 4]]]);
    expect(concat(batches, 'a')).toEqual([...Array.from(ramp(12)), ...Array.from(ramp(6, 50))]);
    expect([...bigints(batches[0]!.b!), ...bigints(batches[1]!.b!)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103]);
    expect(batches[0]!.b!.dtype).toBe(DataType.INT64);
  });

  it('names a missing or unknown key and an unequal sample count', async () => {
    const dir = tmpDir();
    writeNpz(path.join(dir, 'x.npz'), { a: npyBytes('<f4', [2, 3], ramp(6)), c: npyBytes('<i8', [4], ints(4, 0)) });
    expect(await errorOf(() => openDataFolder(dir, { inputs: [A, B] }))).toBe(
      `${path.join(dir, 'x.npz')}: no array for input 'b'; the .npz keys must be the model inputs: 'a', 'b'`,
    );
    const d2 = tmpDir();
    writeNpz(path.join(d2, 'x.npz'), { a: npyBytes('<f4', [3, 2, 3], ramp(18)), b: npyBytes('<i8', [2, 4], ints(8, 0)) });
    expect(await errorOf(() => openDataFolder(d2, { inputs: [A, B] }))).toMatch(/x\.npz: input 'b' has 2 samples but 'a' has 3/);
    const d3 = tmpDir();
    writeNpz(path.join(d3, 'x.npz'), { a: npyBytes('<f4', [2, 3], ramp(6)), b: npyBytes('<i4', [4], Int32Array.from([1, 2, 3, 4])) });
    expect(await errorOf(() => openDataFolder(d3, { inputs: [A, B] }))).toBe(
      `${path.join(d3, 'x.npz')}: input 'b' expects int64 [N,4], found int32 [4] (save the data as int64)`,
    );
  });

  it('takes a lone arr_0 for a single-input model', async () => {
    const dir = tmpDir();
    writeNpz(path.join(dir, 'x.npz'), { arr_0: npyBytes('<f4', [2, 3], ramp(6)) });
    expect(concat(await collect(await openDataFolder(dir, { inputs: [ONE] })), 'x')).toEqual(Array.from(ramp(6)));
  });
});

describe('TensorProto .pb files', () => {
  it('reads raw_data and float_data tensors as samples', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, '0.pb'), tensorPb({ dims: [2, 3], dtype: DataType.FLOAT, raw: bytesOf(ramp(6)) }));
    fs.writeFileSync(path.join(dir, '1.pb'), tensorPb({ dims: [3], dtype: DataType.FLOAT, floats: [7.5, -1, 0.25] }));
    const src = await openDataFolder(dir, { inputs: [ONE], batchSize: 3 });
    expect(src.sampleCount).toBe(3);
    const [batch] = await collect(src);
    expect(batch!.x!.dims).toEqual([3, 3]);
    expect(Array.from(batch!.x!.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5, 7.5, -1, 0.25]);
  });

  it('reads test_data_set_N/input_K.pb by tensor name, else by position, in numeric set order', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'model.onnx'), 'not read');
    for (const n of [0, 1, 2, 10]) {
      const set = path.join(dir, `test_data_set_${n}`);
      fs.mkdirSync(set);
      // Set 1 names its tensors in reverse file order; the others are unnamed.
      const named = n === 1;
      fs.writeFileSync(path.join(set, 'input_0.pb'), tensorPb({ name: named ? 'b' : '', dims: [1, 4], dtype: DataType.INT64, raw: bytesOf(ints(4, n * 10)) }));
      fs.writeFileSync(path.join(set, 'input_1.pb'), tensorPb({ name: named ? 'a' : '', dims: [1, 2, 3], dtype: DataType.FLOAT, raw: bytesOf(ramp(6, n)) }));
      if (!named) {
        fs.renameSync(path.join(set, 'input_0.pb'), path.join(set, 'input_1.tmp'));
        fs.renameSync(path.join(set, 'input_1.pb'), path.join(set, 'input_0.pb'));
        fs.renameSync(path.join(set, 'input_1.tmp'), path.join(set, 'input_1.pb'));
      }
      fs.writeFileSync(path.join(set, 'output_0.pb'), tensorPb({ dims: [1], dtype: DataType.FLOAT, raw: bytesOf(ramp(1)) }));
    }
    const src = await openDataFolder(dir, { inputs: [A, B] });
    expect(src.files.map((f) => path.basename(f))).toEqual(['test_data_set_0', 'test_data_set_1', 'test_data_set_2', 'test_data_set_10']);
    const batches = await collect(src);
    expect(batches.map((b) => (b.a!.data as Float32Array)[0])).toEqual([0, 1, 2, 10]);
    expect(batches.map((b) => bigints(b.b!)[0])).toEqual([0, 10, 20, 100]);
  });

  it('rejects a malformed .pb with the file name', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'bad.pb'), Uint8Array.from([0x0a, 0xff, 0xff, 0xff]));
    expect(await errorOf(() => openDataFolder(dir, { inputs: [ONE] }))).toMatch(/bad\.pb: not a valid ONNX TensorProto/);
  });
});

describe('one sub-folder per input', () => {
  it('zips the files of each sub-folder by position', async () => {
    const dir = tmpDir();
    for (let i = 0; i < 3; i++) {
      writeNpy(path.join(dir, 'a', `s${i}.npy`), '<f4', [2, 3], ramp(6, i * 100));
      fs.mkdirSync(path.join(dir, 'b'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'b', `t${i}.pb`), tensorPb({ dims: [4], dtype: DataType.INT64, raw: bytesOf(ints(4, i * 100)) }));
    }
    fs.writeFileSync(path.join(dir, 'b', '.DS_Store'), '');
    const src = await openDataFolder(dir, { inputs: [A, B], batchSize: 2 });
    expect(src.sampleCount).toBe(3);
    const batches = await collect(src);
    const firstA = batches.flatMap((b) => [0, 1].slice(0, b.a!.dims[0]).map((k) => (b.a!.data as Float32Array)[k * 6]));
    const firstB = batches.flatMap((b) => [0, 1].slice(0, b.b!.dims[0]).map((k) => bigints(b.b!)[k * 4]));
    expect(firstA).toEqual([0, 100, 200]);
    expect(firstB).toEqual([0, 100, 200]);
  });

  it.runIf(fs.existsSync('/proc/self/fd'))('closes the files it opened when a later part of the record fails', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a', '0.npy'), '<f4', [2, 3], ramp(6));
    writeNpy(path.join(dir, 'b', '0.npy'), '<i8', [4], ints(4, 0));
    const src = await openDataFolder(dir, { inputs: [A, B] });
    fs.rmSync(path.join(dir, 'b', '0.npy'));
    const before = fs.readdirSync('/proc/self/fd').length;
    expect(await errorOf(() => collect(src))).toMatch(/b\/0\.npy: cannot read \(ENOENT\)/);
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('fails when the sub-folders hold different numbers of files, or one is missing', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a', '0.npy'), '<f4', [2, 3], ramp(6));
    writeNpy(path.join(dir, 'a', '1.npy'), '<f4', [2, 3], ramp(6));
    writeNpy(path.join(dir, 'b', '0.npy'), '<i8', [4], ints(4, 0));
    expect(await errorOf(() => openDataFolder(dir, { inputs: [A, B] }))).toBe(
      `${dir}: the per-input sub-folders hold different numbers of files ('a' has 2, 'b' has 1); each needs one file per sample position`,
    );
    fs.rmSync(path.join(dir, 'b'), { recursive: true });
    expect(await errorOf(() => openDataFolder(dir, { inputs: [A, B] }))).toMatch(/no sub-folder for input 'b'/);
    fs.mkdirSync(path.join(dir, 'c'));
    expect(await errorOf(() => openDataFolder(dir, { inputs: [A, B] }))).toMatch(/unexpected sub-folder 'c'; use one sub-folder per model input \('a', 'b'\)/);
  });
});

describe('folder errors and order', () => {
  it('names a missing folder, an empty folder, unknown files and mixed formats', async () => {
    const dir = tmpDir();
    expect(await errorOf(() => openDataFolder(path.join(dir, 'nope'), { inputs: [ONE] }))).toBe(`${path.join(dir, 'nope')}: data folder not found`);
    fs.writeFileSync(path.join(dir, '.hidden'), '');
    fs.writeFileSync(path.join(dir, 'README.md'), '');
    fs.writeFileSync(path.join(dir, 'labels.json'), '[]');
    expect(await errorOf(() => openDataFolder(dir, { inputs: [ONE] }))).toMatch(/: the folder has no data files/);
    fs.writeFileSync(path.join(dir, 'notes.txt'), '');
    fs.writeFileSync(path.join(dir, 'data.csv'), '');
    writeNpy(path.join(dir, 'a.npy'), '<f4', [3], ramp(3));
    expect(await errorOf(() => openDataFolder(dir, { inputs: [ONE] }))).toBe(
      `${dir}: unknown file types 'data.csv', 'notes.txt'; data files are .npy, .npz, .pb (TensorProto), .png or .jpg`,
    );
    fs.rmSync(path.join(dir, 'notes.txt'));
    fs.rmSync(path.join(dir, 'data.csv'));
    fs.writeFileSync(path.join(dir, 'b.pb'), tensorPb({ dims: [3], dtype: DataType.FLOAT, raw: bytesOf(ramp(3)) }));
    expect(await errorOf(() => openDataFolder(dir, { inputs: [ONE] }))).toBe(`${dir}: mixes formats (1 .npy, 1 .pb files); keep one format per folder`);
  });

  it('rejects .npy files for a multi-input model', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a.npy'), '<f4', [2, 3], ramp(6));
    expect(await errorOf(() => openDataFolder(dir, { inputs: [A, B] }))).toMatch(/inputs 'a', 'b', and \.npy files hold one array each; use \.npz/);
  });

  it('orders by file-name bytes; renaming reorders the same samples deterministically', async () => {
    const dir = tmpDir();
    // Byte order: uppercase before lowercase, '10' before '9' (no locale or numeric collation).
    const names = ['b.npy', 'B.npy', 'a10.npy', 'a9.npy', 'é.npy'];
    names.forEach((n, i) => writeNpy(path.join(dir, n), '<f4', [3], ramp(3, i * 10)));
    const firsts = async () => {
      const src = await openDataFolder(dir, { inputs: [ONE] });
      return { files: src.files.map((f) => path.basename(f)), values: (await collect(src)).map((b) => (b.x!.data as Float32Array)[0]) };
    };
    const before = await firsts();
    expect(before.files).toEqual(['B.npy', 'a10.npy', 'a9.npy', 'b.npy', 'é.npy']);
    expect(before.values).toEqual([10, 20, 30, 0, 40]);
    fs.renameSync(path.join(dir, 'é.npy'), path.join(dir, '0.npy'));
    fs.renameSync(path.join(dir, 'a9.npy'), path.join(dir, 'z.npy'));
    const after = await firsts();
    expect(after.files).toEqual(['0.npy', 'B.npy', 'a10.npy', 'b.npy', 'z.npy']);
    expect(after.values).toEqual([40, 10, 20, 0, 30]);
    expect([...after.values].sort()).toEqual([...before.values].sort());
    expect(await countSamples(dir, { inputs: [ONE], count: 4 })).toBe(4);
  });

  it('accepts a path to a single data file', async () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'all.npy'), '<f4', [5, 3], ramp(15));
    const src = await openDataFolder(path.join(dir, 'all.npy'), { inputs: [ONE], batchSize: 5 });
    expect(src.sampleCount).toBe(5);
    expect(concat(await collect(src), 'x')).toEqual(Array.from(ramp(15)));
  });
});
