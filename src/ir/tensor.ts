// A constant tensor: an initializer, a Constant node's value, or an attribute tensor.
// Data is held as canonical little-endian raw bytes (4-bit types packed two per byte, low nibble
// first), whatever field the file used. `source` is the decoded message as read, opaque to
// everything outside src/onnx; the writer emits it unchanged while the data is untouched, which
// is what makes read→write lossless.
import { DataType, byteLength, dtypeName, type DataTypeId } from './dtype.js';
import { bfloat16ToFloat, halfToFloat } from './half.js';

export type TypedData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array |
  Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * Where the bytes of a tensor that is not held in memory live (a large model's external data):
 * `load` reads them each time they are asked for, so a pass that walks the weights holds one at
 * a time. `ref` is opaque outside src/onnx.
 */
export interface LazyBytes {
  readonly byteLength: number;
  load(): Uint8Array;
  readonly ref?: unknown;
}

export class Tensor {
  name: string;
  readonly dtype: DataTypeId;
  readonly dims: readonly number[];
  private bytes: Uint8Array;
  /** Set when the bytes stay in a file until asked for (see LazyBytes). */
  readonly lazy: LazyBytes | undefined;
  readonly strings: readonly Uint8Array[] | undefined;
  /** The decoded message this tensor came from (opaque outside src/onnx); dropped on any data change. */
  source: unknown;

  constructor(init: { name: string; dtype: DataTypeId; dims: readonly number[]; bytes?: Uint8Array; lazy?: LazyBytes; strings?: Uint8Array[]; source?: unknown }) {
    this.name = init.name;
    this.dtype = init.dtype;
    this.dims = [...init.dims];
    this.bytes = init.bytes ?? new Uint8Array(0);
    this.lazy = init.bytes ? undefined : init.lazy;
    this.strings = init.strings;
    this.source = init.source;
  }

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }
  get byteLength(): number {
    return this.lazy ? this.lazy.byteLength : this.bytes.byteLength;
  }
  /**
   * Raw little-endian bytes (shared, do not mutate: use `Tensor.from*` to make a new tensor). A
   * lazy tensor reads them from its file on every call and keeps nothing: hold the result only as
   * long as it is needed.
   */
  get raw(): Uint8Array {
    return this.lazy ? this.lazy.load() : this.bytes;
  }
  describe(): string {
    return `${this.name} ${dtypeName(this.dtype)}[${this.dims.join(',')}]`;
  }

  /** The values as float64 numbers, decoded from any numeric element type. */
  toFloat64(): Float64Array {
    const n = this.size;
    const out = new Float64Array(n);
    const bytes = this.raw;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const read = elementReader(this.dtype, view);
    for (let i = 0; i < n; i++) out[i] = read(i);
    return out;
  }
  toFloat32(): Float32Array {
    if (this.dtype === DataType.FLOAT) return this.lazy ? ownFloat32(this.lazy.load()) : copyAligned(this.bytes, Float32Array, this.size);
    return Float32Array.from(this.toFloat64());
  }
  /** Integer values for INT64/INT32 shape-like tensors (exact up to 2^53). */
  toNumbers(): number[] {
    return Array.from(this.toFloat64());
  }

  static fromFloat32(name: string, dims: readonly number[], data: Float32Array): Tensor {
    return new Tensor({ name, dtype: DataType.FLOAT, dims, bytes: bytesOf(data) });
  }
  static fromTyped(name: string, dtype: DataTypeId, dims: readonly number[], data: TypedData): Tensor {
    return new Tensor({ name, dtype, dims, bytes: bytesOf(data) });
  }
  static fromInt64(name: string, dims: readonly number[], values: readonly number[]): Tensor {
    return Tensor.fromTyped(name, DataType.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v)));
  }
  /** Packs int4/uint4 values two per byte, low nibble first (ONNX raw_data layout). */
  static fromInt4(name: string, dtype: DataTypeId, dims: readonly number[], values: ArrayLike<number>): Tensor {
    const bytes = new Uint8Array(byteLength(dtype, values.length));
    for (let i = 0; i < values.length; i++) {
      const nib = values[i]! & 0xf;
      bytes[i >> 1]! |= i & 1 ? nib << 4 : nib;
    }
    return new Tensor({ name, dtype, dims, bytes });
  }
}

function bytesOf(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** Freshly read bytes (a whole, aligned buffer of their own) viewed without a copy. */
function ownFloat32(b: Uint8Array): Float32Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Float32Array(b.buffer, 0, b.byteLength / 4) : copyAligned(b, Float32Array, b.byteLength / 4);
}

function copyAligned<T>(bytes: Uint8Array, Ctor: { new (buf: ArrayBuffer): T }, _n: number): T {
  return new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

function elementReader(dtype: DataTypeId, v: DataView): (i: number) => number {
  switch (dtype) {
    case DataType.FLOAT: return (i) => v.getFloat32(i * 4, true);
    case DataType.DOUBLE: return (i) => v.getFloat64(i * 8, true);
    case DataType.UINT8: case DataType.BOOL: return (i) => v.getUint8(i);
    case DataType.INT8: return (i) => v.getInt8(i);
    case DataType.UINT16: return (i) => v.getUint16(i * 2, true);
    case DataType.INT16: return (i) => v.getInt16(i * 2, true);
    case DataType.INT32: return (i) => v.getInt32(i * 4, true);
    case DataType.UINT32: return (i) => v.getUint32(i * 4, true);
    case DataType.INT64: return (i) => Number(v.getBigInt64(i * 8, true));
    case DataType.UINT64: return (i) => Number(v.getBigUint64(i * 8, true));
    case DataType.FLOAT16: return (i) => halfToFloat(v.getUint16(i * 2, true));
    case DataType.BFLOAT16: return (i) => bfloat16ToFloat(v.getUint16(i * 2, true));
    case DataType.INT4: return (i) => {
      const nib = i & 1 ? v.getUint8(i >> 1) >> 4 : v.getUint8(i >> 1) & 0xf;
      return nib >= 8 ? nib - 16 : nib;
    };
    case DataType.UINT4: return (i) => (i & 1 ? v.getUint8(i >> 1) >> 4 : v.getUint8(i >> 1) & 0xf);
    default:
      return () => {
        throw new Error(`cannot read ${dtypeName(dtype)} values as numbers`);
      };
  }
}
