// applyBiasCorrections: where the shift goes for each layer kind (the measurement itself runs on
// the fixtures in test/e2e/equalize.test.ts).
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/index.js';
import { applyBiasCorrections } from '../../src/api/bias-correction.js';

describe('applyBiasCorrections', () => {
  it('Conv without bias gets one; Gemm C takes corr/beta; a MatMul with no bias Add gets an Add that keeps its output name', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 2, 4, 4]);
    const c = b.op1('Conv', [x, b.init('w', [3, 2, 1, 1], [1, 2, 3, 4, 5, 6])], {}, { name: 'conv' });
    const f = b.op1('Flatten', [b.op1('GlobalAveragePool', [c])]);
    const g = b.op1('Gemm', [f, b.init('wg', [3, 2], [1, 0, 0, 1, 1, 1]), b.init('cg', [2], [10, 20])], { beta: { float: 2 } }, { name: 'gemm' });
    const y = b.op1('MatMul', [g, b.init('wm', [2, 2], [1, 0, 0, 1])], {}, { name: 'mm' });
    b.output(y);
    const model = b.model();
    const r = applyBiasCorrections(model, { conv: [0.5, -1, 2], gemm: [4, -4], mm: [1, 2], nothere: [1] });
    expect(r.corrected).toEqual(['conv', 'gemm', 'mm']);
    expect(r.skipped).toEqual(['nothere: no such node']);
    const gr = model.graph;
    const node = (n: string) => gr.nodes.find((k) => k.name === n)!;
    expect([...gr.constantOf(node('conv').inputs[2]!)!.toFloat32()]).toEqual([-0.5, 1, -2]);
    expect([...gr.constantOf(node('gemm').inputs[2]!)!.toFloat32()]).toEqual([8, 22]);
    const add = gr.producerOf(y)!;
    expect(add.opType).toBe('Add');
    expect(add.inputs[0]).toBe(node('mm').outputs[0]);
    expect([...gr.constantOf(add.inputs[1]!)!.toFloat32()]).toEqual([-1, -2]);
    gr.checkInvariants();
  });
});
