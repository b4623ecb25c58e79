// The rewrite pipelines as data: one array of passes per mode × format, and a runner that imports
// the operator domains a pass declares exactly when the rewritten graph uses them.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/index.js';
import { normalizeConfig, type QuantConfig } from '../../src/config/index.js';
import { PIPELINES, pipelineFor, runPipeline } from '../../src/passes/pipelines.js';
import { planWeightForms } from '../../src/quant/plan-forms.js';

const cfg = (v: Partial<QuantConfig> = {}) => normalizeConfig([{ values: v, origin: 'test' }]);

function model(withMatMul: boolean) {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 8]);
  const y = withMatMul ? b.op1('MatMul', [x, b.randomInit('w', [8, 4])], {}, { name: 'mm' }) : b.op1('Relu', [x], {}, { name: 'relu' });
  b.output(y);
  return b.model([{ domain: '', version: 13 }]);
}

describe('rewrite pipelines', () => {
  it('every mode × format has a pipeline; QOperator is QDQ then lowering', () => {
    for (const mode of ['static', 'dynamic', 'weight-only'] as const) {
      for (const format of ['qdq', 'qoperator'] as const) expect(pipelineFor(cfg({ mode, format })).length).toBeGreaterThan(0);
    }
    expect(PIPELINES.static.qoperator.map((p) => p.name)).toEqual(['insert-qdq', 'lower-qoperator']);
  });

  it('the runner imports com.microsoft when a pass wrote a node of that domain, and only then', () => {
    for (const withMatMul of [true, false]) {
      const m = model(withMatMul);
      const config = cfg({ mode: 'dynamic' });
      const planned = planWeightForms(m.graph, config);
      const r = runPipeline(m, pipelineFor(config), { ...planned, config });
      expect(r.tensorMap).toEqual({});
      expect(m.graph.nodes.some((n) => n.domain === 'com.microsoft')).toBe(withMatMul);
      expect(m.opsets.some((o) => o.domain === 'com.microsoft')).toBe(withMatMul);
    }
  });

  it('the plan says why a node stays float, as a code', () => {
    const m = model(false);
    const planned = planWeightForms(m.graph, cfg({ mode: 'weight-only' }));
    expect(planned.plan.nodes).toEqual([expect.objectContaining({ name: 'relu', status: 'float', code: 'not-in-mode' })]);
  });
});
