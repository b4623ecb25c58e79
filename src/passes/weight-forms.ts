// Dynamic and weight-only modes: every node the plan quantizes takes its rule's integer form,
// storing the plan's integers (this pass never quantizes).
//
// dynamic:     X ─▶ MatMul(W) ─▶ Y   becomes   X ─▶ DynamicQuantizeMatMul(W_int8, s_w, z_w) ─▶ Y
//              LSTM                  becomes   DynamicQuantizeLSTM (int8 W and R)
// weight-only: X ─▶ MatMul(W) ─▶ Y   becomes   X ─▶ MatMul(DQ(W_int8)) ─▶ Y, or MatMulNBits (int4)
import { Graph, graphScopes, type Model, type Node } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import type { PlanIntegers, QuantPlan } from '../quant/plan.js';
import { nodeForm } from '../quant/plan-forms.js';
import type { FormUnit, FormWeightValues, WeightForm } from '../quant/rules/index.js';

/** Returns the number of nodes rewritten. */
export function rewriteWeightForms(model: Model, plan: QuantPlan, integers: PlanIntegers, config: Readonly<QuantConfig>): number {
  const quantized = new Set(plan.nodes.filter((n) => n.status === 'quantized').map((n) => n.name));
  const scopes = graphScopes(model.graph).map((s) => s.graph);
  if (scopes.length > 1) Graph.shareNamespace(scopes);
  let count = 0;
  // The main graph, then each If/Loop/Scan body (its memoised shared tensors stay in that graph).
  for (const g of scopes) count += rewriteGraph(g, quantized, plan, integers, config);
  return count;
}

function rewriteGraph(g: Graph, quantized: ReadonlySet<string>, plan: QuantPlan, integers: PlanIntegers, config: Readonly<QuantConfig>): number {
  const work: { node: Node; form: WeightForm; unit: FormUnit }[] = [];
  for (const node of g.nodes) {
    if (!quantized.has(node.name)) continue;
    const f = nodeForm(node, g, config);
    if ('float' in f) continue;
    const unit = f.form.unit(node, g, config);
    if (!('float' in unit)) work.push({ node, form: f.form, unit });
  }
  // Stable: node order within one form's order.
  work.sort((a, b) => a.form.order - b.form.order);
  const memos = new Map<string, unknown>();
  const memo = <T>(key: string, make: () => T): T => {
    if (!memos.has(key)) memos.set(key, make());
    return memos.get(key) as T;
  };
  for (const { node, form, unit } of work) {
    const weights: FormWeightValues[] = unit.weights.map((w) => {
      const name = node.inputs[w.input]!;
      const p = plan.weights[name]!;
      return { q: integers.weights.get(name)!, dtype: p.dtype, axis: p.axis, scales: p.scales, zeroPoints: p.zeroPoints, blockSize: p.blockSize };
    });
    form.rewrite({ graph: g, node, unit, weights, memo });
  }
  return work.length;
}
