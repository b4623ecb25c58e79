// Model → ModelProto bytes. What qtool did not change is written from the message it was read
// from (`source`), patched only where the IR differs, so a read→write round trip is lossless.
import {
  AttrType, DataType, type Attribute, type Graph, type Model, type Node, type Tensor, type ValueInfo,
} from '../ir/index.js';
import { ModelProtoType } from './schema.js';
import { ATTR_FIELD, PLACEHOLDERS, has, inferAttrType } from './decode.js';
import { floatFromBits, floatToBits, fromInt64, toInt64 } from './long.js';

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface EncodeOptions {
  /** Tensors to store outside the protobuf: name → external_data entries. */
  external?: Map<Tensor, { location: string; offset: number; length: number }>;
  /**
   * Tensors still in their external data file (Tensor.lazy) keep the reference they were read
   * with (location relative to the model's folder) instead of being read into the message: for a
   * session that resolves external data against that folder.
   */
  referenceLazy?: boolean;
}

export function encodeModel(model: Model, opts: EncodeOptions = {}): Uint8Array {
  const m = own(model.source);
  patch(m, 'ir_version', fromInt64(model.irVersion), toInt64(m.ir_version) !== model.irVersion || !has(m, 'ir_version'));
  m.opset_import = model.opsets.map((o, i) => {
    const src = (model.source as Msg | undefined)?.opset_import?.[i];
    if (src && (src.domain ?? '') === o.domain && Number(toInt64(src.version)) === o.version) return src;
    return { domain: o.domain, version: o.version };
  });
  patchStr(m, 'producer_name', model.producerName);
  patchStr(m, 'producer_version', model.producerVersion);
  m.metadata_props = model.metadata.map((p, i) => {
    const src = (model.source as Msg | undefined)?.metadata_props?.[i];
    return src && src.key === p.key && src.value === p.value ? src : { key: p.key, value: p.value };
  });
  m.graph = encodeGraph(model.graph, opts);
  m.functions = model.functions;
  return ModelProtoType.encode(m).finish();
}

export function encodeGraph(g: Graph, opts: EncodeOptions): Msg {
  const m = own(g.source);
  patchStr(m, 'name', g.name);
  m.node = g.nodes.map((n) => encodeNode(n, opts));
  m.initializer = [...g.initializers.values()].map((t) => encodeTensor(t, opts));
  m.input = g.inputs.map(encodeValueInfo);
  m.output = g.outputs.map(encodeValueInfo);
  m.value_info = encodeValueInfos(g);
  return m;
}

/**
 * The IR keeps value_info by name, so a file that lists a name twice (it happens; the checker
 * allows it) has only the last of them in the IR. While the IR holds exactly the file's entries,
 * unchanged, the file's list is written as it was, duplicates included.
 */
function encodeValueInfos(g: Graph): Msg[] {
  const ir = [...g.valueInfo.values()];
  const src = ((g.source as Msg | undefined)?.value_info ?? []) as Msg[];
  if (src.length > ir.length) {
    const lastByName = new Map(src.map((v) => [v.name ?? '', v]));
    const unchanged = ir.length === lastByName.size && ir.every((v) => v.source !== undefined && lastByName.get(v.name) === v.source);
    if (unchanged) {
      const bySource = new Map(ir.map((v) => [v.source, v]));
      return src.map((v) => encodeValueInfo(bySource.get(v) ?? { name: v.name ?? '', source: v }));
    }
  }
  return ir.map(encodeValueInfo);
}

function encodeNode(n: Node, opts: EncodeOptions): Msg {
  const m = own(n.source);
  patchStr(m, 'name', n.name);
  patchStr(m, 'op_type', n.opType);
  patchStr(m, 'domain', n.domain);
  m.input = [...n.inputs];
  m.output = [...n.outputs];
  m.attribute = n.attributes.map((a) => encodeAttribute(a, opts));
  return m;
}

