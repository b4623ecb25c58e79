// A ModelProto built by hand with protobufjs, exercising the fields of IR 9–11 that the ONNX test
// corpus (ONNX 1.12) predates: metadata_props on nodes, graphs and value infos, FunctionProto's
// attribute_proto / overload / value_info / metadata_props, float8/int4/uint4/float4e2m1/float8e8m0
// tensors, 16-bit types in both raw_data and int32_data, sparse initializers, training info,
// device configurations, and fields this schema does not know. Expected element values are
// written out by hand from the bit patterns.
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeModel, decodeModelToPlainObject, decodeTensorBytes, encodeModel } from '../../src/onnx/index.js';
import { ModelProtoType, TensorProtoType } from '../../src/onnx/schema.js';
import { AttrType, DataType, type Model, type Tensor } from '../../src/ir/index.js';

const NodeProtoType = ModelProtoType.root.lookupType('onnx.NodeProto');
const GraphProtoType = ModelProtoType.root.lookupType('onnx.GraphProto');

/** The float32 bits of x (float fields are written as their bits, see schema.ts). */
function f32(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}
const bytes = (...b: number[]) => new Uint8Array(b);
const u16le = (...v: number[]) => new Uint8Array(new Uint16Array(v).buffer);
const tensorType = (elem: number, dims: (number | string | null)[]) => ({
  tensor_type: {
    elem_type: elem,
    shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})) },
  },
});

/** Appends length-delimited unknown field `id` to encoded message bytes. */
function withUnknownField(encoded: Uint8Array, id: number, payload: string): Uint8Array {
  const tail = protobuf.Writer.create().uint32((id << 3) | 2).string(payload).finish();
  const out = new Uint8Array(encoded.byteLength + tail.byteLength);
  out.set(encoded, 0);
  out.set(tail, encoded.byteLength);
  return out;
}

/** Appends one `bytes`/message field to encoded message bytes (a repeated field gains an element). */
function withField(encoded: Uint8Array, id: number, value: Uint8Array): Uint8Array {
  const tail = protobuf.Writer.create().uint32((id << 3) | 2).bytes(value).finish();
  const out = new Uint8Array(encoded.byteLength + tail.byteLength);
  out.set(encoded, 0);
  out.set(tail, encoded.byteLength);
  return out;
}

