// Add, Mul and Concat. Add/Mul quantize every operand like an activation (the integer kernels
// QLinearAdd/QLinearMul take both operands in one type) and only where the integer flow continues;
// Concat's inputs and output share one range (QLinearConcat).
import { MS } from './domains.js';
import type { InputRole, LowerContext, Node, OpRule } from './types.js';

const A: InputRole = { kind: 'activation' };

const binary = {
  integerFlowOnly: true,
  describe: (n: Node) => ({ inputs: n.inputs.map(() => A), outputs: [{ kind: 'activation' as const }] }),
  lower(m: LowerContext) {
    const { node: n, ins: [a, b], out } = m;
    if (!out || !m.allQuantized(2) || n.inputs.length !== 2) return undefined;
    return m.make(`QLinear${n.opType}`, MS, [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp], [out.q]);
  },
};

export const add: OpRule = { ops: ['Add'], addsBias: true, ...binary };

export const mul: OpRule = { ops: ['Mul'], ...binary };

export const concat: OpRule = {
  ops: ['Concat'],
  describe(n) {
    return { inputs: n.inputs.map(() => A), outputs: [{ kind: 'activation' }], sharedGroup: true };
  },
  lower(m) {
    const { ins, out } = m;
    if (!out || !ins.every(Boolean)) return undefined;
    return m.make('QLinearConcat', MS, [out.scale, out.zp, ...ins.flatMap((d) => [d!.q, d!.scale, d!.zp])], [out.q]);
  },
};
