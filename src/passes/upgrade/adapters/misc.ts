// The remaining changes of meaning between opsets 7 and 21:
//   Scatter-9 → 11: deprecated; ScatterElements-11 is the same op (inputs, axis).
//   RoiAlign-10 → 16: coordinate_transformation_mode appears with default half_pixel; 10's grid
//     is output_half_pixel, stated explicitly.
//   GridSample-16 → 20: mode values renamed (bilinear → linear, bicubic → cubic).
//   Scan-8 → 9: the batch axis is gone (8's inputs are [batch, sequence, …], with an optional
//     sequence_lens first input). Converted when the batch is statically 1 and every sequence is
//     full: squeeze the batch axis, Scan-9, unsqueeze it back.
import { makeAttr, type Node } from '../../../ir/index.js';
import { type AdaptContext, Refusal, without } from '../context.js';

export function scatter11(c: AdaptContext, n: Node): Node {
  return c.rebuild(n, { opType: 'ScatterElements' });
}

export function roiAlign16(c: AdaptContext, n: Node): Node {
  if (n.attr('coordinate_transformation_mode')) return n;
  return c.rebuild(n, { attributes: [...n.attributes, makeAttr.string('coordinate_transformation_mode', 'output_half_pixel')] });
}

export function gridSample20(c: AdaptContext, n: Node): Node {
  const mode = n.attrString('mode') ?? 'bilinear';
  const renamed = mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode;
  return c.rebuild(n, { attributes: [...without(n.attributes, 'mode'), makeAttr.string('mode', renamed)] });
}

export function checkScan9(c: AdaptContext, n: Node): string | undefined {
  if (n.inputs[0]) return 'Scan-8 with sequence_lens (sequences of different lengths in one batch)';
  for (const v of n.inputs.slice(1)) {
    const shape = [...c.g.inputs, ...c.g.valueInfo.values()].find((i) => i.name === v)?.shape ?? c.constant(v)?.dims;
    if (!shape || shape[0] !== 1) return `Scan-8 whose batch size is not statically 1 (input '${v}')`;
  }
  return undefined;
}

export function scan9(c: AdaptContext, n: Node): Node {
  const why = checkScan9(c, n);
  if (why) throw new Refusal(why);
  const base = c.base(n);
  const axes = () => c.int64(`${base}_batch_axis`, [0]);
  const squeeze = (v: string) => (c.target >= 13 ? c.node('Squeeze', [v, axes()], 1, [], `${base}_Squeeze`) : c.node('Squeeze', [v], 1, [makeAttr.ints('axes', [0])], `${base}_Squeeze`));
  const before = n.inputs.slice(1).map(squeeze);
  const after: Node[] = [];
  const outs = n.outputs.map((o) => {
    if (!o) return o;
    const tmp = c.name(`${o}_unbatched`);
    after.push(c.target >= 13 ? c.node('Unsqueeze', [tmp, axes()], [o], [], `${base}_Unsqueeze`) : c.node('Unsqueeze', [tmp], [o], [makeAttr.ints('axes', [0])], `${base}_Unsqueeze`));
    return tmp;
  });
  const dirs = n.attr('directions');
  const attrs = without(n.attributes, 'directions');
  if (dirs && dirs.type === 7) attrs.push(makeAttr.ints('scan_input_directions', dirs.value));
  return c.rebuild(n, { inputs: before.map((b) => b.outputs[0]!), outputs: outs, attributes: attrs }, { before, after });
}
