// ModelProto → Model. Every IR object keeps the message it came from (`source`) so that the
// encoder can write back what qtool did not change, field for field, unknown fields included.
import { ModelError, UserInputError } from '../errors.js';
import {
  AttrType, DataType, Graph, Node, Tensor, byteLength, dtypeBits, dtypeName, type Attribute, type Model, type ValueInfo,
} from '../ir/index.js';
import { ModelProtoType, TensorProtoType } from './schema.js';
import { checkExternal, parseExternalRef, readExternal, readSlice, type ExternalSlice } from './external.js';
import { MAX_ALLOC_BYTES, MAX_ELEMENTS, checkedCount, mib } from '../limits.js';
import { floatFromBits, toInt64, toNumber, u64Words } from './long.js';

// protobufjs decoded messages: loosely typed records, never leaving src/onnx.
type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Ctx {
  baseDir?: string;
  label?: string;
  /** External tensors stay in their file until asked for (Tensor.lazy). */
  lazy?: boolean;
  /** Tensors view the decoded buffer (DecodeOptions.shareBytes). */
  share?: boolean;
}

export interface DecodeOptions {
  baseDir?: string;
  label?: string;
  /**
   * When the external data of the model's initializers adds up to at least this many bytes, its
   * tensors are checked but not read: they stay in their file (Tensor.lazy) until a pass needs
   * them. Default: never (every tensor is read into memory).
   */
  lazyExternalBytes?: number;
  /**
   * Tensors view `bytes` instead of copying out of it: for a buffer the caller never changes and
   * keeps for as long as the model lives (a copy decoded from its own encoding).
   */
  shareBytes?: boolean;
}

export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Model {
  const label = opts.label ?? 'model';
  let m: Msg;
  try {
    m = ModelProtoType.decode(bytes) as Msg;
  } catch (e) {
    throw new UserInputError(`${label}: not a valid ONNX model (the protobuf is truncated or corrupt: ${(e as Error).message})`, 1, { cause: e });
  }
  if (!has(m, 'graph') || !has(m, 'ir_version')) {
    throw new UserInputError(`${label}: not an ONNX model (no ${has(m, 'graph') ? 'ir_version' : 'graph'} field); pass a .onnx file`);
  }
  const lazy = opts.baseDir !== undefined && opts.lazyExternalBytes !== undefined && externalBytes(m.graph) >= opts.lazyExternalBytes;
  const ctx: Ctx = { baseDir: opts.baseDir, label, lazy, share: opts.shareBytes };
  return {
    irVersion: toInt64(m.ir_version),
    opsets: (m.opset_import as Msg[]).map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) })),
    producerName: m.producer_name ?? '',
    producerVersion: m.producer_version ?? '',
    metadata: (m.metadata_props as Msg[]).map((p) => ({ key: p.key ?? '', value: p.value ?? '' })),
    graph: decodeGraph(m.graph, ctx),
    functions: [...(m.functions as Msg[])],
    source: m,
    baseDir: opts.baseDir,
  };
}

/** Bytes the external initializers of a decoded graph declare (dims × type; 0 for what cannot be sized). */
function externalBytes(g: Msg): number {
  let n = 0;
  for (const t of g.initializer as Msg[]) {
    if (t.data_location !== 1) continue;
    const count = checkedCount((t.dims as unknown[]).map(toNumber));
    if (count !== undefined && dtypeBits(t.data_type ?? 0) > 0) n += byteLength(t.data_type, count);
  }
  return n;
}

/** A tensor read with DecodeOptions.lazyExternalBytes whose bytes are still in their file. */
export function isLazyExternal(t: Tensor): boolean {
  return t.lazy !== undefined && (t.lazy.ref as LazyRef | undefined)?.kind === 'external';
}

interface LazyRef {
  kind: 'external';
  slice: ExternalSlice;
}

export function decodeTensorBytes(bytes: Uint8Array, label: string): Tensor {
  let t: Msg;
  try {
    t = TensorProtoType.decode(bytes) as Msg;
  } catch (e) {
    throw new UserInputError(`${label}: not a valid ONNX TensorProto (${(e as Error).message})`, 1, { cause: e });
  }
  return decodeTensor(t, { label });
}

function decodeGraph(g: Msg, ctx: Ctx): Graph {
  return new Graph({
    name: g.name ?? '',
    initializers: (g.initializer as Msg[]).map((t) => decodeTensor(t, ctx)),
    nodes: (g.node as Msg[]).map((n) => decodeNode(n, ctx)),
    inputs: (g.input as Msg[]).map(decodeValueInfo),
    outputs: (g.output as Msg[]).map(decodeValueInfo),
    valueInfo: (g.value_info as Msg[]).map(decodeValueInfo),
    source: g,
  });
}

