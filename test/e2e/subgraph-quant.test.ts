// Quantization inside If/Loop bodies, measured against the same network quantized flat: the
// fixtures' trained layers moved into nested If branches (and into a Loop body) are quantized
// there, onnxruntime runs the result, and the outputs stay within 1 dB of the flat version's SQNR.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel, writeModel } from '../../src/index.js';
import { AttrType, DataType, Graph, Node, Tensor, type Model } from '../../src/ir/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { Session } from '../../src/runtime/index.js';
import { CALIB, fixture, mnistTest, sqnr, tmpDir } from './helpers.js';

const dir = tmpDir('subgraph-quant');
const N = 500;

/** The fixture as qtool prepares it (BatchNormalization folded): the flat version. */
function prepared(name: string): Model {
  const m = readModel(fixture(name));
  prepareModel(m);
  return m;
}

const graphAttr = (name: string, value: Graph) => ({ name, type: AttrType.GRAPH, value }) as const;

/** A branch that outputs zeros [1, 10] (never taken on MNIST digits). */
function zerosBranch(name: string, out: string): Graph {
  const g = new Graph({ name, outputs: [{ name: out, elemType: DataType.FLOAT }] });
  g.addNode(new Node({ name: `${name}_zeros`, opType: 'Constant', outputs: [out], attributes: [{ name: 'value', type: AttrType.TENSOR, value: Tensor.fromFloat32(out, [1, 10], new Float32Array(10)) }] }));
  return g;
}

/** Moves `nodes` of `from` into a new graph `name` that outputs `outputs`; initializers only they read move with them when `moveWeights`. */
function moveInto(from: Graph, nodes: readonly Node[], name: string, outputs: string[], moveWeights: boolean): Graph {
  const g = new Graph({ name, outputs: outputs.map((o) => ({ name: o, elemType: DataType.FLOAT })) });
  for (const n of nodes) {
    from.removeNode(n);
    g.addNode(n);
  }
  if (moveWeights) {
    for (const [w, t] of [...from.initializers]) {
      if (from.consumersOf(w).length || !nodes.some((n) => n.inputs.includes(w))) continue;
      from.removeInitializer(w);
      g.addInitializer(t);
    }
  }
  return g;
}

/** `cond` = ReduceSum(input) > -1: true for every image (pixels are ≥ 0 after normalisation? not needed: sums are large). */
function alwaysTrue(g: Graph, input: string): string {
  g.addInitializer(Tensor.fromFloat32('minus_big', [], new Float32Array([-1e9])));
  g.addNode(new Node({ name: 'sum_all', opType: 'ReduceSum', inputs: [input], outputs: ['sum_all_out'], attributes: [{ name: 'keepdims', type: AttrType.INT, value: 0 }] }), { before: g.nodes[0] });
  g.addNode(new Node({ name: 'cond', opType: 'Greater', inputs: ['sum_all_out', 'minus_big'], outputs: ['cond_out'] }), { after: g.producerOf('sum_all_out') });
  return 'cond_out';
}

/**
 * The network split in two: nodes [0, split) in the then branch of `outer_if`, the rest in the
 * then branch of `inner_if` nested in it. The first part reads the main graph's weights from the
 * outer scope; the second part's weights are initializers of its branch.
 */
function nestedIfs(name: string, split: number, opts: { raw?: boolean } = {}): Model {
  // raw: the fixture as exported (BatchNormalization in the branches, for the prepare passes to
  // fold there), every weight an initializer of the branch that reads it.
  const m = opts.raw ? readModel(fixture(name)) : prepared(name);
  const g = m.graph;
  const out = g.outputs[0]!.name;
  const nodes = [...g.nodes];
  const innerThen = moveInto(g, nodes.slice(split), 'inner_then', [out], true);
  const cond = alwaysTrue(g, g.inputs[0]!.name);
  const inner = new Node({ name: 'inner_if', opType: 'If', inputs: [cond], outputs: ['inner_out'], attributes: [graphAttr('then_branch', innerThen), graphAttr('else_branch', zerosBranch('inner_else', 'inner_zeros'))] });
  const outerThen = moveInto(g, nodes.slice(0, split), 'outer_then', ['inner_out'], !!opts.raw);
  outerThen.addNode(inner);
  g.addNode(new Node({ name: 'outer_if', opType: 'If', inputs: [cond], outputs: [out], attributes: [graphAttr('then_branch', outerThen), graphAttr('else_branch', zerosBranch('outer_else', 'outer_zeros'))] }));
  g.checkInvariants();
  return m;
}

