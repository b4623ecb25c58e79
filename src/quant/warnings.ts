// Warnings about a plan that the numbers alone do not show.
import { bodiesOf, type Graph } from '../ir/index.js';
import type { QuantPlan } from './plan.js';
import { note, type Note } from './reasons.js';
import { ruleOf } from './rules/index.js';

/**
 * A layer kept in float whose output reaches a MaxPool (directly or through its Relu/Clip): ORT
 * moves the following QuantizeLinear above the pool and then runs a uint8 NCHW MaxPool far slower
 * than either float pooling or the int8 conv it replaced (measured: ResNet-18 2.6× → 1.6×).
 */
export function floatLayerPoolNotes(g: Graph, plan: QuantPlan): Note[] {
  const notes: Note[] = [];
  for (const entry of plan.nodes.filter((n) => n.status === 'float' && n.code === 'edge-layer-float')) {
    const node = g.nodes.find((n) => n.name === entry.name);
    let value = node?.outputs[0];
    for (let hops = 0; value && hops < 2; hops++) {
      const next = g.consumersOf(value);
      if (next.some((c) => ruleOf(c)?.slowOnUint8)) {
        notes.push(note('float-layer-feeds-maxpool', `warning: ${entry.name} is kept in float and feeds a MaxPool; onnxruntime then runs that pool on uint8 in a slow generic kernel, so the model may be slower than with the layer in int8`, true));
        break;
      }
      value = next.length === 1 && ruleOf(next[0]!)?.activationMax ? next[0]!.outputs[0] : undefined;
    }
  }
  return notes;
}

/**
 * Ops that static mode keeps float but dynamic mode quantizes (LSTM → DynamicQuantizeLSTM): a
 * static run on a recurrent model shrinks little or grows, and should say which mode to use.
 */
export function dynamicOnlyNotes(g: Graph, plan: QuantPlan): Note[] {
  const byOp = new Map<string, number>();
  for (const entry of plan.nodes) {
    if (entry.status !== 'float' || entry.code !== 'no-rule') continue;
    const node = [g, ...bodiesOf(g)].flatMap((x) => x.nodes).find((n) => n.name === entry.name);
    const rule = node ? ruleOf(node) : undefined;
    if (rule?.dynamic && 'rewrite' in rule.dynamic) byOp.set(entry.opType, (byOp.get(entry.opType) ?? 0) + 1);
  }
  return [...byOp].map(([op, count]) => note('recurrent-needs-dynamic',
    `warning: ${count} ${op} node${count > 1 ? 's' : ''} stay${count > 1 ? '' : 's'} float in static mode (onnxruntime has no static integer ${op}); --mode dynamic quantizes ${count > 1 ? 'them' : 'it'}`, true));
}

/**
 * Layers that feed only a peak test got 16-bit activations (analyze.ts peakTestFeeders): say so,
 * with the cost (onnxruntime's CPU provider has no 16-bit Conv/MatMul kernel) and the way back.
 */
export function peakTestNotes(g: Graph, plan: QuantPlan): Note[] {
  const layers = plan.nodes.filter((entry) => {
    if (entry.code !== 'peak-test-int16' || !entry.weightInputs?.length) return false;
    const node = [g, ...bodiesOf(g)].flatMap((x) => x.nodes).find((n) => n.name === entry.name);
    return !!node?.inputs.some((i) => plan.activations[i]?.dtype === 'int16');
  });
  if (!layers.length) return [];
  return [note('peak-test-int16', `${layers.length} layer${layers.length > 1 ? 's feed' : ' feeds'} only a peak test (x == MaxPool(x), which keeps every tie): int8 weights with 16-bit activations, so close neighbours keep their order; onnxruntime's CPU provider runs 16-bit Q/DQ layers in float on the dequantized values (no integer kernel). Pin their activations to uint8 with --overrides for integer speed`)];
}
