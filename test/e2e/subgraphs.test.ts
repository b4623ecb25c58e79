// Models with If bodies that read quantized outer tensors: quantize renames the outer-scope
// references inside the bodies (nested ones included) instead of aborting, and the result runs.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, inspectModel, quantize, readModel, saveStats, writeModel } from '../../src/index.js';
import { AttrType, DataType, Graph, GraphBuilder, Node } from '../../src/ir/index.js';
import { Session } from '../../src/runtime/index.js';
import { openDataFolder } from '../../src/data/index.js';
import { CALIB, mnistTest, sqnr, tmpDir } from './helpers.js';

const dir = tmpDir('subgraphs');

/** A branch graph computing `op(input)` into `out`, reading `input` from the outer scope. */
function branch(name: string, op: string, input: string, out: string, nested?: Node): Graph {
  const g = new Graph({ name, outputs: [{ name: out, elemType: DataType.FLOAT }] });
  if (nested) {
    g.addNode(nested);
    g.addNode(new Node({ name: `${name}_${op}`, opType: op, inputs: [nested.outputs[0]!], outputs: [out] }));
  } else g.addNode(new Node({ name: `${name}_${op}`, opType: op, inputs: [input], outputs: [out] }));
  return g;
}

function ifNode(name: string, cond: string, then: Graph, els: Graph, out: string): Node {
  return new Node({
    name, opType: 'If', inputs: [cond], outputs: [out],
    attributes: [{ name: 'then_branch', type: AttrType.GRAPH, value: then }, { name: 'else_branch', type: AttrType.GRAPH, value: els }],
  });
}

