// One test per adapter family: a small synthetic graph at an old opset, run in onnxruntime before
// and after conversion to 13 and 21 (or the opsets where the op exists).
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder, Graph, Node, Tensor, makeAttr, type HostTensor } from '../../src/ir/index.js';
import { upgradeModel } from '../../src/passes/upgrade/index.js';
import { ensureOpset } from '../../src/passes/opset.js';
import { expectSameOutputs, f32, model, opsOf, run } from './upgrade-helpers.js';
import { encodeModel } from '../../src/onnx/index.js';

const X = (dims: number[], seed = 1) => ({ x: f32(dims, seed) });

describe('attributes that became inputs', () => {
  it('Clip 6 → 11: min/max attributes become inputs (both, or only one)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [4, 6]);
    b.output(b.op1('Clip', [x], { min: { float: -0.5 }, max: { float: 1.25 } }));
    b.output(b.op1('Clip', [x], { max: { float: 0.3 } }));
    const [m13] = await expectSameOutputs(model(b, 9), X([4, 6]));
    expect(m13!.graph.nodes.every((n) => !n.attr('min') && !n.attr('max'))).toBe(true);
  });

  it('Slice 1 → 10: starts/ends/axes become inputs, INT64_MAX ends included', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [5, 6, 7]);
    b.output(b.op1('Slice', [x], { starts: [1, -4], ends: [4, 1000], axes: [0, 2] }));
    const s2 = b.op1('Slice', [x], { starts: [2], ends: [0] });
    b.graph.producerOf(s2)!.attributes[1] = makeAttr.ints('ends', [9223372036854775807n]);
    b.output(s2);
    await expectSameOutputs(model(b, 9), X([5, 6, 7]));
  });

  it('TopK 1 → 10: k becomes an input (both outputs)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 8]);
    const [v, i] = b.op('TopK', [x], { k: 3, axis: 1 }, { outputs: 2 });
    b.output(v!);
    b.output(i!, undefined, DataType.INT64);
    await expectSameOutputs(model(b, 9), X([3, 8]));
  });

  it('Pad 2 → 11: pads and value become inputs (constant with a value, reflect, edge)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    b.output(b.op1('Pad', [x], { pads: [0, 1, 2, 0, 2, 1], value: { float: 1.5 } }));
    b.output(b.op1('Pad', [x], { pads: [0, 0, 2, 0, 1, 1], mode: 'reflect' }));
    b.output(b.op1('Pad', [x], { pads: [1, 0, 0, 0, 0, 3], mode: 'edge' }));
    await expectSameOutputs(model(b, 10), X([2, 3, 4]));
  });

  it('Split 2 → 13 → 18: split becomes an input; without it, num_outputs is stated', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [6, 4]);
    for (const o of b.op('Split', [x], { axis: 0, split: [1, 2, 3] }, { outputs: 3 })) b.output(o);
    for (const o of b.op('Split', [x], { axis: 1 }, { outputs: 2 })) b.output(o);
    const [m13, m21] = await expectSameOutputs(model(b, 11), X([6, 4]));
    expect(m13!.graph.nodes.every((n) => !n.attr('split'))).toBe(true);
    expect(m21!.graph.nodes.filter((n) => n.attr('num_outputs')).length).toBe(1);
  });

  it('Squeeze/Unsqueeze 11 → 13: axes become inputs; Squeeze without axes stays without', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 1, 4, 1]);
    b.output(b.op1('Squeeze', [x], { axes: [1] }));
    b.output(b.op1('Squeeze', [x]));
    b.output(b.op1('Unsqueeze', [x], { axes: [0, -1] }));
    await expectSameOutputs(model(b, 11), X([3, 1, 4, 1]));
  });

  it('Reduce ops: ReduceSum 11 → 13 and the others 11 → 18 take axes as an input', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    b.output(b.op1('ReduceSum', [x], { axes: [1], keepdims: 0 }));
    for (const op of ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceSumSquare']) {
      b.output(b.op1(op, [x], { axes: [0, -1] }));
    }
    b.output(b.op1('ReduceL2', [x], { keepdims: 0 }));
    b.output(b.op1('ReduceLogSum', [b.op1('Abs', [x])], { axes: [2] }));
    const [, m21] = await expectSameOutputs(model(b, 11), X([2, 3, 4]));
    expect(m21!.graph.nodes.every((n) => !n.attr('axes'))).toBe(true);
  });

  it('Dropout 7 → 10 → 12: ratio becomes an input; a read mask is cast back from bool, and refused from 12', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 5]);
    b.output(b.op1('Relu', [b.op1('Dropout', [x], { ratio: { float: 0.3 } })]));
    const [m13] = await expectSameOutputs(model(b, 7), X([3, 5]));
    expect(m13!.graph.nodes[0]!.inputs.length).toBe(2);

    const bm = new GraphBuilder();
    const xm = bm.input('x', [3, 5]);
    const [y, mask] = bm.op('Dropout', [xm], { ratio: { float: 0.3 } }, { outputs: 2 });
    bm.output(bm.op1('Add', [y!, mask!]));
    const [m10] = await expectSameOutputs(model(bm, 7), X([3, 5]), [10, 11]);
    expect(opsOf(m10!.graph)).toEqual(['Dropout', 'Cast', 'Add']);
    expect(() => upgradeModel(model(bm, 7), 13)).toThrow(/Dropout 'dropout' \(opset 7 → 12\): .*mask/);
  });
});

