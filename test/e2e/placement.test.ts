// The fast placement (issue: keep data in int8 between integer ops): in the graph onnxruntime
// actually runs, no float Conv/Relu/Clip/Add/… is left between a DequantizeLinear and a
// QuantizeLinear.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel, writeModel } from '../../src/index.js';
import { GraphBuilder, type Graph } from '../../src/ir/index.js';
import { Session } from '../../src/runtime/index.js';
// @ts-expect-error plain .mjs script without types
import { npyBytes } from '../../scripts/mnist-data.mjs';
import { CALIB, fixture, tmpDir } from './helpers.js';

const FLOAT_ISLAND_OPS = ['Conv', 'Relu', 'Clip', 'Add', 'Mul', 'MatMul', 'Gemm', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Concat', 'FusedConv', 'Sigmoid', 'LeakyRelu'];
const dir = tmpDir('placement');

/** DequantizeLinear → float op → QuantizeLinear chains in the graph onnxruntime runs. */
async function floatIslands(model: string, level: 'extended' | 'all'): Promise<string[]> {
  const opt = path.join(dir, `opt-${path.basename(model)}-${level}.onnx`);
  await (await Session.open(model, { optimizationLevel: level, optimizedModelPath: opt })).close();
  const g: Graph = readModel(opt).graph;
  const islands: string[] = [];
  for (const n of g.nodes) {
    if (!FLOAT_ISLAND_OPS.includes(n.opType)) continue;
    const fromDq = n.inputs.some((i) => g.producerOf(i)?.opType === 'DequantizeLinear');
    const toQ = n.outputs.some((o) => g.consumersOf(o).some((c) => c.opType === 'QuantizeLinear'));
    if (fromDq && toQ) islands.push(`${n.opType} ${n.name}`);
  }
  return islands;
}

/** A MobileNetV2 inverted-residual stack: Conv-BN-ReLU6, depthwise Conv-BN-ReLU6, Conv-BN, Add. */
function mobileBlock(): string {
  const b = new GraphBuilder({ seed: 5 });
  const bn = (x: string, c: number) => b.op1('BatchNormalization', [x, b.init('g', [c], new Float32Array(c).fill(1)), b.init('b', [c], new Float32Array(c).fill(0.1)), b.init('m', [c], new Float32Array(c)), b.init('v', [c], new Float32Array(c).fill(1))]);
  const relu6 = (x: string) => b.op1('Clip', [x, b.init('lo', [], [0]), b.init('hi', [], [6])]);
  let x = relu6(bn(b.op1('Conv', [b.input('x', ['N', 3, 32, 32]), b.randomInit('w0', [16, 3, 3, 3])], { pads: [1, 1, 1, 1], strides: [2, 2] }), 16));
  for (let i = 0; i < 2; i++) {
    const e = relu6(bn(b.op1('Conv', [x, b.randomInit('we', [64, 16, 1, 1])]), 64));
    const d = relu6(bn(b.op1('Conv', [e, b.randomInit('wd', [64, 1, 3, 3])], { group: 64, pads: [1, 1, 1, 1] }), 64));
    const p = bn(b.op1('Conv', [d, b.randomInit('wp', [16, 64, 1, 1])]), 16);
    x = b.op1('Add', [x, p]);
  }
  const pooled = b.op1('Flatten', [b.op1('GlobalAveragePool', [x])]);
  b.output(b.op1('Gemm', [pooled, b.randomInit('fc', [10, 16]), b.init('fcb', [10], new Float32Array(10))], { transB: 1 }));
  const file = path.join(dir, 'mobile_block.onnx');
  writeModel(b.model(), file);
  const data = path.join(dir, 'mobile-data');
  fs.mkdirSync(data, { recursive: true });
  let s = 11;
  for (let i = 0; i < 8; i++) {
    const v = Float32Array.from({ length: 3 * 32 * 32 }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
    fs.writeFileSync(path.join(data, `${i}.npy`), npyBytes(v, [1, 3, 32, 32]));
  }
  return file;
}

describe('fast QDQ placement', () => {
  const cases: [string, () => Promise<string>][] = [
    ['lenet_bn', async () => (await quantize(fixture('lenet_bn'), { output: path.join(dir, 'lenet.onnx'), data: CALIB, config: { calibCount: 20 } })).output],
    ['resnet_mini', async () => (await quantize(fixture('resnet_mini'), { output: path.join(dir, 'resnet.onnx'), data: CALIB, config: { calibCount: 20 } })).output],
    ['MobileNetV2 blocks (ReLU6, depthwise, residual Add)', async () => {
      const m = mobileBlock();
      return (await quantize(m, { output: path.join(dir, 'mobile.int8.onnx'), data: path.join(dir, 'mobile-data') })).output;
    }],
  ];
  it.each(cases)('%s: zero DQ → float op → Q chains at the extended and all levels', async (_name, make) => {
    const q = await make();
    const g = readModel(q).graph;
    expect(g.nodes.filter((n) => n.opType === 'Relu' || n.opType === 'Clip')).toEqual([]); // folded into Q's clamp
    for (const level of ['extended', 'all'] as const) expect(await floatIslands(q, level), level).toEqual([]);
  });

  it('the check can fail: Relu kept in float between Q/DQ pairs is found', async () => {
    const q = (await quantize(fixture('lenet_bn'), { output: path.join(dir, 'lenet-naive.onnx'), data: CALIB, config: { calibCount: 8, excludeOps: ['MaxPool'] } })).output;
    expect((await floatIslands(q, 'extended')).some((s) => s.startsWith('MaxPool'))).toBe(true);
  });
});
