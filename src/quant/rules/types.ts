// What a rule is. A rule holds every fact about one op family: the roles of its inputs by index
// (static mode), its QOperator lowering, its dynamic and weight-only forms, whether it preserves
// values for calibration. Rules describe and build nodes; passes edit the graph.
import type { Attribute, Graph, Node } from '../../ir/index.js';

export type { Node };
import type { QuantConfig } from '../../config/index.js';
import type { QType } from '../../math/qparams.js';
import type { Reason } from '../reasons.js';
import type { WeightIntegers } from '../plan.js';

export type { Reason };

export type InputRole =
  | { kind: 'activation' }
  | {
    kind: 'weight'; axis: number; /** Quantized per tensor whatever the config says (N-D MatMul weights). */ perTensorOnly?: boolean;
    /** The input-channel (reduction) axis: where --group-size blocks go. Absent: no groups for this weight. */ inputAxis?: number;
    /**
     * onnxruntime's CPU provider fuses this node, with per-group int8/uint8 weights, into this
     * integer kernel, which rejects blocked scales at run time (measured, onnxruntime-node 1.30).
     */
    blockedInt8Fusion?: string;
  }
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

export type RuleOutcome = RuleResult | { float: Reason };

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

/** The integer tensor, scale and zero point behind a DequantizeLinear (QOperator lowering). */
export interface Dq {
  node: Node;
  q: string;
  scale: string;
  zp: string;
}

/** What the QOperator lowering found around one node. */
export interface LowerContext {
  node: Node;
  /** Per input: its DequantizeLinear, if it has one with all three inputs. */
  ins: (Dq | undefined)[];
  /** The output's only consumer when it is a QuantizeLinear. */
  out?: Dq;
  /**
   * The int32 tensor behind input i when it is a bias DequantizeLinear (int32, zero point absent or
   * 0: the bias is added to the accumulator at s_x·s_w, which the plan guarantees).
   */
  bias(i: number): string | undefined;
  /** Are the first `count` inputs all present and dequantized? */
  allQuantized(count: number): boolean;
  /** Same scale and zero point: the integer data can pass straight through. */
  sameParams(a: Dq, out: Dq): boolean;
  copyAttrs(drop?: string[]): Attribute[];
  make(opType: string, domain: string, inputs: string[], outputs: string[], attributes?: Attribute[]): Node;
}

/** One weight of a node's dynamic or weight-only form, as the form stores it. */
export interface FormWeight {
  /** Input index of the weight in the original node. */
  input: number;
  /** The float values in the layout the form stores them ([K, N] for MatMul/Gemm). */
  data: Float32Array;
  dims: number[];
  /** Per-channel axis in `dims`. */
  axis: number;
  /** The form has no per-tensor variant. */
  perChannelOnly?: boolean;
}

export interface FormUnit {
  weights: FormWeight[];
  /** Float values of other constant inputs the form stores as they are (Gemm's C). */
  bias?: Float32Array;
}

/** The integers, scales and zero points the plan holds for one form weight, as initializer names. */
export interface StoredWeight {
  q: string;
  scale: string;
  zeroPoint: string;
}

/** A planned weight: its integers (in the form's layout) and how they map back to real values. */
export interface FormWeightValues {
  q: WeightIntegers;
  dtype: QType;
  /** Per-channel axis, or null for per-tensor. */
  axis: number | null;
  scales: readonly number[];
  zeroPoints: readonly number[];
  /** int4 weight-only: blocks of this many values along K, one scale per block and column. */
  blockSize?: number;
}

export interface FormRewrite {
  graph: Graph;
  node: Node;
  unit: FormUnit;
  /** One per `unit.weights`, same order. */
  weights: FormWeightValues[];
  /** A value shared by the rewrites of one pass (e.g. one DynamicQuantizeLinear per input tensor). */
  memo<T>(key: string, make: () => T): T;
}

