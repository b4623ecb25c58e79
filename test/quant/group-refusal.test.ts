// Which per-group weights --group-size refuses before calibration (one rule per op: the weight
// role's blockedInt8Fusion), on one-node synthetic graphs. The measurement behind it (onnxruntime
// fuses these into kernels that reject blocked scales) is in test/e2e/seedflags.test.ts on vit_mini.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/index.js';
import { normalizeConfig, type QuantConfig } from '../../src/config/index.js';
import { analyzeGraph } from '../../src/quant/analyze.js';
import { checkGroupedWeights } from '../../src/quant/plan-weights.js';

const cfg = (v: Partial<QuantConfig>) => normalizeConfig([{ values: v, origin: 'test' }]);

function check(op: 'Conv' | 'ConvBias' | 'Gemm' | 'MatMul', config: Readonly<QuantConfig>): void {
  const b = new GraphBuilder();
  let y: string;
  if (op === 'Conv' || op === 'ConvBias') {
    const x = b.input('x', [1, 32, 8, 8]);
    const w = b.randomInit('w', [8, 32, 3, 3]);
    y = b.op1('Conv', op === 'ConvBias' ? [x, w, b.randomInit('b', [8], 0.1)] : [x, w], {}, { name: 'layer' });
  } else {
    const x = b.input('x', [4, 32]);
    y = op === 'Gemm' ? b.op1('Gemm', [x, b.randomInit('w', [8, 32]), b.randomInit('b', [8], 0.1)], { transB: 1 }, { name: 'layer' }) : b.op1('MatMul', [x, b.randomInit('w', [32, 8])], {}, { name: 'layer' });
  }
  const r = b.op1('Relu', [y]);
  b.output(r);
  const g = b.graph;
  checkGroupedWeights(g, analyzeGraph(g, config), config, undefined, true);
}

describe('--group-size refusals (target ort-cpu)', () => {
  const int8 = cfg({ target: 'ort-cpu', groupSize: 8 });
  it('MatMul and a Conv without bias are refused, naming the node, the kernel and what to do', () => {
    expect(() => check('MatMul', int8)).toThrow(/MatMul 'layer' .*QLinearMatMul\/MatMulIntegerToFloat.*--weight-type int4.*--exclude-nodes layer/);
    expect(() => check('Conv', int8)).toThrow(/Conv 'layer' .*QLinearConv/);
  });
  it('Gemm and a Conv with a bias run (no refusal); so do int4 weights, another target, and one group', () => {
    expect(() => check('Gemm', int8)).not.toThrow();
    expect(() => check('ConvBias', int8)).not.toThrow();
    expect(() => check('MatMul', cfg({ target: 'ort-cpu', groupSize: 8, weightType: 'int4' }))).not.toThrow();
    expect(() => check('MatMul', cfg({ target: 'generic', groupSize: 8 }))).not.toThrow();
    expect(() => check('MatMul', cfg({ target: 'ort-cpu', groupSize: 32 }))).not.toThrow(); // K = 32: per-channel
  });
});