describe('Resize and Upsample', () => {
  it('Upsample 7 (scales attribute) → Resize 13/21, nearest and linear', async () => {
    for (const mode of ['nearest', 'linear']) {
      const b = new GraphBuilder();
      const x = b.input('x', [1, 2, 3, 4]);
      b.output(b.op1('Upsample', [x], { scales: { floats: [1, 1, 2, 3] }, mode }));
      const [m13] = await expectSameOutputs(model(b, 7), X([1, 2, 3, 4]));
      expect(opsOf(m13!.graph)).toEqual(['Resize']);
    }
  });

  it('Resize 10 → 11+: the asymmetric grid and opset 10 rounding are stated (up- and downsampling)', async () => {
    for (const [mode, scales] of [['nearest', [1, 1, 0.5, 0.6]], ['nearest', [1, 1, 1.5, 2]], ['linear', [1, 1, 0.5, 2.5]]] as const) {
      const b = new GraphBuilder();
      const x = b.input('x', [1, 2, 6, 5]);
      b.output(b.op1('Resize', [x, b.init('scales', [4], [...scales])], { mode }));
      await expectSameOutputs(model(b, 10), X([1, 2, 6, 5], 7));
    }
  });

  it('Resize 11 tf_half_pixel_for_nn → 13 (floor and round_prefer_floor)', async () => {
    for (const nearest of ['floor', 'round_prefer_floor']) {
      const b = new GraphBuilder();
      const x = b.input('x', [1, 1, 5, 7]);
      const roi = b.init('roi', [0], []);
      const scales = b.init('scales', [0], []);
      const sizes = b.initInt64('sizes', [4], [1, 1, 3, 10]);
      b.output(b.op1('Resize', [x, roi, scales, sizes], { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: nearest }));
      const [m13] = await expectSameOutputs(model(b, 11), X([1, 1, 5, 7], 8));
      expect(m13!.graph.nodes[0]!.attrString('coordinate_transformation_mode')).toBe('half_pixel');
    }
  });

  it('ensureOpset (what quantize calls) converts, or refuses with the reason and points to --per-tensor only when that would work', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 1, 4, 4]);
    const s = b.input('s', [4]);
    b.output(b.op1('Softmax', [b.op1('Resize', [x, s])], { axis: 1 }));
    expect(() => ensureOpset(model(b, 10), 13, 'per-channel Q/DQ')).toThrow(/^per-channel Q\/DQ needs opset 13; cannot convert the model to opset 13: Resize .*; per-tensor weights \(--per-tensor\) need only opset 10$/);
    const b8 = new GraphBuilder();
    b8.output(b8.op1('GivenTensorFill', [b8.input('x', [2])], { shape: [2] }));
    expect(() => ensureOpset(model(b8, 8), 13, 'per-channel Q/DQ')).toThrow(/GivenTensorFill [^;]*$/);
    const ok = new GraphBuilder();
    ok.output(ok.op1('Softmax', [ok.input('x', [2, 3, 4])], { axis: 1 }));
    const m = model(ok, 9);
    expect(ensureOpset(m, 13, 'per-channel Q/DQ')).toMatch(/^opset upgraded from 9 to 13 for per-channel Q\/DQ; adapted Softmax→13 ×1$/);
  });

  it('Resize 10 nearest with run-time scales is refused, naming the op and opset', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 1, 4, 4]);
    const s = b.input('s', [4]);
    b.output(b.op1('Resize', [x, s]));
    const m = model(b, 10);
    expect(() => upgradeModel(m, 13)).toThrow(/cannot convert the model to opset 13: Resize 'resize' \(opset 10 → 11\): .*run time/);
    expect(m.opsets[0]!.version).toBe(10);
    expect(m.graph.nodes[0]!.inputs).toEqual([x, s]);
  });
});

