// Inputs that are not batched samples: a scalar sample rate, a recurrent state fed back between
// calls, a mask of another shape. Each gets one value for every batch, from
//   --fixed-input name=file.npy   a stored array, fed as it is
//   --fixed-input name=16000      a literal, in the input's element type and shape
//   --fixed-input name=zeros      zeros of the input's shape (a recurrent state's first call)
// or from a file <data>/fixed/<name>.npy beside the samples. Symbolic dims of the input (a
// state [2, batch, 64]) take the size the batch's samples give that symbol, else 1.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, UserInputError } from '../errors.js';
import { DataType, dtypeName, type Feeds, type HostTensor, type ValueInfo } from '../ir/index.js';
import { typedView } from './arrays.js';
import { markFixed } from './feeds.js';
import { openNpyFile } from './npy.js';

export type FixedSpec = { kind: 'zeros' } | { kind: 'number'; value: number } | { kind: 'file'; file: string };

/** The sub-folder of a data folder that holds fixed inputs as <input name>.npy. */
export const FIXED_FOLDER = 'fixed';

/** Parses `name=value` items of --fixed-input. */
export function parseFixedInputs(items: readonly string[]): Map<string, FixedSpec> {
  const out = new Map<string, FixedSpec>();
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (eq <= 0 || !value) throw new UsageError(`--fixed-input '${item}': expected name=value (a number, 'zeros' or a .npy file)`);
    if (out.has(name)) throw new UsageError(`--fixed-input: input '${name}' is given twice`);
    if (value === 'zeros') out.set(name, { kind: 'zeros' });
    else if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value)) out.set(name, { kind: 'number', value: Number(value) });
    else out.set(name, { kind: 'file', file: value });
  }
  return out;
}

/** Splits the model's inputs into those fed from the samples and those given a fixed value. */
export function splitFixed(dir: string, inputs: readonly ValueInfo[], explicit: ReadonlyMap<string, FixedSpec> = new Map()): { fed: ValueInfo[]; fixed: Map<string, FixedSpec> } {
  const names = new Set(inputs.map((i) => i.name));
  for (const name of explicit.keys()) {
    if (!names.has(name)) throw new UserInputError(`--fixed-input ${name}: the model has no input '${name}' (inputs: ${[...names].join(', ')})`);
  }
  const fixed = new Map(explicit);
  const folder = path.join(dir, FIXED_FOLDER);
  for (const input of inputs) {
    const file = path.join(folder, `${input.name}.npy`);
    if (!fixed.has(input.name) && fs.existsSync(file)) fixed.set(input.name, { kind: 'file', file });
  }
  const fed = inputs.filter((i) => !fixed.has(i.name));
  if (fed.length === 0) throw new UserInputError(`${dir}: every model input has a fixed value; at least one must come from the samples`);
  return { fed, fixed };
}

/** Symbol → size, as the batch's fed tensors give them. */
function symbolSizes(fed: readonly ValueInfo[], feeds: Feeds): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const input of fed) {
    const dims = feeds[input.name]?.dims;
    input.shape?.forEach((d, i) => {
      if (typeof d === 'string' && dims?.[i] !== undefined && !sizes.has(d)) sizes.set(d, dims[i]!);
    });
  }
  return sizes;
}

function shapeOf(input: ValueInfo, sizes: ReadonlyMap<string, number>): number[] {
  if (!input.shape) throw new UserInputError(`input '${input.name}' has no known shape; give its value as a .npy file (--fixed-input ${input.name}=file.npy)`);
  return input.shape.map((d) => (typeof d === 'number' ? d : (typeof d === 'string' ? sizes.get(d) : undefined) ?? 1));
}

function filled(input: ValueInfo, dims: number[], value: number): HostTensor {
  const dtype = input.elemType ?? DataType.FLOAT;
  const n = dims.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(n * bytesPer(dtype, input.name));
  const data = typedView(dtype, bytes);
  if (value !== 0) {
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) (data as BigInt64Array).fill(BigInt(Math.trunc(value)));
    else if (dtype === DataType.FLOAT16) throw new UserInputError(`input '${input.name}' is float16: give its value as a .npy file`);
    else (data as Float32Array).fill(value);
  }
  return { dtype, dims, data };
}

function bytesPer(dtype: number, name: string): number {
  const sizes: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT64]: 8, [DataType.INT32]: 4, [DataType.INT8]: 1, [DataType.UINT8]: 1, [DataType.BOOL]: 1, [DataType.INT16]: 2, [DataType.FLOAT16]: 2, [DataType.UINT64]: 8 };
  const b = sizes[dtype];
  if (!b) throw new UserInputError(`input '${name}': cannot make a ${dtypeName(dtype)} value from a literal; give a .npy file`);
  return b;
}

function fromFile(input: ValueInfo, file: string): HostTensor {
  const src = openNpyFile(file);
  try {
    if (input.elemType !== undefined && src.dtype !== input.elemType) {
      throw new UserInputError(`${file}: input '${input.name}' is ${dtypeName(input.elemType)}, the file holds ${dtypeName(src.dtype)}`);
    }
    const n = src.dims.reduce((a, b) => a * b, 1);
    const per = bytesPer(src.dtype, input.name);
    const bytes = new Uint8Array(n * per);
    if (src.dims.length === 0) src.readInto(bytes, 0, 1, per);
    else src.readInto(bytes, 0, src.dims[0]!, (n / Math.max(1, src.dims[0]!)) * per);
    return { dtype: src.dtype, dims: [...src.dims], data: typedView(src.dtype, bytes) };
  } finally {
    src.close();
  }
}

/** Adds every fixed input to a batch of fed inputs. Files are read once and reused. */
export function fixedFeeder(inputs: readonly ValueInfo[], fed: readonly ValueInfo[], fixed: ReadonlyMap<string, FixedSpec>): (feeds: Feeds) => Feeds {
  const cache = new Map<string, HostTensor>();
  return (feeds) => {
    if (fixed.size === 0) return feeds;
    const sizes = symbolSizes(fed, feeds);
    const out: Feeds = { ...feeds };
    for (const input of inputs) {
      const spec = fixed.get(input.name);
      if (!spec) continue;
      if (spec.kind === 'file') {
        if (!cache.has(input.name)) cache.set(input.name, markFixed(fromFile(input, spec.file)));
        out[input.name] = cache.get(input.name)!;
      } else {
        out[input.name] = markFixed(filled(input, shapeOf(input, sizes), spec.kind === 'zeros' ? 0 : spec.value));
      }
    }
    return out;
  };
}
