import { cleanup, nameNodes, removeIdentity } from './cleanup.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { equalize } from './equalize.js';
import { float16ToFloat32 } from './float16.js';
import { runPasses, type Pass } from './pass.js';
import { scopeNames } from './scope-names.js';
import { bodiesOf, Graph, type Model } from '../ir/index.js';

/** The prepare pipeline: what `qtool fold-bn` runs and what every quantization starts with. */
export const PREPARE_PASSES: readonly Pass[] = [nameNodes, scopeNames, float16ToFloat32, removeIdentity, cleanup, foldBatchNorm, cleanup];

/** What If/Loop/Scan bodies get of the prepare pipeline (names and float16 are whole-model passes). */
const BODY_PASSES: readonly Pass[] = [removeIdentity, cleanup, foldBatchNorm, cleanup];

/** Prepare passes a config option turns on, run after PREPARE_PASSES (BN is folded first). */
export const OPTIONAL_PREPARE_PASSES: readonly { option: 'equalize'; pass: Pass }[] = [{ option: 'equalize', pass: equalize }];

export interface PrepareOptions {
  checkInvariants?: boolean;
  /** Cross-layer equalisation (--equalize). */
  equalize?: boolean;
}

export function preparePasses(opts: PrepareOptions = {}): readonly Pass[] {
  return [...PREPARE_PASSES, ...OPTIONAL_PREPARE_PASSES.filter((o) => opts[o.option]).map((o) => o.pass)];
}

export function prepareModel(model: Model, opts: PrepareOptions = {}): string[] {
  const notes = runPasses(model, preparePasses(opts), opts);
  // Bodies, innermost last: each pass sees one body as its graph (constants of enclosing graphs
  // are not folded into a body's layers).
  const bodies = bodiesOf(model.graph);
  if (bodies.length) {
    Graph.shareNamespace([model.graph, ...bodies]);
    for (const body of bodies) notes.push(...runPasses({ ...model, graph: body }, BODY_PASSES).map((n) => `${n} (in body '${body.name}')`));
    if (opts.checkInvariants) model.graph.checkInvariants();
  }
  return notes;
}

export { runPasses, type Pass } from './pass.js';
export { equalize, equalizeGraph, type EqualizeResult } from './equalize.js';
export { bodiesOf, cleanupAll, graphScopes } from '../ir/index.js';
export { insertQdq, type QdqOptions, type QdqResult } from './insert-qdq.js';
export { lowerToQOperator, type LowerResult } from './lower-qoperator.js';
export { ensureOpset, breakingOps } from './opset.js';
export { PIPELINES, ensureRequirements, pipelineFor, runPipeline, type RewritePass, type RewriteResult } from './pipelines.js';
