import { cleanup, nameNodes, removeIdentity } from './cleanup.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { float16ToFloat32 } from './float16.js';
import { runPasses, type Pass } from './pass.js';
import { scopeNames } from './scope-names.js';
import type { Model } from '../ir/index.js';

/** The prepare pipeline: what `qtool fold-bn` runs and what every quantization starts with. */
export const PREPARE_PASSES: readonly Pass[] = [nameNodes, scopeNames, float16ToFloat32, removeIdentity, cleanup, foldBatchNorm, cleanup];

export function prepareModel(model: Model, opts: { checkInvariants?: boolean } = {}): string[] {
  return runPasses(model, PREPARE_PASSES, opts);
}

export { runPasses, type Pass } from './pass.js';
export { bodiesOf, cleanupAll, graphScopes } from '../ir/index.js';
export { insertQdq, type QdqOptions, type QdqResult } from './insert-qdq.js';
export { lowerToQOperator, type LowerResult } from './lower-qoperator.js';
export { ensureOpset, breakingOps } from './opset.js';
export { PIPELINES, ensureRequirements, pipelineFor, runPipeline, type RewritePass, type RewriteResult } from './pipelines.js';
