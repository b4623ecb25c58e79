// NumPy .npy files (format versions 1.0, 2.0 and 3.0, as written by numpy.save). Only C-order
// arrays of plain numeric types; big-endian data is byte-swapped on read. A file on disk is read
// through a descriptor, samples at a time, so a large file never has to fit in memory. Reads are
// synchronous: for local files of normal size that is several times cheaper than fs/promises'
// thread-pool round trips (open, stat, read and close each), and nothing else waits on them.
import fs from 'node:fs';
import { UserInputError } from '../errors.js';
import { DataType, type DataTypeId } from '../ir/index.js';
import { product, type ArraySource } from './arrays.js';
import { openRegular } from './read.js';

export interface NpyHeader {
  dtype: DataTypeId;
  dims: number[];
  /** Byte offset of the data. */
  dataOffset: number;
  itemSize: number;
  bigEndian: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const KINDS: Record<string, DataTypeId> = {
  f2: DataType.FLOAT16, f4: DataType.FLOAT, f8: DataType.DOUBLE, u1: DataType.UINT8, i1: DataType.INT8,
  b1: DataType.BOOL, i2: DataType.INT16, u2: DataType.UINT16, i4: DataType.INT32, u4: DataType.UINT32,
  i8: DataType.INT64, u8: DataType.UINT64,
};

/** Bytes needed to know the header's length: magic, version, and a 2- or 4-byte length. */
const PREAMBLE = 12;

/** Length of the whole header (preamble included) from the file's first 12 bytes. */
function headerLength(pre: Uint8Array, file: string): { start: number; end: number; utf8: boolean } {
  if (pre.byteLength < 10 || MAGIC.some((b, i) => pre[i] !== b)) {
    throw new UserInputError(`${file}: not a NumPy .npy file (bad magic); save it with numpy.save`);
  }
  const major = pre[6]!;
  const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  if (major === 1) return { start: 10, end: 10 + view.getUint16(8, true), utf8: false };
  if ((major === 2 || major === 3) && pre.byteLength >= 12) {
    return { start: 12, end: 12 + view.getUint32(8, true), utf8: major === 3 };
  }
  throw new UserInputError(`${file}: unsupported .npy format version ${major}.${pre[7]}; save it with a current numpy`);
}

/** Parses the header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28), }`. */
function parseDict(text: string, dataOffset: number, file: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) {
    const what = /'descr'\s*:\s*\[/.test(text) ? 'structured arrays are not supported' : 'malformed header';
    throw new UserInputError(`${file}: ${what}; save a plain numeric array with numpy.save`);
  }
  if (fortran === 'True') {
    throw new UserInputError(`${file}: the array is in Fortran order; save it with numpy.save(f, numpy.ascontiguousarray(a))`);
  }
  const order = descr[0]!;
  const dtype = KINDS[descr.slice(1)];
  if (!'<>|='.includes(order) || dtype === undefined) {
    throw new UserInputError(`${file}: unsupported numpy dtype '${descr}'; save as float32 or a plain integer type`);
  }
  const dims = shape.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new UserInputError(`${file}: malformed shape (${shape}) in the .npy header`);
  return { dtype, dims, dataOffset, itemSize: Number(descr.slice(2)), bigEndian: order === '>' };
}

/** Parses a header from the start of `bytes` (which must hold at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const { start, end, utf8 } = headerLength(bytes.subarray(0, PREAMBLE), file);
  if (bytes.byteLength < end) throw new UserInputError(`${file}: truncated .npy header`);
  const text = new TextDecoder(utf8 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, end));
  return parseDict(text, end, file);
}

/** Swaps each `size`-byte element in place (big-endian → little-endian). */
function byteSwap(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  const half = size >> 1;
  for (let i = 0; i < bytes.byteLength; i += size) {
    for (let a = i, b = i + size - 1, k = 0; k < half; k++, a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

export function npyDataBytes(h: NpyHeader): number {
  return product(h.dims) * h.itemSize;
}

/** A whole .npy held in memory (an .npz member): header and little-endian data. */
export function decodeNpy(bytes: Uint8Array, file: string): { header: NpyHeader; data: Uint8Array } {
  const header = parseNpyHeader(bytes, file);
  const end = header.dataOffset + npyDataBytes(header);
  if (bytes.byteLength < end) throw new UserInputError(`${file}: truncated .npy data (${bytes.byteLength} of ${end} bytes)`);
  const data = new Uint8Array(bytes.subarray(header.dataOffset, end)); // a copy, even when `bytes` is a Buffer
  if (header.bigEndian) byteSwap(data, header.itemSize);
  return { header, data };
}

/** Reads `length` bytes at `position` into `out` (from `at`); returns the bytes read (less only at end of file). */
function readFully(fd: number, out: Uint8Array, at: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, at + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function openFile(file: string): number {
  return openRegular(file);
}

/**
 * Bytes read for a header peek: numpy pads headers to a multiple of 64 bytes and most are 128
 * (a few hundred with long shapes), so one read of this many usually holds the whole header.
 */
const PEEK_BYTES = 512;
/** Reused by every peek (reads are synchronous, so one at a time); never handed out. */
const peekBuffer = new Uint8Array(PEEK_BYTES);

function readHeader(fd: number, file: string): NpyHeader {
  let got = readFully(fd, peekBuffer, 0, PEEK_BYTES, 0);
  let bytes = peekBuffer.subarray(0, got);
  const { end } = headerLength(bytes.subarray(0, PREAMBLE), file);
  if (end > got) {
    // A long header: read exactly all of it.
    bytes = new Uint8Array(end);
    got = readFully(fd, bytes, 0, end, 0);
    bytes = bytes.subarray(0, got);
  }
  const header = parseNpyHeader(bytes, file);
  const { size } = fs.fstatSync(fd);
  const need = header.dataOffset + npyDataBytes(header);
  if (size < need) throw new UserInputError(`${file}: truncated .npy data (${size} of ${need} bytes)`);
  return header;
}

/** Reads only the header of a .npy file (one small read and a stat). */
export function peekNpyFile(file: string): NpyHeader {
  const fd = openFile(file);
  try {
    return readHeader(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A .npy file on disk as a source of samples, read on demand straight into the caller's buffer.
 * `known` is the header a peek of the same file already parsed: it is not read again.
 */
export function openNpyFile(file: string, known?: NpyHeader): ArraySource {
  const fd = openFile(file);
  let header: NpyHeader;
  try {
    header = known ?? readHeader(fd, file);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  const { dtype, dims, dataOffset, itemSize, bigEndian } = header;
  let open = true;
  return {
    file, dtype, dims,
    readInto(target, start, count, sliceBytes) {
      const length = count * sliceBytes;
      if (readFully(fd, target, 0, length, dataOffset + start * sliceBytes) !== length) {
        throw new UserInputError(`${file}: the file changed while being read`);
      }
      if (bigEndian) byteSwap(target.subarray(0, length), itemSize);
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}
