// Every change of an ai.onnx op between opsets 7 and 21 that an old model can notice, from the
// ONNX operator changelog. `adapt` rewrites a node valid before `since` into one valid at `since`;
// changes without `adapt` keep the old meaning for every old node (new types, new attributes
// whose defaults keep the old behaviour, negative axes, relaxed shape rules) and are listed so
// that the table is the whole story. An op that is absent has no such change.
import type { Node } from '../../ir/index.js';
import type { AdaptContext } from './context.js';
import { softmax13 } from './adapters/softmax.js';
import { axesToInput, checkDropout12, clip11, dft20, dropout10, dropout12, pad11, slice10, split13, split18, topk10 } from './adapters/inputs.js';
import { checkResize11, checkResize13, resize11, resize13, upsample9, upsampleToResize10 } from './adapters/resize.js';
import { batchNorm14, batchNorm9, checkBatchNorm, groupNorm21 } from './adapters/normalization.js';
import { affine10, crop10, dynamicSlice10, imageScaler10, noEquivalent, parametricSoftplus10, refuseRemoved, scale10, scaledTanh10 } from './adapters/experimental.js';
import { checkScan9, gridSample20, roiAlign16, scan9, scatter11 } from './adapters/misc.js';

export interface Change {
  /** The opset in which the new definition appears. */
  readonly since: number;
  readonly what: string;
  /** Rewrites the node into its `since` form; returns the node that carries on (undefined when the
   * op is replaced by others). Throws Refusal when this node cannot be converted. */
  readonly adapt?: (c: AdaptContext, n: Node) => Node | undefined;
  /** Why this node cannot be converted, without changing anything (for inspect and the dry run). */
  readonly check?: (c: AdaptContext, n: Node) => string | undefined;
  /** False when this node is already valid at `since` as it is (nothing to adapt). */
  readonly applies?: (n: Node) => boolean;
  /** The op type the node has after `adapt` when it changes (deprecated ops). */
  readonly becomes?: string;
}

const softmax: Change = { since: 13, what: 'coerced-2D from axis (default 1) → one axis (default -1)', adapt: softmax13 };
const axesInput13: Change = { since: 13, what: 'axes attribute → input', adapt: axesToInput, applies: (n) => !!n.attr('axes') };
const axesInput18: Change = { since: 18, what: 'axes attribute → input', adapt: axesToInput, applies: (n) => !!n.attr('axes') };
const negativeAxes: Change = { since: 11, what: 'negative axes accepted' };

