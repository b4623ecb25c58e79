// The op-rule registry: one small rule per op family. A rule only DESCRIBES what quantizing a node
// means (which inputs are weights and on which axis, which outputs share an input's range, which
// stay float); it never edits the graph. Whether that becomes QDQ or integer ops is decided later
// by a pass (after ORT's quantization registry, STYLE.md "Follow" 3).
import type { Graph, Node } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';

export type InputRole =
  | { kind: 'activation' }
  | { kind: 'weight'; axis: number }
  | { kind: 'bias'; activation: number; weight: number }
  | { kind: 'none' };

export type OutputRole =
  | { kind: 'activation' }
  | { kind: 'shared'; input: number }
  | { kind: 'fixed'; min: number; max: number }
  | { kind: 'none' };

export interface RuleResult {
  inputs: InputRole[];
  outputs: OutputRole[];
  /** Relu/Clip that the producer's output range can absorb (ALGORITHMS.md §3 range adjustments). */
  absorbable?: { min: number; max: number };
  /** Concat: inputs and output share one range. */
  sharedGroup?: boolean;
  /** Pass-through ops move data without arithmetic; quantized only next to quantized neighbours. */
  passThrough?: boolean;
  /** Has weights (Conv/Gemm/MatMul…): counts as a "layer" for the first/last-layer policy. */
  weighted?: boolean;
}

export type RuleOutcome = RuleResult | { float: string };

export interface RuleContext {
  graph: Graph;
  config: Readonly<QuantConfig>;
  /** Is this value a float tensor? */
  isFloat(name: string): boolean;
  /** Is this value a constant (initializer or Constant node)? */
  isConstant(name: string): boolean;
  /** Rank of a constant, if known. */
  constantRank(name: string): number | undefined;
}

export interface OpRule {
  readonly ops: readonly string[];
  describe(node: Node, ctx: RuleContext): RuleOutcome;
}

const A: InputRole = { kind: 'activation' };
const NONE: InputRole = { kind: 'none' };
const OUT: OutputRole = { kind: 'activation' };

function weightOrActivation(name: string, axis: number, ctx: RuleContext): InputRole {
  return ctx.isConstant(name) ? { kind: 'weight', axis } : A;
}

const conv: OpRule = {
  ops: ['Conv'],
  describe(n, ctx) {
    if (!ctx.isConstant(n.inputs[1] ?? '')) return { float: 'Conv weight is not a constant' };
    const inputs: InputRole[] = [A, { kind: 'weight', axis: 0 }];
    if (n.inputs[2]) inputs.push(ctx.isConstant(n.inputs[2]) ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    return { inputs, outputs: [OUT], weighted: true };
  },
};

const convTranspose: OpRule = {
  ops: ['ConvTranspose'],
  describe(n, ctx) {
    if (ctx.config.target === 'ort-cpu' || ctx.config.target === 'ort-cpu-novnni') {
      return { float: "onnxruntime's CPU provider has no int8 ConvTranspose kernel; a QDQ ConvTranspose would run in float with extra conversions" };
    }
    if (!ctx.isConstant(n.inputs[1] ?? '')) return { float: 'ConvTranspose weight is not a constant' };
    const inputs: InputRole[] = [A, { kind: 'weight', axis: 1 }];
    if (n.inputs[2]) inputs.push(ctx.isConstant(n.inputs[2]) ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    return { inputs, outputs: [OUT], weighted: true };
  },
};

const gemm: OpRule = {
  ops: ['Gemm'],
  describe(n, ctx) {
    if (n.attrInt('transA', 0) !== 0) return { float: 'Gemm with transA=1 has no integer kernel' };
    const b = n.inputs[1] ?? '';
    // B is [K, N] (transB=0) or [N, K] (transB=1); the output channel axis follows (§1).
    const inputs: InputRole[] = [A, weightOrActivation(b, n.attrInt('transB', 0) ? 0 : 1, ctx)];
    const c = n.inputs[2];
    if (c) {
      const biasOk = ctx.isConstant(c) && ctx.isConstant(b) && ctx.constantRank(c) === 1 && n.attrFloat('beta', 1) === 1 && n.attrFloat('alpha', 1) === 1;
      inputs.push(biasOk ? { kind: 'bias', activation: 0, weight: 1 } : NONE);
    }
    return { inputs, outputs: [OUT], weighted: ctx.isConstant(b) };
  },
};

const matmul: OpRule = {
  ops: ['MatMul'],
  describe(n, ctx) {
    const b = n.inputs[1] ?? '';
    const rank = ctx.constantRank(b);
    const w: InputRole = ctx.isConstant(b) && rank === 2 ? { kind: 'weight', axis: 1 } : ctx.isConstant(b) ? { kind: 'weight', axis: -1 } : A;
    return { inputs: [A, w], outputs: [OUT], weighted: ctx.isConstant(b) };
  },
};

const binary: OpRule = {
  ops: ['Add', 'Mul'],
  describe(n, ctx) {
    // A constant operand is quantized like an activation (per-tensor, activation dtype): the
    // integer kernels (QLinearAdd/QLinearMul) take both operands in one type.
    return { inputs: n.inputs.map(() => A), outputs: [OUT] };
  },
};

const concat: OpRule = {
  ops: ['Concat'],
  describe(n) {
    return { inputs: n.inputs.map(() => A), outputs: [OUT], sharedGroup: true };
  },
};

const relu: OpRule = {
  ops: ['Relu'],
  describe() {
    return { inputs: [A], outputs: [OUT], absorbable: { min: 0, max: Infinity } };
  },
};

const clip: OpRule = {
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
    return lo !== undefined && hi !== undefined ? { inputs, outputs: [OUT], absorbable: { min: lo, max: hi } } : { inputs, outputs: [OUT] };
  },
};

const unary: OpRule = {
  ops: ['LeakyRelu', 'HardSwish', 'AveragePool', 'GlobalAveragePool', 'Tanh'],
  describe() {
    return { inputs: [A], outputs: [OUT] };
  },
};

const zeroOne: OpRule = {
  ops: ['Sigmoid', 'HardSigmoid', 'Softmax'],
  describe() {
    return { inputs: [A], outputs: [{ kind: 'fixed', min: 0, max: 1 }] };
  },
};

const passThrough: OpRule = {
  ops: ['MaxPool', 'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Split', 'Slice', 'Gather', 'Resize', 'Identity'],
  describe(n) {
    if (n.opType === 'MaxPool' && n.outputs.length > 1 && n.outputs[1]) return { float: 'MaxPool with an Indices output' };
    if (n.opType === 'Resize' && (n.attrString('mode') ?? 'nearest') !== 'nearest') {
      // Interpolation creates new values, but within the input's range: own range, own scale.
      return { inputs: n.inputs.map((_, i) => (i === 0 ? A : NONE)), outputs: [OUT] };
    }
    // Data input 0 only; shape/indices/axes inputs stay as they are.
    return { inputs: n.inputs.map((_, i) => (i === 0 ? A : NONE)), outputs: n.outputs.map(() => ({ kind: 'shared', input: 0 })), passThrough: true };
  },
};

export const RULES: readonly OpRule[] = [conv, convTranspose, gemm, matmul, binary, concat, relu, clip, unary, zeroOne, passThrough];

const BY_OP = new Map<string, OpRule>();
for (const r of RULES) for (const op of r.ops) BY_OP.set(op, r);

export function ruleFor(node: Node): OpRule | undefined {
  return node.domain === '' || node.domain === 'ai.onnx' ? BY_OP.get(node.opType) : undefined;
}

export function supportedOps(): string[] {
  return [...BY_OP.keys()].sort();
}
