// Does a stored array fit a model input? The model's leading dim is the batch dim. An array of
// the input's rank holds samples along axis 0; an array one rank lower is one sample. Symbolic and
// unknown dims match anything; an input of unknown rank takes arrays as samples along axis 0.
import { UserInputError } from '../errors.js';
import { dtypeName, type ValueInfo } from '../ir/index.js';
import { describeInput, formatDims, type ArrayMeta } from './arrays.js';

export interface SampleLayout {
  /** Samples the array holds. */
  readonly count: number;
  /** Dims of one sample (the batch dim excluded). */
  readonly sampleDims: readonly number[];
}

function mismatch(meta: ArrayMeta, input: ValueInfo, hint = ''): UserInputError {
  const found = `${dtypeName(meta.dtype)} ${formatDims(meta.dims)}`;
  return new UserInputError(`${meta.file}: input '${input.name}' expects ${describeInput(input)}, found ${found}${hint}`);
}

function dtypeHint(meta: ArrayMeta, input: ValueInfo): string {
  if (input.elemType === undefined || input.elemType === meta.dtype) return '';
  return ` (save the data as ${dtypeName(input.elemType)})`;
}

function dimsMatch(found: readonly number[], expected: readonly (number | string | null)[]): boolean {
  return found.length === expected.length && found.every((d, i) => typeof expected[i] !== 'number' || expected[i] === d);
}

/** How `meta` splits into samples for `input`, or a one-line error naming file, input, expected and found. */
export function sampleLayout(meta: ArrayMeta & { dims: readonly number[] }, input: ValueInfo): SampleLayout {
  const hint = dtypeHint(meta, input);
  if (hint !== '') throw mismatch(meta, input, hint);
  const dims = meta.dims;
  if (!input.shape) {
    if (dims.length === 0) throw mismatch(meta, input, ' (a scalar has no batch dim to split)');
    return { count: dims[0]!, sampleDims: dims.slice(1) };
  }
  const per = input.shape.slice(1);
  if (dims.length === input.shape.length && dimsMatch(dims.slice(1), per)) return { count: dims[0]!, sampleDims: dims.slice(1) };
  if (dims.length === per.length && dimsMatch(dims, per)) return { count: 1, sampleDims: [...dims] };
  throw mismatch(meta, input);
}

/** The batch dim a model input fixes, if any. */
export function fixedBatch(input: ValueInfo): number | undefined {
  const b = input.shape?.[0];
  return typeof b === 'number' ? b : undefined;
}

/** Checks the options against the inputs once, before any file is read. */
export function checkInputs(inputs: readonly ValueInfo[], batchSize: number): void {
  if (inputs.length === 0) throw new UserInputError('the model has no inputs to feed');
  for (const input of inputs) {
    if (input.shape?.length === 0) {
      throw new UserInputError(`input '${input.name}' is a scalar, not a batch of samples: give its value with --fixed-input ${input.name}=<number|file.npy> or a file fixed/${input.name}.npy in the data folder`);
    }
    const bad = input.shape?.find((d) => typeof d === 'number' && (!Number.isSafeInteger(d) || d < 0));
    if (bad !== undefined) {
      throw new UserInputError(`input '${input.name}' ${describeInput(input)} has the dim ${bad} in its shape, which is not a size; the model file is corrupt, export it again`);
    }
    const b = fixedBatch(input);
    if (b === 0) {
      throw new UserInputError(`input '${input.name}' ${describeInput(input)} fixes the batch size to 0, so no sample can be fed; export the model again with a batch dim of 1 or more (or a dynamic one)`);
    }
    if (b !== undefined && b !== batchSize) {
      throw new UserInputError(`input '${input.name}' ${describeInput(input)} fixes the batch size to ${b}; use --batch-size ${b}`);
    }
  }
}
