// Opset requirements of the rewrite (ORT-NOTES.md; ONNX operator changelog):
//   QDQ needs ≥ 10; per-channel (the axis attribute) ≥ 13; int16/int4 Q/DQ ≥ 21, or the
//   com.microsoft Q/DQ below that. A model below the needed opset is converted by the adapters of
//   ./upgrade (every op whose definition changed in between); only what cannot be converted stops
//   qtool, with the op, node and opset named.
import { UnsupportedError } from '../errors.js';
import { opsetVersion, type Model } from '../ir/index.js';
import { opsNeedingAdapters, planUpgrade, upgradeModel } from './upgrade/index.js';

/** Ops of the model whose definition changes between opset `from` (exclusive) and `to` (inclusive),
 * i.e. the ops the conversion rewrites. */
export function breakingOps(model: Model, from: number, to: number): string[] {
  return opsNeedingAdapters(model, from, to);
}

/** Raises the default-domain opset to `target`, converting the ops that need it; returns a note,
 * throws UnsupportedError (model unchanged) when some node cannot be converted. */
export function ensureOpset(model: Model, target: number, why: string): string | undefined {
  const current = opsetVersion(model);
  if (current === undefined) {
    model.opsets.push({ domain: '', version: target });
    return `imported the ai.onnx opset ${target} for ${why}`;
  }
  if (current >= target) return undefined;
  try {
    const r = upgradeModel(model, target);
    return r.notes[0]!.replace(`to ${target}`, `to ${target} for ${why}`);
  } catch (e) {
    if (e instanceof UnsupportedError) throw new UnsupportedError(`${why} needs opset ${target}; ${e.message}${perTensorHint(model, current, target)}`);
    throw e;
  }
}

/** Per-tensor Q/DQ needs only opset 10: say so when that conversion would go through. */
function perTensorHint(model: Model, current: number, target: number): string {
  if (target <= 10) return '';
  try {
    if (current >= 10 || planUpgrade(model, 10).refused.length === 0) return '; per-tensor weights (--per-tensor) need only opset 10';
  } catch {
    return '';
  }
  return '';
}
