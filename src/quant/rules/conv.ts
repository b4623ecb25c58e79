// Conv and ConvTranspose: weight per output channel (axis 0 for Conv, 1 for ConvTranspose), a
// constant bias per channel at s_x·s_w. QOperator: QLinearConv.
import { reason } from '../reasons.js';
import type { InputRole, OpRule } from './types.js';

const A: InputRole = { kind: 'activation' };
const NONE: InputRole = { kind: 'none' };

export const conv: OpRule = {
  ops: ['Conv'],
  describe(n, ctx) {
    if (!ctx.isConstant(n.inputs[1] ?? '')) return { float: reason('weight-not-constant', 'Conv weight is not a constant') };
    const inputs: InputRole[] = [A, { kind: 'weight', axis: 0 }];
    if (n.inputs[2]) inputs.push(ctx.isConstant(n.inputs[2]) ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    return { inputs, outputs: [{ kind: 'activation' }], weighted: true };
  },
  lower(m) {
    const { node: n, ins: [a, b], out } = m;
    // The bias: int32 at s_x·s_w, zero point 0 (its DequantizeLinear has no zero-point input).
    const c = n.inputs[2] ? m.bias(2) : undefined;
    if (!out || !m.allQuantized(2) || (n.inputs[2] && !c)) return undefined;
    return m.make('QLinearConv', '', [a!.q, a!.scale, a!.zp, b!.q, b!.scale, b!.zp, out.scale, out.zp, ...(c ? [c] : [])], [out.q]);
  },
};

export const convTranspose: OpRule = {
  ops: ['ConvTranspose'],
  describe(n, ctx) {
    if (ctx.config.target === 'ort-cpu' || ctx.config.target === 'ort-cpu-novnni') {
      return { float: reason('no-int8-kernel', "onnxruntime's CPU provider has no int8 ConvTranspose kernel; a QDQ ConvTranspose would run in float with extra conversions") };
    }
    if (!ctx.isConstant(n.inputs[1] ?? '')) return { float: reason('weight-not-constant', 'ConvTranspose weight is not a constant') };
    const inputs: InputRole[] = [A, { kind: 'weight', axis: 1 }];
    if (n.inputs[2]) inputs.push(ctx.isConstant(n.inputs[2]) ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    return { inputs, outputs: [{ kind: 'activation' }], weighted: true };
  },
};
