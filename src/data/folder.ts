// A calibration/evaluation data folder as a stream of batches. Opening counts the samples by
// peeking at every record (headers only for .npy; .npz/.pb/test sets are read whole one at a
// time; images count one each without decoding), so `sampleCount` is exact and shape errors in
// headers surface before any work starts. The parsed .npy headers are kept (a few numbers per
// file, never data), so `batches()` reads each .npy's samples straight into the batch with no
// second header read. It reads record by record: memory holds one record (for .npy, none: its
// samples go from the file to the batch buffer) and one batch; every batch has buffers of its own.
import { UserInputError } from '../errors.js';
import { dtypeName, type Feeds, type ValueInfo } from '../ir/index.js';
import { elementBytes, formatDims, product, type ArrayMeta, type ArraySource } from './arrays.js';
import { BatchBuilder } from './batch.js';
import { DataHealth, addDataWarnings } from './health.js';
import type { PreprocessSpec } from './preprocess.js';
import { closeAll, type DataRecord } from './records.js';
import { scanDataFolder } from './scan.js';
import { checkInputs, sampleLayout, type SampleLayout } from './validate.js';
import { fixedFeeder, splitFixed, type FixedSpec } from './fixed.js';

export interface DataOptions {
  /** The inputs to feed (Graph.feedInputs()), in model order. */
  inputs: readonly ValueInfo[];
  /** Use only the first N samples, in order (--calib-count). */
  count?: number;
  /** Samples per batch, concatenated along axis 0 (--batch-size; default 1). The last may be smaller. */
  batchSize?: number;
  /** How to turn images into tensors (--preprocess); ignored for other formats. */
  preprocess?: PreprocessSpec;
  /** Inputs given one value for every batch (--fixed-input); <dir>/fixed/<name>.npy adds to these. */
  fixed?: ReadonlyMap<string, FixedSpec>;
}

export interface DataSource {
  /** Samples `batches()` yields: every sample in the folder, or `count` if fewer. */
  readonly sampleCount: number;
  /** The data files (or test_data_set_N folders) those samples come from, in order. */
  readonly files: string[];
  /** Samples per batch (the last batch may be smaller). */
  readonly batchSize: number;
  /** Inputs read from the samples, and those given one value for every batch. */
  readonly fed: readonly ValueInfo[];
  readonly fixedInputs: readonly string[];
  /** Batches of input name → tensor. Each call starts again from the first sample. */
  batches(): AsyncIterable<Feeds>;
}

function positiveInt(name: string, v: number | undefined, dflt: number | undefined): number | undefined {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new UserInputError(`${name} must be a whole number of at least 1, got ${v}`);
  return v;
}

/** Samples per input in one record; every input must get the same number. */
function recordCount(label: string, metas: ReadonlyMap<string, ArrayMeta>, inputs: readonly ValueInfo[]): number {
  let count: number | undefined;
  let first = '';
  for (const input of inputs) {
    const meta = metas.get(input.name);
    if (!meta) throw new UserInputError(`${label}: no data for input '${input.name}'`);
    const n = meta.dims === undefined ? 1 : sampleLayout({ ...meta, dims: meta.dims }, input).count;
    if (count !== undefined && n !== count) {
      throw new UserInputError(`${label}: input '${input.name}' has ${n} samples but '${first}' has ${count}; every input needs the same samples`);
    }
    count = n;
    first ||= input.name;
  }
  return count ?? 0;
}

function recordLabel(r: DataRecord): string {
  return r.files.join(' + ');
}

/** The records holding the first `limit` samples, and how many samples that is. */
async function countRecords(records: readonly DataRecord[], inputs: readonly ValueInfo[], limit: number): Promise<{ used: DataRecord[]; total: number }> {
  const used: DataRecord[] = [];
  let total = 0;
  for (const r of records) {
    if (total >= limit) break;
    const n = recordCount(recordLabel(r), await r.peek(), inputs);
    if (n > 0) used.push(r);
    total += n;
  }
  return { used, total: Math.min(total, limit) };
}

function layouts(r: DataRecord, sources: Map<string, ArraySource>, inputs: readonly ValueInfo[]): { layout: SampleLayout; sliceBytes: number }[] {
  recordCount(recordLabel(r), sources, inputs);
  return inputs.map((input) => {
    const src = sources.get(input.name)!;
    const layout = sampleLayout(src, input);
    const size = elementBytes(src.dtype);
    if (size === undefined) throw new UserInputError(`${src.file}: ${dtypeName(src.dtype)} data cannot be fed to input '${input.name}'`);
    return { layout, sliceBytes: product(layout.sampleDims) * size };
  });
}