describe('other families', () => {
  it('BatchNormalization 7 → 9 → 14: spatial=1 loses the attribute, spatial=0 is written out', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4, 4]);
    const c = (name: string, dims: number[], lo: number, hi: number, seed: number) => b.init(name, dims, f32(dims, seed, lo, hi).data as Float32Array);
    b.output(b.op1('BatchNormalization', [x, c('s', [3], 0.5, 2, 2), c('b', [3], -1, 1, 3), c('m', [3], -1, 1, 4), c('v', [3], 0.1, 2, 5)], { spatial: 1, epsilon: { float: 1e-3 } }));
    const [m13] = await expectSameOutputs(model(b, 7), X([2, 3, 4, 4]));
    expect(m13!.graph.nodes[0]!.attr('spatial')).toBeUndefined();

    // spatial=0: onnxruntime has no kernel for it, so the reference is the formula itself.
    const b0 = new GraphBuilder();
    const x0 = b0.input('x', [2, 3, 2]);
    const dims = [3, 2];
    const p = ['s', 'b', 'm', 'v'].map((k, i) => b0.init(k, dims, f32(dims, 10 + i, i === 3 ? 0.1 : -1, 2).data as Float32Array));
    b0.output(b0.op1('BatchNormalization', [x0, ...p], { spatial: 0, epsilon: { float: 1e-2 } }));
    const m0 = model(b0, 7);
    const vals = p.map((k) => m0.graph.initializers.get(k)!.toFloat32());
    upgradeModel(m0, 13);
    expect(opsOf(m0.graph)).not.toContain('BatchNormalization');
    const feed = f32([2, 3, 2], 9);
    const y = (await run(m0, { x: feed }))[m0.graph.outputs[0]!.name]!.data as Float32Array;
    const xs = feed.data as Float32Array;
    for (let i = 0; i < xs.length; i++) {
      const k = i % 6;
      const want = ((xs[i]! - vals[2]![k]!) / Math.sqrt(vals[3]![k]! + 1e-2)) * vals[0]![k]! + vals[1]![k]!;
      expect(Math.abs(y[i]! - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    }
  });

  it('BatchNormalization whose training outputs are used is refused', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const p = ['s', 'b', 'm', 'v'].map((k) => b.init(k, [3], [1, 1, 1]));
    const [y, mean] = b.op('BatchNormalization', [x, ...p], {}, { outputs: 2 });
    b.output(y!);
    b.output(mean!);
    expect(() => upgradeModel(model(b, 9), 14)).toThrow(/BatchNormalization 'batchnormalization' \(opset 9 → 14\): .*training-mode outputs/);
  });

  it('Cast, Gather and GatherElements need nothing; Scatter 9 → ScatterElements 11', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 4]);
    const idx = b.initInt64('idx', [2, 2], [0, 2, 1, 0]);
    b.output(b.op1('Cast', [b.op1('Gather', [x, idx], { axis: 1 })], { to: DataType.DOUBLE }), undefined, DataType.DOUBLE);
    b.output(b.op1('Scatter', [x, idx, b.init('upd', [2, 2], [10, 20, 30, 40])], { axis: 1 }));
    const [m13] = await expectSameOutputs(model(b, 9), X([3, 4]));
    expect(opsOf(m13!.graph).sort()).toEqual(['Cast', 'Gather', 'ScatterElements']);
  });

  it('RoiAlign 10 → 16 keeps the output_half_pixel grid', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 2, 8, 8]);
    const rois = b.init('rois', [2, 4], [0.5, 1, 5.3, 6.1, 2, 2.5, 7, 7.5]);
    const bi = b.initInt64('bi', [2], [0, 0]);
    b.output(b.op1('RoiAlign', [x, rois, bi], { output_height: 3, output_width: 2, sampling_ratio: 2, spatial_scale: { float: 1 } }));
    const [m21] = await expectSameOutputs(model(b, 10), X([1, 2, 8, 8]), [21]);
    expect(m21!.graph.nodes[0]!.attrString('coordinate_transformation_mode')).toBe('output_half_pixel');
  });

  it('GridSample 16 → 20: bilinear/bicubic are renamed linear/cubic', async () => {
    for (const mode of ['bilinear', 'bicubic', 'nearest']) {
      const b = new GraphBuilder();
      const x = b.input('x', [1, 2, 4, 5]);
      const grid = b.input('grid', [1, 3, 3, 2]);
      b.output(b.op1('GridSample', [x, grid], { mode, align_corners: 1 }));
      await expectSameOutputs(model(b, 16), { x: f32([1, 2, 4, 5], 1), grid: f32([1, 3, 3, 2], 2, -1, 1) }, [20, 21]);
    }
  });

  it('DFT 17 → 20: axis becomes an input', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 8, 3, 1]);
    b.output(b.op1('DFT', [x], { axis: 1 }));
    b.output(b.op1('DFT', [x], { axis: 2, onesided: 1 }));
    await expectSameOutputs(model(b, 17), X([2, 8, 3, 1]), [20], 1e-6);
  });

  it('GroupNormalization 18 → 21: per-group scale/bias become per-channel', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 6, 3]);
    b.output(b.op1('GroupNormalization', [x, b.init('s', [3], [0.5, 2, -1]), b.init('b', [3], [0.1, -0.2, 0.3])], { num_groups: 3, epsilon: { float: 1e-4 } }));
    await expectSameOutputs(model(b, 18), X([2, 6, 3]), [21], 1e-6);
  });
});

