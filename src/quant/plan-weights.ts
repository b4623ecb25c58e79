// Static mode: weight scales per channel (raised where the layer's bias would overflow int32),
// the weights' integers, and int32 biases at s_x·s_w (ALGORITHMS.md §1). Pure: reads the graph.
import type { Graph, Node, Tensor } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { computeScaleZeroPoint, qRange, quantizeWeightPerChannel, quantizeWithParams, type QRange, type QType } from '../math/qparams.js';
import { quantizeBiasWithScales, requiredWeightScaleForBias } from '../math/bias.js';
import type { Analysis } from './analyze.js';
import type { ActivationParams, BiasParams, PlanIntegers, PlanOptions, WeightParams } from './plan.js';
import type { InputRole, RuleResult } from './rules/index.js';

interface WeightPlanning extends PlanOptions {
  activations: Record<string, ActivationParams>;
}

export function planWeights(g: Graph, a: Analysis, config: Readonly<QuantConfig>, opts: WeightPlanning) {
  const weights: Record<string, WeightParams> = {};
  const biases: Record<string, BiasParams> = {};
  const integers: PlanIntegers = { weights: new Map(), biases: new Map() };
  for (const n of [...g.nodes, ...(a.bodies ?? []).flatMap((b) => b.graph.nodes)]) {
    const d = a.decisions.get(n)!;
    if (d.status !== 'quantized' || !d.rule) continue;
    const body = a.scopeOf?.get(n);
    const constantOf = body ? (x: string) => body.constantOf(x) : (x: string) => g.constantOf(x);
    d.rule.inputs.forEach((role, i) => {
      if (role.kind !== 'weight') return;
      const planned = planWeight(constantOf, n, { role, index: i, rule: d.rule! }, config, opts);
      weights[planned.name] = planned.params;
      integers.weights.set(planned.name, planned.q);
      if (planned.bias) {
        biases[n.name] = planned.bias.params;
        integers.biases.set(n.name, planned.bias.q);
      }
    });
  }
  return { weights, biases, integers };
}

/** The integers are clamped to the type's symmetric range (the reduced range only sizes the scale). */
function storedRange(dtype: QType): QRange {
  const range = qRange(dtype, { symmetric: dtype !== 'uint8' });
  return { qmin: dtype === 'uint8' ? 0 : -range.qmax, qmax: range.qmax };
}

function planWeight(constantOf: (name: string) => Tensor | undefined, n: Node, w: { role: Extract<InputRole, { kind: 'weight' }>; index: number; rule: RuleResult }, config: Readonly<QuantConfig>, opts: WeightPlanning) {
  const name = n.inputs[w.index]!;
  const tensor = constantOf(name)!;
  // The bias and activation the weight pairs with, by the roles the rule gave them.
  const biasAt = w.rule.inputs.findIndex((r) => r.kind === 'bias');
  const biasRole = w.rule.inputs[biasAt];
  const biasTensor = biasRole?.kind === 'bias' && config.quantizeBias ? constantOf(n.inputs[biasAt]!) : undefined;
  const activation = n.inputs[biasRole?.kind === 'bias' ? biasRole.activation : 0]!;
  const xScale = opts.activations[activation]?.scale;
  const o = opts.overrides?.weights?.[name];
  const rank = tensor.dims.length;
  const axis = w.role.axis < 0 ? w.role.axis + rank : w.role.axis;
  const perChannel = (o?.perChannel ?? config.perChannel) && opts.perChannelAllowed !== false && rank >= 2 && !w.role.perTensorOnly;
  const dtype = o?.dtype ?? config.weightType;
  const range = qRange(dtype, { symmetric: dtype !== 'uint8', reduceRange: config.reduceRange && (dtype === 'int8' || dtype === 'uint8') });
  const data = tensor.toFloat32();
  const minScales = biasTensor && xScale ? requiredWeightScaleForBias(biasTensor.toFloat32(), xScale) : undefined;
  const clampTo = storedRange(dtype);
  const q = perChannel
    ? quantizeWeightPerChannel(data, tensor.dims, axis, { ...range, minScales, clampTo })
    : perTensor(data, range, dtype, minScales, clampTo);
  const raised = minScales ? [...minScales].flatMap((m, c) => (m > 0 && m === q.scales[perChannel ? c : 0] ? [c] : [])) : [];
  const params: WeightParams = { dtype, axis: perChannel ? axis : null, scales: [...q.scales], zeroPoints: [...q.zeroPoints], raisedForBias: raised };
  if (!biasTensor || xScale === undefined) return { name, params, q: q.q };
  const scales = [...q.scales].map((s) => Math.fround(xScale * s));
  const bias = { params: { tensor: n.inputs[biasAt]!, weight: name, activation, scales }, q: quantizeBiasWithScales(biasTensor.toFloat64(), scales) };
  return { name, params, q: q.q, bias };
}

/** Per-tensor weight scale: symmetric over the whole tensor, raised if a bias needs it. */
function perTensor(data: Float32Array, range: QRange, dtype: QType, minScales: Float32Array | undefined, clampTo: QRange) {
  let lo = 0;
  let hi = 0;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const p = computeScaleZeroPoint(lo, hi, { ...range, symmetric: dtype !== 'uint8' });
  let scale = p.scale;
  if (minScales) for (const m of minScales) if (m > scale) scale = m;
  const scales = new Float32Array([scale]);
  const zeroPoints = new Int32Array([p.zeroPoint]);
  return { scales, zeroPoints, q: quantizeWithParams(data, [data.length], null, scales, zeroPoints, clampTo) };
}
