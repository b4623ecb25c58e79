export { decodeModel, decodeTensorBytes } from './decode.js';
export { encodeModel, type EncodeOptions } from './encode.js';
export { readModelFile, writeModelFile, modelWithOutputs, appendGraphOutputs, EXTERNAL_DATA_THRESHOLD, type WriteOptions, type WriteResult } from './io.js';
export { decodeModelToPlainObject } from './plain.js';
