// Post-processing inside the graph stays float: a suppression tail (Sigmoid → MaxPool → Equal →
// Cast → Mul) on a late resnet_mini feature map keeps its order, so the positions it selects after
// quantization are the ones float selects (quantizing the map creates ties: every tied neighbour
// of a peak passes Equal). The layers that feed only such a peak test keep int8 weights with
// 16-bit activations: Equal(x, MaxPool(x)) flips wherever noise reorders close neighbours.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, quantize, readModel, saveStats, writeModel } from '../../src/index.js';
import { DataType, Node, Tensor, makeAttr } from '../../src/ir/index.js';
import { Session } from '../../src/runtime/index.js';
import { CALIB, fixture, mnistTest, tmpDir } from './helpers.js';

const dir = tmpDir('decision');
const MAP = '/layer3/relu2/Relu_output_0';

/** resnet_mini cut at layer3's output feature map (before the pooling), its channel mean as a heat map, with an in-graph peak-suppression tail as its output. */
function suppressionModel(file: string): void {
  const m = readModel(fixture('resnet_mini'));
  const g = m.graph;
  const add = (opType: string, inputs: string[], outputs: string[], attributes = [] as ReturnType<typeof makeAttr.int>[]) =>
    g.addNode(new Node({ name: `tail_${opType}`, opType, inputs, outputs, attributes }));
  // One heat map (a detector's centre logits): the mean over the 64 channels.
  add('ReduceMean', [MAP], ['heat'], [makeAttr.ints('axes', [1]), makeAttr.int('keepdims', 1)]);
  add('Sigmoid', ['heat'], ['score']);
  add('MaxPool', ['score'], ['pooled'], [makeAttr.ints('kernel_shape', [3, 3]), makeAttr.ints('strides', [1, 1]), makeAttr.ints('pads', [1, 1, 1, 1])]);
  add('Equal', ['score', 'pooled'], ['is_peak']);
  add('Cast', ['is_peak'], ['peak_mask'], [makeAttr.int('to', DataType.FLOAT)]);
  add('Mul', ['score', 'peak_mask'], ['peaks']);
  g.outputs = [{ name: 'peaks', elemType: DataType.FLOAT }];
  g.cleanup();
  writeModel(m, file);
}

/** The quantized model with its tail quantized too: Q/DQ on the Sigmoid output (uint8, its fixed [0, 1] range), as qtool would place them without the decision-tail rules. */
function quantizeScore(model: string, file: string): void {
  const m = readModel(model);
  const g = m.graph;
  g.addInitializer(Tensor.fromFloat32('score_scale', [], Float32Array.of(1 / 255)));
  g.addInitializer(Tensor.fromTyped('score_zero_point', DataType.UINT8, [], Uint8Array.of(0)));
  const sigmoid = g.nodes.find((n) => n.name === 'tail_Sigmoid')!;
  g.replaceAllUses('score', 'score_dq');
  const q = g.addNode(new Node({ name: 'score_Q', opType: 'QuantizeLinear', inputs: ['score', 'score_scale', 'score_zero_point'], outputs: ['score_q'] }), { after: sigmoid });
  g.addNode(new Node({ name: 'score_DQ', opType: 'DequantizeLinear', inputs: ['score_q', 'score_scale', 'score_zero_point'], outputs: ['score_dq'] }), { after: q });
  writeModel(m, file);
}

async function peaks(model: string): Promise<{ data: Float32Array; per: number }> {
  const { x, n } = mnistTest();
  const s = await Session.open(model);
  const chunks: Float32Array[] = [];
  for (let i = 0; i < n; i += 250) {
    const r = await s.run({ input: { dtype: 1, dims: [250, 1, 28, 28], data: x.subarray(i * 784, (i + 250) * 784) } });
    chunks.push(Float32Array.from(r.peaks!.data as Float32Array));
  }
  await s.close();
  const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) data.set(c, (o += c.length) - c.length);
  return { data, per: data.length / n };
}

