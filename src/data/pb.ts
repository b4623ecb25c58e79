// ONNX TensorProto files (`input_0.pb` in the ONNX test-data layout, or onnx.numpy_helper output).
import { UserInputError } from '../errors.js';
import { dtypeName } from '../ir/index.js';
import { decodeTensorBytes } from '../onnx/index.js';
import { readRegularFile } from './read.js';
import { elementBytes, memorySource, product, type ArraySource } from './arrays.js';

/** A TensorProto file as an in-memory source, with the tensor's own name ('' when unnamed). */
export async function readTensorFile(file: string): Promise<{ name: string; source: ArraySource }> {
  const bytes = readRegularFile(file);
  const t = decodeTensorBytes(bytes, file);
  const size = elementBytes(t.dtype);
  if (size === undefined || t.strings !== undefined) {
    throw new UserInputError(`${file}: ${dtypeName(t.dtype)} tensors cannot be fed as model inputs; save a numeric tensor`);
  }
  const need = product(t.dims) * size;
  if (t.raw.byteLength !== need) {
    throw new UserInputError(`${file}: the tensor holds ${t.raw.byteLength} bytes, but ${dtypeName(t.dtype)} [${t.dims.join(',')}] needs ${need}`);
  }
  return { name: t.name, source: memorySource({ file, dtype: t.dtype, dims: t.dims }, t.raw) };
}
