// Opset requirements of the rewrite (ORT-NOTES.md; ONNX operator changelog):
//   QDQ needs ≥ 10; per-channel (the axis attribute) ≥ 13; int16/int4 Q/DQ ≥ 21, or the
//   com.microsoft Q/DQ below that. A model is upgraded only when no op in it changes meaning
//   between its opset and the target; otherwise qtool stops with a clear message.
import { UnsupportedError } from '../errors.js';
import { isDefaultDomain, opsetVersion, type Graph, type Model } from '../ir/index.js';

/** Versions at which an op's signature or semantics changed incompatibly (inputs moved from
 * attributes, changed defaults, changed axis semantics). Additive changes (new types, new
 * attributes whose default keeps the old behaviour, negative axes) are not listed. Subgraph ops
 * are listed conservatively. */
const BREAKING: Record<string, number[]> = {
  // attributes that became inputs
  Slice: [10], TopK: [10], Clip: [11], Pad: [11], Dropout: [12], Split: [13], Squeeze: [13], Unsqueeze: [13],
  ReduceSum: [13], ReduceMean: [18], ReduceMax: [18], ReduceMin: [18], ReduceProd: [18], ReduceL1: [18],
  ReduceL2: [18], ReduceLogSum: [18], ReduceLogSumExp: [18], ReduceSumSquare: [18],
  // changed defaults or semantics
  Resize: [11], Upsample: [10], Softmax: [13], LogSoftmax: [13], Hardmax: [13], Scatter: [11],
  GroupNormalization: [21], Loop: [11, 13, 16], If: [11, 13, 16], Scan: [11, 16],
};

function opTypes(g: Graph, out = new Set<string>()): Set<string> {
  for (const n of g.nodes) {
    if (isDefaultDomain(n.domain)) out.add(n.opType);
    for (const sub of n.subgraphs()) opTypes(sub, out);
  }
  return out;
}

/** Ops of the model whose meaning changes between opset `from` (exclusive) and `to` (inclusive). */
export function breakingOps(model: Model, from: number, to: number): string[] {
  return [...opTypes(model.graph)].filter((op) => (BREAKING[op] ?? []).some((v) => v > from && v <= to)).sort();
}

/** Raises the default-domain opset to `target` if that is safe; returns a note, throws otherwise. */
export function ensureOpset(model: Model, target: number, why: string): string | undefined {
  const current = opsetVersion(model) ?? 1;
  if (current >= target) return undefined;
  const blockers = breakingOps(model, current, target);
  if (blockers.length) {
    throw new UnsupportedError(`${why} needs opset ${target}, the model has opset ${current}, and upgrading would change the meaning of ${blockers.join(', ')}; convert the model to opset ${target} first (e.g. onnx.version_converter) or pass --per-tensor`);
  }
  model.opsets = model.opsets.map((o) => (isDefaultDomain(o.domain) ? { ...o, version: target } : o));
  if (!model.opsets.some((o) => isDefaultDomain(o.domain))) model.opsets.push({ domain: '', version: target });
  const ir = typeof model.irVersion === 'bigint' ? Number(model.irVersion) : model.irVersion;
  const minIr = target >= 21 ? 10 : target >= 19 ? 9 : target >= 15 ? 8 : 7;
  if (ir < minIr) model.irVersion = minIr;
  return `opset upgraded from ${current} to ${target} for ${why} (no op in the model changes meaning between them)`;
}
