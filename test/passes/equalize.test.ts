// Cross-layer equalisation on small synthetic graphs: which pairs it takes, that their channel
// ranges end balanced, and that onnxruntime computes the same function before and after.
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Graph, type Model, type Node } from '../../src/ir/index.js';
import { encodeModel, decodeModel } from '../../src/onnx/index.js';
import { equalizeGraph } from '../../src/passes/index.js';
import { Session } from '../../src/runtime/index.js';
import { maxRelDiff } from '../e2e/helpers.js';

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + ((hi - lo) * s) / 2147483648;
  });
}

/** Weights whose output channels (rows) differ in range by up to 1000×. */
function spread(rows: number, per: number, seed: number): Float32Array {
  const w = rand(rows * per, seed);
  for (let r = 0; r < rows; r++) for (let k = 0; k < per; k++) w[r * per + k]! *= 10 ** (((r * 3 + seed) % 7) / 2 - 1.5);
  return w;
}

async function run(model: Model, shape: number[]): Promise<Float32Array> {
  const s = await Session.open(encodeModel(model));
  const n = shape.reduce((a, b) => a * b, 1);
  const r = await s.run({ x: { dtype: 1, dims: shape, data: rand(n, 99, -2, 2) } });
  await s.close();
  return r[s.outputNames[0]!]!.data as Float32Array;
}


const weightOf = (g: Graph, name: string) => g.constantOf(g.nodes.find((n) => n.name === name)!.inputs[1]!)!;

/** max over channels |ln(r1_i / r2_i)| for a Conv pair (output rows of a, input channels of b). */
function imbalance(g: Graph, a: string, b: string): number {
  const wa = weightOf(g, a);
  const wb = weightOf(g, b);
  const nb = g.nodes.find((n) => n.name === b) as Node;
  const da = wa.toFloat32();
  const db = wb.toFloat32();
  const m = wa.dims[0]!;
  const perA = da.length / m;
  const [mb, cg] = wb.dims as [number, number];
  const inner = db.length / (mb * cg);
  const group = nb.attrInt('group', 1);
  let worst = 0;
  for (let c = 0; c < m; c++) {
    let r1 = 0;
    let r2 = 0;
    for (let k = 0; k < perA; k++) r1 = Math.max(r1, Math.abs(da[c * perA + k]!));
    const gi = Math.floor(c / cg);
    for (let o = gi * (mb / group); o < (gi + 1) * (mb / group); o++) for (let k = 0; k < inner; k++) r2 = Math.max(r2, Math.abs(db[(o * cg + (c % cg)) * inner + k]!));
    worst = Math.max(worst, Math.abs(Math.log(r1 / r2)));
  }
  return worst;
}

describe('equalize', () => {
  it('pointwise → depthwise → Relu → pointwise → LeakyRelu → grouped conv → MaxPool: three pairs, balanced, same outputs', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 4, 8, 8]);
    const pw1 = b.op1('Conv', [x, b.init('w1', [8, 4, 1, 1], spread(8, 4, 1)), b.init('b1', [8], rand(8, 2))], {}, { name: 'pw1' });
    const dw = b.op1('Conv', [pw1, b.init('wd', [8, 1, 3, 3], spread(8, 9, 3)), b.init('bd', [8], rand(8, 4))], { group: 8, pads: [1, 1, 1, 1] }, { name: 'dw' });
    const pw2 = b.op1('Conv', [b.op1('Relu', [dw]), b.init('w2', [6, 8, 1, 1], spread(6, 8, 5))], {}, { name: 'pw2' });
    const gc = b.op1('Conv', [b.op1('LeakyRelu', [pw2], { alpha: { float: 0.1 } }), b.init('w3', [4, 3, 3, 3], rand(108, 6)), b.init('b3', [4], rand(4, 7))], { group: 2, pads: [1, 1, 1, 1] }, { name: 'gc' });
    const y = b.op1('MaxPool', [gc], { kernel_shape: [2, 2] });
    b.output(y);
    const model = b.model();
    const before = await run(model, [2, 4, 8, 8]);
    const copy = decodeModel(encodeModel(model));
    expect(imbalance(copy.graph, 'pw1', 'dw')).toBeGreaterThan(1);
    const r = equalizeGraph(copy.graph);
    copy.graph.cleanup();
    expect(r.pairs).toEqual([['pw1', 'dw'], ['dw', 'pw2'], ['pw2', 'gc']]);
    expect(r.rounds).toBeGreaterThan(1);
    // Stopped when no channel moved by 0.1%: every pair is within that of balanced.
    for (const [a, c] of r.pairs) expect(imbalance(copy.graph, a, c)).toBeLessThan(0.01);
    expect(maxRelDiff(before, await run(copy, [2, 4, 8, 8]))).toBeLessThan(1e-5);
  });

  it('Gemm (transB) → Relu → MatMul + bias Add → PRelu → Gemm: two pairs, the MatMul bias Add rescaled, same outputs', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 16]);
    const g1 = b.op1('Gemm', [x, b.init('w1', [12, 16], spread(12, 16, 11)), b.init('c1', [12], rand(12, 12))], { transB: 1 }, { name: 'g1' });
    const mm = b.op1('MatMul', [b.op1('Relu', [g1]), b.init('w2', [12, 10], rand(120, 13))], {}, { name: 'mm' });
    const add = b.op1('Add', [mm, b.init('b2', [10], rand(10, 14))]);
    const pr = b.op1('PRelu', [add, b.init('slope', [10], rand(10, 15, 0, 0.5))]);
    const y = b.op1('Gemm', [pr, b.init('w3', [10, 4], rand(40, 16)), b.init('c3', [4], rand(4, 17))], {}, { name: 'g2' });
    b.output(y);
    const model = b.model();
    const before = await run(model, [3, 16]);
    const copy = decodeModel(encodeModel(model));
    const r = equalizeGraph(copy.graph);
    copy.graph.cleanup();
    expect(r.pairs).toEqual([['g1', 'mm'], ['mm', 'g2']]);
    expect(maxRelDiff(before, await run(copy, [3, 16]))).toBeLessThan(1e-5);
  });

  it('leaves Clip (Relu6), HardSwish, joins and tensors with other readers alone', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 4, 6, 6]);
    const conv = (name: string, input: string, seed: number, out = 4) => b.op1('Conv', [input, b.init(`w${name}`, [out, 4, 1, 1], spread(out, 4, seed))], {}, { name });
    const c1 = conv('c1', x, 1);
    const c2 = conv('c2', b.op1('Clip', [c1, b.init('lo', [], [0]), b.init('hi', [], [6])]), 2);
    const c3 = conv('c3', b.op1('HardSwish', [c2]), 3);
    const c4 = conv('c4', b.op1('Add', [c3, x]), 4);
    const c5 = conv('c5', c4, 5);
    const c6 = conv('c6', b.op1('Relu', [c4]), 6); // c4 has two readers
    const pooled = b.op1('Flatten', [b.op1('GlobalAveragePool', [b.op1('Add', [c5, c6])])]);
    const y = b.op1('Gemm', [pooled, b.init('wf', [4, 3], rand(12, 7))], {}, { name: 'fc' });
    b.output(y);
    const model = b.model();
    const before = encodeModel(model);
    const r = equalizeGraph(model.graph);
    expect(r.pairs).toEqual([]);
    expect(r.skipped).toEqual(new Map([
      ['through Clip (not positively homogeneous)', 1], ['through HardSwish (not positively homogeneous)', 1], ['into a join (Add)', 3], ['feeding more than one node', 1],
    ]));
    expect(encodeModel(model)).toEqual(before);
  });
});
