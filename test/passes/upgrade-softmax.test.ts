// Softmax/LogSoftmax/Hardmax 12 → 13: coerced-2D becomes one axis.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/index.js';
import { expectSameOutputs, f32, model, opsOf } from './upgrade-helpers.js';

function softmaxModel(op: string, axis: number | undefined, opset = 12) {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3, 4, 5]);
  b.output(b.op1(op, [b.op1('Relu', [x])], axis === undefined ? {} : { axis }), [2, 3, 4, 5]);
  return model(b, opset);
}

describe('Softmax 12 → 13', () => {
  it('axis ≠ last: outputs equal in onnxruntime; Flatten/Reshape carry the coerced-2D meaning', async () => {
    const [m13, m21] = await expectSameOutputs(softmaxModel('Softmax', 1), { x: f32([2, 3, 4, 5]) });
    for (const m of [m13!, m21!]) {
      expect(opsOf(m.graph).sort()).toEqual(['Flatten', 'Relu', 'Reshape', 'Shape', 'Softmax']);
      expect(m.graph.nodes.find((n) => n.opType === 'Softmax')!.attrInt('axis', 0)).toBe(-1);
    }
  });

  it('the default axis (1, absent from the file) is the coerced-2D axis', async () => {
    const [m13] = await expectSameOutputs(softmaxModel('Softmax', undefined), { x: f32([2, 3, 4, 5], 2) }, [13]);
    expect(opsOf(m13!.graph)).toContain('Flatten');
  });

  it('axis = last: outputs equal, and no Flatten/Reshape is added', async () => {
    for (const axis of [3, -1]) {
      const src = softmaxModel('Softmax', axis);
      const before = opsOf(src.graph);
      const [m13, m21] = await expectSameOutputs(src, { x: f32([2, 3, 4, 5], 3) });
      expect(opsOf(m13!.graph)).toEqual(before);
      expect(opsOf(m21!.graph)).toEqual(before);
    }
  });

  it('LogSoftmax and Hardmax at opset 11, axis 2 of 4', async () => {
    for (const op of ['LogSoftmax', 'Hardmax']) {
      const [m13] = await expectSameOutputs(softmaxModel(op, 2, 11), { x: f32([2, 3, 4, 5], 4) }, [13]);
      expect(opsOf(m13!.graph)).toContain('Flatten');
    }
  });

  it('a rank the file does not state still converts (Flatten/Reshape, whatever the rank is)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    const s = b.op1('Shape', [x]);
    const r = b.op1('Reshape', [x, s]); // rank unknown to the converter
    b.output(b.op1('Softmax', [r], { axis: 2 }));
    const [m13] = await expectSameOutputs(model(b, 12), { x: f32([2, 3, 4], 5) }, [13]);
    expect(opsOf(m13!.graph)).toContain('Flatten');
  });
});
