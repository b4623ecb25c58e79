// Upsample and Resize. Upsample-7 → 9: scales attribute → input. Upsample-9 → 10: deprecated, the
// same op is Resize-10. Resize-10 → 11: a roi input appears before scales, and the sampling grid
// becomes an attribute whose default (half_pixel) differs from 10's grid (asymmetric), so the old
// grid is stated. Resize-11 → 13: tf_half_pixel_for_nn is gone; with nearest sampling it equals
// half_pixel shifted by half a pixel, which maps floor → round_prefer_ceil and round_prefer_floor
// → ceil.
import { DataType, makeAttr, type Node } from '../../../ir/index.js';
import { type AdaptContext, Refusal, without } from '../context.js';

export function upsample9(c: AdaptContext, n: Node): Node {
  const scales = n.attr('scales');
  if (!scales || scales.type !== 6) throw new Refusal('Upsample without its scales attribute');
  const s = c.float(`${c.base(n)}_scales`, scales.value, DataType.FLOAT);
  return c.rebuild(n, { inputs: [n.inputs[0]!, s], attributes: without(n.attributes, 'scales') });
}

/** Resize nodes that were Upsample: its scales are ≥ 1 by definition, so nearest means floor. */
const FROM_UPSAMPLE = new WeakSet<Node>();

export function upsampleToResize10(c: AdaptContext, n: Node): Node {
  const r = c.rebuild(n, { opType: 'Resize' });
  FROM_UPSAMPLE.add(r);
  return r;
}

/** The nearest-pixel rule of Resize-10 as onnxruntime applies it: floor when upsampling, ceil when
 * downsampling; both agree at scale 1. Upsample's scales are ≥ 1 by definition (7 and 9). */
function nearestMode10(c: AdaptContext, n: Node): string {
  if (n.opType === 'Upsample' || FROM_UPSAMPLE.has(n)) return 'floor';
  const scales = c.constant(n.inputs[1] ?? '');
  if (!scales) throw new Refusal('Resize-10 nearest with scales computed at run time: the rounding of opset 10 depends on the scale');
  const v = scales.toFloat64();
  if (v.every((s) => s >= 1)) return 'floor';
  if (v.every((s) => s <= 1)) return 'ceil';
  throw new Refusal(`Resize-10 nearest that upsamples some axes and downsamples others (scales ${[...v].join(', ')}): opset 11 has no one rounding mode for both`);
}

export function checkResize11(c: AdaptContext, n: Node): string | undefined {
  if ((n.attrString('mode') ?? 'nearest') !== 'nearest' || n.opType === 'Upsample') return undefined;
  try {
    nearestMode10(c, n);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export function resize11(c: AdaptContext, n: Node): Node {
  const mode = n.attrString('mode') ?? 'nearest';
  const attrs = [...without(n.attributes, 'coordinate_transformation_mode', 'nearest_mode'), makeAttr.string('coordinate_transformation_mode', 'asymmetric')];
  if (mode === 'nearest') attrs.push(makeAttr.string('nearest_mode', nearestMode10(c, n)));
  const roi = c.float(`${c.base(n)}_roi`, [], DataType.FLOAT, [0]);
  return c.rebuild(n, { inputs: [n.inputs[0]!, roi, n.inputs[1]!], attributes: attrs });
}

export function checkResize13(_c: AdaptContext, n: Node): string | undefined {
  if (n.attrString('coordinate_transformation_mode') !== 'tf_half_pixel_for_nn') return undefined;
  const mode = n.attrString('mode') ?? 'nearest';
  const nearest = n.attrString('nearest_mode') ?? 'round_prefer_floor';
  if (mode !== 'nearest') return `Resize with tf_half_pixel_for_nn and mode ${mode}`;
  if (nearest !== 'floor' && nearest !== 'round_prefer_floor') return `Resize with tf_half_pixel_for_nn and nearest_mode ${nearest}`;
  return undefined;
}

export function resize13(c: AdaptContext, n: Node): Node {
  const why = checkResize13(c, n);
  if (why) throw new Refusal(why);
  if (n.attrString('coordinate_transformation_mode') !== 'tf_half_pixel_for_nn') return n;
  const nearest = (n.attrString('nearest_mode') ?? 'round_prefer_floor') === 'floor' ? 'round_prefer_ceil' : 'ceil';
  return c.rebuild(n, {
    attributes: [...without(n.attributes, 'coordinate_transformation_mode', 'nearest_mode'),
      makeAttr.string('coordinate_transformation_mode', 'half_pixel'), makeAttr.string('nearest_mode', nearest)],
  });
}
