// Attributes that became inputs: Slice 10, TopK 10, Clip 11, Pad 11, Dropout 12, Split 13,
// Squeeze/Unsqueeze 13, ReduceSum 13, the other Reduce ops 18, DFT 20 (axis).
import { DataType, makeAttr, type Node } from '../../../ir/index.js';
import { type AdaptContext, Refusal, rawInts, trimInputs, withInput, without } from '../context.js';

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

function floatTypeOf(c: AdaptContext, value: string, op: string): number {
  const t = c.elemType(value) ?? DataType.FLOAT;
  if (!FLOAT_TYPES.has(t)) throw new Refusal(`${op} on element type ${t}: no constant input of that type can be made`);
  return t;
}

/** Slice-1 → 10: starts, ends, axes attributes → inputs (steps default to 1). */
export function slice10(c: AdaptContext, n: Node): Node {
  const base = c.base(n);
  const starts = rawInts(n, 'starts') ?? [];
  const ends = rawInts(n, 'ends') ?? [];
  const axes = rawInts(n, 'axes');
  const inputs = [n.inputs[0]!, c.int64(`${base}_starts`, starts), c.int64(`${base}_ends`, ends)];
  if (axes) inputs.push(c.int64(`${base}_axes`, axes));
  return c.rebuild(n, { inputs, attributes: without(n.attributes, 'starts', 'ends', 'axes') });
}

/** TopK-1 → 10: attribute k → input K (int64 [1]). */
export function topk10(c: AdaptContext, n: Node): Node {
  const k = n.attr('k');
  if (!k || k.type !== 2) throw new Refusal('TopK without its k attribute');
  return c.rebuild(n, { inputs: [n.inputs[0]!, c.int64(`${c.base(n)}_k`, [k.value])], attributes: without(n.attributes, 'k') });
}

/** Clip-6 → 11: min/max attributes → optional scalar inputs of the input's type. */
export function clip11(c: AdaptContext, n: Node): Node {
  const lo = n.attr('min');
  const hi = n.attr('max');
  const t = floatTypeOf(c, n.inputs[0]!, 'Clip');
  const base = c.base(n);
  const inputs = [n.inputs[0]!, lo && lo.type === 1 ? c.float(`${base}_min`, [lo.value], t, []) : '', hi && hi.type === 1 ? c.float(`${base}_max`, [hi.value], t, []) : ''];
  return c.rebuild(n, { inputs: trimInputs(inputs), attributes: without(n.attributes, 'min', 'max') });
}

/** Pad-2 → 11: pads and value attributes → inputs (mode stays an attribute). */
export function pad11(c: AdaptContext, n: Node): Node {
  const pads = rawInts(n, 'pads');
  if (!pads) throw new Refusal('Pad without its pads attribute');
  const base = c.base(n);
  const inputs = [n.inputs[0]!, c.int64(`${base}_pads`, pads)];
  const value = n.attr('value');
  if (value && value.type === 1 && value.value !== 0) inputs.push(c.float(`${base}_value`, [value.value], floatTypeOf(c, n.inputs[0]!, 'Pad'), []));
  return c.rebuild(n, { inputs, attributes: without(n.attributes, 'pads', 'value') });
}

/** Dropout-7 → 10: the mask output becomes bool; a mask that is read is cast back to the old type. */
export function dropout10(c: AdaptContext, n: Node): Node {
  const mask = n.outputs[1];
  if (!mask || (c.g.consumersOf(mask).length === 0 && !c.g.isGraphOutput(mask))) {
    return c.rebuild(n, { outputs: [n.outputs[0]!] });
  }
  const t = c.elemType(n.inputs[0]!) ?? DataType.FLOAT;
  const bool = c.name(`${c.base(n)}_mask_bool`);
  const cast = c.node('Cast', [bool], [mask], [makeAttr.int('to', t)], `${c.base(n)}_mask_Cast`);
  return c.rebuild(n, { outputs: [n.outputs[0]!, bool] }, { after: [cast] });
}

/** Before 12 the spec leaves an inference Dropout's mask undefined (onnxruntime fills it with
 * false); 12 defines it as all true. A mask that is read cannot keep its value. */
export function checkDropout12(c: AdaptContext, n: Node): string | undefined {
  const mask = n.outputs[1];
  return mask && (c.g.consumersOf(mask).length > 0 || c.g.isGraphOutput(mask))
    ? 'Dropout whose mask output is read: its inference value is undefined before opset 12 (onnxruntime gives false), all true from 12'
    : undefined;
}

/** Dropout-10 → 12: ratio attribute → input. */
export function dropout12(c: AdaptContext, n: Node): Node {
  const why = checkDropout12(c, n);
  if (why) throw new Refusal(why);
  const ratio = n.attr('ratio');
  if (!ratio || ratio.type !== 1) return c.rebuild(n, { attributes: without(n.attributes, 'ratio') });
  const r = c.float(`${c.base(n)}_ratio`, [ratio.value], DataType.FLOAT, []);
  return c.rebuild(n, { inputs: withInput(n.inputs, 1, r), attributes: without(n.attributes, 'ratio') });
}

/** Split-2 → 13: split attribute → input. */
export function split13(c: AdaptContext, n: Node): Node {
  const split = rawInts(n, 'split');
  if (!split) return n;
  return c.rebuild(n, { inputs: [n.inputs[0]!, c.int64(`${c.base(n)}_split`, split)], attributes: without(n.attributes, 'split') });
}

/** Split-13 → 18: with no split input, the number of outputs must be stated (num_outputs). */
export function split18(c: AdaptContext, n: Node): Node {
  if (n.inputs[1] || n.attr('num_outputs')) return n;
  return c.rebuild(n, { attributes: [...n.attributes, makeAttr.int('num_outputs', n.outputs.length)] });
}

/** Squeeze/Unsqueeze/ReduceX: axes attribute → input 1 (absent stays absent). */
export function axesToInput(c: AdaptContext, n: Node): Node {
  const axes = rawInts(n, 'axes');
  if (!axes) {
    if (n.opType === 'Unsqueeze') throw new Refusal('Unsqueeze without its axes attribute');
    return c.rebuild(n, { attributes: without(n.attributes, 'axes') });
  }
  return c.rebuild(n, { inputs: [n.inputs[0]!, c.int64(`${c.base(n)}_axes`, axes)], attributes: without(n.attributes, 'axes') });
}

/** DFT-17 → 20: axis attribute (default 1) → input 2. */
export function dft20(c: AdaptContext, n: Node): Node {
  const axis = n.attrInt('axis', 1);
  return c.rebuild(n, { inputs: withInput(n.inputs, 2, c.int64(`${c.base(n)}_axis`, [axis], [])), attributes: without(n.attributes, 'axis') });
}
