export { decodeModel, decodeTensorBytes } from './decode.js';
export { encodeModel, type EncodeOptions } from './encode.js';
export {
  readModelFile, writeModelFile, modelWithOutputs, appendGraphOutputs, copyModel, copyModelWithBytes, selfContainedBytes, hasLazyTensors, sessionModel, largeModelBytes,
  EXTERNAL_DATA_THRESHOLD, LARGE_MODEL_BYTES, type SessionModel, type WriteOptions, type WriteResult,
} from './io.js';
export { decodeModelToPlainObject } from './plain.js';