describe('subgraphs', () => {
  it('If branches (Softmax, Unsqueeze, Clip inside) are converted with the main graph', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    const cond = b.input('cond', [], DataType.BOOL);
    const branch = (op: string) => {
      const g = new Graph({ name: `${op}_branch` });
      g.addNode(new Node({ name: `${op}_sm`, opType: 'Softmax', inputs: [x], outputs: [`${op}_a`], attributes: [makeAttr.int('axis', 1)] }));
      g.addNode(new Node({ name: `${op}_clip`, opType: 'Clip', inputs: [`${op}_a`], outputs: [`${op}_b`], attributes: [makeAttr.float('min', 0.01), makeAttr.float('max', op === 'then' ? 0.5 : 0.2)] }));
      g.addNode(new Node({ name: `${op}_unsq`, opType: 'Unsqueeze', inputs: [`${op}_b`], outputs: [`${op}_out`], attributes: [makeAttr.ints('axes', [0])] }));
      g.outputs.push({ name: `${op}_out`, elemType: DataType.FLOAT, shape: [1, 2, 3, 4] });
      return g;
    };
    const y = b.graph.uniqueName('y');
    b.graph.addNode(new Node({ name: 'if', opType: 'If', inputs: [cond], outputs: [y], attributes: [{ name: 'then_branch', type: 5, value: branch('then') }, { name: 'else_branch', type: 5, value: branch('else') }] }));
    b.output(y, [1, 2, 3, 4]);
    for (const c of [0, 1]) {
      const feeds: Record<string, HostTensor> = { x: f32([2, 3, 4]), cond: { dtype: DataType.BOOL, dims: [], data: Uint8Array.of(c) } };
      const [m13] = await expectSameOutputs(model(b, 10), feeds);
      const inner = opsOf(m13!.graph);
      expect(inner).toContain('Flatten');
      expect(m13!.graph.nodes[0]!.subgraphs().every((g) => g.nodes.every((n) => !n.attr('axes') && !n.attr('min')))).toBe(true);
    }
  });
});

describe('experimental ops removed at 10', () => {
  it('ImageScaler, Affine, Scale, ScaledTanh, ParametricSoftplus, Crop and DynamicSlice become standard ops', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 3, 5, 6]);
    b.output(b.op1('ImageScaler', [x], { scale: { float: 0.75 }, bias: { floats: [1, -2, 0.5] } }));
    b.output(b.op1('Affine', [x], { alpha: { float: 1.5 }, beta: { float: -0.25 } }));
    b.output(b.op1('Scale', [x], { scale: { float: 3 } }));
    b.output(b.op1('ScaledTanh', [x], { alpha: { float: 2 }, beta: { float: 0.5 } }));
    b.output(b.op1('ParametricSoftplus', [x], { alpha: { float: 0.5 }, beta: { float: 2 } }));
    b.output(b.op1('Crop', [x], { border: [1, 2, 2, 1] }));
    b.output(b.op1('Crop', [x], { border: [1, 1, 0, 0], scale: [2, 3] }));
    b.output(b.op1('DynamicSlice', [x, b.initInt64('st', [1], [1]), b.initInt64('en', [1], [4]), b.initInt64('ax', [1], [3])]));
    const experimental = ['ImageScaler', 'Affine', 'Scale', 'ScaledTanh', 'ParametricSoftplus', 'Crop', 'DynamicSlice'];
    const [m13, m21] = await expectSameOutputs(model(b, 8), X([1, 3, 5, 6]), [13, 21], 1e-6);
    for (const m of [m13!, m21!]) expect(opsOf(m.graph).filter((op) => experimental.includes(op))).toEqual([]);
  });

  it('GivenTensorFill has no equivalent and is refused by name', () => {
    const b = new GraphBuilder();
    b.output(b.op1('GivenTensorFill', [b.input('x', [2])], { shape: [2] }));
    expect(() => upgradeModel(model(b, 8), 13)).toThrow(/GivenTensorFill 'giventensorfill' \(opset 8 → 10\): .*no standard equivalent/);
  });
});

