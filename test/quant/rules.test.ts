import { describe, expect, it } from 'vitest';
import { GraphBuilder, Node, makeAttr } from '../../src/ir/index.js';
import { normalizeConfig, type QuantConfig } from '../../src/config/index.js';
import { analyzeGraph } from '../../src/quant/analyze.js';
import { inputChannelAxisOf, ruleFor, supportedOps } from '../../src/quant/rules/index.js';

const cfg = (v: Partial<QuantConfig> = {}) => normalizeConfig([{ values: v, origin: 'test' }]);

/** x ─▶ Conv ─▶ <op> ─▶ Conv ─▶ y, so the op sits between two quantized layers. */
function sandwich(op: string, attrs: Record<string, any> = {}, extraInputs: (b: GraphBuilder) => string[] = () => []) {
  const b = new GraphBuilder();
  const x = b.input('x', [1, 4, 8, 8]);
  const c1 = b.op1('Conv', [x, b.randomInit('w1', [4, 4, 1, 1])], {}, { name: 'conv1' });
  const mid = b.op1(op, [c1, ...extraInputs(b)], attrs, { name: 'mid' });
  const c2 = b.op1('Conv', [mid, b.randomInit('w2', [4, 4, 1, 1])], {}, { name: 'conv2' });
  b.output(c2);
  return b.graph;
}

const TABLE: { op: string; attrs?: Record<string, any>; extra?: (b: GraphBuilder) => string[]; status: string; out: string; shares?: boolean }[] = [
  { op: 'Relu', status: 'absorbed', out: 'activation' },
  { op: 'Clip', extra: (b) => [b.init('lo', [], [0]), b.init('hi', [], [6])], status: 'absorbed', out: 'activation' },
  { op: 'LeakyRelu', status: 'quantized', out: 'activation' },
  { op: 'Sigmoid', status: 'quantized', out: 'fixed' },
  { op: 'HardSigmoid', status: 'quantized', out: 'fixed' },
  { op: 'HardSwish', status: 'quantized', out: 'activation' },
  { op: 'MaxPool', attrs: { kernel_shape: [1, 1] }, status: 'quantized', out: 'shared', shares: true },
  { op: 'AveragePool', attrs: { kernel_shape: [1, 1] }, status: 'quantized', out: 'activation' },
  { op: 'Transpose', attrs: { perm: [0, 1, 3, 2] }, status: 'quantized', out: 'shared', shares: true },
  { op: 'Softmax', status: 'quantized', out: 'fixed' },
  { op: 'Erf', status: 'float', out: 'none' },
];

