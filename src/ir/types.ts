// Element-type inference for every value of a graph: value_info and graph I/O where the file says,
// otherwise a forward pass over op semantics. Only the float/non-float distinction matters to the
// quantizer, so unknown ops take the type of their first input.
import { DataType } from './dtype.js';
import type { Graph } from './graph.js';
import { AttrType, type Node } from './node.js';

const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

export function inferElemTypes(g: Graph, outer?: ReadonlyMap<string, number>): Map<string, number> {
  const types = new Map<string, number>(outer);
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo.values()]) if (v.elemType) types.set(v.name, v.elemType);
  for (const [name, t] of g.initializers) types.set(name, t.dtype);
  for (const n of g.nodes) {
    n.outputs.forEach((o, i) => {
      if (!o || types.has(o)) return;
      const t = outputType(n, i, types);
      if (t !== undefined) types.set(o, t);
    });
  }
  return types;
}

/**
 * Control flow: an output's type is that of the branch/body output it comes from (If: both branches
 * agree by the spec; Loop: body outputs after the condition; Scan: body outputs in order). Bodies
 * are inferred with the outer scope's types, since they may read outer values.
 */
function controlFlowType(n: Node, index: number, types: Map<string, number>): number | undefined {
  const a = n.attr(n.opType === 'If' ? 'then_branch' : 'body');
  const body = a?.type === AttrType.GRAPH ? a.value : undefined;
  if (!body) return undefined;
  const offset = n.opType === 'Loop' ? 1 : 0;
  const out = body.outputs[index + offset];
  if (!out) return undefined;
  if (out.elemType) return out.elemType;
  return inferElemTypes(body, types).get(out.name);
}

function outputType(n: Node, index: number, types: Map<string, number>): number | undefined {
  if (n.domain && n.domain !== 'ai.onnx') return types.get(n.inputs[0] ?? '');
  if (n.opType === 'If' || n.opType === 'Loop' || n.opType === 'Scan') return controlFlowType(n, index, types);
  if (INT64_OUT.has(n.opType)) return DataType.INT64;
  if (BOOL_OUT.has(n.opType)) return DataType.BOOL;
  switch (n.opType) {
    case 'Constant': {
      const a = n.attributes[0];
      if (!a) return undefined;
      if (a.type === AttrType.TENSOR) return a.value.dtype;
      return a.name.startsWith('value_float') ? DataType.FLOAT : a.name.startsWith('value_int') ? DataType.INT64 : undefined;
    }
    case 'Cast': return n.attrInt('to', 0) || undefined;
    case 'CastLike': return types.get(n.inputs[1] ?? '');
    case 'QuantizeLinear': return n.inputs[2] ? types.get(n.inputs[2]) : DataType.UINT8;
    case 'DequantizeLinear': return n.inputs[1] ? types.get(n.inputs[1]) : DataType.FLOAT;
    case 'Where': return types.get(n.inputs[1] ?? '');
    case 'MaxPool': case 'TopK': return index === 0 ? types.get(n.inputs[0] ?? '') : DataType.INT64;
    case 'ConstantOfShape': {
      const v = n.attr('value');
      return v && v.type === AttrType.TENSOR ? v.value.dtype : DataType.FLOAT;
    }
    case 'EyeLike': case 'RandomNormalLike': case 'RandomUniformLike':
      return n.attrInt('dtype', 0) || types.get(n.inputs[0] ?? '');
    case 'RandomNormal': case 'RandomUniform': return n.attrInt('dtype', DataType.FLOAT);
    default: return types.get(n.inputs.find((i) => i !== '') ?? '');
  }
}