/** The whole network inside a Loop body run twice; the second iteration's output is the model's. */
function inLoop(name: string): Model {
  const m = prepared(name);
  const g = m.graph;
  const out = g.outputs[0]!.name;
  const body = moveInto(g, [...g.nodes], 'loop_body', ['cond_in', out], true);
  body.inputs = [{ name: 'iter', elemType: DataType.INT64, shape: [] }, { name: 'cond_in', elemType: DataType.BOOL, shape: [] }];
  g.addInitializer(Tensor.fromInt64('trips', [], [2]));
  g.addInitializer(Tensor.fromInt64('last', [], [1]));
  g.addNode(new Node({ name: 'loop', opType: 'Loop', inputs: ['trips', ''], outputs: ['stacked'], attributes: [graphAttr('body', body)] }));
  g.addNode(new Node({ name: 'take_last', opType: 'Gather', inputs: ['stacked', 'last'], outputs: [out] }));
  g.checkInvariants();
  return m;
}

/** Op types inside the bodies of the graph onnxruntime runs (optimization level 'extended': its fused integer kernels). */
async function optimizedBodyOps(file: string): Promise<Map<string, number>> {
  const out = path.join(tmpDir('subgraph-opt'), 'optimized.onnx');
  const s = await Session.open(file, { optimizationLevel: 'extended', optimizedModelPath: out });
  await s.close();
  return bodyOps(readModel(out));
}

async function outputs(file: string): Promise<Float32Array> {
  const { x } = mnistTest();
  const s = await Session.open(file);
  const r = await s.run({ input: { dtype: 1, dims: [N, 1, 28, 28], data: x.subarray(0, N * 784) } });
  await s.close();
  return r[s.outputNames[0]!]!.data as Float32Array;
}

/** Q/DQ nodes and op types inside the bodies of a model (all levels). */
function bodyOps(m: Model): Map<string, number> {
  const count = new Map<string, number>();
  const visit = (g: Graph, inBody: boolean) => {
    for (const n of g.nodes) {
      if (inBody) count.set(n.opType, (count.get(n.opType) ?? 0) + 1);
      for (const sub of n.subgraphs()) visit(sub, true);
    }
  };
  visit(m.graph, false);
  return count;
}

/** SQNR of the float and quantized versions of both models, and the quantize results. */
async function against(name: string, flat: Model, other: Model, config: Record<string, unknown> = {}) {
  const files = { flat: path.join(dir, `${name}.flat.onnx`), other: path.join(dir, `${name}.nested.onnx`) };
  writeModel(flat, files.flat);
  writeModel(other, files.other);
  const qf = await quantize(files.flat, { output: path.join(dir, `${name}.flat.q.onnx`), data: CALIB, config });
  const qo = await quantize(files.other, { output: path.join(dir, `${name}.nested.q.onnx`), data: CALIB, config });
  const ref = await outputs(files.flat);
  // The float models agree exactly: the nesting changes nothing numerically.
  expect(sqnr(ref, await outputs(files.other))).toBeGreaterThan(100);
  const db = { flat: sqnr(ref, await outputs(qf.output)), nested: sqnr(ref, await outputs(qo.output)) };
  console.log(`${name}: SQNR flat ${db.flat.toFixed(2)} dB, in bodies ${db.nested.toFixed(2)} dB; ${qf.sizes.quantized} vs ${qo.sizes.quantized} bytes`);
  return { db, qf, qo };
}

