// Accuracy-driven mixed precision: `quantize --target-sqnr DB | --target-drop PP | --target-agreement PCT`
// with `--budget` and `--fallback int16|float`.
//
// Start from full int8 (step 0). Rank the units by the output SQNR each recovers when it alone
// falls back; then fall back the top k units, k = 1, 2, 4, … until the target holds, and bisect
// between the last k that missed and the first that met. Every trial is built and scored in memory
// on the cached float outputs (api/tuning.ts). When the budget ends first, the best variant seen is
// written. The written model goes through quantize() with the same statistics and the fallback as
// overrides, so the saved plan (`keepFloat`, int16 dtypes, `tuning`) reproduces it with --overrides.
import { UsageError } from '../errors.js';
import { atomicWrite } from '../onnx/io.js';
import { quantize, type QuantizeOptions, type QuantizeResult } from './quantize.js';
import { autoRangesFor } from './auto-algo.js';
import { openTuning, tryVariant, variantOverrides, type Fallback, type Metrics, type TuningContext, type Variant } from './tuning.js';

export type TargetKind = 'sqnr' | 'drop' | 'agreement';

export interface AccuracyTarget {
  kind: TargetKind;
  /** dB for sqnr, percentage points for drop, percent (0..100) for agreement. */
  value: number;
}

export interface AutotuneOptions extends QuantizeOptions {
  target: AccuracyTarget;
  /** Wall-time budget of the search in ms (default 10 minutes). */
  budgetMs?: number;
  fallback?: Fallback;
  /** Evaluation data of the search (default: verify.evalData, else the calibration data). */
  evalData?: string;
  labels?: string;
  evalCount?: number;
  /** Progress lines (one per trial). */
  onStep?: (line: string) => void;
}

export interface SearchStep {
  /** Units falling back in this step. */
  fallback: string[];
  /** Units added since the previous step (or removed, when bisecting down: then prefixed with −). */
  added: string[];
  metrics: Metrics;
  met: boolean;
}

export interface SearchRecord {
  target: AccuracyTarget & { label: string };
  met: boolean;
  /** How far the written model is from the target, e.g. "1.73 dB" (null when met). */
  shortfall: string | null;
  reason: string;
  mode: Fallback;
  /** Quantized units in the full-int8 plan. */
  units: number;
  /** Units that fell back in the written model, ranked by recovery. */
  fallback: string[];
  /** Single-unit recoveries (dB) used for the ranking, best first. */
  ranking: { node: string; recoveryDb: number | null }[];
  steps: SearchStep[];
  /** The evaluation metrics of the written model (the chosen step). */
  final: Metrics;
  float: { accuracy: number | null };
  data: { dir: string; samples: number; inSample: boolean };
  trials: number;
  ms: number;
  calibrationMs: number;
}

export function targetLabel(t: AccuracyTarget): string {
  return t.kind === 'sqnr' ? `output SQNR ≥ ${t.value} dB` : t.kind === 'drop' ? `accuracy drop ≤ ${t.value} pp` : `top-1 agreement ≥ ${t.value}%`;
}

/** Parses "10m", "90s", "1h", "500ms" or a plain number of seconds. */
export function parseBudget(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(s);
  if (!m || Number(m[1]) <= 0) throw new UsageError(`--budget: '${s}' is not a duration; use e.g. 90s, 10m or 1h`);
  const unit = m[2] ?? 's';
  const k = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
  return Number(m[1]) * k;
}

