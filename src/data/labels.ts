// Labels for accuracy checks: class indices in sample order, from a JSON array (`[3, 0, 7]`) or a
// 1-D integer .npy (an [N,1] array is taken as N labels too).
import fs from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../errors.js';
import { DataType, dtypeName } from '../ir/index.js';
import { typedView } from './arrays.js';
import { decodeNpy } from './npy.js';

const INT_TYPES: readonly number[] = [
  DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64,
];

const isLabel = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function checked(file: string, values: readonly unknown[]): number[] {
  const labels: number[] = [];
  for (const [i, v] of values.entries()) {
    if (!isLabel(v)) {
      throw new UserInputError(`${file}: label #${i} is ${JSON.stringify(v)}; labels must be class indices (whole numbers ≥ 0)`);
    }
    labels.push(v);
  }
  return labels;
}

function fromJson(file: string, text: string): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(`${file}: not valid JSON (${(e as Error).message}); write labels as a JSON array like [3, 0, 7]`, 1, { cause: e });
  }
  if (!Array.isArray(parsed)) throw new UserInputError(`${file}: expected a JSON array of class indices like [3, 0, 7]`);
  return checked(file, parsed);
}

function fromNpy(file: string, bytes: Uint8Array): number[] {
  const { header, data } = decodeNpy(bytes, file);
  const { dtype, dims } = header;
  if (!INT_TYPES.includes(dtype)) {
    throw new UserInputError(`${file}: labels are ${dtypeName(dtype)}; save class indices as integers (e.g. labels.astype(numpy.int64))`);
  }
  if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) {
    throw new UserInputError(`${file}: labels have shape [${dims.join(',')}]; expected a 1-D array [N] of class indices`);
  }
  const view = typedView(dtype, data);
  return checked(file, Array.from(view as ArrayLike<number | bigint>, (v) => Number(v)));
}

/** Class indices in sample order from a .json array or an integer .npy. */
export function readLabels(file: string): number[] {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserInputError(`${file}: ${code === 'ENOENT' ? 'labels file not found' : `cannot read (${code ?? (e as Error).message})`}`, 1, { cause: e });
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return fromNpy(file, bytes);
  if (ext === '.json') return fromJson(file, new TextDecoder().decode(bytes));
  throw new UserInputError(`${file}: unknown labels format; use a .json array of class indices or an integer .npy`);
}

/**
 * Labels must match the data: one per sample (more only when a count limits the samples used), and
 * each a class the model's primary output has. Returns the labels of the samples used.
 */
export function checkLabels(file: string, labels: readonly number[], want: { samples: number; limited: boolean; classes?: number; output?: string }): number[] {
  const { samples, classes } = want;
  if (labels.length < samples) throw new UserInputError(`${file}: ${labels.length} labels for ${samples} samples; give one label per sample, in sample order`);
  if (labels.length > samples && !want.limited) {
    throw new UserInputError(`${file}: ${labels.length} labels for ${samples} samples; give one label per sample, in sample order (or use the first N with a count option)`);
  }
  const used = labels.slice(0, samples);
  if (classes !== undefined) {
    const i = used.findIndex((v) => v >= classes);
    if (i >= 0) throw new UserInputError(`${file}: label #${i} is ${used[i]}, but the model's output${want.output ? ` '${want.output}'` : ''} has ${classes} classes (0..${classes - 1})`);
  }
  return used;
}