/** Share of samples whose selected positions (peaks > 0) are exactly float's. */
function agreement(ref: { data: Float32Array; per: number }, q: { data: Float32Array; per: number }): number {
  const n = ref.data.length / ref.per;
  let same = 0;
  for (let s = 0; s < n; s++) {
    let ok = true;
    for (let i = s * ref.per; i < (s + 1) * ref.per && ok; i++) ok = ref.data[i]! > 0 === q.data[i]! > 0;
    if (ok) same++;
  }
  return same / n;
}

describe('decision tails', () => {
  it('a suppression tail on a resnet_mini feature map stays float and selects what float selects on ≥ 95% of the test digits', async () => {
    const model = path.join(dir, 'suppress.onnx');
    suppressionModel(model);
    const stats = path.join(dir, 'suppress.stats.json');
    saveStats(await calibrate(model, { data: CALIB, config: { calibCount: 100 } }), stats);
    const r = await quantize(model, { output: path.join(dir, 'suppress.q.onnx'), stats });
    const byName = new Map(r.plan.nodes.map((n) => [n.name, n]));
    for (const t of ['tail_Sigmoid', 'tail_MaxPool']) expect(byName.get(t)?.status).toBe('float');
    // The backbone stays quantized (int8 weights); it feeds only the peak test, so its activations are 16-bit.
    const quantized = r.plan.nodes.filter((n) => n.status === 'quantized');
    expect(quantized.length).toBeGreaterThan(5);
    expect(quantized.filter((n) => n.weightInputs?.length).length).toBe(9); // every Conv of the backbone
    expect(new Set(Object.values(r.plan.weights).map((w) => w.dtype))).toEqual(new Set(['int8']));
    expect(new Set(Object.values(r.plan.activations).map((a) => a.dtype))).toEqual(new Set(['int16']));
    // No QuantizeLinear reads the map the tail compares.
    const q = readModel(r.output).graph;
    const score = q.nodes.find((n) => n.name === 'tail_Sigmoid')!;
    expect(q.producerOf(score.inputs[0]!)?.opType).not.toBe('DequantizeLinear');
    expect(q.producerOf(q.nodes.find((n) => n.name === 'tail_ReduceMean')!.inputs[0]!)?.opType).not.toBe('DequantizeLinear');
    const ref = await peaks(model);
    const a = agreement(ref, await peaks(r.output));
    // Controls: the same model with the tail quantized too, and with the backbone pinned back to uint8 activations.
    quantizeScore(r.output, path.join(dir, 'suppress.tail-q.onnx'));
    const tailQ = agreement(ref, await peaks(path.join(dir, 'suppress.tail-q.onnx')));
    const uint8 = Object.fromEntries(Object.keys(r.plan.activations).map((t) => [t, { dtype: 'uint8' as const }]));
    const r8 = await quantize(model, { output: path.join(dir, 'suppress.q8.onnx'), stats, overrides: { activations: uint8 } });
    const a8 = agreement(ref, await peaks(r8.output));
    expect(r.diagnostics.find((n) => n.code === 'peak-test-int16')?.message).toMatch(/^9 layers feed only a peak test/);
    expect(r8.diagnostics.some((n) => n.code === 'peak-test-int16')).toBe(false);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(`suppression tail: selected positions equal to float on ${pct(a)} of ${mnistTest().n} test digits (tail quantized: ${pct(tailQ)}; uint8 backbone: ${pct(a8)})`);
    // Measured on the 2,000 test digits: 96.3%; with the tail quantized as well 84.7%; with the
    // backbone's activations pinned to uint8 (the plan before the peak-test rule) 93.5%. The map
    // is the mean of 64 ReLU channels: on 26% of the digits some position lies within 0.03 (0.8% of
    // the map's range) of its strongest neighbour, so the backbone's noise flips them, not only the
    // tail's rounding.
    expect(a).toBeGreaterThanOrEqual(0.95);
    expect(tailQ).toBeLessThan(0.9);
    expect(a8).toBeLessThan(a);
  });
});