describe('subgraphs', () => {
  it('a quantized Conv output read inside nested If branches is renamed there; the model runs', async () => {
    const b = new GraphBuilder({ seed: 3 });
    const x = b.input('input', ['N', 1, 28, 28]);
    const c = b.op1('Conv', [x, b.randomInit('w1', [4, 1, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
    const r = b.op1('Relu', [c], {}, { name: 'relu1' });
    const sum = b.op1('ReduceSum', [x], { keepdims: 0 }, { name: 'sum' });
    const cond = b.op1('Greater', [sum, b.init('zero', [], [0])], {}, { name: 'positive' });
    // then: If(cond) { then: Sigmoid(relu1) ; else: Tanh(relu1) } → Abs ; else: Neg(relu1)
    const inner = ifNode('inner_if', cond, branch('inner_then', 'Sigmoid', r, 'inner_then_out'), branch('inner_else', 'Tanh', r, 'inner_else_out'), 'inner_out');
    const then = branch('outer_then', 'Abs', r, 'outer_then_out', inner);
    const els = branch('outer_else', 'Neg', r, 'outer_else_out');
    b.graph.addNode(ifNode('outer_if', cond, then, els, 'if_out'));
    const y = b.op1('Conv', ['if_out', b.randomInit('w2', [2, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv2' });
    b.output(y, ['N', 2, 28, 28]);
    const model = path.join(dir, 'nested-if.onnx');
    writeModel(b.model([{ domain: '', version: 13 }]), model);

    // inspect counts the quantizable nodes inside the (nested) branches.
    const names = inspectModel(model).quantizable.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(['conv1', 'conv2', 'inner_then_Sigmoid', 'inner_else_Tanh']));

    const stats = path.join(dir, 'nested-if.stats.json');
    saveStats(await calibrate(model, { data: CALIB, config: { calibCount: 32 } }), stats);
    const q = await quantize(model, { output: path.join(dir, 'nested-if.q.onnx'), stats });
    expect(q.plan.nodes.find((n) => n.name === 'conv1')?.status).toBe('quantized');
    // The digits are never all zero: the then branches run, the else branches never do. The
    // taken branch is quantized; the untaken one with something to quantize (Tanh) stays float,
    // with a note naming it (the outer else branch, a Neg, has nothing to quantize).
    const node = (name: string) => q.plan.nodes.find((n) => n.name === name);
    expect(node('inner_then_Sigmoid')).toMatchObject({ status: 'quantized', graph: 'outer_if.then_branch/inner_if.then_branch' });
    expect(node('inner_else_Tanh')).toMatchObject({ status: 'float', code: 'untaken-branch' });
    expect(q.diagnostics.find((d) => d.code === 'untaken-branch')?.message).toMatch(/1 If\/Loop\/Scan body never ran on the calibration data and stays float: outer_if\.then_branch\/inner_if\.else_branch$/);
    expect(q.diagnostics.some((d) => d.code === 'subgraphs-float')).toBe(false);
    const g = readModel(q.output).graph;
    const outer = g.nodes.find((n) => n.name === 'outer_if')!;
    // Every outer-scope name the bodies read exists in the quantized graph.
    const defined = new Set([...g.inputs.map((i) => i.name), ...g.nodes.flatMap((n) => n.outputs)]);
    for (const ref of outer.implicitInputs()) expect(defined.has(ref)).toBe(true);

    const { x: data } = mnistTest();
    const run = async (file: string) => {
      const s = await Session.open(file);
      const out = await s.run({ input: { dtype: 1, dims: [64, 1, 28, 28], data: data.subarray(0, 64 * 784) } });
      await s.close();
      return out[s.outputNames[0]!]!.data as Float32Array;
    };
    const db = sqnr(await run(model), await run(q.output));
    console.log(`nested If reading a quantized tensor: SQNR ${db.toFixed(1)} dB`);
    expect(db).toBeGreaterThan(20);
  });
});

describe('branches that ran on few calibration samples', () => {
  /** conv1 → If(ReduceSum(input) > threshold) { Tanh(Sigmoid) } else { Tanh } → conv2, as the nested test, one level. */
  async function model(threshold: number, file: string): Promise<string> {
    const b = new GraphBuilder({ seed: 5 });
    const x = b.input('input', ['N', 1, 28, 28]);
    const r = b.op1('Relu', [b.op1('Conv', [x, b.randomInit('w1', [4, 1, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv1' })], {}, { name: 'relu1' });
    const sum = b.op1('ReduceSum', [x], { keepdims: 0 }, { name: 'sum' });
    const cond = b.op1('Greater', [sum, b.init('threshold', [], [threshold])], {}, { name: 'bright' });
    // then: Tanh(Sigmoid(relu1)), so the branch holds a tensor of its own to calibrate.
    const sig = new Node({ name: 'rare_then_Sigmoid', opType: 'Sigmoid', inputs: [r], outputs: ['then_sig'] });
    b.graph.addNode(ifNode('rare_if', cond, branch('rare_then', 'Tanh', r, 'then_out', sig), branch('rare_else', 'Tanh', r, 'else_out'), 'if_out'));
    const y = b.op1('Conv', ['if_out', b.randomInit('w2', [2, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv2' });
    b.output(y, ['N', 2, 28, 28]);
    const out = path.join(dir, file);
    writeModel(b.model([{ domain: '', version: 13 }]), out);
    return out;
  }

  it('a branch taken by 2 of 64 samples is quantized with a rare-branch warning naming it; taken by half, no warning', async () => {
    // The pixel sums of the first 64 calibration digits, one per batch of 1 (as calibration runs them).
    const src = await openDataFolder(CALIB, { inputs: [{ name: 'input', elemType: DataType.FLOAT, shape: ['N', 1, 28, 28] }], count: 64, batchSize: 1 });
    const sums: number[] = [];
    for await (const f of src.batches()) sums.push((f.input!.data as Float32Array).reduce((a, v) => a + v, 0));
    const sorted = [...sums].sort((p, q) => q - p);
    const config = { calibCount: 64, batchSize: 1 };

    // Between the 2nd and 3rd brightest digits: the then branch runs on exactly 2 samples.
    const rare = await quantize(await model((sorted[1]! + sorted[2]!) / 2, 'rare-if.onnx'), { output: path.join(dir, 'rare-if.q.onnx'), data: CALIB, config, verify: false });
    const w = rare.diagnostics.find((d) => d.code === 'rare-branch');
    expect(w?.message).toMatch(/^1 If\/Loop\/Scan body ran on under 10% of the calibration samples: rare_if\.then_branch \(2 of 64\); its ranges rest on those samples alone/);
    expect(w?.message).not.toMatch(/else_branch/);
    expect(rare.plan.nodes.find((n) => n.name === 'rare_then_Sigmoid')?.status).toBe('quantized');

    const median = await quantize(await model((sorted[31]! + sorted[32]!) / 2, 'half-if.onnx'), { output: path.join(dir, 'half-if.q.onnx'), data: CALIB, config, verify: false });
    expect(median.diagnostics.map((d) => d.code)).not.toContain('rare-branch');
    // Given statistics record no sample counts: no warning either way.
    const stats = path.join(dir, 'rare-if.stats.json');
    saveStats(await calibrate(path.join(dir, 'rare-if.onnx'), { data: CALIB, config }), stats);
    const fromStats = await quantize(path.join(dir, 'rare-if.onnx'), { output: path.join(dir, 'rare-if.s.onnx'), stats, verify: false });
    expect(fromStats.diagnostics.map((d) => d.code)).not.toContain('rare-branch');
  });
});
