import { readModelFile, writeModelFile } from '../onnx/index.js';
import { prepareModel } from '../passes/index.js';

/** `qtool fold-bn`: the prepare passes alone (BN folding, Identity/Dropout removal). */
export function foldBn(input: string, output: string): { output: string; nodesBefore: number; nodesAfter: number; notes: string[] } {
  const model = readModelFile(input);
  const before = model.graph.nodes.length;
  const notes = prepareModel(model);
  model.graph.checkInvariants();
  writeModelFile(model, output, { inputPath: input });
  return { output, nodesBefore: before, nodesAfter: model.graph.nodes.length, notes };
}
