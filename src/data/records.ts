// A record is the unit a data folder is read in: the files that together give every model input
// the same samples (one .npy, one .npz, one test_data_set_N folder, or the N-th file of each
// per-input sub-folder). `peek` reads as little as the format allows; `open` gives readable sources.
import path from 'node:path';
import fs from 'node:fs/promises';
import { UserInputError } from '../errors.js';
import { DataType, type ValueInfo } from '../ir/index.js';
import { memorySource, type ArrayMeta, type ArraySource } from './arrays.js';
import { loadImage } from './image.js';
import { peekNpyFile, openNpyFile, type NpyHeader } from './npy.js';
import { readNpzFile } from './npz.js';
import { readTensorFile } from './pb.js';
import type { ImagePlan } from './preprocess.js';

export interface DataRecord {
  /** Files this record reads, in order. */
  readonly files: readonly string[];
  /** Input name → what its array is; an image's dims are undefined (one sample, shape after decoding). */
  peek(): Promise<Map<string, ArrayMeta>>;
  /** Input name → a readable array. The caller closes the sources. */
  open(): Promise<Map<string, ArraySource>>;
}

/** A .npy file: the header the count pass peeks at is kept (a few numbers), so reading opens the file once more for its data only. */
export function npyRecord(file: string, input: ValueInfo): DataRecord {
  let header: NpyHeader | undefined;
  return {
    files: [file],
    peek: async () => {
      header = peekNpyFile(file);
      return new Map([[input.name, { file, dtype: header.dtype, dims: header.dims }]]);
    },
    open: async () => new Map([[input.name, openNpyFile(file, header)]]),
  };
}

export function pbRecord(file: string, input: ValueInfo): DataRecord {
  const open = async () => new Map([[input.name, (await readTensorFile(file)).source]]);
  return { files: [file], peek: open, open };
}

export function imageRecord(file: string, input: ValueInfo, plan: ImagePlan): DataRecord {
  return {
    files: [file],
    peek: async () => new Map([[input.name, { file, dtype: DataType.FLOAT }]]),
    open: async () => {
      const { dims, data } = await loadImage(file, plan);
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return new Map([[input.name, memorySource({ file, dtype: DataType.FLOAT, dims }, bytes)]]);
    },
  };
}

function names(inputs: readonly ValueInfo[]): string {
  return inputs.map((i) => `'${i.name}'`).join(', ');
}

/**
 * Keys are input names. A single-input model also takes an archive holding exactly one array
 * under any key (numpy.savez(f, a) names it 'arr_0').
 */
export function npzRecord(file: string, inputs: readonly ValueInfo[]): DataRecord {
  const open = async () => {
    const arrays = await readNpzFile(file);
    if (inputs.length === 1 && arrays.size === 1 && !arrays.has(inputs[0]!.name)) {
      return new Map([[inputs[0]!.name, [...arrays.values()][0]!]]);
    }
    const known = new Set(inputs.map((i) => i.name));
    const extra = [...arrays.keys()].filter((k) => !known.has(k));
    const missing = inputs.filter((i) => !arrays.has(i.name));
    if (extra.length > 0 || missing.length > 0) {
      const what = missing.length > 0 ? `no array for input ${names(missing)}` : `unknown key${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')}`;
      throw new UserInputError(`${file}: ${what}; the .npz keys must be the model inputs: ${names(inputs)}`);
    }
    return arrays;
  };
  return { files: [file], peek: open, open };
}

/** `input_K.pb` files sorted by K. */
async function testSetFiles(dir: string): Promise<{ file: string; k: number }[]> {
  const entries = await fs.readdir(dir);
  const found = entries.flatMap((name) => {
    const m = /^input_(\d+)\.pb$/.exec(name);
    return m ? [{ file: path.join(dir, name), k: Number(m[1]) }] : [];
  });
  if (found.length === 0) throw new UserInputError(`${dir}: no input_K.pb files in this test data set`);
  return found.sort((a, b) => a.k - b.k);
}

/**
 * An ONNX test data set folder: `input_K.pb` feeds the input its tensor names, or else the K-th
 * model input. Output files (`output_K.pb`) are ignored.
 */
export function testSetRecord(dir: string, inputs: readonly ValueInfo[]): DataRecord {
  const open = async () => {
    const out = new Map<string, ArraySource>();
    for (const { file, k } of await testSetFiles(dir)) {
      const { name, source } = await readTensorFile(file);
      const input = inputs.find((i) => i.name === name) ?? inputs[k];
      if (!input) throw new UserInputError(`${file}: the model has only ${inputs.length} input(s) (${names(inputs)}) and the tensor is named '${name}'`);
      if (out.has(input.name)) throw new UserInputError(`${file}: input '${input.name}' is given twice in ${dir}`);
      out.set(input.name, source);
    }
    const missing = inputs.filter((i) => !out.has(i.name));
    if (missing.length > 0) throw new UserInputError(`${dir}: no tensor for input ${names(missing)}`);
    return out;
  };
  return { files: [dir], peek: open, open };
}

/** The N-th file of each per-input sub-folder, taken together. */
export function zipRecord(parts: readonly DataRecord[]): DataRecord {
  return {
    files: parts.flatMap((p) => p.files),
    peek: async () => {
      const out = new Map<string, ArrayMeta>();
      for (const part of parts) for (const [k, v] of await part.peek()) out.set(k, v);
      return out;
    },
    open: async () => {
      const out = new Map<string, ArraySource>();
      try {
        for (const part of parts) for (const [k, v] of await part.open()) out.set(k, v);
      } catch (e) {
        closeAll(out.values());
        throw e;
      }
      return out;
    },
  };
}

export function closeAll(sources: Iterable<ArraySource>): void {
  for (const s of sources) s.close();
}