export const CHANGES: Readonly<Record<string, readonly Change[]>> = {
  Softmax: [negativeAxes, softmax], LogSoftmax: [negativeAxes, softmax], Hardmax: [negativeAxes, softmax],
  Slice: [{ since: 10, what: 'starts/ends/axes attributes → inputs, steps input', adapt: slice10 }, { since: 11, what: 'negative axes' }],
  TopK: [{ since: 10, what: 'k attribute → input', adapt: topk10 }, { since: 11, what: 'largest/sorted attributes (defaults keep 10)' }],
  Clip: [{ since: 11, what: 'min/max attributes → inputs', adapt: clip11 }, { since: 12, what: 'integer types' }],
  Pad: [{ since: 11, what: 'pads/value attributes → inputs', adapt: pad11 }, { since: 18, what: 'axes input (optional)' }, { since: 19, what: 'wrap mode' }],
  Dropout: [
    { since: 10, what: 'mask output becomes bool', adapt: dropout10 },
    { since: 12, what: 'ratio attribute → input, training_mode input', adapt: dropout12, check: checkDropout12 },
  ],
  Split: [{ since: 11, what: 'negative axis' }, { since: 13, what: 'split attribute → input', adapt: split13, applies: (n) => !!n.attr('split') }, { since: 18, what: 'num_outputs required without split', adapt: split18, applies: (n) => !n.inputs[1] && !n.attr('num_outputs') }],
  Squeeze: [negativeAxes, axesInput13], Unsqueeze: [negativeAxes, axesInput13],
  ReduceSum: [negativeAxes, axesInput13],
  ...Object.fromEntries(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']
    .map((op) => [op, [negativeAxes, axesInput18]])),
  Upsample: [
    { since: 9, what: 'scales attribute → input', adapt: upsample9, check: checkResize11 },
    { since: 10, what: 'deprecated: the same op is Resize-10', adapt: upsampleToResize10, becomes: 'Resize' },
  ],
  Resize: [
    { since: 11, what: 'roi input; coordinate_transformation_mode (default half_pixel ≠ 10\'s asymmetric) and nearest_mode', adapt: resize11, check: checkResize11 },
    { since: 13, what: 'tf_half_pixel_for_nn removed; roi/scales optional', adapt: resize13, check: checkResize13, applies: (n) => n.attrString('coordinate_transformation_mode') === 'tf_half_pixel_for_nn' },
    { since: 18, what: 'antialias, axes, keep_aspect_ratio_policy (defaults keep 13)' }, { since: 19, what: 'half_pixel_symmetric' },
  ],
  BatchNormalization: [
    { since: 9, what: 'spatial attribute removed', adapt: batchNorm9, check: checkBatchNorm },
    { since: 14, what: 'training outputs → running_mean/var with training_mode', adapt: batchNorm14, check: checkBatchNorm, applies: (n) => n.outputs.length > 1 },
    { since: 15, what: 'scale/bias and mean/var may have different types' },
  ],
  GroupNormalization: [{ since: 21, what: 'scale/bias per group → per channel', adapt: groupNorm21 }],
  Scatter: [{ since: 11, what: 'deprecated: the same op is ScatterElements-11', adapt: scatter11, becomes: 'ScatterElements' }],
  ScatterElements: [{ since: 13, what: 'bfloat16' }, { since: 16, what: 'reduction attribute (default none)' }, { since: 18, what: 'max/min reductions' }],
  ScatterND: [{ since: 16, what: 'reduction attribute (default none)' }, { since: 18, what: 'max/min reductions' }],
  Gather: [{ since: 11, what: 'negative indices' }], GatherND: [{ since: 12, what: 'batch_dims (default 0)' }],
  Scan: [{ since: 9, what: 'batch axis removed, per-input scan axes', adapt: scan9, check: checkScan9 }, { since: 11, what: 'negative axes' }, { since: 16, what: 'optional types' }],
  Loop: [{ since: 11, what: 'loop-carried shapes may change' }, { since: 13, what: 'sequence types' }, { since: 16, what: 'optional types' }],
  If: [{ since: 11, what: 'branch output shapes may differ' }, { since: 13, what: 'sequence types' }, { since: 16, what: 'optional types' }],
  RoiAlign: [{ since: 16, what: 'coordinate_transformation_mode (default half_pixel ≠ 10\'s output_half_pixel)', adapt: roiAlign16, applies: (n) => !n.attr('coordinate_transformation_mode') }],
  GridSample: [{ since: 20, what: 'mode values renamed (bilinear → linear, bicubic → cubic), N-D', adapt: gridSample20 }],
  DFT: [{ since: 20, what: 'axis attribute → input', adapt: dft20 }],
  Cast: [{ since: 9, what: 'string' }, { since: 13, what: 'bfloat16' }, { since: 19, what: 'float8 and saturate (default keeps other types)' }, { since: 21, what: '4-bit types' }],
  MaxPool: [{ since: 8, what: 'Indices output, storage_order' }, { since: 10, what: 'ceil_mode, dilations (defaults keep 8)' }, { since: 11, what: 'auto_pad clarified' }, { since: 12, what: '8-bit types' }],
  AveragePool: [{ since: 10, what: 'ceil_mode' }, { since: 11, what: 'auto_pad clarified' }, { since: 19, what: 'dilations' }],
  Max: [{ since: 8, what: 'multidirectional broadcasting' }], Min: [{ since: 8, what: 'multidirectional broadcasting' }],
  Sum: [{ since: 8, what: 'multidirectional broadcasting' }], Mean: [{ since: 8, what: 'multidirectional broadcasting' }],
  ArgMax: [negativeAxes, { since: 12, what: 'select_last_index (default 0)' }], ArgMin: [negativeAxes, { since: 12, what: 'select_last_index (default 0)' }],
  DepthToSpace: [{ since: 11, what: 'mode (default DCR, the old order)' }],
  Reshape: [{ since: 14, what: 'allowzero (default 0)' }], Shape: [{ since: 15, what: 'start/end (default whole shape)' }],
  LSTM: [{ since: 14, what: 'layout (default 0)' }], GRU: [{ since: 14, what: 'layout (default 0)' }], RNN: [{ since: 14, what: 'layout (default 0)' }],
  QuantizeLinear: [{ since: 13, what: 'axis (per-tensor unchanged)' }, { since: 19, what: 'float8, saturate' }, { since: 21, what: 'blocked, int4/int16' }],
  DequantizeLinear: [{ since: 13, what: 'axis (per-tensor unchanged)' }, { since: 19, what: 'float8' }, { since: 21, what: 'blocked, int4/int16' }],
  Gemm: [{ since: 11, what: 'C optional' }], Flatten: [{ since: 11, what: 'negative axis' }], Concat: [{ since: 11, what: 'negative axis' }],
  ConstantOfShape: [{ since: 20, what: 'more types' }], OneHot: [{ since: 11, what: 'negative axis/indices' }],
  Compress: [{ since: 11, what: 'negative axis' }], ConvTranspose: [{ since: 11, what: 'output_shape/pads clarified' }],
  // Experimental ops removed at 10 (./adapters/experimental.ts).
  ImageScaler: [{ since: 10, what: 'experimental op removed: Mul/Add', adapt: imageScaler10 }],
  Affine: [{ since: 10, what: 'experimental op removed: Mul/Add', adapt: affine10 }],
  Scale: [{ since: 10, what: 'experimental op removed: Mul', adapt: scale10 }],
  ScaledTanh: [{ since: 10, what: 'experimental op removed: Mul/Tanh/Mul', adapt: scaledTanh10 }],
  ParametricSoftplus: [{ since: 10, what: 'experimental op removed: Mul/Softplus/Mul', adapt: parametricSoftplus10 }],
  Crop: [{ since: 10, what: 'experimental op removed: Slice', adapt: crop10, becomes: 'Slice' }],
  DynamicSlice: [{ since: 10, what: 'experimental op removed: Slice-10 takes the same inputs', adapt: dynamicSlice10, becomes: 'Slice' }],
  ...Object.fromEntries(['ATen', 'ConstantFill', 'GivenTensorFill', 'GRUUnit'].map((op) => [op, [{ since: 10, what: 'experimental op removed', adapt: refuseRemoved, check: noEquivalent }]])),
  LpPool: [{ since: 11, what: 'auto_pad clarified' }, { since: 18, what: 'ceil_mode' }],
};

/** The changes with an adapter that apply to `op` between `from` (exclusive) and `to` (inclusive). */
export function adaptersFor(op: string, from: number, to: number): Change[] {
  return (CHANGES[op] ?? []).filter((c) => c.adapt && c.since > from && c.since <= to);
}
