// Which tensor to observe for each tensor that needs statistics, and how to split the fetched ones
// into passes that fit a memory budget.
import type { Graph } from '../ir/index.js';
import { isValuePreserving } from '../quant/rules/index.js';

export interface ObservationPlan {
  /** Every requested tensor → the tensor actually observed (itself, or the start of a reshape chain). */
  readonly sourceOf: ReadonlyMap<string, string>;
  /** Observed tensors that are fed to the model: read from the batch, never fetched. */
  readonly fromFeeds: readonly string[];
  /** Observed tensors that onnxruntime must output, in request order. */
  readonly fetched: readonly string[];
}

/**
 * Ops whose output holds exactly the values of their data input, only rearranged (the rules'
 * `valuePreserving`): a histogram and min/max are functions of the multiset of values, so the
 * output's statistics equal the input's. Observing the input once serves both (and saves fetching
 * and binning the copy).
 */
function observedSource(g: Graph, name: string): string {
  let t = name;
  for (;;) {
    const p = g.producerOf(t);
    if (!p || !isValuePreserving(p)) return t;
    const x = p.inputs[0];
    if (!x || g.constantOf(x) !== undefined) return t;
    t = x;
  }
}

/** `own`: tensors observed themselves even when a reshape chain leads to them (their layout matters). */
export function planObservation(g: Graph, tensors: readonly string[], own: ReadonlySet<string> = new Set()): ObservationPlan {
  const feeds = new Set(g.feedInputs().map((i) => i.name));
  const sourceOf = new Map<string, string>();
  const fromFeeds: string[] = [];
  const fetched: string[] = [];
  const seen = new Set<string>();
  for (const t of tensors) {
    if (sourceOf.has(t)) continue;
    const src = own.has(t) ? t : observedSource(g, t);
    sourceOf.set(t, src);
    if (seen.has(src)) continue;
    seen.add(src);
    (feeds.has(src) ? fromFeeds : fetched).push(src);
  }
  return { sourceOf, fromFeeds, fetched };
}

/**
 * Splits tensors (in order) into groups whose estimated bytes per batch stay within `budget`. A
 * tensor larger than the budget on its own gets a group of its own: it cannot be split further.
 */
export function groupByBudget(sizes: readonly { name: string; bytes: number }[], budget: number): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const { name, bytes } of sizes) {
    if (current.length > 0 && used + bytes > budget) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(name);
    used += bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
