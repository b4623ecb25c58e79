// Model → ModelProto bytes. What qtool did not change is written from the message it was read
// from (`source`), patched only where the IR differs, so a read→write round trip is lossless.
import {
  AttrType, DataType, type Attribute, type Graph, type Model, type Node, type Tensor, type ValueInfo,
} from '../ir/index.js';
import { ModelProtoType } from './schema.js';
import { ATTR_FIELD, has } from './decode.js';
import { fromInt64, toInt64 } from './long.js';

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface EncodeOptions {
  /** Tensors to store outside the protobuf: name → external_data entries. */
  external?: Map<Tensor, { location: string; offset: number; length: number }>;
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
  m.value_info = [...g.valueInfo.values()].map(encodeValueInfo);
  return m;
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
  if (!a.source || has(m, 'type') || a.type !== inferredType(m)) patch(m, 'type', a.type, m.type !== a.type);
  const field = ATTR_FIELD[a.type];
  if (!field) return m;
  switch (a.type) {
    case AttrType.INT: patch(m, field, fromInt64(a.value), !has(m, field) || toInt64(m[field]) !== a.value); break;
    case AttrType.INTS: m[field] = a.value.map(fromInt64); break;
    case AttrType.TENSOR: m[field] = encodeTensor(a.value, opts); break;
    case AttrType.TENSORS: m[field] = a.value.map((t) => encodeTensor(t, opts)); break;
    case AttrType.GRAPH: m[field] = encodeGraph(a.value, opts); break;
    case AttrType.GRAPHS: m[field] = a.value.map((g) => encodeGraph(g, opts)); break;
    case AttrType.FLOAT: patch(m, field, a.value, !has(m, field) || !Object.is(m[field], a.value)); break;
    case AttrType.STRING: if (!has(m, field) || m[field] !== a.value) m[field] = a.value; break;
    case AttrType.FLOATS: case AttrType.STRINGS: m[field] = a.value; break;
    default: if (a.value !== undefined) m[field] = a.value;
  }
  return m;
}

function inferredType(m: Msg): number {
  for (const [type, field] of Object.entries(ATTR_FIELD)) {
    const v = m[field];
    if (Array.isArray(v) ? v.length > 0 : has(m, field)) return Number(type);
  }
  return AttrType.UNDEFINED;
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

export function encodeTensor(t: Tensor, opts: EncodeOptions = {}): Msg {
  const ext = opts.external?.get(t);
  if (t.source && !ext) {
    const m = own(t.source);
    patchStr(m, 'name', t.name);
    return m;
  }
  const m: Msg = { dims: [...t.dims], data_type: t.dtype };
  if (t.name) m.name = t.name;
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
