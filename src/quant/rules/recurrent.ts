// LSTM, GRU, RNN. No static rule (they stay float in static mode). Dynamic mode: an LSTM with
// layout=0 and constant W and R becomes com.microsoft DynamicQuantizeLSTM, int8 W and R per output
// channel stored transposed: [dirs, input, 4·hidden] and [dirs, hidden, 4·hidden]. GRU/RNN stay
// float: onnxruntime has no dynamic-quantized kernel for them.
import { Node, Tensor, intTensor, makeAttr, type Graph } from '../../ir/index.js';
import { reason } from '../reasons.js';
import { MS } from './domains.js';
import type { FormUnit, FormWeightValues, OpRule, Reason } from './types.js';

function lstmUnit(node: Node, g: Graph): FormUnit | { float: Reason } {
  if (node.attrInt('layout', 0) !== 0) return { float: reason('unsupported-layout', 'LSTM with layout=1 (batch first): DynamicQuantizeLSTM has no layout attribute') };
  const wt = g.constantOf(node.inputs[1] ?? '');
  const rt = g.constantOf(node.inputs[2] ?? '');
  if (!wt || !rt) return { float: reason('weight-not-constant', 'LSTM W or R is not a constant') };
  if (wt.dims.length !== 3 || rt.dims.length !== 3) return { float: reason('weight-shape', 'LSTM W or R is not 3-D') };
  const [dirs, h4, input] = wt.dims as [number, number, number];
  const hidden = h4 / 4;
  const direction = node.attrString('direction') ?? 'forward';
  const wantDirs = direction === 'bidirectional' ? 2 : 1;
  const attrHidden = node.attrInt('hidden_size', hidden);
  if (!Number.isInteger(hidden) || hidden < 1 || dirs !== wantDirs || attrHidden !== hidden
    || rt.dims[0] !== dirs || rt.dims[1] !== h4 || rt.dims[2] !== hidden) {
    return { float: reason('weight-shape', `LSTM W ${JSON.stringify(wt.dims)} / R ${JSON.stringify(rt.dims)} do not match direction=${direction}, hidden_size=${attrHidden}`) };
  }
  // ONNX layout: W [dirs, 4·hidden, input], R [dirs, 4·hidden, hidden]; per output channel = per row.
  return {
    weights: [
      { input: 1, data: wt.toFloat32(), dims: [dirs * h4, input], axis: 0, perChannelOnly: true },
      { input: 2, data: rt.toFloat32(), dims: [dirs * h4, hidden], axis: 0, perChannelOnly: true },
    ],
  };
}

/** int8 [dirs·4·hidden, cols] → DynamicQuantizeLSTM's [dirs, cols, 4·hidden]; scales and zero points [dirs, 4·hidden]. */
function storeLstmWeight(g: Graph, name: string, w: FormWeightValues, dirs: number, cols: number) {
  const h4 = w.scales.length / dirs;
  const t = new Int32Array(w.q.length);
  for (let d = 0; d < dirs; d++) {
    const at = d * h4 * cols;
    for (let o = 0; o < h4; o++) for (let k = 0; k < cols; k++) t[at + k * h4 + o] = w.q[at + o * cols + k]!;
  }
  return {
    q: g.addInitializer(intTensor(g.uniqueName(`${name}_quantized`), 'int8', [dirs, cols, h4], t)).name,
    scale: g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${name}_scale`), [dirs, h4], Float32Array.from(w.scales))).name,
    zeroPoint: g.addInitializer(intTensor(g.uniqueName(`${name}_zero_point`), 'int8', [dirs, h4], w.zeroPoints)).name,
  };
}

export const lstm: OpRule = {
  ops: ['LSTM'],
  dynamic: {
    order: 0,
    unit: lstmUnit,
    quantized: (config) => reason('dynamic-lstm', `${config.mode}: DynamicQuantizeLSTM, int8 W and R per output channel`),
    dtypes: ['int8'],
    rewrite({ graph: g, node, unit, weights }) {
      const base = node.name;
      const dirs = g.constantOf(node.inputs[1]!)!.dims[0]!;
      const w = storeLstmWeight(g, `${base}_W`, weights[0]!, dirs, unit.weights[0]!.dims[1]!);
      const r = storeLstmWeight(g, `${base}_R`, weights[1]!, dirs, unit.weights[1]!.dims[1]!);
      // X, W, R, B, sequence_lens, initial_h, initial_c, P, W_scale, W_zero_point, R_scale, R_zero_point
      const optional = [3, 4, 5, 6, 7].map((i) => node.inputs[i] ?? '');
      const inputs = [node.inputs[0]!, w.q, r.q, ...optional, w.scale, w.zeroPoint, r.scale, r.zeroPoint];
      const attributes = node.attributes.filter((a) => a.name !== 'layout');
      if (!node.attr('hidden_size')) attributes.push(makeAttr.int('hidden_size', unit.weights[1]!.dims[1]!));
      const outputs = [...node.outputs];
      g.removeNode(node);
      g.addNode(new Node({ name: g.uniqueName(`${base}_DynamicQuantizeLSTM`), opType: 'DynamicQuantizeLSTM', domain: MS, inputs, outputs, attributes }));
    },
  },
};

export const otherRecurrent: OpRule = {
  ops: ['GRU', 'RNN'],
  dynamic: { float: (config, n) => reason('no-dynamic-kernel', `${config.mode} mode: onnxruntime has no dynamic-quantized ${n.opType} kernel (only LSTM → DynamicQuantizeLSTM)`) },
};
