// applyKeepFloat on the restructured plan: the kept-float tensors lose their Q/DQ, the biases scaled
// by them stay float, and the plan's integers (PlanIntegers) lose the matching entries, so the
// rewrite stores nothing the plan no longer has.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/api/options.js';
import { applyKeepFloat, withKeepFloat } from '../../src/api/tuning.js';
import { readModelFile } from '../../src/onnx/index.js';
import { prepareModel, pipelineFor, runPipeline } from '../../src/passes/index.js';
import { analyzeGraph } from '../../src/quant/analyze.js';
import { planStatic } from '../../src/quant/plan.js';
import { fixture } from '../e2e/helpers.js';

describe('applyKeepFloat', () => {
  it('drops the kept tensors, the biases scaled by them, and their integers; the rewrite adds no Q/DQ for them', () => {
    const model = readModelFile(fixture('resnet_mini'));
    prepareModel(model);
    const base = resolveConfig({ config: { target: 'ort-cpu' } });
    const full = planStatic(model.graph, base, { ranges: new Map(analyzeGraph(model.graph, base).activations.map((t) => [t, { min: 0, max: 4, algo: 'minmax' }])), perChannelAllowed: true });
    // A conv whose output feeds a biased conv: keep that output in float.
    const [victim, bias] = Object.entries(full.plan.biases).map(([node, b]) => [b.activation, node] as const).find(([a]) => !model.graph.isGraphInput(a))!;
    const producer = model.graph.producerOf(victim)!.name;
    const keep = { nodes: [producer], tensors: [victim] };
    const config = withKeepFloat(base, keep);
    const ranges = new Map(analyzeGraph(model.graph, config).activations.map((t) => [t, { min: 0, max: 4, algo: 'minmax' }]));
    const planned = planStatic(model.graph, config, { ranges, perChannelAllowed: true });
    expect(planned.integers.biases.has(bias)).toBe(true);
    const kept = applyKeepFloat(planned, keep);
    expect(kept.plan.keepFloat).toEqual(keep);
    const group = planned.plan.activations[victim]?.group;
    expect(Object.values(kept.plan.activations).some((p) => p.group === group)).toBe(false);
    expect(kept.plan.biases[bias]).toBeUndefined();
    expect(kept.integers.biases.has(bias)).toBe(false);
    expect([...kept.integers.biases.keys()].sort()).toEqual(Object.keys(kept.plan.biases).sort());
    expect([...kept.integers.weights.keys()].sort()).toEqual(Object.keys(kept.plan.weights).sort());
    const { tensorMap } = runPipeline(model, pipelineFor(config), { ...kept, config });
    expect(tensorMap[victim]).toBeUndefined();
    const consumer = model.graph.nodes.find((n) => n.name === bias)!;
    // The bias input of that conv is still the float initializer, not a DequantizeLinear.
    expect(model.graph.producerOf(consumer.inputs[2]!)?.opType).not.toBe('DequantizeLinear');
  });
});
