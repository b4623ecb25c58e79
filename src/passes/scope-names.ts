// Before: If/Loop/Scan bodies with unnamed nodes, or node/value names that another scope also uses
//         (sibling branches may both define `x`; exporters reuse node names per branch)
// After:  every node and every value of the model has a name no other scope uses, so plans, stats
//         and tensor maps can address body tensors by name alone. The main graph is not touched
//         (its names are the ones users pass to --exclude-nodes and see in reports); a body's own
//         outputs and inputs are positional, so renaming them changes nothing outside it.
import { bodiesOf, type Graph, type Node } from '../ir/index.js';
import type { Pass } from './pass.js';

function definedValues(g: Graph): string[] {
  return [...g.inputs.map((i) => i.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs.filter((o) => o))];
}

export const scopeNames: Pass = {
  name: 'scope-names',
  run(model) {
    const bodies = bodiesOf(model.graph);
    if (bodies.length === 0) return [];
    const values = new Set(definedValues(model.graph));
    const nodes = new Set(model.graph.nodes.map((n) => n.name));
    const fresh = (taken: Set<string>, base: string): string => {
      let k = 1;
      let name = base;
      while (taken.has(name)) name = `${base}_${k++}`;
      taken.add(name);
      return name;
    };
    let renamedValues = 0;
    let renamedNodes = 0;
    const visit = (g: Graph) => {
      for (const n of g.nodes) {
        if (n.name && !nodes.has(n.name)) nodes.add(n.name);
        else {
          n.name = fresh(nodes, n.name || `${n.opType}_${g.name || 'body'}`);
          renamedNodes++;
        }
      }
      for (const name of definedValues(g)) {
        if (!values.has(name)) {
          values.add(name);
          continue;
        }
        if (g.initializers.has(name)) continue; // constants: their names are not addressed by plans of activations
        renameValue(g, name, fresh(values, name));
        renamedValues++;
      }
      for (const n of g.nodes) for (const sub of n.subgraphs()) visit(sub);
    };
    for (const n of model.graph.nodes) for (const sub of n.subgraphs()) visit(sub);
    const notes: string[] = [];
    if (renamedNodes) notes.push(`named ${renamedNodes} If/Loop/Scan body nodes that had no name or another scope's name`);
    if (renamedValues) notes.push(`renamed ${renamedValues} If/Loop/Scan body values that another scope also defines`);
    return notes;
  },
};

/** Renames a value `g` defines (a node output or a graph input) everywhere `g` and its bodies read it. */
function renameValue(g: Graph, from: string, to: string): void {
  const producer: Node | undefined = g.producerOf(from);
  if (producer) g.setNodeOutput(producer, producer.outputs.indexOf(from), to);
  else g.inputs = g.inputs.map((i) => (i.name === from ? { ...i, name: to, source: undefined } : i));
  g.replaceAllUses(from, to, { graphOutputs: true });
  const vi = g.valueInfo.get(from);
  if (vi) {
    g.valueInfo.delete(from);
    g.valueInfo.set(to, { ...vi, name: to, source: undefined });
  }
}
