// Exact int8 numerics of the written model (ALGORITHMS.md §1), read back from the file.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { foldBn, quantize, readModel, type QuantPlan } from '../../src/index.js';
import { GraphBuilder, type Graph } from '../../src/ir/index.js';
import { writeModel } from '../../src/index.js';
// @ts-expect-error plain .mjs script without types
import { npyBytes } from '../../scripts/mnist-data.mjs';
import { CALIB, fixture, tmpDir } from './helpers.js';

const dir = tmpDir('numerics');
let q: Graph;
let prepared: Graph;
let plan: QuantPlan;

beforeAll(async () => {
  const out = path.join(dir, 'resnet.int8.onnx');
  const planFile = path.join(dir, 'plan.json');
  await quantize(fixture('resnet_mini'), { output: out, data: CALIB, savePlan: planFile, config: { calibCount: 50 } });
  foldBn(fixture('resnet_mini'), path.join(dir, 'prepared.onnx'));
  q = readModel(out).graph;
  prepared = readModel(path.join(dir, 'prepared.onnx')).graph;
  plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
});

const values = (g: Graph, name: string) => g.constantOf(name)!.toFloat64();

describe('int8 numerics of a quantized resnet_mini', () => {
  it('dequantized weights are within s/2 of the float weights, per channel', () => {
    let checked = 0;
    for (const conv of q.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')) {
      const dq = q.producerOf(conv.inputs[1]!)!;
      expect(dq.opType).toBe('DequantizeLinear');
      const [wq, s, z] = [values(q, dq.inputs[0]!), values(q, dq.inputs[1]!), values(q, dq.inputs[2]!)];
      const floatNode = prepared.nodes.find((n) => n.name === conv.name)!;
      const w = values(prepared, floatNode.inputs[1]!);
      const dims = q.constantOf(dq.inputs[0]!)!.dims;
      const axis = dq.attrInt('axis', 1);
      const inner = dims.slice(axis + 1).reduce((a, d) => a * d, 1);
      for (let i = 0; i < w.length; i++) {
        const c = Math.floor(i / inner) % dims[axis]!;
        expect(Math.abs((wq[i]! - z[c]!) * s[c]! - w[i]!)).toBeLessThanOrEqual(s[c]! / 2 + 1e-7);
      }
      checked++;
    }
    expect(checked).toBe(10);
  });

  it('bias is int32 with scale s_x·s_w per channel and zero point 0', () => {
    for (const conv of q.nodes.filter((n) => n.opType === 'Conv')) {
      const bdq = q.producerOf(conv.inputs[2]!)!;
      expect(q.constantOf(bdq.inputs[0]!)!.dtype).toBe(6); // INT32
      expect(bdq.inputs[2] ?? '').toBe(''); // absent zero point = 0
      const xdq = q.producerOf(conv.inputs[0]!)!;
      const sx = values(q, xdq.inputs[1]!)[0]!;
      const sw = values(q, q.producerOf(conv.inputs[1]!)!.inputs[1]!);
      const sb = values(q, bdq.inputs[1]!);
      sw.forEach((s, c) => expect(sb[c]).toBe(Math.fround(sx * s)));
    }
  });

  it('zero points follow §1: weights symmetric int8 (0), activations asymmetric uint8', () => {
    for (const w of Object.values(plan.weights)) expect(w.zeroPoints.every((z) => z === 0)).toBe(true);
    for (const [t, a] of Object.entries(plan.activations)) {
      const lo = Math.min(a.range[0], 0);
      const hi = Math.max(a.range[1], 0);
      const s = (hi - lo) / 255;
      expect(a.scale, t).toBe(Math.fround(s));
      expect(a.zeroPoint, t).toBe(Math.min(255, Math.max(0, Math.round(0 - lo / s))));
      if (a.range[0] >= 0) expect(a.zeroPoint).toBe(0);
    }
  });
});

function npyFolder(name: string, shape: number[], count: number, seed = 3): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  let s = seed;
  for (let i = 0; i < count; i++) {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1);
    fs.writeFileSync(path.join(d, `${String(i).padStart(3, '0')}.npy`), npyBytes(data, shape));
  }
  return d;
}

describe('degenerate and unsupported cases', () => {
  it('an all-zero tensor gets scale 1 and zero point 0', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', ['N', 4]);
    const zero = b.op1('Mul', [b.op1('MatMul', [x, b.randomInit('w', [4, 4])]), b.init('zeros', [4], [0, 0, 0, 0])], {}, { name: 'times_zero' });
    b.output(b.op1('MatMul', [zero, b.randomInit('w2', [4, 3])]));
    const m = path.join(dir, 'zero.onnx');
    writeModel(b.model(), m);
    const planFile = path.join(dir, 'zero.plan.json');
    await quantize(m, { data: npyFolder('zero-data', [1, 4], 8), savePlan: planFile, config: { algo: 'minmax' } });
    const p: QuantPlan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    expect(p.activations[zero]).toMatchObject({ scale: 1, zeroPoint: 0, range: [0, 0] });
  });

  it('ConvTranspose stays float under the default target, and the plan says why', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', ['N', 2, 4, 4]);
    const c = b.op1('Conv', [x, b.randomInit('w', [4, 2, 3, 3])], { pads: [1, 1, 1, 1] });
    const ct = b.op1('ConvTranspose', [c, b.randomInit('wt', [4, 2, 2, 2])], { strides: [2, 2] }, { name: 'upsample' });
    b.output(ct);
    const m = path.join(dir, 'convt.onnx');
    writeModel(b.model(), m);
    const planFile = path.join(dir, 'convt.plan.json');
    const r = await quantize(m, { data: npyFolder('convt-data', [1, 2, 4, 4], 4), savePlan: planFile });
    const entry = r.plan.nodes.find((n) => n.name === 'upsample')!;
    expect(entry.status).toBe('float');
    expect(entry.reason).toMatch(/no int8 ConvTranspose kernel/);
    const out = readModel(r.output).graph;
    const node = out.nodes.find((n) => n.opType === 'ConvTranspose')!;
    expect(out.initializers.get(node.inputs[1]!)?.dtype).toBe(1); // float weight, no DQ
  });
});