// Tensors: [name, data_type, dims, fields]. raw_ and int32_ twins must decode to the same bytes.
const INITIALIZERS: Record<string, unknown>[] = [
  // float16: 1.0, -2.0, 0.333251953125, smallest subnormal 2^-24, +inf, -65504
  { name: 'f16_raw', data_type: DataType.FLOAT16, dims: [6], raw_data: u16le(0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0xfbff) },
  { name: 'f16_typed', data_type: DataType.FLOAT16, dims: [6], int32_data: [0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0xfbff] },
  // bfloat16: 1.0, -2.0, 3.140625 (0x4049), 0
  { name: 'bf16_raw', data_type: DataType.BFLOAT16, dims: [2, 2], raw_data: u16le(0x3f80, 0xc000, 0x4049, 0x0000) },
  { name: 'bf16_typed', data_type: DataType.BFLOAT16, dims: [2, 2], int32_data: [0x3f80, 0xc000, 0x4049, 0x0000] },
  { name: 'u16_raw', data_type: DataType.UINT16, dims: [3], raw_data: u16le(0, 1, 65535) },
  { name: 'u16_typed', data_type: DataType.UINT16, dims: [3], int32_data: [0, 1, 65535] },
  { name: 'i16_typed', data_type: DataType.INT16, dims: [2], int32_data: [-3, 32767] },
  // int4, odd count: 1, -2, 7 → nibbles 0x1, 0xE, 0x7 → bytes 0xE1, 0x07
  { name: 'i4_raw', data_type: DataType.INT4, dims: [3], raw_data: bytes(0xe1, 0x07) },
  { name: 'i4_typed', data_type: DataType.INT4, dims: [3], int32_data: [0xe1, 0x07] },
  // uint4, odd count: 0, 15, 3, 8, 1 → bytes 0xF0, 0x83, 0x01
  { name: 'u4_raw', data_type: DataType.UINT4, dims: [5], raw_data: bytes(0xf0, 0x83, 0x01) },
  { name: 'u4_typed', data_type: DataType.UINT4, dims: [5], int32_data: [0xf0, 0x83, 0x01] },
  { name: 'f4_raw', data_type: DataType.FLOAT4E2M1, dims: [3], raw_data: bytes(0x21, 0x0f) },
  { name: 'f4_typed', data_type: DataType.FLOAT4E2M1, dims: [3], int32_data: [0x21, 0x0f] },
  ...([DataType.FLOAT8E4M3FN, DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ, DataType.FLOAT8E8M0] as number[]).flatMap((dt) => [
    { name: `f8_${dt}_raw`, data_type: dt, dims: [4], raw_data: bytes(0x38, 0x80, 0x7f, 0x01) },
    { name: `f8_${dt}_typed`, data_type: dt, dims: [4], int32_data: [0x38, 0x80, 0x7f, 0x01] },
  ]),
  // float32 bits that a JS number would not keep: a signalling NaN, a negative NaN, -0
  { name: 'f32_bits', data_type: DataType.FLOAT, dims: [4], float_data: [0x7f800001, 0xffc00000, 0x80000000, f32(1.5)] },
  { name: 'f64_bits', data_type: DataType.DOUBLE, dims: [2], double_data: [protobuf.util.Long.fromString('7ff0000000000001', true, 16), protobuf.util.Long.fromString('8000000000000000', true, 16)] },
  { name: 'i64_typed', data_type: DataType.INT64, dims: [3], int64_data: [protobuf.util.Long.fromString('9223372036854775807'), protobuf.util.Long.fromString('-9223372036854775808'), -1] },
  { name: 'u64_typed', data_type: DataType.UINT64, dims: [1], uint64_data: [protobuf.util.Long.fromString('18446744073709551615', true)] },
  { name: 'u32_typed', data_type: DataType.UINT32, dims: [2], uint64_data: [4294967295, 7] },
  { name: 'bool_typed', data_type: DataType.BOOL, dims: [3], int32_data: [1, 0, 1] },
  { name: 'c64_typed', data_type: DataType.COMPLEX64, dims: [1], float_data: [f32(1), f32(-1)] },
  { name: 'str', data_type: DataType.STRING, dims: [2], string_data: [bytes(0x61), bytes(0xe2, 0x82, 0xac)] },
  // present-but-default fields (proto2 presence): data_type 0 is still written
  { name: 'empty_f32', data_type: DataType.FLOAT, dims: [0], raw_data: bytes() },
  { name: 'with_meta', data_type: DataType.INT8, dims: [2], raw_data: bytes(0xff, 0x01), doc_string: '', metadata_props: [{ key: 'tensor_meta', value: 'x' }] },
];