describe('quantization inside If/Loop bodies', () => {
  it('lenet_bn split over nested If branches: body Conv/Gemm quantized, runs, SQNR within 1 dB of flat', async () => {
    // lenet_bn prepared: Conv Relu MaxPool | Conv Relu MaxPool Flatten Gemm Relu Gemm
    const { db, qf, qo } = await against('lenet_if', prepared('lenet_bn'), nestedIfs('lenet_bn', 3));
    expect(Math.abs(db.nested - db.flat)).toBeLessThanOrEqual(1);
    expect(db.nested).toBeGreaterThan(25);
    // Every weighted layer is quantized, in its branch.
    const weighted = qo.plan.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm');
    expect(weighted.map((n) => [n.status, n.graph])).toEqual([
      ['quantized', 'outer_if.then_branch'], ['quantized', 'outer_if.then_branch/inner_if.then_branch'],
      ['quantized', 'outer_if.then_branch/inner_if.then_branch'], ['quantized', 'outer_if.then_branch/inner_if.then_branch'],
    ]);
    expect(Object.keys(qo.plan.weights).length).toBe(Object.keys(qf.plan.weights).length);
    const ops = bodyOps(readModel(qo.output));
    expect(ops.get('QuantizeLinear')).toBeGreaterThanOrEqual(4);
    expect(ops.get('DequantizeLinear')).toBeGreaterThanOrEqual(8);
    // The int8 file is as small as the flat one's (the weights are stored once, as int8).
    expect(qo.sizes.quantized).toBeLessThan(qf.sizes.quantized * 1.1);
    // onnxruntime fuses the branches' DQ → Conv/Gemm → Q into integer kernels: each body reads
    // the outer integer tensor through a DequantizeLinear of its own.
    const fused = await optimizedBodyOps(qo.output);
    expect(fused.get('QLinearConv')).toBe(2);
    expect(fused.get('QGemm')).toBe(2);
    expect(fused.get('Conv')).toBeUndefined();
  });

  it('lenet_bn as exported (BatchNormalization inside the branches) is folded and quantized there like the flat model', async () => {
    // lenet_bn: Conv BN Relu MaxPool | Conv BN Relu MaxPool Flatten Gemm Relu Gemm
    const { db, qo } = await against('lenet_raw_if', prepared('lenet_bn'), nestedIfs('lenet_bn', 4, { raw: true }));
    expect(Math.abs(db.nested - db.flat)).toBeLessThanOrEqual(1);
    expect(qo.plan.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    expect(qo.plan.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').every((n) => n.status === 'quantized' && n.graph)).toBe(true);
  });

  it('resnet_mini inside a Loop body (two iterations): quantized there, runs, SQNR within 1 dB of flat', async () => {
    const { db, qo } = await against('resnet_loop', prepared('resnet_mini'), inLoop('resnet_mini'));
    expect(Math.abs(db.nested - db.flat)).toBeLessThanOrEqual(1);
    const convs = qo.plan.nodes.filter((n) => n.opType === 'Conv');
    expect(convs.length).toBeGreaterThan(0);
    expect(convs.every((n) => n.status === 'quantized' && n.graph === 'loop.body')).toBe(true);
    expect(bodyOps(readModel(qo.output)).get('QuantizeLinear')).toBeGreaterThanOrEqual(convs.length);
    const fused = await optimizedBodyOps(qo.output);
    expect(fused.get('QLinearConv')).toBe(convs.length);
    expect(fused.get('Conv')).toBeUndefined();
  });

  it('lstm_rows inside an If branch: dynamic mode writes DynamicQuantizeLSTM there (within 1 dB of flat); static keeps it float with the dynamic note', async () => {
    const nested = () => {
      const m = prepared('lstm_rows');
      const g = m.graph;
      const out = g.outputs[0]!.name;
      const body = moveInto(g, [...g.nodes], 'then', [out], true);
      const cond = alwaysTrue(g, g.inputs[0]!.name);
      g.addNode(new Node({ name: 'if', opType: 'If', inputs: [cond], outputs: [out], attributes: [graphAttr('then_branch', body), graphAttr('else_branch', zerosBranch('else', 'zeros'))] }));
      return m;
    };
    const { db, qo } = await against('lstm_if', prepared('lstm_rows'), nested(), { mode: 'dynamic' });
    expect(Math.abs(db.nested - db.flat)).toBeLessThanOrEqual(1);
    const ops = bodyOps(readModel(qo.output));
    expect(ops.get('DynamicQuantizeLSTM')).toBe(1);
    expect(ops.get('LSTM')).toBeUndefined();

    const file = path.join(dir, 'lstm_if.nested.onnx');
    const s = await quantize(file, { output: path.join(dir, 'lstm_if.static.q.onnx'), data: CALIB });
    expect(s.plan.nodes.find((n) => n.opType === 'LSTM')).toMatchObject({ status: 'float', graph: 'if.then_branch' });
    expect(s.diagnostics.some((d) => d.code === 'recurrent-needs-dynamic')).toBe(true);
    expect(bodyOps(readModel(s.output)).get('QuantizeLinear')).toBeGreaterThan(0);
  });
});