function encodeAttribute(a: Attribute, opts: EncodeOptions): Msg {
  const m = own(a.source);
  patchStr(m, 'name', a.name);
  // The type field stays as the file had it (present, absent or UNDEFINED) while it still reads
  // as the IR's type.
  const field = ATTR_FIELD[a.type];
  const retyped = !a.source || a.type !== inferAttrType(m);
  if (retyped) {
    m.type = a.type;
    // A new type: the value fields of the old one go.
    for (const f of Object.values(ATTR_FIELD)) if (f !== field) delete m[f];
  }
  if (!field) return m;
  // A value field the file left out (a proto3-style writer omits `i: 0`) stays out while the IR
  // value is still the default the decoder filled in.
  const absent = !retyped && !has(m, field);
  switch (a.type) {
    case AttrType.INT:
      if (retyped || (absent ? a.value !== 0 : toInt64(m[field]) !== a.value)) m[field] = fromInt64(a.value);
      break;
    case AttrType.INTS: m[field] = a.value.map(fromInt64); break;
    case AttrType.TENSOR:
      if (!(absent && PLACEHOLDERS.has(a.value.source as object))) m[field] = encodeTensor(a.value, opts);
      break;
    case AttrType.TENSORS: m[field] = a.value.map((t) => encodeTensor(t, opts)); break;
    case AttrType.GRAPH:
      if (!(absent && PLACEHOLDERS.has(a.value.source as object) && isEmptyGraph(a.value))) m[field] = encodeGraph(a.value, opts);
      break;
    case AttrType.GRAPHS: m[field] = a.value.map((g) => encodeGraph(g, opts)); break;
    case AttrType.FLOAT:
      // Bits on the wire (schema.ts): kept while the value is unchanged, so NaN payloads survive.
      if (retyped || (absent ? !Object.is(a.value, 0) : !Object.is(floatFromBits(m[field]), Math.fround(a.value)))) m[field] = floatToBits(a.value);
      break;
    case AttrType.FLOATS: {
      const src = (has(m, field) ? m[field] : []) as number[];
      const same = src.length === a.value.length && src.every((bits, i) => Object.is(floatFromBits(bits), Math.fround(a.value[i]!)));
      if (!same) m[field] = a.value.map(floatToBits);
      break;
    }
    case AttrType.STRING:
      if (retyped || (absent ? a.value.byteLength > 0 : m[field] !== a.value && !bytesEqual(m[field], a.value))) m[field] = a.value;
      break;
    case AttrType.STRINGS: m[field] = a.value; break;
    default: if (a.value !== undefined) m[field] = a.value;
  }
  return m;
}

function isEmptyGraph(g: Graph): boolean {
  return g.nodes.length === 0 && g.initializers.size === 0 && g.inputs.length === 0 && g.outputs.length === 0 && g.valueInfo.size === 0;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodeValueInfo(v: ValueInfo): Msg {
  if (v.source) {
    const m = own(v.source);
    patchStr(m, 'name', v.name);
    return m;
  }
  const m: Msg = { name: v.name };
  if (v.elemType !== undefined) {
    const tensorType: Msg = { elem_type: v.elemType };
    if (v.shape) {
      tensorType.shape = {
        dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})),
      };
    }
    m.type = { tensor_type: tensorType };
  }
  return m;
}

/** TensorProto fields that hold or point at the data. */
const DATA_FIELDS = ['raw_data', 'float_data', 'int32_data', 'string_data', 'int64_data', 'double_data', 'uint64_data', 'external_data', 'data_location', 'segment'];

export function encodeTensor(t: Tensor, opts: EncodeOptions = {}): Msg {
  const ext = opts.external?.get(t);
  const src = t.source as Msg | undefined;
  const readExternally = src?.data_location === 1;
  if (src && !ext && (!readExternally || (opts.referenceLazy && t.lazy))) {
    const m = own(src);
    patchStr(m, 'name', t.name);
    return m;
  }
  let m: Msg;
  if (src) {
    // Same data, stored another way (moved to or from an external file): keep the message's
    // other fields (doc_string, metadata_props, unknown fields) and replace how the data is held.
    m = own(src);
    for (const k of DATA_FIELDS) delete m[k];
    patchStr(m, 'name', t.name);
  } else {
    m = { dims: [...t.dims], data_type: t.dtype };
    if (t.name) m.name = t.name;
  }
  if (ext) {
    m.data_location = 1;
    m.external_data = [
      { key: 'location', value: ext.location },
      { key: 'offset', value: String(ext.offset) },
      { key: 'length', value: String(ext.length) },
    ];
  } else if (t.dtype === DataType.STRING) {
    m.string_data = [...(t.strings ?? [])];
  } else {
    m.raw_data = t.raw;
  }
  return m;
}

/** A plain copy of a decoded message's own fields, unknown fields included. */
function own(source: unknown): Msg {
  if (!source) return {};
  const src = source as Msg;
  const m: Msg = {};
  for (const k of Object.keys(src)) m[k] = src[k];
  if (Object.prototype.hasOwnProperty.call(src, '$unknowns')) m.$unknowns = src.$unknowns;
  return m;
}

function patch(m: Msg, key: string, value: unknown, differs: boolean): void {
  if (differs) m[key] = value;
}

/** Sets a string field only when it differs, so an absent field stays absent when its value is ''. */
function patchStr(m: Msg, key: string, value: string): void {
  if ((m[key] ?? '') !== value) m[key] = value;
}
