import { UnsupportedError, UsageError } from '../errors.js';
import { readModelFile, writeModelFile } from '../onnx/index.js';
import { MAX_TARGET_OPSET, MIN_SOURCE_OPSET, upgradeModel, type UpgradeRefusal, type UpgradeStep } from '../passes/upgrade/index.js';

export interface UpgradeReport {
  output: string;
  from: number;
  to: number;
  /** The adapters that ran: op, the opset of its new definition, what changed, how many nodes. */
  steps: UpgradeStep[];
  notes: string[];
}

/** `qtool upgrade`: converts the default-domain opset of a model file to `opset` and writes it. */
export function upgrade(input: string, opts: { opset: number; output: string }): UpgradeReport {
  if (!Number.isInteger(opts.opset) || opts.opset < MIN_SOURCE_OPSET || opts.opset > MAX_TARGET_OPSET) {
    throw new UsageError(`--opset must be an integer from ${MIN_SOURCE_OPSET} to ${MAX_TARGET_OPSET}, got '${opts.opset}'`);
  }
  const model = readModelFile(input);
  let r;
  try {
    r = upgradeModel(model, opts.opset);
  } catch (e) {
    if (e instanceof UnsupportedError) throw new UnsupportedError(`${input}: ${e.message}`);
    throw e;
  }
  model.graph.checkInvariants();
  writeModelFile(model, opts.output, { inputPath: input });
  return { output: opts.output, from: r.from, to: r.to, steps: r.steps, notes: r.notes };
}

export type { UpgradeRefusal, UpgradeStep };
