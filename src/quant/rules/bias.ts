// Bias correction helpers shared by the Conv and Gemm/MatMul rules (their `biasCorrection` facts):
// reading a float bias of one value per channel and writing a corrected one as a new initializer.
import { DataType, Tensor, type Graph, type Node } from '../../ir/index.js';

/**
 * The float constant `name` as one value per channel (a scalar is broadcast), with the dims to
 * write it back in; undefined when there is no such input, null when it is not such a constant.
 */
export function existingBias(g: Graph, name: string | undefined, size: number): { values: Float64Array; dims: number[] } | null | undefined {
  if (!name) return undefined;
  const t = g.constantOf(name);
  if (!t || t.dtype !== DataType.FLOAT) return null;
  if (t.size !== 1 && t.size !== size) return null;
  const v = t.toFloat64();
  return { values: Float64Array.from({ length: size }, (_, c) => v[t.size === 1 ? 0 : c]!), dims: t.size === size ? [...t.dims] : [size] };
}

/** The name new bias initializers of `node` are made from. */
export function correctedBiasName(node: Node): string {
  return `${node.name || node.opType}_bias_corrected`;
}

/** Sets input `index` of `node` to a new float initializer holding `values`, named after `base`. */
export function setBias(g: Graph, node: Node, index: number, values: Float64Array, dims: number[], base = correctedBiasName(node)): void {
  const t = g.addInitializer(Tensor.fromFloat32(g.uniqueName(base), dims, Float32Array.from(values)));
  g.setNodeInput(node, index, t.name);
}

/** A layer that adds `scale`·bias (input `index`): subtracts correction/scale from that bias, creating it if absent. */
export function correctBiasInput(g: Graph, node: Node, index: number, correction: Float64Array, scale = 1): string | undefined {
  const size = correction.length;
  const b = existingBias(g, node.inputs[index], size);
  if (b === null) return 'its bias is not a float constant of one value per channel';
  const values = b ? b.values : new Float64Array(size);
  for (let c = 0; c < size; c++) values[c] = values[c]! - correction[c]! / scale;
  setBias(g, node, index, values, b ? b.dims : [size]);
  return undefined;
}
