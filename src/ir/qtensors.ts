// Building quantized initializers: integer weights, scales and zero points.
import { DataType, QTYPE_DTYPE, type QTypeName } from './dtype.js';
import { Tensor } from './tensor.js';

/** An integer tensor of the given quantized type from int values. */
export function intTensor(name: string, qtype: QTypeName, dims: readonly number[], values: ArrayLike<number>): Tensor {
  switch (qtype) {
    case 'uint8': return Tensor.fromTyped(name, DataType.UINT8, dims, Uint8Array.from(values));
    case 'int8': return Tensor.fromTyped(name, DataType.INT8, dims, Int8Array.from(values));
    case 'int16': return Tensor.fromTyped(name, DataType.INT16, dims, Int16Array.from(values));
    case 'uint16': return Tensor.fromTyped(name, DataType.UINT16, dims, Uint16Array.from(values));
    case 'int32': return Tensor.fromTyped(name, DataType.INT32, dims, Int32Array.from(values));
    case 'int4': case 'uint4': return Tensor.fromInt4(name, QTYPE_DTYPE[qtype], dims, values);
  }
}

export function scaleTensor(name: string, scales: readonly number[], perChannel: boolean): Tensor {
  return Tensor.fromFloat32(name, perChannel ? [scales.length] : [], new Float32Array(perChannel ? scales : [scales[0]!]));
}

export function zeroPointTensor(name: string, qtype: QTypeName, zps: readonly number[], perChannel: boolean): Tensor {
  return intTensor(name, qtype, perChannel ? [zps.length] : [], perChannel ? zps : [zps[0]!]);
}
