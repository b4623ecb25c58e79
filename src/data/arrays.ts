// Plain n-d arrays as the data readers produce them: an element type, dims, and canonical
// little-endian bytes. A sample source hands out byte ranges of whole samples (slices along axis
// 0), so a batch is assembled by copying bytes, whatever the element type.
import { DataType, dtypeName, type DataTypeId, type TypedData, type ValueInfo } from '../ir/index.js';

/** What a reader knows about one stored array before reading its data. */
export interface ArrayMeta {
  /** The file the array came from, as shown in messages. */
  readonly file: string;
  readonly dtype: DataTypeId;
  /** Dims as stored; undefined when only decoding tells (an image before preprocessing). */
  readonly dims?: readonly number[];
}

/** An array whose samples can be read as little-endian bytes. */
export interface ArraySource extends ArrayMeta {
  readonly dims: readonly number[];
  /**
   * Copies the bytes of `count` consecutive slices along axis 0 starting at `start`, of
   * `sliceBytes` each, to the start of `target` (which holds at least count·sliceBytes bytes).
   */
  readInto(target: Uint8Array, start: number, count: number, sliceBytes: number): void;
  close(): void;
}

/** An array held in memory (decoded from .npz, .pb or an image). */
export function memorySource(meta: { file: string; dtype: DataTypeId; dims: readonly number[] }, bytes: Uint8Array): ArraySource {
  return {
    ...meta,
    readInto: (target, start, count, sliceBytes) => target.set(bytes.subarray(start * sliceBytes, (start + count) * sliceBytes)),
    close: () => undefined,
  };
}

type TypedCtor = { new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TypedData; BYTES_PER_ELEMENT: number };

const CTORS: Partial<Record<number, TypedCtor>> = {
  [DataType.FLOAT]: Float32Array, [DataType.DOUBLE]: Float64Array, [DataType.UINT8]: Uint8Array,
  [DataType.INT8]: Int8Array, [DataType.BOOL]: Uint8Array, [DataType.INT16]: Int16Array,
  [DataType.UINT16]: Uint16Array, [DataType.FLOAT16]: Uint16Array, [DataType.BFLOAT16]: Uint16Array,
  [DataType.INT32]: Int32Array, [DataType.UINT32]: Uint32Array, [DataType.INT64]: BigInt64Array,
  [DataType.UINT64]: BigUint64Array,
};

/** Bytes per element of the types a data file may hold; undefined for types qtool cannot feed. */
export function elementBytes(dtype: DataTypeId): number | undefined {
  return CTORS[dtype]?.BYTES_PER_ELEMENT;
}

/**
 * A typed array over `bytes` (little-endian). The array takes over `bytes` when it is a whole,
 * aligned buffer; otherwise the bytes are copied. float16/bfloat16 come back as raw Uint16 bits and
 * bool as Uint8, which is what onnxruntime expects for those types.
 */
export function typedView(dtype: DataTypeId, bytes: Uint8Array): TypedData {
  const Ctor = CTORS[dtype];
  if (!Ctor) throw new Error(`no typed array for ${dtypeName(dtype)}`);
  const own = bytes.buffer;
  const whole = own instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === own.byteLength;
  // new Uint8Array(view) copies; Buffer#slice would not.
  const buf = whole ? own : new Uint8Array(bytes).buffer;
  return new Ctor(buf, 0, bytes.byteLength / Ctor.BYTES_PER_ELEMENT);
}

/** `[N,1,28,28]`: numbers as they are, symbolic dims by name, unknown dims as `?`. */
export function formatDims(dims: readonly (number | string | null)[] | undefined): string {
  if (!dims) return '[?…]';
  return `[${dims.map((d) => (d === null || d === '' ? '?' : String(d))).join(',')}]`;
}

/** `float32 [N,1,28,28]` for a model input. */
export function describeInput(input: ValueInfo): string {
  const t = input.elemType === undefined ? 'tensor' : dtypeName(input.elemType);
  return `${t} ${formatDims(input.shape)}`;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
