// Rule `decision`: tensors that reach only comparisons/selections stay float with the chain that
// feeds only them; the weighted layer in front keeps its weights and gets a float output.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/index.js';
import { normalizeConfig } from '../../src/config/index.js';
import { analyzeGraph } from '../../src/quant/analyze.js';

const cfg = (values: Record<string, unknown> = {}) => normalizeConfig([{ values, origin: 'test' }]);

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

  it('the layers that feed only a peak test (x == MaxPool(x)) get 16-bit activations; a shared trunk and an ArgMax tail do not', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 8, 8]);
    const trunk = b.op1('Conv', [x, b.randomInit('w0', [4, 4, 1, 1])], {}, { name: 'trunk' });
    const h1 = b.op1('Conv', [trunk, b.randomInit('w1', [4, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'head1' });
    const h1r = b.op1('Relu', [h1], {}, { name: 'head1_relu' });
    const h2 = b.op1('Conv', [h1r, b.randomInit('w2', [1, 4, 1, 1])], {}, { name: 'head2' });
    const s = b.op1('Sigmoid', [h2], {}, { name: 'sig' });
    const pooled = b.op1('MaxPool', [s], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'pool' });
    const peak = b.op1('Equal', [s, pooled], {}, { name: 'peak' });
    b.output(peak);
    // The trunk also feeds a second head (a detector's box sizes) and a classifier with an in-graph ArgMax.
    const box = b.op1('Conv', [trunk, b.randomInit('wb', [2, 4, 1, 1])], {}, { name: 'box' });
    b.output(box);
    const cls = b.op1('Conv', [trunk, b.randomInit('wc', [3, 4, 1, 1])], {}, { name: 'cls' });
    b.output(b.op1('ArgMax', [cls], { axis: 1 }, { name: 'argmax' }));
    const a = analyzeGraph(b.graph, cfg());
    const st = (name: string) => a.decisions.get(b.graph.nodes.find((n) => n.name === name)!)!;
    expect(st('sig').status).toBe('float');
    expect(st('head1').status).toBe('quantized');
    expect(st('head1').reason.code).toBe('peak-test-int16');
    expect(st('head2').reason.code).toBe('peak-test-int16');
    expect(a.int16).toContain(trunk); // head1's input
    expect(a.int16).toContain(h1r);
    expect(a.activations).not.toContain(h2); // float output into the tail
    expect(st('trunk').precision).toBeUndefined();
    expect(st('box').precision).toBeUndefined();
    expect(st('cls').precision).toBeUndefined();
    expect(a.int16).not.toContain(x);
    // TensorRT has no 16-bit Q/DQ: there the head stays int8.
    const trt = analyzeGraph(b.graph, cfg({ target: 'tensorrt' }));
    expect(trt.int16.size).toBe(0);
    expect(trt.decisions.get(b.graph.nodes.find((n) => n.name === 'sig')!)!.status).toBe('float');
  });

  it('Equal against a MaxPool of another tensor is no peak test: no 16-bit activations', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 8, 8]);
    const c1 = b.op1('Conv', [x, b.randomInit('w1', [4, 4, 1, 1])], {}, { name: 'conv1' });
    const c2 = b.op1('Conv', [x, b.randomInit('w2', [4, 4, 1, 1])], {}, { name: 'conv2' });
    const pooled = b.op1('MaxPool', [c2], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'pool' });
    b.output(b.op1('Equal', [c1, pooled], {}, { name: 'eq' }));
    const a = analyzeGraph(b.graph, cfg());
    expect(a.int16.size).toBe(0);
    expect(a.decisions.get(b.graph.nodes.find((n) => n.name === 'conv1')!)!.status).toBe('quantized');
  });
});
