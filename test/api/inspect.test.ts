import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspectModel } from '../../src/index.js';
import { ModelProtoType } from '../../src/onnx/schema.js';

// Independent counts: decode the protobuf directly and walk it, no IR involved.
function independentCounts(file: string) {
  const m = ModelProtoType.toObject(ModelProtoType.decode(fs.readFileSync(file)), { longs: Number, defaults: false, arrays: true }) as any;
  const ops: Record<string, number> = {};
  let params = 0;
  const elems = (t: any) => (t.dims as number[]).reduce((a, b) => a * b, 1);
  const walk = (g: any) => {
    for (const t of g.initializer) params += elems(t);
    for (const n of g.node) {
      ops[n.op_type] = (ops[n.op_type] ?? 0) + 1;
      if (n.op_type === "Constant") for (const a of n.attribute) if (a.t) params += elems(a.t);
      for (const a of n.attribute) {
        if (a.g) walk(a.g);
        for (const sg of a.graphs ?? []) walk(sg);
      }
    }
  };
  walk(m.graph);
  return { ops, params };
}

// From fixtures/README.md (written by whoever trained the models).
const DOCUMENTED: Record<string, Record<string, number>> = {
  lenet_bn: { Conv: 2, BatchNormalization: 2, Relu: 3, MaxPool: 2, Gemm: 2, Flatten: 1 },
  resnet_mini: { Conv: 9, BatchNormalization: 9, Relu: 7, Add: 3, Identity: 2, GlobalAveragePool: 1, Gemm: 1 },
  vit_mini: { MatMul: 16, Add: 29, Mul: 11, ReduceMean: 11, Transpose: 9, Reshape: 9, Div: 7, Pow: 5, Sqrt: 5, Sub: 5, Softmax: 2, Erf: 2, Conv: 1, Gemm: 1, Concat: 1, Shape: 1, Slice: 1, Constant: 30 },
};

describe('inspectModel', () => {
  for (const name of ['lenet_bn', 'resnet_mini', 'vit_mini', 'lstm_rows']) {
    it(`${name}: op histogram and parameter count match independent counts`, () => {
      const file = `fixtures/mnist/${name}.onnx`;
      const r = inspectModel(file);
      const ind = independentCounts(file);
      expect(r.opHistogram).toEqual(ind.ops);
      expect(r.parameters.total).toBe(ind.params);
      for (const [op, n] of Object.entries(DOCUMENTED[name] ?? {})) expect(r.opHistogram[op], op).toBe(n);
      expect(r.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [expect.anything(), 1, 28, 28] }]);
      expect(typeof r.inputs[0]!.shape![0]).toBe('string');
    });
  }

  it('counts Constant-node weights as parameters', () => {
    const r = inspectModel('fixtures/mnist/vit_mini.onnx');
    const ind = independentCounts('fixtures/mnist/vit_mini.onnx');
    expect(r.parameters.byDtype.int64!.count).toBeGreaterThan(0);
    expect(r.parameters.total).toBe(ind.params);
  });

  it('lists the nodes the default plan would quantize (op-rule registry, prepared graph)', () => {
    const r = inspectModel('fixtures/mnist/resnet_mini.onnx');
    const count = (op: string) => r.quantizable.filter((q) => q.opType === op).length;
    expect([count('Conv'), count('Gemm'), count('Add'), count('Relu'), count('BatchNormalization')]).toEqual([9, 1, 3, 7, 0]);
    expect(r.quantizable.filter((q) => q.opType === 'Relu').every((q) => q.status === 'absorbed')).toBe(true);
    const vit = inspectModel('fixtures/mnist/vit_mini.onnx');
    expect(vit.quantizable.some((q) => q.opType === 'Erf' || q.opType === 'ReduceMean')).toBe(false);
    expect(vit.quantizable.filter((q) => q.opType === 'MatMul').length).toBe(16);
  });
});
