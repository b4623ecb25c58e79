// Ops that move data without arithmetic (MaxPool picks, Reshape/Transpose/… rearrange, Gather/
// Slice/Split select). Quantized only next to quantized neighbours, sharing their input's scale;
// QOperator runs them on the integer tensor directly.
import { Node, Tensor, type Graph } from '../../ir/index.js';
import { reason } from '../reasons.js';
import type { InputRole, LowerContext, OpRule, RuleOutcome } from './types.js';

const A: InputRole = { kind: 'activation' };
const NONE: InputRole = { kind: 'none' };

/** Data input 0 only; shape/indices/axes inputs stay as they are. */
function shared(n: Node): RuleOutcome {
  return { inputs: n.inputs.map((_, i) => (i === 0 ? A : NONE)), outputs: n.outputs.map(() => ({ kind: 'shared', input: 0 })), passThrough: true };
}

function onInteger(m: LowerContext): Node | undefined {
  const { node: n, ins: [a], out } = m;
  if (!out || !a || !m.sameParams(a, out) || n.outputs.length !== 1) return undefined;
  return m.make(n.opType, '', [a.q, ...n.inputs.slice(1)], [out.q]);
}

export const reshape: OpRule = {
  ops: ['Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze'],
  valuePreserving: true,
  describe: shared,
  lower: onInteger,
};

export const identity: OpRule = { ops: ['Identity'], valuePreserving: true, describe: shared };

export const select: OpRule = { ops: ['Split', 'Slice', 'Gather'], describe: shared, lower: onInteger };

export const maxPool: OpRule = {
  ops: ['MaxPool'],
  slowOnUint8: true,
  localMax: true,
  describe(n) {
    if (n.outputs.length > 1 && n.outputs[1]) return { float: reason('indices-output', 'MaxPool with an Indices output') };
    return shared(n);
  },
  lower: onInteger,
};

export const resize: OpRule = {
  ops: ['Resize'],
  describe(n) {
    // Interpolation creates new values, but within the input's range: own range, own scale.
    if ((n.attrString('mode') ?? 'nearest') !== 'nearest') return { inputs: n.inputs.map((_, i) => (i === 0 ? A : NONE)), outputs: [{ kind: 'activation' }] };
    return shared(n);
  },
  lower: onInteger,
};

/**
 * Graph plumbing for callers outside the rules (bias correction's probe): views `x` as
 * [rows, columns] with a Reshape to [-1, columns]; returns the new value's name.
 */
export function flattenToRows(g: Graph, x: string, columns: number, base: string): string {
  const shape = g.addInitializer(Tensor.fromInt64(g.uniqueName(`${base}_shape`), [2], [-1, columns])).name;
  const out = g.uniqueName(`${base}_flat`);
  g.addNode(new Node({ name: g.uniqueName(`${base}_reshape`), opType: 'Reshape', inputs: [x, shape], outputs: [out] }));
  return out;
}
