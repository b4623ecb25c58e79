// Softmax, LogSoftmax, Hardmax 12 → 13. Up to 12 the input is coerced to 2-D at `axis` (default 1)
// and the op runs over everything from `axis` on; from 13 it runs over the one axis (default -1).
// The last axis is the same in both: only the attribute is made explicit. Any other axis is
// Flatten(axis) → op(axis=-1) → Reshape(back to the input's shape), which is the 12 definition.
import { makeAttr, type Node } from '../../../ir/index.js';
import { type AdaptContext, without } from '../context.js';

export function softmax13(c: AdaptContext, n: Node): Node {
  const axis = n.attrInt('axis', 1);
  const x = n.inputs[0]!;
  const rank = c.rank(x) ?? c.rank(n.outputs[0]!);
  if (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1) {
    return c.rebuild(n, { attributes: [...without(n.attributes, 'axis'), makeAttr.int('axis', -1)] });
  }
  const base = c.base(n);
  const flat = c.node('Flatten', [x], [c.name(`${base}_2d`)], [makeAttr.int('axis', axis)], `${base}_Flatten`);
  const shape = c.node('Shape', [x], [c.name(`${base}_shape`)], [], `${base}_Shape`);
  const y = c.name(`${base}_out2d`);
  const reshape = c.node('Reshape', [y, shape.outputs[0]!], [n.outputs[0]!], [], `${base}_Reshape`);
  return c.rebuild(n, { inputs: [flat.outputs[0]!], outputs: [y], attributes: [...without(n.attributes, 'axis'), makeAttr.int('axis', -1)] },
    { before: [flat, shape], after: [reshape] });
}
