// The experimental ops of opsets 1–9 that ONNX removed at 10 (onnxruntime runs them only below 10),
// written out in standard ops where they have an equivalent:
//   ImageScaler  y = scale·x + bias[c]             → Mul, Add (bias as [1, C, 1, 1])
//   Affine       y = alpha·x + beta                → Mul, Add
//   Scale        y = scale·x                       → Mul
//   ScaledTanh   y = alpha·tanh(beta·x)            → Mul, Tanh, Mul
//   ParametricSoftplus y = alpha·ln(1 + e^(beta·x)) → Mul, Softplus, Mul
//   Crop         border [left, top, right, bottom] or scale [h, w] → Slice on the last two axes
//   DynamicSlice the inputs of Slice-10            → Slice
// The rest (ATen, ConstantFill, GivenTensorFill, GRUUnit) have none and are refused.
import { DataType, type Node } from '../../../ir/index.js';
import { type AdaptContext, Refusal, rawInts } from '../context.js';

const INT64_MAX = 9223372036854775807n;

function floatType(c: AdaptContext, n: Node): number {
  const t = c.elemType(n.inputs[0]!) ?? DataType.FLOAT;
  if (t !== DataType.FLOAT && t !== DataType.DOUBLE && t !== DataType.FLOAT16) throw new Refusal(`${n.opType} on element type ${t}`);
  return t;
}

/** x·a (+ b): the chain of elementwise nodes ending in the node's own output. */
function chain(c: AdaptContext, n: Node, steps: { op: string; with?: string }[]): undefined {
  const base = c.base(n);
  const nodes: Node[] = [];
  let v = n.inputs[0]!;
  steps.forEach((s, i) => {
    const last = i === steps.length - 1;
    const node = c.node(s.op, s.with ? [v, s.with] : [v], last ? [n.outputs[0]!] : 1, [], `${base}_${s.op}`);
    nodes.push(node);
    v = node.outputs[0]!;
  });
  c.replace(n, nodes);
  return undefined;
}

export function imageScaler10(c: AdaptContext, n: Node): undefined {
  const t = floatType(c, n);
  const bias = n.attr('bias');
  const b = bias && bias.type === 6 ? bias.value : [];
  const base = c.base(n);
  const steps = [{ op: 'Mul', with: c.float(`${base}_scale`, [n.attrFloat('scale', 1)], t, []) }];
  if (b.length) steps.push({ op: 'Add', with: c.float(`${base}_bias`, b, t, [1, b.length, 1, 1]) });
  return chain(c, n, steps);
}

export function affine10(c: AdaptContext, n: Node): undefined {
  const t = floatType(c, n);
  const base = c.base(n);
  return chain(c, n, [
    { op: 'Mul', with: c.float(`${base}_alpha`, [n.attrFloat('alpha', 1)], t, []) },
    { op: 'Add', with: c.float(`${base}_beta`, [n.attrFloat('beta', 0)], t, []) },
  ]);
}

export function scale10(c: AdaptContext, n: Node): undefined {
  return chain(c, n, [{ op: 'Mul', with: c.float(`${c.base(n)}_scale`, [n.attrFloat('scale', 1)], floatType(c, n), []) }]);
}

export function scaledTanh10(c: AdaptContext, n: Node): undefined {
  const t = floatType(c, n);
  const base = c.base(n);
  return chain(c, n, [
    { op: 'Mul', with: c.float(`${base}_beta`, [n.attrFloat('beta', 1)], t, []) }, { op: 'Tanh' },
    { op: 'Mul', with: c.float(`${base}_alpha`, [n.attrFloat('alpha', 1)], t, []) },
  ]);
}

export function parametricSoftplus10(c: AdaptContext, n: Node): undefined {
  const t = floatType(c, n);
  const base = c.base(n);
  return chain(c, n, [
    { op: 'Mul', with: c.float(`${base}_beta`, [n.attrFloat('beta', 1)], t, []) }, { op: 'Softplus' },
    { op: 'Mul', with: c.float(`${base}_alpha`, [n.attrFloat('alpha', 1)], t, []) },
  ]);
}

export function crop10(c: AdaptContext, n: Node): Node {
  const border = rawInts(n, 'border');
  if (!border || border.length !== 4) throw new Refusal('Crop without a 4-element border attribute');
  const [left, top, right, bottom] = border.map(Number) as [number, number, number, number];
  const scale = rawInts(n, 'scale')?.map(Number);
  const base = c.base(n);
  const ends: (number | bigint)[] = scale && scale.length === 2
    ? [top + scale[0]!, left + scale[1]!]
    : [bottom > 0 ? -bottom : INT64_MAX, right > 0 ? -right : INT64_MAX];
  const node = c.node('Slice', [n.inputs[0]!, c.int64(`${base}_starts`, [top, left]), c.int64(`${base}_ends`, ends), c.int64(`${base}_axes`, [2, 3])], [n.outputs[0]!], [], `${base}_Slice`);
  c.replace(n, [node]);
  return node;
}

export function dynamicSlice10(c: AdaptContext, n: Node): Node {
  return c.rebuild(n, { opType: 'Slice', attributes: [] });
}

export function noEquivalent(_c: AdaptContext, n: Node): string {
  return `${n.opType} is an experimental op that ONNX removed at opset 10, with no standard equivalent`;
}
export function refuseRemoved(c: AdaptContext, n: Node): never {
  throw new Refusal(noEquivalent(c, n));
}