describe('nested subgraphs', () => {
  it('an If inside an If reading an outer value: converted, and the outer rank is known (no Flatten for a last-axis Softmax)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    const c1 = b.input('c1', [], DataType.BOOL);
    const c2 = b.input('c2', [], DataType.BOOL);
    const leaf = (tag: string, lo: number) => {
      const g = new Graph({ name: tag });
      g.addNode(new Node({ name: `${tag}_sm`, opType: 'Softmax', inputs: [x], outputs: [`${tag}_s`], attributes: [makeAttr.int('axis', 2)] }));
      g.addNode(new Node({ name: `${tag}_clip`, opType: 'Clip', inputs: [`${tag}_s`], outputs: [`${tag}_y`], attributes: [makeAttr.float('min', lo), makeAttr.float('max', 0.4)] }));
      g.outputs.push({ name: `${tag}_y`, elemType: DataType.FLOAT, shape: [2, 3, 4] });
      return g;
    };
    const inner = new Graph({ name: 'outer_then' });
    inner.addNode(new Node({ name: 'inner_if', opType: 'If', inputs: [c2], outputs: ['inner_y'], attributes: [{ name: 'then_branch', type: 5, value: leaf('a', 0.1) }, { name: 'else_branch', type: 5, value: leaf('b', 0.2) }] }));
    inner.outputs.push({ name: 'inner_y', elemType: DataType.FLOAT, shape: [2, 3, 4] });
    const y = b.graph.uniqueName('y');
    b.graph.addNode(new Node({ name: 'outer_if', opType: 'If', inputs: [c1], outputs: [y], attributes: [{ name: 'then_branch', type: 5, value: inner }, { name: 'else_branch', type: 5, value: leaf('c', 0) }] }));
    b.output(y, [2, 3, 4]);
    const bool = (v: number): HostTensor => ({ dtype: DataType.BOOL, dims: [], data: Uint8Array.of(v) });
    for (const [a, c] of [[1, 1], [1, 0], [0, 0]]) {
      const [m13] = await expectSameOutputs(model(b, 10), { x: f32([2, 3, 4], 3), c1: bool(a!), c2: bool(c!) });
      expect(opsOf(m13!.graph).sort()).toEqual(['Clip', 'Clip', 'Clip', 'If', 'If', 'Softmax', 'Softmax', 'Softmax']);
    }
  });
});

describe('refusals and range', () => {
  it('below opset 7, beyond 21 and downwards are refused with one line', () => {
    const b = new GraphBuilder();
    b.output(b.op1('Relu', [b.input('x', [2])]));
    expect(() => upgradeModel(model(b, 6), 13)).toThrow(/opset 6; qtool converts from opset 7/);
    expect(() => upgradeModel(model(b, 13), 22)).toThrow(/beyond 21/);
    expect(() => upgradeModel(model(b, 13), 11)).toThrow(/does not convert down/);
  });

  it('IR 3 initializers listed as graph inputs stay constants (not overridable inputs) after the IR rises', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 2, 4, 4]);
    const w = b.randomInit('w', [3, 2, 3, 3]);
    const s = b.init('scales', [4], [1, 1, 2, 2]);
    b.graph.inputs.push({ name: w, elemType: DataType.FLOAT, shape: [3, 2, 3, 3] }, { name: s, elemType: DataType.FLOAT, shape: [4] });
    b.output(b.op1('Resize', [b.op1('Conv', [x, w], { pads: [1, 1, 1, 1] }), s], { mode: 'nearest' }));
    const m = model(b, 10);
    m.irVersion = 3;
    const [m13] = await expectSameOutputs(m, X([1, 2, 4, 4]), [13]);
    expect(m13!.graph.inputs.map((i) => i.name)).toEqual(['x']);
    expect(Number(m13!.irVersion)).toBe(7);
  });

  it('raises the IR version the target opset needs', () => {
    const b = new GraphBuilder();
    b.output(b.op1('Relu', [b.input('x', [2])]));
    const m = model(b, 7);
    upgradeModel(m, 21);
    expect(Number(m.irVersion)).toBe(10);
    expect(encodeModel(m).byteLength).toBeGreaterThan(0);
  });
});

void Tensor;
