// Assembles batches: samples' little-endian bytes are copied into one buffer per input and the
// batch is handed out as typed arrays of dims [k, ...sampleDims].
import { UserInputError } from '../errors.js';
import type { DataTypeId, Feeds, ValueInfo } from '../ir/index.js';
import { formatDims, typedView, type ArrayMeta } from './arrays.js';

interface Slot {
  dtype: DataTypeId;
  sampleDims: readonly number[];
  buffer: Uint8Array;
  /** Samples' bytes added so far for the pending commit plus the committed ones. */
  filled: number;
}

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export class BatchBuilder {
  private slots = new Map<string, Slot>();
  private committed = 0;

  constructor(
    private readonly inputs: readonly ValueInfo[],
    private readonly batchSize: number,
  ) {}

  /** Samples that still fit in the current batch. */
  get space(): number {
    return this.batchSize - this.committed;
  }
  get size(): number {
    return this.committed;
  }

  /** Can samples of these dims join the current batch? (Only samples of equal shapes batch together.) */
  accepts(input: string, sampleDims: readonly number[]): boolean {
    const slot = this.slots.get(input);
    return !slot || sameDims(slot.sampleDims, sampleDims);
  }

  /**
   * Room for `count` whole samples (`sampleBytes` each) of one input, for the caller to fill
   * before the next call; `commit` then counts them.
   */
  reserve(input: string, meta: ArrayMeta, sampleDims: readonly number[], sampleBytes: number, count: number): Uint8Array {
    let slot = this.slots.get(input);
    if (slot && !sameDims(slot.sampleDims, sampleDims)) {
      throw new UserInputError(
        `${meta.file}: input '${input}' sample shape ${formatDims(sampleDims)} differs from ${formatDims(slot.sampleDims)} ` +
          'earlier in the same batch; samples of different shapes need --batch-size 1',
      );
    }
    if (!slot) {
      slot = { dtype: meta.dtype, sampleDims: [...sampleDims], buffer: new Uint8Array(sampleBytes * this.batchSize), filled: 0 };
      this.slots.set(input, slot);
    }
    const room = slot.buffer.subarray(slot.filled, slot.filled + count * sampleBytes);
    slot.filled += count * sampleBytes;
    return room;
  }

  commit(count: number): void {
    this.committed += count;
  }

  /** The batch so far as feeds; the builder starts a new batch. */
  take(): Feeds {
    const feeds: Feeds = {};
    for (const input of this.inputs) {
      const slot = this.slots.get(input.name)!;
      const bytes = slot.filled === slot.buffer.byteLength ? slot.buffer : new Uint8Array(slot.buffer.subarray(0, slot.filled));
      feeds[input.name] = { dtype: slot.dtype, dims: [this.committed, ...slot.sampleDims], data: typedView(slot.dtype, bytes) };
    }
    this.slots.clear();
    this.committed = 0;
    return feeds;
  }
}
