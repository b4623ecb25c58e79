// ONNX element types (TensorProto.DataType numbers) and their storage facts.
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8,
  BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15,
  BFLOAT16: 16, FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20,
  UINT4: 21, INT4: 22, FLOAT4E2M1: 23, FLOAT8E8M0: 24,
} as const;
export type DataTypeId = number;

interface DTypeInfo {
  readonly name: string;
  /** Bits per element in raw_data (4 for packed 4-bit types, 0 for strings). */
  readonly bits: number;
}

const INFO: Record<number, DTypeInfo> = {
  0: { name: 'undefined', bits: 0 }, 1: { name: 'float32', bits: 32 }, 2: { name: 'uint8', bits: 8 },
  3: { name: 'int8', bits: 8 }, 4: { name: 'uint16', bits: 16 }, 5: { name: 'int16', bits: 16 },
  6: { name: 'int32', bits: 32 }, 7: { name: 'int64', bits: 64 }, 8: { name: 'string', bits: 0 },
  9: { name: 'bool', bits: 8 }, 10: { name: 'float16', bits: 16 }, 11: { name: 'float64', bits: 64 },
  12: { name: 'uint32', bits: 32 }, 13: { name: 'uint64', bits: 64 }, 14: { name: 'complex64', bits: 64 },
  15: { name: 'complex128', bits: 128 }, 16: { name: 'bfloat16', bits: 16 },
  17: { name: 'float8e4m3fn', bits: 8 }, 18: { name: 'float8e4m3fnuz', bits: 8 },
  19: { name: 'float8e5m2', bits: 8 }, 20: { name: 'float8e5m2fnuz', bits: 8 }, 21: { name: 'uint4', bits: 4 },
  22: { name: 'int4', bits: 4 }, 23: { name: 'float4e2m1', bits: 4 }, 24: { name: 'float8e8m0', bits: 8 },
};

export function dtypeName(dtype: DataTypeId): string {
  return INFO[dtype]?.name ?? `dtype(${dtype})`;
}
export function dtypeBits(dtype: DataTypeId): number {
  return INFO[dtype]?.bits ?? 0;
}
export function isKnownDType(dtype: DataTypeId): boolean {
  return dtype in INFO && dtype !== 0;
}
/** Bytes that `count` elements take in raw_data (4-bit types are packed two per byte). */
export function byteLength(dtype: DataTypeId, count: number): number {
  const bits = dtypeBits(dtype);
  return bits === 4 ? Math.ceil(count / 2) : (count * bits) / 8;
}
export function isFloatType(dtype: DataTypeId): boolean {
  return dtype === DataType.FLOAT || dtype === DataType.FLOAT16 || dtype === DataType.DOUBLE || dtype === DataType.BFLOAT16;
}

/** The integer types qtool writes, by name (the names of math/qparams' QType, plus int32 for biases). */
export type QTypeName = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int4' | 'uint4' | 'int32';

/** The one QType ↔ DataType map. */
export const QTYPE_DTYPE: Readonly<Record<QTypeName, DataTypeId>> = {
  uint8: DataType.UINT8, int8: DataType.INT8, int16: DataType.INT16, uint16: DataType.UINT16,
  int4: DataType.INT4, uint4: DataType.UINT4, int32: DataType.INT32,
};

/** The quantized type (no int32) stored as this DataType, if it is one. */
export function qtypeOfDType(dtype: DataTypeId): Exclude<QTypeName, 'int32'> | undefined {
  for (const [name, id] of Object.entries(QTYPE_DTYPE)) if (id === dtype && name !== 'int32') return name as Exclude<QTypeName, 'int32'>;
  return undefined;
}