function decodeNode(n: Msg, ctx: Ctx): Node {
  return new Node({
    name: n.name ?? '',
    opType: n.op_type ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input as string[])],
    outputs: [...(n.output as string[])],
    attributes: (n.attribute as Msg[]).map((a) => decodeAttribute(a, ctx)),
    source: n,
  });
}

/** Field that carries the value for each attribute type (also used to infer a missing type). */
export const ATTR_FIELD: Record<number, string> = {
  [AttrType.FLOAT]: 'f', [AttrType.INT]: 'i', [AttrType.STRING]: 's', [AttrType.TENSOR]: 't',
  [AttrType.GRAPH]: 'g', [AttrType.SPARSE_TENSOR]: 'sparse_tensor', [AttrType.TYPE_PROTO]: 'tp',
  [AttrType.FLOATS]: 'floats', [AttrType.INTS]: 'ints', [AttrType.STRINGS]: 'strings',
  [AttrType.TENSORS]: 'tensors', [AttrType.GRAPHS]: 'graphs', [AttrType.SPARSE_TENSORS]: 'sparse_tensors',
  [AttrType.TYPE_PROTOS]: 'type_protos',
};

/**
 * The attribute's type: its `type` field, or (files from before IR 2 have none, and some writers
 * leave it UNDEFINED) the first value field that is present.
 */
export function inferAttrType(a: Msg): number {
  if (has(a, 'type') && a.type !== AttrType.UNDEFINED) return a.type;
  for (const [type, field] of Object.entries(ATTR_FIELD)) {
    const v = a[field];
    if (Array.isArray(v) ? v.length > 0 : has(a, field)) return Number(type);
  }
  return AttrType.UNDEFINED;
}

/**
 * Stand-ins for a TENSOR or GRAPH attribute whose type is set but whose value field is absent
 * (legal on the wire): the encoder leaves the field absent while the IR value is still this one.
 */
export const PLACEHOLDERS = new WeakSet<object>();

function placeholder(fields: Msg): Msg {
  PLACEHOLDERS.add(fields);
  return fields;
}

function decodeAttribute(a: Msg, ctx: Ctx): Attribute {
  const name: string = a.name ?? '';
  const type = inferAttrType(a);
  const base = { name, source: a };
  switch (type) {
    case AttrType.FLOAT: return { ...base, type, value: has(a, 'f') ? floatFromBits(a.f) : 0 };
    case AttrType.INT: return { ...base, type, value: toInt64(a.i) };
    case AttrType.STRING: return { ...base, type, value: a.s ?? new Uint8Array(0) };
    case AttrType.TENSOR: return { ...base, type, value: decodeTensor(has(a, 't') ? a.t : placeholder({ dims: [] }), ctx) };
    case AttrType.GRAPH: return { ...base, type, value: decodeGraph(has(a, 'g') ? a.g : placeholder({ node: [], initializer: [], input: [], output: [], value_info: [] }), ctx) };
    case AttrType.FLOATS: return { ...base, type, value: (a.floats as number[]).map(floatFromBits) };
    case AttrType.INTS: return { ...base, type, value: (a.ints as unknown[]).map(toInt64) };
    case AttrType.STRINGS: return { ...base, type, value: [...(a.strings as Uint8Array[])] };
    case AttrType.TENSORS: return { ...base, type, value: (a.tensors as Msg[]).map((t) => decodeTensor(t, ctx)) };
    case AttrType.GRAPHS: return { ...base, type, value: (a.graphs as Msg[]).map((g) => decodeGraph(g, ctx)) };
    default: return { ...base, type: type as 0, value: a[ATTR_FIELD[type] ?? ''] };
  }
}

function decodeValueInfo(v: Msg): ValueInfo {
  const tt = v.type?.tensor_type;
  if (!tt) return { name: v.name ?? '', source: v };
  const shape = tt.shape
    ? (tt.shape.dim as Msg[]).map((d) => (has(d, 'dim_value') ? toNumber(d.dim_value) : has(d, 'dim_param') ? (d.dim_param as string) : null))
    : undefined;
  return { name: v.name ?? '', elemType: tt.elem_type ?? 0, shape, source: v };
}