export async function autotune(input: string, opts: AutotuneOptions): Promise<{ result: QuantizeResult; search: SearchRecord }> {
  const t0 = performance.now();
  const budget = opts.budgetMs ?? 10 * 60_000;
  const mode: Fallback = opts.fallback ?? 'int16';
  const target = { ...opts.target, label: targetLabel(opts.target) };
  if (!Number.isFinite(target.value) || (target.kind !== 'sqnr' && target.value < 0) || (target.kind === 'agreement' && target.value > 100)) {
    throw new UsageError(`--target-${target.kind}: ${target.value} is out of range`);
  }
  if (opts.overrides !== undefined) throw new UsageError('--overrides cannot be combined with --target-*: the search writes its own overrides into the plan (pass that plan to --overrides alone to reproduce a searched model)');
  const verify = opts.verify || undefined;
  const evalData = opts.evalData ?? verify?.evalData;
  const labels = opts.labels ?? verify?.labels;
  if (target.kind === 'drop' && !labels) throw new UsageError('--target-drop needs --labels (class indices of the evaluation samples)');
  const ctx = await openTuning(input, {
    data: opts.data, stats: opts.stats as string | undefined, preprocess: opts.preprocess, evalData, labels,
    evalCount: opts.evalCount ?? verify?.count, configFile: opts.configFile, config: opts.config, configOrigin: opts.configOrigin, onProgress: opts.onProgress,
  });
  if (ctx.config.algo === 'auto') ctx.ranges = await autoRangesFor(input, ctx.stats, [...ctx.ranges.keys()], ctx.config, opts, []);
  if (target.kind === 'agreement' && ctx.classes === null) throw new UsageError(`--target-agreement needs a [N, classes] primary output; '${ctx.primary}' is not one`);
  const left = () => budget - (performance.now() - t0);
  const met = (m: Metrics) => meets(target, m, ctx);
  const steps: SearchStep[] = [];
  const record = (fallback: string[], prev: string[], m: Metrics) => {
    const added = [...fallback.filter((u) => !prev.includes(u)), ...prev.filter((u) => !fallback.includes(u)).map((u) => `−${u}`)];
    steps.push({ fallback, added, metrics: m, met: met(m) });
    opts.onStep?.(`step ${steps.length - 1}: ${fallback.length} unit(s) in ${mode}, SQNR ${m.sqnrDb.toFixed(2)} dB${m.agreement !== null ? `, agreement ${(m.agreement * 100).toFixed(2)}%` : ''}${m.accuracy !== null ? `, accuracy ${(m.accuracy * 100).toFixed(2)}%` : ''}${met(m) ? ' (target met)' : ''}`);
  };
  const variant = (units: string[]): Variant => (mode === 'float' ? { float: units } : { int16: units });

  record([], [], await tryVariant(ctx, {}));
  let reason = 'full int8 meets the target';
  const ranking: { node: string; recoveryDb: number | null }[] = [];
  if (!steps[0]!.met) {
    reason = 'target met';
    // Rank: the recovery of each unit alone.
    const base = steps[0]!.metrics.sqnrDb;
    for (const u of ctx.units) {
      if (left() <= 0) break;
      const m = await tryVariant(ctx, variant([u.node]));
      ranking.push({ node: u.node, recoveryDb: m.sqnrDb - base });
      if (met(m)) record([u.node], [], m);
    }
    ranking.sort((a, b) => (b.recoveryDb ?? -Infinity) - (a.recoveryDb ?? -Infinity));
    for (const u of ctx.units) if (!ranking.some((r) => r.node === u.node)) ranking.push({ node: u.node, recoveryDb: null });
    const order = ranking.map((r) => r.node);
    const tried = new Map<number, Metrics>([[0, steps[0]!.metrics]]);
    const at = async (k: number) => {
      if (!tried.has(k)) {
        const fb = order.slice(0, k);
        const m = await tryVariant(ctx, variant(fb));
        tried.set(k, m);
        record(fb, steps[steps.length - 1]!.fallback, m);
      }
      return tried.get(k)!;
    };
    const singleMet = steps.find((s) => s.met);
    if (!singleMet) {
      // Gallop: k = 1, 2, 4, … (k = 1 is the top unit alone, measured during the ranking).
      let lo = 1;
      let hi = -1;
      for (let k = 2; left() > 0; k = Math.min(k * 2, order.length)) {
        if (met(await at(k))) { hi = k; break; }
        lo = k;
        if (k === order.length) break;
      }
      // Bisect: lo missed, hi met.
      while (hi > 0 && hi - lo > 1 && left() > 0) {
        const mid = (lo + hi) >> 1;
        if (met(await at(mid))) hi = mid;
        else lo = mid;
      }
      if (hi < 0) reason = left() <= 0 ? 'the time budget ran out before the target was met' : `even with every unit in ${mode} the target is not met`;
      else if (hi - lo > 1) reason = 'target met; the time budget ran out before the bisection finished (fewer units may do)';
    }
  }
  if (left() <= 0 && !steps.some((s) => s.met)) reason = 'the time budget ran out before the target was met';
  const best = pickBest(steps, target);
  const { overrides } = variantOverrides(ctx, variant(best.fallback));
  const result = await quantize(input, { ...opts, stats: ctx.stats, overrides, savePlan: undefined });
  const search: SearchRecord = {
    target, met: best.met, shortfall: best.met ? null : shortfall(target, best.metrics, ctx), reason, mode, units: ctx.units.length,
    fallback: best.fallback, ranking, steps, final: best.metrics, float: { accuracy: ctx.floatMetrics.accuracy },
    data: { dir: ctx.evalData, samples: ctx.samples, inSample: ctx.inSample },
    trials: ctx.trials, ms: performance.now() - t0, calibrationMs: ctx.timings.calibrationMs,
  };
  result.plan.tuning = search;
  if (opts.savePlan) atomicWrite(opts.savePlan, [Buffer.from(`${JSON.stringify(result.plan, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`)]);
  return { result, search };
}

function meets(t: AccuracyTarget, m: Metrics, ctx: TuningContext): boolean {
  if (t.kind === 'sqnr') return m.sqnrDb >= t.value;
  if (t.kind === 'agreement') return m.agreement !== null && m.agreement * 100 >= t.value - 1e-9;
  return m.accuracy !== null && ctx.floatMetrics.accuracy !== null && (ctx.floatMetrics.accuracy - m.accuracy) * 100 <= t.value + 1e-9;
}

function shortfall(t: AccuracyTarget, m: Metrics, ctx: TuningContext): string {
  if (t.kind === 'sqnr') return `${(t.value - m.sqnrDb).toFixed(2)} dB`;
  if (t.kind === 'agreement') return `${(t.value - (m.agreement ?? 0) * 100).toFixed(2)} points of agreement`;
  return `${((ctx.floatMetrics.accuracy! - (m.accuracy ?? 0)) * 100 - t.value).toFixed(2)} pp of accuracy`;
}

/** Met: the step with the fewest units (then the best metric). Missed: the best metric. */
function pickBest(steps: SearchStep[], t: AccuracyTarget): SearchStep {
  const score = (m: Metrics) => (t.kind === 'sqnr' ? [m.sqnrDb] : t.kind === 'agreement' ? [m.agreement ?? -1, m.sqnrDb] : [m.accuracy ?? -1, m.sqnrDb]);
  const better = (a: Metrics, b: Metrics) => {
    const [x, y] = [score(a), score(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
    return false;
  };
  const metSteps = steps.filter((s) => s.met);
  if (metSteps.length) return metSteps.reduce((b, s) => (s.fallback.length < b.fallback.length || (s.fallback.length === b.fallback.length && better(s.metrics, b.metrics)) ? s : b));
  return steps.reduce((b, s) => (better(s.metrics, b.metrics) ? s : b));
}

