// Rule `decision`: tensors that reach only comparisons/selections stay float with the chain that
// feeds only them; the weighted layer in front keeps its weights and gets a float output.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/index.js';
import { normalizeConfig } from '../../src/config/index.js';
import { analyzeGraph } from '../../src/quant/analyze.js';

const cfg = () => normalizeConfig([{ values: {}, origin: 'test' }]);

describe('decision tails', () => {
  it('Conv → Conv → Softmax → ArgMax: Softmax stays float, the last Conv is quantized with a float output', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 8, 8]);
    const c1 = b.op1('Conv', [x, b.randomInit('w1', [4, 4, 1, 1])], {}, { name: 'conv1' });
    const c2 = b.op1('Conv', [c1, b.randomInit('w2', [4, 4, 1, 1])], {}, { name: 'conv2' });
    const s = b.op1('Softmax', [c2], { axis: 1 }, { name: 'soft' });
    const am = b.op1('ArgMax', [s], { axis: 1 }, { name: 'argmax' });
    b.output(am);
    const a = analyzeGraph(b.graph, cfg());
    const st = (name: string) => a.decisions.get(b.graph.nodes.find((n) => n.name === name)!)!;
    expect(st('soft').status).toBe('float');
    expect(st('soft').reason.code).toBe('decision-tail');
    expect(st('conv2').status).toBe('quantized');
    expect(a.activations).not.toContain(c2);
    expect(a.activations).not.toContain(s);
    expect(a.activations).toContain(c1);
  });

  it('a tensor that also feeds a model output is not part of the tail', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 8, 8]);
    const c1 = b.op1('Conv', [x, b.randomInit('w1', [4, 4, 1, 1])], {}, { name: 'conv1' });
    const s = b.op1('Sigmoid', [c1], {}, { name: 'sig' });
    const gt = b.op1('Greater', [s, b.init('half', [1], [0.5])], {}, { name: 'gt' });
    b.output(gt);
    b.output(s);
    const a = analyzeGraph(b.graph, cfg());
    expect(a.decisions.get(b.graph.nodes.find((n) => n.name === 'sig')!)!.status).toBe('quantized');
  });
});
