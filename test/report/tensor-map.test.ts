// Float → quantized tensor matching: the qtool.tensor_map metadata first, Q→DQ structure second,
// never names. Small hand-built graphs.
import { describe, expect, it } from 'vitest';
import { DataType, GraphBuilder, Tensor, type Model } from '../../src/ir/index.js';
import { coverage, modelFormat, resolveTensorMap, TENSOR_MAP_KEY } from '../../src/report/index.js';

// float:  x ─▶ MatMul(W) ─▶ h ─▶ Relu ─▶ y
function floatModel(): Model {
  const b = new GraphBuilder();
  b.input('x', ['N', 4]);
  const w = b.randomInit('W', [4, 3]);
  const h = b.op1('MatMul', ['x', w], {}, { name: 'mm' });
  b.graph.setNodeOutput(b.graph.producerOf(h)!, 0, 'h');
  const y = b.op1('Relu', ['h'], {}, { name: 'relu' });
  b.graph.setNodeOutput(b.graph.producerOf(y)!, 0, 'y');
  b.output('y', ['N', 3]);
  return b.model();
}

// quantized (as qtool writes it: Relu absorbed, the model output keeps its name on the DQ):
//   x ─▶ Q ─▶ DQ ─▶ x_dq ─┐
//   W_q ─▶ DQ ─▶ W_dq ────┴▶ MatMul ─▶ y_float ─▶ Q ─▶ DQ ─▶ y
function quantModel(opts: { activationScale?: number[] } = {}): Model {
  const b = new GraphBuilder();
  const g = b.graph;
  b.input('x', ['N', 4]);
  const s = opts.activationScale ?? [1 / 255];
  g.addInitializer(Tensor.fromFloat32('sx', s.length > 1 ? [s.length] : [], new Float32Array(s)));
  g.addInitializer(Tensor.fromTyped('zx', DataType.UINT8, s.length > 1 ? [s.length] : [], new Uint8Array(s.length)));
  g.addInitializer(Tensor.fromTyped('W_q', DataType.INT8, [4, 3], new Int8Array(12).fill(3)));
  g.addInitializer(Tensor.fromFloat32('sw', [], Float32Array.of(0.01)));
  g.addInitializer(Tensor.fromFloat32('sy', [], Float32Array.of(0.05)));
  g.addInitializer(Tensor.fromTyped('zy', DataType.UINT8, [], Uint8Array.of(0)));
  const q = (inputs: string[], out: string) => b.graph.setNodeOutput(b.graph.producerOf(b.op1('QuantizeLinear', inputs))!, 0, out);
  const dq = (inputs: string[], out: string) => b.graph.setNodeOutput(b.graph.producerOf(b.op1('DequantizeLinear', inputs))!, 0, out);
  q(['x', 'sx', 'zx'], 'x_q');
  dq(['x_q', 'sx', 'zx'], 'x_dq');
  dq(['W_q', 'sw'], 'W_dq');
  b.graph.setNodeOutput(b.graph.producerOf(b.op1('MatMul', ['x_dq', 'W_dq']))!, 0, 'y_float');
  q(['y_float', 'sy', 'zy'], 'y_q');
  dq(['y_q', 'sy', 'zy'], 'y');
  b.output('y', ['N', 3]);
  return b.model();
}

const withMap = (m: Model, map: unknown): Model => ({ ...m, metadata: [{ key: TENSOR_MAP_KEY, value: typeof map === 'string' ? map : JSON.stringify(map) }] });

describe('resolveTensorMap', () => {
  it('reads quantize()\'s [tensor, algo] entries; scale and zero point come from the DequantizeLinear', () => {
    const m = resolveTensorMap(withMap(quantModel(), { x: ['x_dq', 'minmax'], h: ['y', 'kl'], y: ['y', 'kl'] }), floatModel().graph);
    expect(m.source).toBe('metadata');
    expect(m.targets.map((t) => [t.tensor, t.quantized, t.dtype, t.zeroPoint, t.algo])).toEqual([
      ['x', 'x_dq', 'uint8', 0, 'minmax'],
      ['y', 'y', 'uint8', 0, 'kl'],
    ]);
    expect(m.targets[1]!.scale).toBeCloseTo(0.05, 7);
    // h shares y's quantized tensor (the Relu was absorbed): it is analysed as y, the later tensor
    expect(m.absorbed).toEqual([{ tensor: 'h', into: 'y' }]);
    expect(m.warnings).toEqual([]);
  });

  it('reads object entries, with the parameters of an integer (QOperator) tensor from the map', () => {
    const map = { x: { quantized: 'x_q', dtype: 'uint8', scale: 0.5, zeroPoint: 3, range: [-1.5, 126], algo: 'percentile' } };
    const [t] = resolveTensorMap(withMap(quantModel(), map), floatModel().graph).targets;
    expect(t).toEqual({ tensor: 'x', quantized: 'x_q', dtype: 'uint8', scale: 0.5, zeroPoint: 3, range: [-1.5, 126], algo: 'percentile' });
  });

  it('without metadata: Q→DQ pairs, the model output matched through its DQ', () => {
    const m = resolveTensorMap(quantModel(), floatModel().graph);
    expect(m.source).toBe('structure');
    expect(m.targets.map((t) => [t.tensor, t.quantized])).toEqual([['x', 'x_dq'], ['y', 'y']]);
    expect(m.warnings.map((w) => w.code)).toEqual(['no-tensor-map']);
  });

  it('an unreadable map falls back to the structure and says why', () => {
    const m = resolveTensorMap(withMap(quantModel(), '{not json'), floatModel().graph);
    expect(m.source).toBe('structure');
    expect(m.warnings.map((w) => w.code)).toEqual(['tensor-map-unusable']);
  });

  it('names missing from the float graph are reported, never guessed; weights and per-channel are skipped with reasons', () => {
    const m = resolveTensorMap(withMap(quantModel({ activationScale: [0.1, 0.2, 0.3, 0.4] }), { x: ['x_dq'], ghost: ['y'], W: ['W_dq'] }), floatModel().graph);
    expect(m.missing).toEqual(['ghost']);
    expect(m.skipped).toEqual([
      { tensor: 'x', reason: 'per-channel quantization (per-tensor analysis only)' },
      { tensor: 'W', reason: 'a constant (weight): not an activation' },
    ]);
  });
});

describe('coverage and format', () => {
  it('a QDQ MatMul reading a dequantized activation and weight counts as quantized', () => {
    const q = quantModel();
    expect(modelFormat(q)).toBe('qdq');
    expect(modelFormat(floatModel())).toBe('float');
    const c = coverage(q);
    expect(c).toMatchObject({ source: 'structure', quantized: 1, float: 0 });
  });

  it('uses the plan\'s node list from metadata when present', () => {
    const nodes = [
      { name: 'mm', opType: 'MatMul', status: 'quantized', reason: '' },
      { name: 'relu', opType: 'Relu', status: 'absorbed', reason: 'folded' },
      { name: 'sm', opType: 'Softmax', status: 'float', reason: 'excluded by --exclude-ops' },
    ];
    const c = coverage({ ...quantModel(), metadata: [{ key: 'qtool.nodes', value: JSON.stringify(nodes) }] });
    expect(c).toMatchObject({ source: 'metadata', quantized: 2, float: 1 });
    expect(c.floatNodes).toEqual([{ name: 'sm', opType: 'Softmax', reason: 'excluded by --exclude-ops' }]);
  });
});
