// Comparisons and selections: their outputs depend only on the order of their inputs' values.
// Quantizing what feeds them creates ties (a suppression step's Equal(map, MaxPool(map)) keeps
// every tied neighbour), so the tensors that reach only these ops stay float with the chain that
// feeds only them (src/quant/analyze.ts: decisionTails). They have no static form themselves.
import type { OpRule } from './types.js';

export const decision: OpRule = {
  ops: ['Greater', 'Less', 'ArgMax', 'ArgMin', 'TopK', 'NonMaxSuppression'],
  decision: true,
};

/** Comparisons that are true on a tie: Equal(x, MaxPool(x)) is a peak test (isPeakTest). */
export const equality: OpRule = {
  ops: ['Equal', 'GreaterOrEqual', 'LessOrEqual'],
  decision: true,
  trueOnTies: true,
};