describe('op-rule registry (table-driven)', () => {
  for (const row of TABLE) {
    it(`${row.op}: ${row.status}`, () => {
      const g = sandwich(row.op, row.attrs, row.extra);
      const a = analyzeGraph(g, cfg());
      const mid = g.nodes.find((n) => n.name === 'mid')!;
      const d = a.decisions.get(mid)!;
      expect(d.status).toBe(row.status);
      if (row.status === 'float') {
        expect(d.reason.code).toBe('no-rule');
        return;
      }
      expect(d.rule!.outputs[0]!.kind).toBe(row.out);
      const conv1Out = g.nodes.find((n) => n.name === 'conv1')!.outputs[0]!;
      if (row.status === 'absorbed') expect(a.absorbed.get(conv1Out)).toBe(mid.outputs[0]);
      if (row.shares) expect(a.groupOf.get(mid.outputs[0]!)).toBe(a.groupOf.get(conv1Out));
      if (row.out === 'fixed') expect(a.fixed.get(mid.outputs[0]!)).toEqual([0, 1]);
    });
  }

  it('weights and axes: Conv axis 0, ConvTranspose axis 1, Gemm transB, MatMul [K,N] axis 1', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 8]);
    const g1 = b.op1('Gemm', [x, b.randomInit('wt', [8, 8])], { transB: 1 }, { name: 'gemmT' });
    const g2 = b.op1('Gemm', [g1, b.randomInit('wn', [8, 8])], {}, { name: 'gemmN' });
    const m = b.op1('MatMul', [g2, b.randomInit('wm', [8, 8])], {}, { name: 'mm' });
    b.output(m);
    const a = analyzeGraph(b.graph, cfg());
    const axis = (name: string) => {
      const r = a.decisions.get(b.graph.nodes.find((n) => n.name === name)!)!.rule!.inputs[1]!;
      return r.kind === 'weight' ? r.axis : r.kind;
    };
    expect([axis('gemmT'), axis('gemmN'), axis('mm')]).toEqual([0, 1, 1]);
  });

  it('input channel axes (outlier-channel statistics): Conv/ConvTranspose 1, MatMul and Gemm the last, Gemm transA 0, others none', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 8]);
    const mk = (op: string, attrs: Record<string, number> = {}) => b.graph.addNode(new Node({ name: op, opType: op, inputs: [x], outputs: [`${op}_y`], attributes: Object.entries(attrs).map(([k, v]) => makeAttr.int(k, v)) }));
    const rows: [Node, number | undefined][] = [
      [mk('Conv'), 1], [mk('ConvTranspose'), 1], [mk('MatMul'), -1], [mk('Gemm'), -1], [mk('Relu'), undefined], [mk('Add'), undefined],
    ];
    for (const [n, want] of rows) expect([n.opType, inputChannelAxisOf(n)]).toEqual([n.opType, want]);
    const t = new Node({ name: 'gt', opType: 'Gemm', inputs: [x], outputs: ['gt_y'], attributes: [makeAttr.int('transA', 1)] });
    expect(inputChannelAxisOf(t)).toBe(0);
  });

  it('ConvTranspose stays float under ort-cpu with the reason, and is quantized (axis 1) under generic', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 4]);
    b.output(b.op1('ConvTranspose', [x, b.randomInit('w', [4, 2, 2, 2])], {}, { name: 'ct' }));
    const ct = b.graph.nodes[0]!;
    const d = analyzeGraph(b.graph, cfg()).decisions.get(ct)!;
    expect(d.status).toBe('float');
    expect(d.reason.code).toBe('no-int8-kernel');
    const d2 = analyzeGraph(b.graph, cfg({ target: 'generic' })).decisions.get(ct)!;
    expect(d2.status).toBe('quantized');
    expect(d2.rule!.inputs[1]).toEqual({ kind: 'weight', axis: 1, inputAxis: 0 });
  });

  it('Concat inputs and output share one range group; Add/Mul quantize both operands', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 4]);
    const a1 = b.op1('Conv', [x, b.randomInit('w1', [4, 4, 1, 1])]);
    const a2 = b.op1('Conv', [x, b.randomInit('w2', [4, 4, 1, 1])]);
    const cat = b.op1('Concat', [a1, a2], { axis: 1 });
    const add = b.op1('Add', [a1, a2]);
    const mul = b.op1('Mul', [add, b.init('k', [], [0.5])]);
    b.output(cat);
    b.output(mul);
    const a = analyzeGraph(b.graph, cfg());
    expect(new Set([a1, a2, cat].map((t) => a.groupOf.get(t))).size).toBe(1);
    expect(a.activations).toContain(add);
    expect(a.activations).toContain(mul);
  });

  it('--exclude-nodes, --exclude-ops and --include-ops', () => {
    const g = sandwich('LeakyRelu');
    const byName = (n: string) => g.nodes.find((x) => x.name === n)!;
    expect(analyzeGraph(g, cfg({ excludeNodes: ['conv2'] })).decisions.get(byName('conv2'))!.reason.code).toBe('excluded-node');
    expect(analyzeGraph(g, cfg({ excludeOps: ['LeakyRelu'] })).decisions.get(byName('mid'))!.status).toBe('float');
    const inc = analyzeGraph(g, cfg({ includeOps: ['Conv'] }));
    expect(inc.decisions.get(byName('mid'))!.reason.code).toBe('not-included');
    expect(inc.decisions.get(byName('conv1'))!.status).toBe('quantized');
  });

  it('HardSwish written out as Add→Clip→Mul→Div is one unit: Q/DQ on its input and output only', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 4, 4]);
    const c = b.op1('Conv', [x, b.randomInit('w', [4, 4, 1, 1])]);
    const add = b.op1('Add', [c, b.init('three', [], [3])]);
    const clip = b.op1('Clip', [add, b.init('zero', [], [0]), b.init('six', [], [6])]);
    const mul = b.op1('Mul', [c, clip]);
    const div = b.op1('Div', [mul, b.init('six2', [], [6])]);
    b.output(b.op1('Conv', [div, b.randomInit('w2', [4, 4, 1, 1])]));
    const a = analyzeGraph(b.graph, cfg());
    expect(a.activations).toContain(c);
    expect(a.activations).toContain(div);
    for (const inner of [add, clip, mul]) expect(a.activations).not.toContain(inner);
    expect(a.decisions.get(b.graph.producerOf(div)!)!.reason.code).toBe('hardswish-unit');
  });

  it('every op named in the issue has a rule', () => {
    const ops = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Add', 'Mul', 'Concat', 'Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Split', 'Slice', 'Gather', 'Resize', 'Softmax'];
    expect(ops.filter((op) => !supportedOps().includes(op))).toEqual([]);
    expect(ruleFor({ opType: 'Conv', domain: 'com.microsoft' } as any)).toBeUndefined();
  });
});