function syntheticModelBytes(): Uint8Array {
  const node = (fields: Record<string, unknown>) => ({ input: [], output: [], attribute: [], ...fields });
  const graph = {
    name: 'g11',
    doc_string: '',
    metadata_props: [{ key: 'graph_meta', value: 'g' }],
    node: [
      node({
        input: ['x'], output: ['y'], name: 'n_identity', op_type: 'Identity', domain: '',
        metadata_props: [{ key: 'node_meta', value: '1' }],
        device_configurations: [{
          configuration_id: 'two_devices', pipeline_stage: 0,
          sharding_spec: [{
            tensor_name: 'x', device: [0, 1],
            index_to_device_group_map: [{ key: 0, value: [0, 1] }],
            sharded_dim: [{ axis: 0, simple_sharding: [{ dim_value: 4, num_shards: 2 }, { dim_param: 'N', num_shards: 2 }] }],
          }],
        }],
      }),
      node({
        input: ['y'], output: ['z'], name: 'n_fn', op_type: 'Scale', domain: 'local.fn', overload: 'v2',
        attribute: [{ name: 'alpha', type: AttrType.FLOAT, f: f32(0.5) }, { name: 'nan_attr', type: AttrType.FLOAT, f: 0x7f800001 }],
      }),
      // Old IR: attributes without `type`, with default values that must stay present
      node({ output: ['c_int'], op_type: 'Constant', attribute: [{ name: 'value_int', i: 0 }] }),
      node({ output: ['c_float'], op_type: 'Constant', attribute: [{ name: 'value_float', f: 0x80000000 }] }),
      node({ output: ['c_floats'], op_type: 'Constant', attribute: [{ name: 'value_floats', floats: [f32(1), 0x7fc00001] }] }),
      // A writer that sets `type: UNDEFINED` and the value anyway
      node({ output: ['c_int5'], op_type: 'Constant', attribute: [{ name: 'value_int', type: AttrType.UNDEFINED, i: 5 }] }),
      // Typed attributes whose value field is absent (a proto3-style writer omits defaults)
      node({
        output: ['q'], op_type: 'Custom', domain: 'local.fn',
        attribute: [
          { name: 'k', type: AttrType.INT }, { name: 'f', type: AttrType.FLOAT }, { name: 's', type: AttrType.STRING },
          { name: 't', type: AttrType.TENSOR }, { name: 'g', type: AttrType.GRAPH }, { name: 'r', type: AttrType.INT, ref_attr_name: 'outer' },
        ],
      }),
      node({
        output: ['c_tensor'], op_type: 'Constant',
        attribute: [{ name: 'value', type: AttrType.TENSOR, t: { name: 'attr_f16', data_type: DataType.FLOAT16, dims: [2], int32_data: [0x3c00, 0xbc00] } }],
      }),
      node({
        output: ['c_sparse'], op_type: 'Constant',
        attribute: [{
          name: 'sparse_value', type: AttrType.SPARSE_TENSOR,
          sparse_tensor: {
            values: { name: 'sv', data_type: DataType.FLOAT, dims: [2], float_data: [f32(1), f32(2)] },
            indices: { name: 'si', data_type: DataType.INT64, dims: [2], int64_data: [1, 5] }, dims: [2, 3],
          },
        }],
      }),
    ],
    initializer: INITIALIZERS,
    sparse_initializer: [{
      values: { name: 'sparse_w', data_type: DataType.FLOAT16, dims: [2], int32_data: [0x3c00, 0x4000] },
      indices: { data_type: DataType.INT64, dims: [2, 2], int64_data: [0, 1, 2, 3] }, dims: [4, 4],
    }],
    input: [{ name: 'x', type: tensorType(DataType.FLOAT, [0, 'N', null]), metadata_props: [{ key: 'vi_meta', value: 'in' }] }],
    output: [{ name: 'z', type: tensorType(DataType.FLOAT, [0, 'N', null]), doc_string: 'out' }],
    value_info: [
      { name: 'y', type: tensorType(DataType.FLOAT, [0, 'N', 3]), metadata_props: [{ key: 'vi_meta', value: 'mid' }] },
      // the same name twice (the checker allows it; the IR keeps value_info by name)
      { name: 'y', type: tensorType(DataType.FLOAT, [0, 'N', 3]), doc_string: 'listed twice' },
      { name: 'seq', type: { sequence_type: { elem_type: tensorType(DataType.FLOAT8E4M3FN, [2]) } } },
      { name: 'opt', type: { optional_type: { elem_type: { map_type: { key_type: DataType.INT64, value_type: tensorType(DataType.INT4, [1]) } } } } },
    ],
    quantization_annotation: [{ tensor_name: 'y', quant_parameter_tensor_names: [{ key: 'SCALE_TENSOR', value: 's' }] }],
  };
  const model = {
    ir_version: 11,
    opset_import: [{ domain: '', version: 23 }, { domain: 'local.fn', version: 1 }],
    producer_name: 'synthetic', producer_version: '', domain: 'test.qtool', model_version: 0, doc_string: 'IR 11 fields',
    metadata_props: [{ key: 'model_meta', value: 'm' }],
    functions: [{
      name: 'Scale', domain: 'local.fn', overload: 'v2', doc_string: 'y = x * alpha',
      input: ['a'], output: ['b'], attribute: ['unused'],
      attribute_proto: [{ name: 'alpha', type: AttrType.FLOAT, f: f32(1) }],
      node: [
        { input: [], output: ['alpha_t'], op_type: 'Constant', attribute: [{ name: 'value_float', type: AttrType.FLOAT, ref_attr_name: 'alpha' }] },
        { input: ['a', 'alpha_t'], output: ['b'], op_type: 'Mul', metadata_props: [{ key: 'fn_node_meta', value: '1' }] },
      ],
      opset_import: [{ domain: '', version: 23 }],
      value_info: [{ name: 'alpha_t', type: tensorType(DataType.FLOAT, []) }],
      metadata_props: [{ key: 'fn_meta', value: 'f' }],
    }],
    training_info: [{
      initialization: { name: 'init', node: [{ output: ['w0'], op_type: 'RandomNormal', attribute: [{ name: 'shape', type: AttrType.INTS, ints: [2, 2] }] }] },
      algorithm: { name: 'algo', node: [{ input: ['w0'], output: ['w1'], op_type: 'Identity' }] },
      initialization_binding: [{ key: 'w', value: 'w0' }],
      update_binding: [{ key: 'w', value: 'w1' }],
    }],
    configuration: [{ name: 'two_devices', num_devices: 2, device: ['cpu:0', 'cpu:1'] }],
  };

  // Unknown fields: field 999 on a NodeProto (appended to the graph by hand) and on the ModelProto.
  const extraNode = withUnknownField(NodeProtoType.encode(node({ input: ['z'], output: ['w'], op_type: 'Relu', name: 'n_future' })).finish(), 999, 'node field from the future');
  const graphBytes = withField(GraphProtoType.encode(graph).finish(), 1, extraNode);
  const modelBytes = ModelProtoType.encode(model).finish();
  return withUnknownField(withField(modelBytes, 7, graphBytes), 999, 'model field from the future');
}

