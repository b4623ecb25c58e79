// Building quantized initializers: integer weights, scales and zero points.
import { DataType, Tensor, type DataTypeId } from '../ir/index.js';
import type { QType } from '../math/qparams.js';

export const QTYPE_DTYPE: Record<QType | 'int32', DataTypeId> = {
  uint8: DataType.UINT8, int8: DataType.INT8, int16: DataType.INT16, uint16: DataType.UINT16,
  int4: DataType.INT4, uint4: DataType.UINT4, int32: DataType.INT32,
};

/** An integer tensor of the given quantized type from int values. */
export function intTensor(name: string, qtype: QType | 'int32', dims: readonly number[], values: ArrayLike<number>): Tensor {
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

export function zeroPointTensor(name: string, qtype: QType | 'int32', zps: readonly number[], perChannel: boolean): Tensor {
  return intTensor(name, qtype, perChannel ? [zps.length] : [], perChannel ? zps : [zps[0]!]);
}
