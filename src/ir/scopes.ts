// The scopes of a model: its graph and the If/Loop/Scan bodies nested in it (bodies of bodies
// included), outermost first.
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';

/** Every graph nested in `g` (bodies of bodies included), outermost first. */
export function bodiesOf(g: Graph): Graph[] {
  const out: Graph[] = [];
  for (const n of g.nodes) for (const sub of n.subgraphs()) out.push(sub, ...bodiesOf(sub));
  return out;
}

/** Every graph of the model, outermost first, with the constants it sees (its own, then its enclosing graphs'). */
export function graphScopes(g: Graph, outer?: (name: string) => Tensor | undefined): { graph: Graph; constantOf: (name: string) => Tensor | undefined }[] {
  const constantOf = (name: string) => g.constantOf(name) ?? outer?.(name);
  const out = [{ graph: g, constantOf }];
  for (const n of g.nodes) for (const sub of n.subgraphs()) out.push(...graphScopes(sub, constantOf));
  return out;
}

/** Removes dead nodes of the bodies (innermost first, so an outer value only a dead body node read is freed) and of `g`. */
export function cleanupAll(g: Graph): void {
  for (const b of bodiesOf(g).reverse()) {
    b.toposort();
    b.cleanup();
  }
  g.toposort();
  g.cleanup();
}

