// Elementwise activations and pools: one activation input, one output. Relu/Clip can be folded
// into the producer's output range; Sigmoid/HardSigmoid/Softmax have a fixed [0, 1] output range.
// QOperator: the com.microsoft QLinear<op> kernels where onnxruntime has them.
import { makeAttr, type Attribute, type Node } from '../../ir/index.js';
import { MS } from './domains.js';
import type { InputRole, LowerContext, OpRule } from './types.js';

const A: InputRole = { kind: 'activation' };
const NONE: InputRole = { kind: 'none' };

function qlinearUnary(m: LowerContext, attrs: Attribute[] = m.copyAttrs()): Node | undefined {
  const { node: n, ins: [a], out } = m;
  if (!out || !a) return undefined;
  return m.make(`QLinear${n.opType}`, MS, [a.q, a.scale, a.zp, out.scale, out.zp], [out.q], attrs);
}

export const relu: OpRule = {
  ops: ['Relu'],
  describe() {
    return { inputs: [A], outputs: [{ kind: 'activation' }], absorbable: { min: 0, max: Infinity } };
  },
  activationMax: () => Infinity,
};

export const clip: OpRule = {
  ops: ['Clip'],
  describe(n, ctx) {
    const bound = (i: number, attr: string, dflt: number): number | undefined => {
      if (n.inputs[i] === undefined || n.inputs[i] === '') return n.attrFloat(attr, dflt);
      const t = ctx.graph.constantOf(n.inputs[i]!);
      return t && t.size === 1 ? t.toFloat64()[0] : undefined;
    };
    const lo = bound(1, 'min', -Infinity);
    const hi = bound(2, 'max', Infinity);
    const inputs: InputRole[] = [A, ...n.inputs.slice(1).map(() => NONE)];
    return lo !== undefined && hi !== undefined ? { inputs, outputs: [{ kind: 'activation' }], absorbable: { min: lo, max: hi } } : { inputs, outputs: [{ kind: 'activation' }] };
  },
  activationMax(n, g) {
    if (!n.inputs[2]) return n.attrFloat('max', Infinity);
    return g.constantOf(n.inputs[2])?.toFloat64()[0] ?? -Infinity;
  },
};

const plain = { describe: () => ({ inputs: [A], outputs: [{ kind: 'activation' as const }] }) };
const zeroOne = { describe: () => ({ inputs: [A], outputs: [{ kind: 'fixed' as const, min: 0, max: 1 }] }) };

export const unary: OpRule = { ops: ['HardSwish', 'Tanh'], ...plain };

export const leakyRelu: OpRule = { ops: ['LeakyRelu'], ...plain, lower: (m) => qlinearUnary(m) };

export const pool: OpRule = {
  ops: ['AveragePool', 'GlobalAveragePool'],
  ...plain,
  lower: (m) => qlinearUnary(m, m.node.opType === 'GlobalAveragePool' ? [makeAttr.int('channels_last', 0)] : m.copyAttrs()),
};

export const hardSigmoid: OpRule = { ops: ['HardSigmoid'], ...zeroOne };

export const sigmoid: OpRule = { ops: ['Sigmoid'], ...zeroOne, lower: (m) => qlinearUnary(m) };

export const softmax: OpRule = {
  ops: ['Softmax'],
  ...zeroOne,
  lower(m) {
    const attrs = m.copyAttrs();
    if (!attrs.some((x) => x.name === 'opset')) attrs.push(makeAttr.int('opset', 13));
    return qlinearUnary(m, attrs);
  },
};