export interface WeightForm {
  /** Rewrite order among forms (kept from the first implementation so outputs stay byte-identical). */
  order: number;
  /** The weights this node stores in integer form, or why it stays float. */
  unit(node: Node, g: Graph, config: Readonly<QuantConfig>): FormUnit | { float: Reason };
  /** The plan's reason for a node this form quantizes. */
  quantized(config: Readonly<QuantConfig>, dtype: QType): Reason;
  /** Weight types this form can store. */
  dtypes: readonly QType[];
  /** A warning the run gives (once) when this form is used. */
  caveat?: string;
  /** Replaces the node by its integer form (edits the graph through its methods). */
  rewrite(r: FormRewrite): void;
}

/**
 * Empirical bias correction (ALGORITHMS.md §4, api/bias-correction.ts): where a layer's output
 * channels are and how a per-channel shift of its output becomes part of its bias.
 */
export interface BiasCorrectionFacts {
  /** The number of output channels for this constant float weight (input 1), or undefined: not corrected. */
  outputChannels(node: Node, weightDims: readonly number[]): number | undefined;
  /**
   * The output-channel axis of the layer's output. ≥ 0: the output has the weight's rank (Conv
   * [N, M, …], Gemm [B, N]). -1: the last axis of an output of any rank (MatMul [..., N]).
   */
  channelAxis: number;
  /**
   * Subtracts `correction` (one value per output channel) from the layer's bias, as new float
   * initializers (a bias is created where there is none). Returns why not, or undefined when done.
   */
  applyBias(g: Graph, node: Node, correction: Float64Array): string | undefined;
}

/** A mode in which this op family stays float, with the reason. */
export interface FloatForm {
  float: (config: Readonly<QuantConfig>, node: Node) => Reason;
}

export interface OpRule {
  readonly ops: readonly string[];
  /** Static mode: the roles of inputs and outputs, or why the node stays float. */
  describe?(node: Node, ctx: RuleContext): RuleOutcome;
  /** QOperator: the integer node replacing DQ → node → Q, or undefined to keep the QDQ form. */
  lower?(ctx: LowerContext): Node | undefined;
  /** Dynamic mode (activations quantized at run time). */
  dynamic?: WeightForm | FloatForm;
  /** Weight-only mode. */
  weightOnly?: WeightForm;
  /** The output holds exactly the values of input 0, rearranged (calibration observes the input). */
  valuePreserving?: boolean;
  /** Relu/Clip: the largest value the activation lets through (a following Q may replace it). */
  activationMax?(node: Node, g: Graph): number;
  /** Add/Mul: quantized only where every non-constant operand comes out of quantized arithmetic. */
  integerFlowOnly?: boolean;
  /** Add: with a constant vector operand after a linear layer, it is that layer's bias. */
  addsBias?: boolean;
  /** MatMul/Gemm: a following constant-bias Add is part of the layer; a model output it computes stays float. */
  linear?: boolean;
  /**
   * Compares or selects by value (Equal, Greater, ArgMax, TopK, NonMaxSuppression…): the tensors
   * that reach only such ops stay float, with the chain that feeds only them.
   */
  decision?: boolean;
  /** Equal/GreaterOrEqual/LessOrEqual: a comparison that holds on a tie (x == MaxPool(x) keeps every tied neighbour). */
  trueOnTies?: boolean;
  /** MaxPool: each output is the largest input value of its window (compared with its input, a peak test). */
  localMax?: boolean;
  /** Conv/Gemm/MatMul: the mean output error of its quantized weight can be subtracted from its bias. */
  biasCorrection?: BiasCorrectionFacts;
  /** MaxPool: onnxruntime runs it on uint8 in a slow generic kernel when a float layer feeds it. */
  slowOnUint8?: boolean;
  /**
   * The channel axis of its activation input 0, where each channel meets its own weights: 1 for
   * NCHW Conv inputs, -1 (the last axis, K) for MatMul/Gemm. Calibration keeps a per-channel
   * abs-max there, for the outlier-channel check (quant/outliers.ts). Absent: no channel fact.
   */
  inputChannelAxis?(node: Node): number | undefined;
}
