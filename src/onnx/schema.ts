// The ONNX protobuf schema (IR version 11, ONNX 1.18/1.19 fields), written from the format's
// published message and field numbers as a protobufjs JSON descriptor. Fields newer than this
// schema survive a round trip through protobufjs 8's `$unknowns` (see encode.ts).
//
// Float fields (AttributeProto.f/floats, TensorProto.float_data/double_data) are declared as
// fixed32/fixed64: the same wire encoding, read as bit patterns. protobufjs reads a `float` into
// a JS number, which quiets signalling NaNs (0x7f800001 comes back as 0x7fc00001); bits keep every
// NaN payload and -0 exactly. decode.ts turns the bits into numbers where the IR needs values.
import protobuf from 'protobufjs';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated'; options?: { packed: boolean } }>;
const f = (type: string, id: number) => ({ type, id });
const rep = (type: string, id: number) => ({ type, id, rule: 'repeated' as const, options: { packed: false } });
const packed = (type: string, id: number) => ({ type, id, rule: 'repeated' as const, options: { packed: true } });
const msg = (fields: Fields, nested?: Record<string, unknown>) => (nested ? { fields, nested } : { fields });

/** Wire-compatible stand-ins for `float` and `double`: the value's IEEE-754 bits. */
const FLOAT_BITS = 'fixed32';
const DOUBLE_BITS = 'fixed64';

export const descriptor = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: msg({ key: f('string', 1), value: f('string', 2) }),
        IntIntListEntryProto: msg({ key: f('int64', 1), value: rep('int64', 2) }),
        OperatorSetIdProto: msg({ domain: f('string', 1), version: f('int64', 2) }),
        TensorAnnotation: msg({
          tensor_name: f('string', 1),
          quant_parameter_tensor_names: rep('StringStringEntryProto', 2),
        }),
        AttributeProto: msg({
          name: f('string', 1), ref_attr_name: f('string', 21), doc_string: f('string', 13),
          type: f('int32', 20), f: f(FLOAT_BITS, 2), i: f('int64', 3), s: f('bytes', 4),
          t: f('TensorProto', 5), g: f('GraphProto', 6), sparse_tensor: f('SparseTensorProto', 22),
          tp: f('TypeProto', 14), floats: rep(FLOAT_BITS, 7), ints: rep('int64', 8), strings: rep('bytes', 9),
          tensors: rep('TensorProto', 10), graphs: rep('GraphProto', 11),
          sparse_tensors: rep('SparseTensorProto', 23), type_protos: rep('TypeProto', 15),
        }),
        ValueInfoProto: msg({
          name: f('string', 1), type: f('TypeProto', 2), doc_string: f('string', 3),
          metadata_props: rep('StringStringEntryProto', 4),
        }),
        NodeProto: msg({
          input: rep('string', 1), output: rep('string', 2), name: f('string', 3), op_type: f('string', 4),
          domain: f('string', 7), overload: f('string', 8), attribute: rep('AttributeProto', 5),
          doc_string: f('string', 6), metadata_props: rep('StringStringEntryProto', 9),
          device_configurations: rep('NodeDeviceConfigurationProto', 10),
        }),
        DeviceConfigurationProto: msg({ name: f('string', 1), num_devices: f('int32', 2), device: rep('string', 3) }),
        SimpleShardedDimProto: msg({ dim_value: f('int64', 1), dim_param: f('string', 2), num_shards: f('int64', 3) }),
        ShardedDimProto: msg({ axis: f('int64', 1), simple_sharding: rep('SimpleShardedDimProto', 2) }),
        ShardingSpecProto: msg({
          tensor_name: f('string', 1), device: rep('int64', 2),
          index_to_device_group_map: rep('IntIntListEntryProto', 3), sharded_dim: rep('ShardedDimProto', 4),
        }),
        NodeDeviceConfigurationProto: msg({
          configuration_id: f('string', 1), sharding_spec: rep('ShardingSpecProto', 2), pipeline_stage: f('int32', 3),
        }),
        TrainingInfoProto: msg({
          initialization: f('GraphProto', 1), algorithm: f('GraphProto', 2),
          initialization_binding: rep('StringStringEntryProto', 3), update_binding: rep('StringStringEntryProto', 4),
        }),
        ModelProto: msg({
          ir_version: f('int64', 1), opset_import: rep('OperatorSetIdProto', 8), producer_name: f('string', 2),
          producer_version: f('string', 3), domain: f('string', 4), model_version: f('int64', 5),
          doc_string: f('string', 6), graph: f('GraphProto', 7), metadata_props: rep('StringStringEntryProto', 14),
          training_info: rep('TrainingInfoProto', 20), functions: rep('FunctionProto', 25),
          configuration: rep('DeviceConfigurationProto', 26),
        }),
        GraphProto: msg({
          node: rep('NodeProto', 1), name: f('string', 2), initializer: rep('TensorProto', 5),
          sparse_initializer: rep('SparseTensorProto', 15), doc_string: f('string', 10),
          input: rep('ValueInfoProto', 11), output: rep('ValueInfoProto', 12), value_info: rep('ValueInfoProto', 13),
          quantization_annotation: rep('TensorAnnotation', 14), metadata_props: rep('StringStringEntryProto', 16),
        }),
        TensorProto: msg(
          {
            dims: rep('int64', 1), data_type: f('int32', 2), segment: f('Segment', 3),
            float_data: packed(FLOAT_BITS, 4), int32_data: packed('int32', 5), string_data: rep('bytes', 6),
            int64_data: packed('int64', 7), name: f('string', 8), doc_string: f('string', 12),
            raw_data: f('bytes', 9), external_data: rep('StringStringEntryProto', 13), data_location: f('int32', 14),
            double_data: packed(DOUBLE_BITS, 10), uint64_data: packed('uint64', 11),
            metadata_props: rep('StringStringEntryProto', 16),
          },
          { Segment: msg({ begin: f('int64', 1), end: f('int64', 2) }) },
        ),
        SparseTensorProto: msg({ values: f('TensorProto', 1), indices: f('TensorProto', 2), dims: rep('int64', 3) }),
        TensorShapeProto: msg(
          { dim: rep('Dimension', 1) },
          { Dimension: msg({ dim_value: f('int64', 1), dim_param: f('string', 2), denotation: f('string', 3) }) },
        ),
        TypeProto: msg(
          {
            tensor_type: f('Tensor', 1), sequence_type: f('Sequence', 4), map_type: f('Map', 5),
            optional_type: f('Optional', 9), sparse_tensor_type: f('SparseTensor', 8), opaque_type: f('Opaque', 7),
            denotation: f('string', 6),
          },
          {
            Tensor: msg({ elem_type: f('int32', 1), shape: f('TensorShapeProto', 2) }),
            Sequence: msg({ elem_type: f('TypeProto', 1) }),
            Map: msg({ key_type: f('int32', 1), value_type: f('TypeProto', 2) }),
            Optional: msg({ elem_type: f('TypeProto', 1) }),
            SparseTensor: msg({ elem_type: f('int32', 1), shape: f('TensorShapeProto', 2) }),
            Opaque: msg({ domain: f('string', 1), name: f('string', 2) }),
          },
        ),
        FunctionProto: msg({
          name: f('string', 1), input: rep('string', 4), output: rep('string', 5), attribute: rep('string', 6),
          attribute_proto: rep('AttributeProto', 11), node: rep('NodeProto', 7), doc_string: f('string', 8),
          opset_import: rep('OperatorSetIdProto', 9), domain: f('string', 10), overload: f('string', 13),
          value_info: rep('ValueInfoProto', 12), metadata_props: rep('StringStringEntryProto', 14),
        }),
      },
    },
  },
};

