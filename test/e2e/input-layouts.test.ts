// Real-world input layouts: samples of different widths, a scalar input and a recurrent state.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel, writeModel } from '../../src/index.js';
import { DataType, GraphBuilder } from '../../src/ir/index.js';
import { Session } from '../../src/runtime/index.js';
import { qtool } from '../cli/helpers.js';
import { writeNpy } from '../data/helpers.js';
import { fixture, mnistTest, tmpDir } from './helpers.js';

const dir = tmpDir('layouts');

/** resnet_mini with a symbolic height and width: it ends in GlobalAveragePool, so any size runs. */
function anySizeResnet(file: string): void {
  const model = readModel(fixture('resnet_mini'));
  const g = model.graph;
  g.inputs = g.inputs.map((i) => ({ name: i.name, elemType: i.elemType, shape: ['N', 1, 'H', 'W'] }));
  g.valueInfo.clear();
  writeModel(model, file);
}

describe('input layouts', () => {
  it('calibration samples of three widths quantize and verify with default options', async () => {
    const model = path.join(dir, 'resnet_any.onnx');
    anySizeResnet(model);
    const data = path.join(dir, 'widths');
    fs.mkdirSync(data);
    const { x } = mnistTest();
    for (let i = 0; i < 30; i++) {
      const w = [28, 32, 36][i % 3]!;
      const img = new Float32Array(28 * w);
      for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) img[r * w + c + ((w - 28) >> 1)] = x[i * 784 + r * 28 + c]!;
      writeNpy(path.join(data, `${String(i).padStart(3, '0')}.npy`), '<f4', [1, 1, 28, w], img);
    }
    const r = await quantize(model, { output: path.join(dir, 'resnet_any.int8.onnx'), data, verify: { latency: false } });
    expect(r.report!.data.samples).toBe(30);
    const out = r.report!.outputs[0]!;
    console.log(`three widths: logits SQNR ${out.sqnrDb.toFixed(2)} dB, top-1 agreement ${out.classifier?.top1Agreement}`);
    expect(out.sqnrDb).toBeGreaterThan(25);
    expect(r.plan.nodes.filter((n) => n.status === 'quantized').length).toBeGreaterThan(10);
  });

  it('a scalar input and a state input are fed from --fixed-input (CLI) or a fixed/ folder', async () => {
    // y = Gemm(x, W)·(float(sr)/16000) + ReduceSum(state, axis 0): sr is a scalar, state [2, N, 4]
    const b = new GraphBuilder();
    const x = b.input('x', ['N', 8]);
    const sr = b.input('sr', [], DataType.INT64);
    const state = b.input('state', [2, 'N', 4]);
    const w = b.init('W', [8, 4], Float32Array.from({ length: 32 }, (_, i) => Math.sin(i + 1)));
    const y = b.op1('MatMul', [x, w]);
    const r = b.op1('Relu', [y]);
    const k = b.op1('Div', [b.op1('Cast', [sr], { to: DataType.FLOAT }), b.init('k', [], [16000])]);
    const scaled = b.op1('Mul', [r, k]);
    const axes = b.initInt64('axes', [1], [0]);
    const out = b.op1('Add', [scaled, b.op1('ReduceSum', [state, axes], { keepdims: 0 })]);
    b.output(out, ['N', 4]);
    const model = path.join(dir, 'stateful.onnx');
    writeModel(b.model([{ domain: '', version: 13 }]), model);
    const data = path.join(dir, 'stateful-data');
    fs.mkdirSync(data);
    for (let i = 0; i < 8; i++) writeNpy(path.join(data, `${i}.npy`), '<f4', [1, 8], Float32Array.from({ length: 8 }, (_, j) => Math.cos(i * 8 + j)));

    const refused = qtool(['quantize', model, '--data', data, '-o', path.join(dir, 'no.onnx')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/input 'sr' is a scalar.*--fixed-input sr=/);
    expect(refused.stderr.split('\n').filter((l) => l.startsWith('qtool:'))).toHaveLength(1);

    const cli = qtool(['quantize', model, '--data', data, '-o', path.join(dir, 'cli.onnx'), '--fixed-input', 'sr=16000', '--fixed-input', 'state=zeros', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const summary = JSON.parse(cli.stdout.trim().split('\n').pop()!);
    expect(summary.nodes.quantized).toBeGreaterThan(0);
    expect(summary.verification.outputs[0].sqnrDb).toBeGreaterThan(30);

    fs.mkdirSync(path.join(data, 'fixed'));
    writeNpy(path.join(data, 'fixed', 'sr.npy'), '<i8', [], new BigInt64Array([16000n]));
    writeNpy(path.join(data, 'fixed', 'state.npy'), '<f4', [2, 1, 4], new Float32Array(8).fill(0.5));
    const folder = await quantize(model, { output: path.join(dir, 'folder.onnx'), data, verify: { latency: false, perLayer: false } });
    expect(folder.report!.outputs[0]!.sqnrDb).toBeGreaterThan(30);
    const s = await Session.open(folder.output);
    const run = await s.run({
      x: { dtype: DataType.FLOAT, dims: [1, 8], data: new Float32Array(8).fill(1) },
      sr: { dtype: DataType.INT64, dims: [], data: new BigInt64Array([16000n]) },
      state: { dtype: DataType.FLOAT, dims: [2, 1, 4], data: new Float32Array(8) },
    });
    expect(run[s.outputNames[0]!]!.dims).toEqual([1, 4]);
    await s.close();
  });
});
