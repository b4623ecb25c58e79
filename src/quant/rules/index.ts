// The op-rule registry: one rule per op family (conv.ts, linear.ts, …), each holding every fact
// about its ops. No module outside this folder names a quantizable op type; they ask here.
import { isDefaultDomain, type Graph, type Node } from '../../ir/index.js';
import type { QuantConfig } from '../../config/index.js';
import { clip, hardSigmoid, leakyRelu, pool, relu, sigmoid, softmax, unary } from './activation.js';
import { conv, convTranspose } from './conv.js';
import { decision, equality } from './decision.js';
import { add, concat, mul } from './elementwise.js';
import { gemm, matmul } from './linear.js';
import { identity, maxPool, reshape, resize, select } from './movement.js';
export { flattenToRows } from './movement.js';
import { lstm, otherRecurrent } from './recurrent.js';
import type { BiasCorrectionFacts, FloatForm, OpRule, WeightForm } from './types.js';

export const RULES: readonly OpRule[] = [
  conv, convTranspose, matmul, gemm, add, mul, concat, relu, clip, unary, leakyRelu, pool, hardSigmoid, sigmoid, softmax,
  reshape, identity, select, maxPool, resize, lstm, otherRecurrent, decision, equality,
];

const BY_OP = new Map<string, OpRule>();
for (const r of RULES) for (const op of r.ops) BY_OP.set(op, r);

/** The rule of a default-domain node, if any (with or without a static description). */
export function ruleOf(node: Pick<Node, 'opType' | 'domain'>): OpRule | undefined {
  return isDefaultDomain(node.domain) ? BY_OP.get(node.opType) : undefined;
}

/** The rule that describes this node in static mode. */
export function ruleFor(node: Pick<Node, 'opType' | 'domain'>): OpRule | undefined {
  const r = ruleOf(node);
  return r?.describe ? r : undefined;
}

/** Op types static mode can quantize. */
export function supportedOps(): string[] {
  return [...BY_OP].filter(([, r]) => r.describe).map(([op]) => op).sort();
}

export type WeightMode = Exclude<QuantConfig['mode'], 'static'>;

/** The node's integer form in dynamic or weight-only mode (a float-only entry has no `rewrite`). */
export function formOf(node: Node, mode: WeightMode): WeightForm | FloatForm | undefined {
  const r = ruleOf(node);
  return mode === 'dynamic' ? r?.dynamic : r?.weightOnly;
}

/** Op types that have an integer form in this mode, in registry order ("MatMul/Gemm/LSTM"). */
export function opsWithForm(mode: WeightMode): string[] {
  return RULES.filter((r) => (mode === 'dynamic' ? r.dynamic && 'rewrite' in r.dynamic : r.weightOnly)).flatMap((r) => r.ops);
}

/** Does this node compare or select by value (its inputs' order decides its output)? */
export function isDecision(node: Pick<Node, 'opType' | 'domain'>): boolean {
  return ruleOf(node)?.decision === true;
}

/**
 * A peak test: Equal(x, MaxPool(x)) (or ≥, ≤), the suppression step of a heat-map decoder. It holds
 * on every tie, so its output moves wherever noise reorders close neighbours of x.
 */
export function isPeakTest(node: Node, g: Graph): boolean {
  const [a, b] = node.inputs;
  if (ruleOf(node)?.trueOnTies !== true || !a || !b) return false;
  const pooledFrom = (pooled: string, x: string) => {
    const p = g.producerOf(pooled);
    return !!p && ruleOf(p)?.localMax === true && p.inputs[0] === x;
  };
  return pooledFrom(a, b) || pooledFrom(b, a);
}

/** Bias correction: where the node's output channels are and how its bias takes a shift (Conv/Gemm/MatMul). */
export function biasCorrectionOf(node: Pick<Node, 'opType' | 'domain'>): BiasCorrectionFacts | undefined {
  return ruleOf(node)?.biasCorrection;
}

/** The channel axis of the node's activation input 0 (negative: from the end), if its rule knows one. */
export function inputChannelAxisOf(node: Node): number | undefined {
  return ruleOf(node)?.inputChannelAxis?.(node);
}

/** Calibration: does this node's output hold exactly the values of its input 0? */
export function isValuePreserving(node: Pick<Node, 'opType' | 'domain'>): boolean {
  return ruleOf(node)?.valuePreserving === true;
}

export { findHardSwishUnits, scalarConstant, type HardSwishUnit } from './hardswish.js';
export type * from './types.js';
