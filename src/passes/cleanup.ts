import { isDefaultDomain, type Graph, type Node } from '../ir/index.js';
import type { Pass } from './pass.js';

// Before: nodes named '' (legal in ONNX)      After: every node has a unique name (op_k)
export const nameNodes: Pass = {
  name: 'name-nodes',
  run(model) {
    let named = 0;
    for (const n of model.graph.nodes) {
      if (n.name) continue;
      n.name = model.graph.uniqueName(`${n.opType}_${named}`);
      named++;
    }
    return named ? [`named ${named} unnamed nodes`] : [];
  },
};

// Before: X ─▶ Identity ─▶ Y ─▶ …        After: X ─▶ …
// Before: X ─▶ Dropout (inference) ─▶ Y   After: X (Dropout is the identity outside training)
export const removeIdentity: Pass = {
  name: 'remove-identity',
  run(model) {
    const g = model.graph;
    let removed = 0;
    for (const n of [...g.nodes]) {
      if (!isDefaultDomain(n.domain) || !(n.opType === 'Identity' || (n.opType === 'Dropout' && isInferenceDropout(g, n)))) continue;
      if (bypass(g, n)) removed++;
    }
    return removed ? [`removed ${removed} Identity/Dropout nodes`] : [];
  },
};

function isInferenceDropout(g: Graph, n: Node): boolean {
  if (n.outputs[1] && (g.consumersOf(n.outputs[1]).length || g.isGraphOutput(n.outputs[1]))) return false;
  const training = n.inputs[2] ? g.constantOf(n.inputs[2]) : undefined;
  if (n.inputs[2] && (!training || training.toFloat64()[0] !== 0)) return false;
  return true;
}

function bypass(g: Graph, n: Node): boolean {
  const x = n.inputs[0];
  const y = n.outputs[0];
  if (!x || !y) return false;
  if (g.consumersOf(y).some((c) => c.implicitInputs().includes(y))) return false;
  if (!g.isGraphOutput(y)) {
    g.removeNode(n);
    g.replaceAllUses(y, x);
    return true;
  }
  // Y is a model output: keep its name by renaming X's producer output to Y instead.
  const p = g.producerOf(x);
  if (!p || g.isGraphOutput(x) || g.consumersOf(x).some((c) => c !== n && c.implicitInputs().includes(x))) return false;
  g.removeNode(n);
  g.setNodeOutput(p, p.outputs.indexOf(x), y);
  g.replaceAllUses(x, y);
  return true;
}

// Removes nodes nobody reads and initializers nobody references; restores topological order.
export const cleanup: Pass = {
  name: 'cleanup',
  run(model) {
    const before = model.graph.nodes.length;
    model.graph.toposort();
    model.graph.cleanup();
    const removed = before - model.graph.nodes.length;
    return removed ? [`removed ${removed} dead nodes`] : [];
  },
};
