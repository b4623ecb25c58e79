import type { Model } from '../ir/index.js';

/** A named Graph → Graph transform. Passes edit the model in place and report what they did. */
export interface Pass {
  readonly name: string;
  run(model: Model): string[];
}

/** Runs passes in order; returns the notes they made, prefixed with the pass name. */
export function runPasses(model: Model, passes: readonly Pass[], opts: { checkInvariants?: boolean } = {}): string[] {
  const notes: string[] = [];
  for (const p of passes) {
    for (const note of p.run(model)) notes.push(`${p.name}: ${note}`);
    if (opts.checkInvariants) model.graph.checkInvariants();
  }
  return notes;
}
