// sensitivity(): for every quantized unit, the output error when it alone is quantized, and the
// recovery when it alone falls back to float or int16 (everything else int8). One calibration,
// one cached float pass, every variant built and scored in memory (api/tuning.ts).
import { openTuning, tryVariant, variantOverrides, type KeepFloat, type Metrics, type TuningContext, type TuningSource } from './tuning.js';
import { QTOOL_VERSION } from '../version.js';

export interface SensitivityOptions extends TuningSource {
  /** Skip the "alone quantized" trials (the search needs only the recoveries). */
  aloneTrials?: boolean;
  /** Which fallbacks to try (default both). */
  fallbacks?: ('float' | 'int16')[];
  /** Stop trying new units after this many milliseconds (the rest are left unmeasured). */
  deadlineMs?: number;
  onUnit?: (done: number, total: number) => void;
}

export interface UnitSensitivity {
  rank: number;
  node: string;
  opType: string;
  tensors: string[];
  weights: string[];
  /** Output SQNR with only this unit quantized (everything else float). */
  aloneSqnrDb: number | null;
  /** Output SQNR with everything int8 but this unit in float / int16. */
  floatSqnrDb: number | null;
  int16SqnrDb: number | null;
  /** Recovery over full int8, dB (positive: better). */
  floatRecoveryDb: number | null;
  int16RecoveryDb: number | null;
  floatAgreement: number | null;
  floatAccuracy: number | null;
  /** The --overrides entry that keeps this unit in float: {"keepFloat": …}. */
  keepFloat: KeepFloat;
}

export interface SensitivityResult {
  schema: 'qtool.sensitivity';
  version: 1;
  generator: { name: 'qtool'; version: string };
  model: string;
  data: { dir: string; samples: number; inSample: boolean };
  primaryOutput: string;
  config: { algo: string; target: string; perChannel: boolean; activationType: string };
  baseline: Metrics;
  float: { accuracy: number | null };
  units: UnitSensitivity[];
  cost: { calibrationMs: number; floatPassMs: number; trials: number; trialMs: number; totalMs: number };
  notes: string[];
}

export async function sensitivity(input: string, opts: SensitivityOptions = {}): Promise<SensitivityResult> {
  const t0 = performance.now();
  const ctx = await openTuning(input, opts);
  return sensitivityOf(ctx, opts, t0);
}

/** Sensitivity on an open tuning context (the search reuses it). */
export async function sensitivityOf(ctx: TuningContext, opts: SensitivityOptions, t0 = performance.now()): Promise<SensitivityResult> {
  const baseline = await tryVariant(ctx, {});
  const fallbacks = opts.fallbacks ?? ['float', 'int16'];
  const notes: string[] = [];
  const rows: Omit<UnitSensitivity, 'rank'>[] = [];
  let done = 0;
  for (const u of ctx.units) {
    if (opts.deadlineMs !== undefined && performance.now() - t0 > opts.deadlineMs) {
      notes.push(`time budget reached: ${ctx.units.length - done} of ${ctx.units.length} units not measured`);
      break;
    }
    const alone = opts.aloneTrials === false ? null : await tryVariant(ctx, { only: [u.node] });
    const fl = fallbacks.includes('float') ? await tryVariant(ctx, { float: [u.node] }) : null;
    const i16 = fallbacks.includes('int16') && u.inputs.length + u.outputs.length > 0 ? await tryVariant(ctx, { int16: [u.node] }) : null;
    rows.push({
      node: u.node, opType: u.opType, tensors: [...new Set([...u.inputs, ...u.outputs])], weights: u.weights,
      aloneSqnrDb: alone?.sqnrDb ?? null,
      floatSqnrDb: fl?.sqnrDb ?? null,
      int16SqnrDb: i16?.sqnrDb ?? null,
      floatRecoveryDb: fl ? recovery(fl.sqnrDb, baseline.sqnrDb) : null,
      int16RecoveryDb: i16 ? recovery(i16.sqnrDb, baseline.sqnrDb) : null,
      floatAgreement: fl?.agreement ?? null,
      floatAccuracy: fl?.accuracy ?? null,
      keepFloat: variantOverrides(ctx, { float: [u.node] }).keepFloat,
    });
    opts.onUnit?.(++done, ctx.units.length);
  }
  const key = (r: Omit<UnitSensitivity, 'rank'>) => Math.max(r.floatRecoveryDb ?? -Infinity, r.int16RecoveryDb ?? -Infinity);
  const units = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => key(b.r) - key(a.r) || a.i - b.i)
    .map(({ r }, i) => ({ rank: i + 1, ...r }));
  if (ctx.inSample) notes.push('measured on the calibration data (in-sample); pass --eval-data for held-out figures');
  const c = ctx.config;
  return {
    schema: 'qtool.sensitivity', version: 1, generator: { name: 'qtool', version: QTOOL_VERSION },
    model: ctx.input,
    data: { dir: ctx.evalData, samples: ctx.samples, inSample: ctx.inSample },
    primaryOutput: ctx.primary,
    config: { algo: c.algo, target: c.target, perChannel: c.perChannel, activationType: c.activationType },
    baseline, float: { accuracy: ctx.floatMetrics.accuracy }, units,
    cost: { calibrationMs: ctx.timings.calibrationMs, floatPassMs: ctx.timings.floatPassMs, trials: ctx.trials, trialMs: ctx.trialMs, totalMs: performance.now() - t0 },
    notes,
  };
}

/** dB gained; a fallback that makes the output exact counts as +Infinity. */
function recovery(db: number, base: number): number {
  if (db === Infinity) return base === Infinity ? 0 : Infinity;
  return db - base;
}