function reencode(bytes: Uint8Array): Uint8Array {
  return encodeModel(decodeModel(bytes, { label: 'synthetic' }));
}

/** Drops every decoded message the IR keeps, so that the encoder writes tensors from their bytes. */
function stripSources(model: Model): Model {
  for (const t of model.graph.initializers.values()) t.source = undefined;
  for (const n of model.graph.nodes) {
    n.source = undefined;
    for (const a of n.attributes) {
      a.source = undefined;
      if (a.type === AttrType.TENSOR) a.value.source = undefined;
    }
  }
  model.graph.source = undefined;
  model.source = undefined;
  return model;
}

describe('synthetic IR 11 model', () => {
  const original = syntheticModelBytes();
  const plainOriginal = decodeModelToPlainObject(original) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('the hand-built bytes hold what the test means them to (unknown fields, presence, bits)', () => {
    expect(plainOriginal.$unknowns).toHaveLength(1);
    const nodes = plainOriginal.graph.node as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(nodes.at(-1)!.name).toBe('n_future');
    expect(nodes.at(-1)!.$unknowns).toHaveLength(1);
    expect(plainOriginal.model_version).toBe('l:0'); // present with its default value
    expect(plainOriginal.producer_version).toBe('');
    expect(plainOriginal.graph.input[0].type.tensor_type.shape.dim[0]).toEqual({ dim_value: 'l:0' });
    const bits = plainOriginal.graph.initializer.find((t: { name: string }) => t.name === 'f32_bits');
    expect(bits.float_data).toEqual(['f32:7f800001', 'f32:ffc00000', 'f32:80000000', 'f32:3fc00000']);
  });

  it('read → encode → plain-decode equals the original, field by field, unknown fields included', () => {
    const once = reencode(original);
    expect(decodeModelToPlainObject(once)).toEqual(plainOriginal);
    // and a second pass changes nothing
    expect(Buffer.from(reencode(once)).equals(Buffer.from(once))).toBe(true);
  });

  it('keeps float NaN payloads bit for bit (tensor data and attributes)', () => {
    const again = decodeModelToPlainObject(reencode(original)) as typeof plainOriginal;
    const fn = again.graph.node.find((n: { name?: string }) => n.name === 'n_fn');
    expect(fn.attribute[1].f).toBe('f32:7f800001');
    const floats = again.graph.node.find((n: { output: string[] }) => n.output[0] === 'c_floats');
    expect(floats.attribute[0].floats).toEqual(['f32:3f800000', 'f32:7fc00001']);
    const f64 = again.graph.initializer.find((t: { name: string }) => t.name === 'f64_bits');
    expect(f64.double_data).toEqual(['f64:7ff0000000000001', 'f64:8000000000000000']);
  });

  const model = decodeModel(original, { label: 'synthetic' });
  const init = (name: string): Tensor => {
    const t = model.graph.initializers.get(name);
    if (!t) throw new Error(`no initializer ${name}`);
    return t;
  };

  it('decodes float16 / bfloat16 / uint16 / int16 from raw_data and int32_data alike', () => {
    const f16 = [1, -2, 0.333251953125, 2 ** -24, Infinity, -65504];
    expect([...init('f16_raw').toFloat64()]).toEqual(f16);
    expect([...init('f16_typed').toFloat64()]).toEqual(f16);
    expect([...init('bf16_raw').toFloat64()]).toEqual([1, -2, 3.140625, 0]);
    expect([...init('bf16_typed').toFloat64()]).toEqual([1, -2, 3.140625, 0]);
    expect([...init('u16_raw').toFloat64()]).toEqual([0, 1, 65535]);
    expect([...init('u16_typed').toFloat64()]).toEqual([0, 1, 65535]);
    expect([...init('i16_typed').toFloat64()]).toEqual([-3, 32767]);
  });

  it('decodes int4 / uint4 with an odd element count from raw_data and int32_data alike', () => {
    expect([...init('i4_raw').toFloat64()]).toEqual([1, -2, 7]);
    expect([...init('i4_typed').toFloat64()]).toEqual([1, -2, 7]);
    expect([...init('u4_raw').toFloat64()]).toEqual([0, 15, 3, 8, 1]);
    expect([...init('u4_typed').toFloat64()]).toEqual([0, 15, 3, 8, 1]);
    expect(init('u4_raw').byteLength).toBe(3);
  });

  it('gives the typed-field twin of every tensor the same canonical bytes as its raw_data twin', () => {
    const twins = [...model.graph.initializers.keys()].filter((n) => n.endsWith('_raw'));
    expect(twins.length).toBe(11); // 6 of 16/4-bit types + 5 of 8-bit float types
    for (const raw of twins) {
      const typed = raw.replace(/_raw$/, '_typed');
      expect(Buffer.from(init(typed).raw).toString('hex'), typed).toBe(Buffer.from(init(raw).raw).toString('hex'));
    }
  });

  it('decodes the wide and odd typed fields to the right bytes', () => {
    const hex = (t: Tensor) => Buffer.from(t.raw).toString('hex');
    expect(hex(init('f32_bits'))).toBe('0100807f0000c0ff000000800000c03f');
    expect(hex(init('f64_bits'))).toBe('010000000000f07f0000000000000080');
    expect(hex(init('i64_typed'))).toBe('ffffffffffffff7f0000000000000080ffffffffffffffff');
    expect(hex(init('u64_typed'))).toBe('ffffffffffffffff');
    expect([...init('u32_typed').toFloat64()]).toEqual([4294967295, 7]);
    expect([...init('bool_typed').raw]).toEqual([1, 0, 1]);
    expect([...init('c64_typed').raw]).toEqual([...new Uint8Array(new Float32Array([1, -1]).buffer)]);
    expect(init('str').strings!.map((s) => Buffer.from(s).toString())).toEqual(['a', '€']);
    expect(init('empty_f32').byteLength).toBe(0);
  });

  it('decodes shapes, attributes without a type, and attribute tensors', () => {
    expect(model.graph.inputs[0]!.shape).toEqual([0, 'N', null]);
    const constant = (out: string) => model.graph.nodes.find((n) => n.outputs[0] === out)!;
    expect(constant('c_int').attributes[0]).toMatchObject({ type: AttrType.INT, value: 0 });
    const cf = constant('c_float').attributes[0]!;
    expect(cf.type).toBe(AttrType.FLOAT);
    expect(Object.is(cf.value, -0)).toBe(true);
    expect(constant('c_floats').attributes[0]).toMatchObject({ type: AttrType.FLOATS, value: [1, NaN] });
    expect(constant('c_int5').attributes[0]).toMatchObject({ type: AttrType.INT, value: 5 });
    const t = constant('c_tensor').attributes[0]!;
    expect(t.type === AttrType.TENSOR && [...t.value.toFloat64()]).toEqual([1, -1]);
    const custom = constant('q').attributes;
    expect(custom.map((a) => a.type)).toEqual([AttrType.INT, AttrType.FLOAT, AttrType.STRING, AttrType.TENSOR, AttrType.GRAPH, AttrType.INT]);
    expect(model.irVersion).toBe(11);
    expect(model.functions).toHaveLength(1);
  });

  it('writes an edited attribute and leaves the rest as read', () => {
    const m = decodeModel(original, { label: 'synthetic' });
    const fn = m.graph.nodes.find((n) => n.name === 'n_fn')!;
    fn.attributes[0] = { ...fn.attributes[0]!, type: AttrType.FLOAT, value: 0.25 };
    const custom = m.graph.nodes.find((n) => n.opType === 'Custom')!;
    custom.attributes[0] = { ...custom.attributes[0]!, type: AttrType.INT, value: 7 };
    // retyped: FLOAT 0.5 → INT 0 (the type and an explicit i: 0 are written, f goes)
    fn.attributes[1] = { ...fn.attributes[1]!, type: AttrType.INT, value: 0 };
    // new, without a source: written in full, default value included
    fn.attributes.push({ name: 'fresh', type: AttrType.INT, value: 0 });
    const after = decodeModelToPlainObject(encodeModel(m)) as typeof plainOriginal;
    const nodeOf = (p: typeof plainOriginal, pred: (n: any) => boolean) => p.graph.node.find(pred); // eslint-disable-line @typescript-eslint/no-explicit-any
    const fnAfter = nodeOf(after, (n) => n.name === 'n_fn');
    expect(fnAfter.attribute[0].f).toBe(`f32:${f32(0.25).toString(16)}`);
    expect(fnAfter.attribute[1]).toEqual({ name: 'nan_attr', type: AttrType.INT, i: 'l:0' });
    expect(fnAfter.attribute[2]).toEqual({ name: 'fresh', type: AttrType.INT, i: 'l:0' });
    expect(nodeOf(after, (n) => n.op_type === 'Custom').attribute[0].i).toBe('l:7');
    // everything else unchanged
    const strip = (p: typeof plainOriginal) => {
      const c = structuredClone(p);
      nodeOf(c, (n) => n.name === 'n_fn').attribute = null;
      nodeOf(c, (n) => n.op_type === 'Custom').attribute[0] = null;
      return c;
    };
    expect(strip(after)).toEqual(strip(plainOriginal));
  });

  it('writes every initializer from its decoded bytes alone (no source) to the same bytes', () => {
    const rebuilt = decodeModel(encodeModel(stripSources(decodeModel(original, { label: 'synthetic' }))), { label: 'rebuilt' });
    expect([...rebuilt.graph.initializers.keys()]).toEqual([...model.graph.initializers.keys()]);
    for (const [name, t] of model.graph.initializers) {
      const r = rebuilt.graph.initializers.get(name)!;
      expect(r.dtype, name).toBe(t.dtype);
      expect(r.dims, name).toEqual(t.dims);
      if (t.strings) expect(r.strings!.map((b) => Buffer.from(b).toString('hex')), name).toEqual(t.strings.map((b) => Buffer.from(b).toString('hex')));
      else expect(Buffer.from(r.raw).toString('hex'), name).toBe(Buffer.from(t.raw).toString('hex'));
    }
    const c = rebuilt.graph.nodes.find((n) => n.outputs[0] === 'c_tensor')!.attributes[0]!;
    expect(c.type === AttrType.TENSOR && [...c.value.toFloat64()]).toEqual([1, -1]);
  });

  it('plain decoding shows string fields that are not UTF-8 as their bytes', () => {
    // The IR holds names as JS strings, so such a name cannot survive qtool (a known limit); the
    // plain form must show the difference rather than hide it behind a replacement character.
    const node = NodeProtoType.encode({ input: [], output: [], attribute: [], op_type: 'Relu' }).finish();
    const badName = protobuf.Writer.create().uint32((3 << 3) | 2).bytes(bytes(0xff, 0x41)).finish();
    const graph = withField(GraphProtoType.encode({ name: 'g' }).finish(), 1, new Uint8Array([...node, ...badName]));
    const m = withField(ModelProtoType.encode({ ir_version: 8 }).finish(), 7, graph);
    const plain = decodeModelToPlainObject(m) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(plain.graph.node[0].name).toEqual({ $notUtf8: 'ff41' });
    expect(plain.graph.node[0].op_type).toBe('Relu');
  });

  it('decodes a standalone TensorProto (.pb) with typed fields', () => {
    const pb = TensorProtoType.encode({ name: 'input_0', data_type: DataType.FLOAT16, dims: [2], int32_data: [0x3c00, 0x4200] }).finish();
    const t = decodeTensorBytes(pb, 'input_0.pb');
    expect(t.name).toBe('input_0');
    expect([...t.toFloat64()]).toEqual([1, 3]);
  });
});
