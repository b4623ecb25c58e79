import { describe, expect, it } from 'vitest';
import { Graph, GraphBuilder, Node, AttrType, type Graph as G } from '../../src/ir/index.js';
import { readModel } from '../../src/index.js';

function chain(): { b: GraphBuilder; relu: string; out: string } {
  const b = new GraphBuilder();
  const x = b.input('x', ['N', 4]);
  const w = b.randomInit('w', [4, 4]);
  const mm = b.op1('MatMul', [x, w]);
  const relu = b.op1('Relu', [mm]);
  const out = b.op1('Sigmoid', [relu]);
  b.output(out);
  return { b, relu, out };
}

describe('Graph indices and mutators', () => {
  it('tracks producers and consumers through edits', () => {
    const { b, relu, out } = chain();
    const g = b.graph;
    expect(g.producerOf(relu)?.opType).toBe('Relu');
    expect(g.consumersOf(relu).map((n) => n.opType)).toEqual(['Sigmoid']);
    const sig = g.producerOf(out)!;
    const idn = new Node({ name: 'id', opType: 'Identity', inputs: [relu], outputs: ['relu_copy'] });
    g.addNode(idn, { before: sig });
    g.setNodeInput(sig, 0, 'relu_copy');
    expect(g.consumersOf(relu).map((n) => n.name)).toEqual(['id']);
    expect(g.consumersOf('relu_copy')).toEqual([sig]);
    g.checkInvariants();
  });

  it('rejects a second producer for a value', () => {
    const { b, relu } = chain();
    expect(() => b.graph.addNode(new Node({ opType: 'Relu', inputs: ['x'], outputs: [relu] }))).toThrow(/two producers/);
  });

  it('toposorts a shuffled graph stably and detects cycles', () => {
    const { b } = chain();
    const g = b.graph;
    const nodes = [...g.nodes];
    const shuffled = new Graph({ inputs: g.inputs, outputs: g.outputs, initializers: [...g.initializers.values()], nodes: [...nodes].reverse() });
    expect(() => shuffled.checkInvariants()).toThrow(/before it is produced/);
    shuffled.toposort();
    shuffled.checkInvariants();
    expect(shuffled.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Relu', 'Sigmoid']);
    const cyc = new Graph({ outputs: [{ name: 'a' }], nodes: [
      new Node({ opType: 'Relu', inputs: ['b'], outputs: ['a'] }),
      new Node({ opType: 'Relu', inputs: ['a'], outputs: ['b'] }),
    ] });
    expect(() => cyc.toposort()).toThrow(/cycle/);
  });

  it('cleanup removes dead nodes and unused initializers only', () => {
    const { b, relu } = chain();
    const g = b.graph;
    b.op1('Neg', [relu]);
    b.init('unused', [1], [1]);
    const before = g.nodes.length;
    g.cleanup();
    expect(g.nodes.length).toBe(before - 1);
    expect([...g.initializers.keys()]).toEqual(['w']);
    g.checkInvariants();
  });

  it('allocates unique names', () => {
    const { b } = chain();
    const a = b.graph.uniqueName('w');
    const c = b.graph.uniqueName('w');
    expect(a).not.toBe('w');
    expect(new Set([a, c, 'w']).size).toBe(3);
  });

  it('sees outer-scope reads of subgraphs as consumers and keeps them through cleanup', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1]);
    const c = b.input('cond', [], 9);
    const y = b.op1('Relu', [x]);
    const thenG = new Graph({ name: 'then', outputs: [{ name: 't' }], nodes: [new Node({ opType: 'Neg', inputs: [y], outputs: ['t'] })] });
    const elseG = new Graph({ name: 'else', outputs: [{ name: 'e' }], nodes: [new Node({ opType: 'Abs', inputs: [y], outputs: ['e'] })] });
    b.graph.addNode(new Node({ name: 'if', opType: 'If', inputs: [c], outputs: ['z'], attributes: [
      { name: 'then_branch', type: AttrType.GRAPH, value: thenG },
      { name: 'else_branch', type: AttrType.GRAPH, value: elseG },
    ] }));
    b.output('z');
    const g: G = b.graph;
    expect(g.consumersOf(y).map((n) => n.opType)).toEqual(['If']);
    g.cleanup();
    expect(g.nodes.map((n) => n.opType)).toEqual(['Relu', 'If']);
    g.checkInvariants();
  });

  it('holds the invariants on every fixture as read', () => {
    for (const f of ['lenet_bn', 'resnet_mini', 'vit_mini', 'lstm_rows']) {
      const m = readModel(`fixtures/mnist/${f}.onnx`);
      m.graph.checkInvariants();
      const count = m.graph.nodes.length;
      m.graph.toposort();
      m.graph.cleanup();
      expect(m.graph.nodes.length).toBe(count);
    }
  });
});
