// Test models for the accuracy search, built from the trained fixtures.
import path from 'node:path';
import { Tensor, type Graph } from '../../src/ir/index.js';
import { readModelFile, writeModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';

function replace(g: Graph, name: string, dims: readonly number[], data: Float32Array): void {
  g.removeInitializer(name);
  g.addInitializer(Tensor.fromFloat32(name, dims, data));
}

/**
 * resnet_mini with a planted outlier channel: output channel `c` of /layer1/conv1 (weights and
 * bias) ×`k`, and input channel `c` of /layer1/conv2 ÷`k`. The Relu between them is positively
 * homogeneous, so the float function is the same; but the per-tensor activation range between the
 * two convs is now set by one channel, and every other channel loses ~log2(k) bits.
 */
export function plantOutlier(dir: string, k = 100, c = 0): string {
  const model = readModelFile('fixtures/mnist/resnet_mini.onnx');
  prepareModel(model);
  const g = model.graph;
  const conv1 = g.nodes.find((n) => n.name === '/layer1/conv1/Conv')!;
  const conv2 = g.nodes.find((n) => n.name === '/layer1/conv2/Conv')!;
  const relu = g.consumersOf(conv1.outputs[0]!);
  if (relu.length !== 1 || relu[0]!.opType !== 'Relu' || g.consumersOf(relu[0]!.outputs[0]!)[0] !== conv2) throw new Error('resnet_mini changed: conv1 → Relu → conv2 expected');
  const w1 = g.constantOf(conv1.inputs[1]!)!;
  const b1 = g.constantOf(conv1.inputs[2]!)!;
  const w2 = g.constantOf(conv2.inputs[1]!)!;
  const [co, ci, kh, kw] = w1.dims;
  const d1 = w1.toFloat32().slice();
  const per1 = ci! * kh! * kw!;
  for (let i = c * per1; i < (c + 1) * per1; i++) d1[i]! *= k;
  const bb = b1.toFloat32().slice();
  bb[c]! *= k;
  const [o2, i2, h2, k2] = w2.dims;
  const d2 = w2.toFloat32().slice();
  for (let o = 0; o < o2!; o++) for (let j = 0; j < h2! * k2!; j++) d2[(o * i2! + c) * h2! * k2! + j]! /= k;
  replace(g, w1.name, w1.dims, d1);
  replace(g, b1.name, b1.dims, bb);
  replace(g, w2.name, w2.dims, d2);
  void co;
  const out = path.join(dir, `resnet_mini.outlier${k}.onnx`);
  writeModelFile(model, out);
  return out;
}
