export { DataType, dtypeName, dtypeBits, byteLength, isFloatType, isKnownDType, type DataTypeId } from './dtype.js';
export { Tensor, type TypedData } from './tensor.js';
export { Node, AttrType, makeAttr, type Attribute, type AttrValue, type ValueInfo, type Int64 } from './node.js';
export { Graph, constantNodeValue, type GraphInit } from './graph.js';
export { opsetVersion, type Model, type OpsetId } from './model.js';
export { floatToHalf, halfToFloat, bfloat16ToFloat } from './half.js';
export type { HostTensor, Feeds } from './host.js';
export { GraphBuilder } from './builder.js';
export { inferElemTypes } from './types.js';