async function* stream(records: readonly DataRecord[], inputs: readonly ValueInfo[], batchSize: number, total: number, dir: string): AsyncGenerator<Feeds> {
  const batch = new BatchBuilder(inputs, batchSize);
  const health = new DataHealth();
  let remaining = total;
  for (const r of records) {
    if (remaining === 0) break;
    const sources = await r.open();
    try {
      const per = layouts(r, sources, inputs);
      // Samples of another shape (text lines of other widths) start a batch of their own.
      if (batch.size > 0 && !inputs.every((input, k) => batch.accepts(input.name, per[k]!.layout.sampleDims))) yield batch.take();
      const n = Math.min(per[0]!.layout.count, remaining);
      for (let start = 0; start < n; ) {
        const take = Math.min(batch.space, n - start);
        for (const [k, input] of inputs.entries()) {
          const src = sources.get(input.name)!;
          const { layout, sliceBytes } = per[k]!;
          src.readInto(batch.reserve(input.name, src, layout.sampleDims, sliceBytes, take), start, take, sliceBytes);
        }
        batch.commit(take);
        start += take;
        remaining -= take;
        if (batch.space === 0) yield observed(health, batch.take());
      }
    } finally {
      closeAll(sources.values());
    }
  }
  if (batch.size > 0) yield observed(health, batch.take());
  addDataWarnings(health.check(dir, total));
}

function observed(health: DataHealth, feeds: Feeds): Feeds {
  health.observe(feeds);
  return feeds;
}

async function prepare(dir: string, opts: DataOptions, batchSize: number) {
  const limit = positiveInt('sample count', opts.count, undefined) ?? Infinity;
  checkInputs(opts.inputs, batchSize);
  const records = await scanDataFolder(dir, opts.inputs, opts.preprocess);
  const { used, total } = await countRecords(records, opts.inputs, limit);
  if (total === 0) {
    const what = opts.inputs.map((i) => `'${i.name}' ${formatDims(i.shape)}`).join(', ');
    throw new UserInputError(`${dir}: the data holds no samples for ${what} (every array has a leading dim of 0)`);
  }
  return { used, total };
}

/**
 * Opens a data folder for `opts.inputs` (layouts and formats: DESIGN.md "Data folders" and
 * scan.ts). Errors are UserInputErrors naming the file, the input, what was expected and found.
 */
export async function openDataFolder(dir: string, opts: DataOptions): Promise<DataSource> {
  const split = splitFixed(dir, opts.inputs, opts.fixed);
  const fedOpts = { ...opts, inputs: split.fed };
  checkInputs(split.fed, opts.batchSize ?? modelBatch(split.fed) ?? 1);
  // Default: the batch the model fixes (an input [8,3,224,224] is fed 8 at a time), else 1. With
  // fixed inputs (a state sized by the batch) every batch is one sample.
  const asked = positiveInt('batch size', opts.batchSize, modelBatch(split.fed) ?? 1)!;
  const batchSize = split.fixed.size > 0 && modelBatch(split.fed) === undefined ? 1 : asked;
  const { used, total } = await prepare(dir, fedOpts, batchSize);
  const fixed = modelBatch(split.fed);
  if (fixed !== undefined && fixed > 1 && total % fixed !== 0) {
    const fit = Math.floor(total / fixed) * fixed;
    throw new UserInputError(`${dir}: ${total} samples, but the model fixes the batch size to ${fixed}; ${fit ? `pass --calib-count ${fit} (a multiple of ${fixed})` : `give at least ${fixed} samples`}`);
  }
  const inputs = [...split.fed];
  const complete = fixedFeeder(opts.inputs, split.fed, split.fixed);
  return {
    sampleCount: total,
    files: used.flatMap((r) => r.files),
    batchSize,
    fed: inputs,
    fixedInputs: [...split.fixed.keys()],
    batches: async function* () {
      for await (const feeds of stream(used, inputs, batchSize, total, dir)) yield complete(feeds);
    },
  };
}

/**
 * The exact number of samples `openDataFolder` would yield, for a progress bar. Costs the same
 * peek pass as opening; call it only when no DataSource is at hand.
 */
export async function countSamples(dir: string, opts: Omit<DataOptions, 'batchSize'>): Promise<number> {
  const { fed } = splitFixed(dir, opts.inputs, opts.fixed);
  const batchSize = modelBatch(fed) ?? 1;
  return (await prepare(dir, { ...opts, inputs: fed }, batchSize)).total;
}

/** The leading dim the model's inputs fix, if any. */
export function modelBatch(inputs: readonly ValueInfo[]): number | undefined {
  return inputs.map((i) => i.shape?.[0]).find((b): b is number => typeof b === 'number');
}