/**
 * A protobufjs root for the descriptor, optionally with field types swapped for wire-compatible
 * ones (plain.ts reads `string` fields as `bytes`, so that text that is not UTF-8 is seen as it
 * is on the wire).
 *
 * Every message is marked proto2, as onnx.proto is: each singular field has explicit presence, so
 * a field written with its default value (`domain: ""`, `i: 0`, `dim_value: 0`, `data_type: 0`)
 * is decoded as present and written back. protobufjs 8 reads a JSON descriptor without an edition
 * as proto3 and drops such fields on decode (a zero dim then reads as an unknown one).
 */
export function schemaRoot(mapType: (type: string) => string = (t) => t): protobuf.Root {
  const mapped = JSON.parse(JSON.stringify(descriptor), (key, value) => {
    if (key === 'type' && typeof value === 'string') return mapType(value);
    if (value && typeof value === 'object' && 'fields' in value) return { ...value, edition: 'proto2' };
    return value;
  });
  return protobuf.Root.fromJSON(mapped as protobuf.INamespace);
}

const root = schemaRoot();
// Unknown fields (from ONNX versions newer than this schema) are kept byte for byte.
protobuf.Reader.discardUnknown = false;

export const ModelProtoType = root.lookupType('onnx.ModelProto');
export const TensorProtoType = root.lookupType('onnx.TensorProto');
export const GraphProtoType = root.lookupType('onnx.GraphProto');
