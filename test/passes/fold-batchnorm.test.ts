import { describe, expect, it } from 'vitest';
import { GraphBuilder, Tensor, type Model } from '../../src/ir/index.js';
import { encodeModel } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { Session } from '../../src/runtime/index.js';
import { maxRelDiff } from '../e2e/helpers.js';

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + ((hi - lo) * s) / 2147483648;
  });
}

function addBn(b: GraphBuilder, x: string, c: number, seed: number): string {
  const g = b.init('gamma', [c], rand(c, seed, 0.5, 1.5));
  const be = b.init('beta', [c], rand(c, seed + 1));
  const m = b.init('mean', [c], rand(c, seed + 2));
  const v = b.init('var', [c], rand(c, seed + 3, 0.2, 2));
  return b.op1('BatchNormalization', [x, g, be, m, v], { epsilon: { float: 1e-3 } });
}

async function outputs(model: Model, feeds: Record<string, Float32Array>, shapes: Record<string, number[]>): Promise<Float32Array[]> {
  const s = await Session.open(encodeModel(model));
  const f = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { dtype: 1, dims: shapes[k]!, data: v }]));
  const r = await s.run(f);
  return s.outputNames.map((n) => r[n]!.data as Float32Array);
}


async function checkFold(build: (b: GraphBuilder) => void, shape: number[], expectOps: Record<string, number>) {
  const b = new GraphBuilder({ seed: 7 });
  build(b);
  const x = rand(shape.reduce((p, d) => p * d, 1), 99);
  const ref = await outputs(b.model(), { x }, { x: shape });
  const model = b.model();
  prepareModel(model, { checkInvariants: true });
  const ops: Record<string, number> = {};
  for (const n of model.graph.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  expect(ops).toEqual(expectOps);
  const got = await outputs(model, { x }, { x: shape });
  got.forEach((o, i) => expect(maxRelDiff(ref[i]!, o)).toBeLessThan(1e-5));
  return model;
}

describe('fold-batchnorm', () => {
  it('folds into Conv (with and without bias) and grouped/depthwise Conv', async () => {
    await checkFold((b) => {
      const x = b.input('x', [2, 4, 8, 8]);
      const c1 = b.op1('Conv', [x, b.randomInit('w1', [6, 4, 3, 3])], { pads: [1, 1, 1, 1] });
      const y1 = addBn(b, c1, 6, 1);
      const c2 = b.op1('Conv', [y1, b.randomInit('w2', [6, 1, 3, 3]), b.init('b2', [6], rand(6, 5))], { group: 6 });
      b.output(addBn(b, c2, 6, 11));
    }, [2, 4, 8, 8], { Conv: 2 });
  });

  it('folds into ConvTranspose with groups (output channel of W[ci, j] per §3)', async () => {
    await checkFold((b) => {
      const x = b.input('x', [1, 4, 5, 5]);
      const ct = b.op1('ConvTranspose', [x, b.randomInit('w', [4, 3, 2, 2]), b.init('cb', [6], rand(6, 3))], { group: 2, strides: [2, 2] });
      b.output(addBn(b, ct, 6, 21));
    }, [1, 4, 5, 5], { ConvTranspose: 1 });
  });

  for (const transB of [0, 1]) {
    it(`folds into Gemm (transB=${transB}, beta≠1, C present)`, async () => {
      await checkFold((b) => {
        const x = b.input('x', [3, 5]);
        const w = b.randomInit('w', transB ? [7, 5] : [5, 7]);
        const gm = b.op1('Gemm', [x, w, b.init('c', [7], rand(7, 8))], { transB, beta: { float: 0.5 } });
        b.output(addBn(b, gm, 7, 31));
      }, [3, 5], { Gemm: 1 });
    });
  }

  it('clones a shared weight instead of scaling it in place', async () => {
    const model = await checkFold((b) => {
      const x = b.input('x', [1, 2, 4, 4]);
      const w = b.randomInit('w', [2, 2, 1, 1]);
      const a = b.op1('Conv', [x, w]);
      const c = b.op1('Conv', [x, w]);
      b.output(addBn(b, a, 2, 41));
      b.output(c);
    }, [1, 2, 4, 4], { Conv: 2 });
    const convs = model.graph.nodes.filter((n) => n.opType === 'Conv');
    expect(convs[0]!.inputs[1]).not.toBe(convs[1]!.inputs[1]);
    expect(model.graph.initializers.has('w')).toBe(true);
  });

  it('does not fold a BN before a Conv, after a multi-consumer output, or with a non-constant parameter', async () => {
    await checkFold((b) => {
      const x = b.input('x', [1, 2, 4, 4]);
      const pre = addBn(b, x, 2, 51);
      const c = b.op1('Conv', [pre, b.randomInit('w', [2, 2, 1, 1])]);
      const bn = addBn(b, c, 2, 61);
      b.output(bn);
      b.output(b.op1('Relu', [c]));
    }, [1, 2, 4, 4], { BatchNormalization: 2, Conv: 1, Relu: 1 });
  });

  it('sees through Identity and Constant nodes on the BN parameter path', async () => {
    await checkFold((b) => {
      const x = b.input('x', [1, 3, 4, 4]);
      const c = b.op1('Conv', [x, b.randomInit('w', [3, 3, 1, 1])]);
      const gamma = b.op1('Constant', [], { value: Tensor.fromFloat32('g', [3], rand(3, 71, 0.5, 1.5)) });
      const gid = b.op1('Identity', [gamma]);
      const rest = ['beta', 'mean', 'var'].map((n, i) => b.op1('Identity', [b.init(n, [3], rand(3, 80 + i, 0.1, 1))]));
      b.output(b.op1('BatchNormalization', [c, gid, ...rest]));
    }, [1, 3, 4, 4], { Conv: 1 });
  });
});