export function decodeTensor(t: Msg, ctx: Ctx): Tensor {
  const name: string = t.name ?? '';
  const dtype: number = t.data_type ?? 0;
  const dims = (t.dims as unknown[]).map(toNumber);
  const label = ctx.label ?? 'model';
  const count = checkedCount(dims);
  if (count === undefined) {
    throw new UserInputError(`${label}: tensor '${name}' has invalid or too large dims [${dims.join(',')}] (at most ${MAX_ELEMENTS} elements); fix its dims`);
  }
  const sized = dtypeBits(dtype) > 0;
  const want = sized ? byteLength(dtype, count) : undefined;
  if (t.data_location === 1) {
    const ref = parseExternalRef(t.external_data as { key: string; value: string }[], name);
    if (ctx.lazy && want !== undefined) {
      const slice = checkExternal(ctx.baseDir, ref, name, want, label);
      const lazyRef: LazyRef = { kind: 'external', slice };
      return new Tensor({ name, dtype, dims, lazy: { byteLength: slice.length, load: () => readSlice(slice, name), ref: lazyRef }, source: t });
    }
    const bytes = readExternal(ctx.baseDir, ref, name, want, label);
    // The location is relative to the file we read; the writer decides where the bytes go next
    // (encodeTensor keeps the message's other fields and replaces the reference with the bytes).
    return new Tensor({ name, dtype, dims, bytes, source: t });
  }
  if (dtype === DataType.STRING) return new Tensor({ name, dtype, dims, strings: [...(t.string_data as Uint8Array[])], source: t });
  if (has(t, 'raw_data')) {
    const raw = t.raw_data as Uint8Array;
    if (want !== undefined && raw.byteLength !== want) {
      throw new UserInputError(`${label}: tensor '${name}' holds ${raw.byteLength} bytes of raw data, but ${dtypeName(dtype)} [${dims.join(',')}] needs ${want}; the model file is corrupt or was written incorrectly`);
    }
    return new Tensor({ name, dtype, dims, bytes: ctx.share ? raw : copyBytes(raw), source: t });
  }
  if (want !== undefined && want > MAX_ALLOC_BYTES) {
    throw new UserInputError(`${label}: tensor '${name}' declares ${dtypeName(dtype)} [${dims.join(',')}], over ${mib(MAX_ALLOC_BYTES)}; fix its dims`);
  }
  const bytes = typedFieldBytes(t, dtype, count);
  return new Tensor({ name, dtype, dims, bytes, source: t });
}

function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Canonical raw bytes from the type-specific field (TensorProto field comments, ONNX IR spec). */
function typedFieldBytes(t: Msg, dtype: number, count: number): Uint8Array {
  const out = new Uint8Array(byteLength(dtype, count));
  const v = new DataView(out.buffer);
  const put = (vals: unknown[], write: (i: number, x: any) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!vals) return;
    const n = Math.min(vals.length, out.byteLength);
    for (let i = 0; i < n; i++) write(i, vals[i]);
  };
  switch (dtype) {
    // float_data and double_data are read as their bits (schema.ts): copied, never converted.
    case DataType.FLOAT: case DataType.COMPLEX64:
      put(t.float_data, (i, x) => i * 4 < out.byteLength && v.setUint32(i * 4, x >>> 0, true)); break;
    case DataType.DOUBLE: case DataType.COMPLEX128:
      put(t.double_data, (i, x) => {
        if (i * 8 >= out.byteLength) return;
        const [lo, hi] = u64Words(x);
        v.setUint32(i * 8, lo, true);
        v.setUint32(i * 8 + 4, hi, true);
      }); break;
    case DataType.INT64:
      put(t.int64_data, (i, x) => i * 8 < out.byteLength && v.setBigInt64(i * 8, BigInt(toInt64(x)), true)); break;
    case DataType.UINT64:
      put(t.uint64_data, (i, x) => i * 8 < out.byteLength && v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(toInt64(x))), true)); break;
    case DataType.UINT32:
      put(t.uint64_data, (i, x) => i * 4 < out.byteLength && v.setUint32(i * 4, Number(toInt64(x)) >>> 0, true)); break;
    case DataType.INT32:
      put(t.int32_data, (i, x) => i * 4 < out.byteLength && v.setInt32(i * 4, x, true)); break;
    case DataType.INT16: case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16:
      put(t.int32_data, (i, x) => i * 2 < out.byteLength && v.setUint16(i * 2, x & 0xffff, true)); break;
    default:
      // 8-bit types hold one element per int32; 4-bit types hold one packed byte (two elements).
      put(t.int32_data, (i, x) => i < out.byteLength && v.setUint8(i, x & 0xff));
  }
  return out;
}

export function has(m: Msg | undefined, key: string): boolean {
  return m != null && Object.prototype.hasOwnProperty.call(m, key) && m[key] != null;
}

export { ModelError };
