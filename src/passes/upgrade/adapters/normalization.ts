// BatchNormalization and GroupNormalization.
//   BatchNormalization-7 → 9: `spatial` is gone. spatial=1 (the default) is what 9 computes;
//     spatial=0 (statistics per activation, shape C×D1…) is written out as the inference formula.
//   BatchNormalization-9 → 14: the optional training outputs (mean, var, saved_mean, saved_var)
//     become running_mean/running_var of training_mode; unused ones are dropped, used ones refused.
//   GroupNormalization-18 → 21: scale and bias go from one value per group to one per channel.
import { DataType, makeAttr, type Node } from '../../../ir/index.js';
import { type AdaptContext, Refusal, without } from '../context.js';

function used(c: AdaptContext, v: string | undefined): boolean {
  return !!v && (c.g.consumersOf(v).length > 0 || c.g.isGraphOutput(v));
}

export function checkBatchNorm(c: AdaptContext, n: Node): string | undefined {
  return n.outputs.slice(1).some((o) => used(c, o)) ? 'BatchNormalization whose training-mode outputs (mean, var, saved_mean, saved_var) are used' : undefined;
}

export function batchNorm9(c: AdaptContext, n: Node): Node | undefined {
  if (n.attrInt('spatial', 1) !== 0) return c.rebuild(n, { attributes: without(n.attributes, 'spatial') });
  const why = checkBatchNorm(c, n);
  if (why) throw new Refusal(why);
  const [x, scale, b, mean, v] = n.inputs as [string, string, string, string, string];
  const base = c.base(n);
  const eps = c.float(`${base}_epsilon`, [n.attrFloat('epsilon', 1e-5)], c.elemType(x) ?? DataType.FLOAT, []);
  const sub = c.node('Sub', [x, mean], 1, [], `${base}_Sub`);
  const add = c.node('Add', [v, eps], 1, [], `${base}_AddEps`);
  const sqrt = c.node('Sqrt', [add.outputs[0]!], 1, [], `${base}_Sqrt`);
  const div = c.node('Div', [sub.outputs[0]!, sqrt.outputs[0]!], 1, [], `${base}_Div`);
  const mul = c.node('Mul', [div.outputs[0]!, scale], 1, [], `${base}_Mul`);
  const out = c.node('Add', [mul.outputs[0]!, b], [n.outputs[0]!], [], `${base}_AddBias`);
  c.replace(n, [sub, add, sqrt, div, mul, out]);
  return undefined;
}

export function batchNorm14(c: AdaptContext, n: Node): Node {
  const why = checkBatchNorm(c, n);
  if (why) throw new Refusal(why);
  return n.outputs.length > 1 ? c.rebuild(n, { outputs: [n.outputs[0]!] }) : n;
}

export function groupNorm21(c: AdaptContext, n: Node): Node {
  const groups = n.attrInt('num_groups', 0);
  if (groups <= 0) throw new Refusal('GroupNormalization without num_groups');
  const base = c.base(n);
  const [x, scale, bias] = n.inputs as [string, string, string];
  const before: Node[] = [];
  // Per channel: each group's value repeated C/G times, C read from the input at run time.
  const cdim = c.node('Shape', [x], 1, [makeAttr.int('start', 1), makeAttr.int('end', 2)], `${base}_C`);
  const perGroup = c.node('Div', [cdim.outputs[0]!, c.int64(`${base}_G`, [groups])], 1, [], `${base}_CperG`);
  const shape = c.node('Concat', [c.int64(`${base}_Gdim`, [groups]), perGroup.outputs[0]!], 1, [makeAttr.int('axis', 0)], `${base}_GxCperG`);
  before.push(cdim, perGroup, shape);
  const expand = (v: string, what: string) => {
    const col = c.node('Unsqueeze', [v, c.int64(`${base}_${what}_axes`, [1])], 1, [], `${base}_${what}_Unsqueeze`);
    const ex = c.node('Expand', [col.outputs[0]!, shape.outputs[0]!], 1, [], `${base}_${what}_Expand`);
    const flat = c.node('Reshape', [ex.outputs[0]!, c.int64(`${base}_${what}_flat`, [-1])], 1, [], `${base}_${what}_Reshape`);
    before.push(col, ex, flat);
    return flat.outputs[0]!;
  };
  return c.rebuild(n, { inputs: [x, expand(scale, 'scale'), expand(bias, 'bias')] }, { before });
}
