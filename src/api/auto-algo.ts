// --algo auto, end to end. The histogram pass (math/auto-range.ts) gives each tensor the candidate
// with the least expected squared error of its own; that is mse's objective, so it almost always
// says mse, yet a tensor's own error is not the model's: on lenet_bn minmax gives the better logits.
// So the choice is settled on the model output, over the calibration data, in memory:
//   1. score five whole-model assignments: every tensor mse / percentile / minmax / kl, and the
//      per-tensor histogram choice; start from the best;
//   2. one sweep over the tensors in graph order: try each other algorithm's range for that tensor
//      alone, keep it when the output SQNR rises.
// The plan records, per tensor, "auto: <algorithm>".
import type { QuantConfig } from '../config/index.js';
import { histogramOf, rangesFromStats, type StatsFile } from '../calibration/index.js';
import { qRange } from '../math/index.js';
import { rangeError } from '../math/auto-range.js';
import type { RangeInput } from '../quant/plan.js';
import { note, type Note } from '../quant/reasons.js';
import { openTuning, tryVariant, type TuningSource } from './tuning.js';

const ALGOS = ['mse', 'percentile', 'minmax', 'kl'] as const;
/**
 * A change must raise the output SQNR on the calibration data by this much to be kept: smaller
 * gains on 200 samples did not carry over to held-out data (vit_mini: +0.12 dB in-sample over 150
 * trials, −0.09 dB on the 2,000 test digits).
 */
export const AUTO_MIN_GAIN_DB = 0.05;
/** In the sweep, a candidate is tried only when its histogram error is within this factor of the best one's. */
export const AUTO_HISTOGRAM_SLACK = 1.5;

export interface AutoAlgoResult {
  ranges: Map<string, RangeInput>;
  /** Output SQNR on the calibration data: the start, and after the sweep. */
  startDb: number;
  finalDb: number;
  start: string;
  trials: number;
  ms: number;
}

export async function autoAlgoRanges(input: string, stats: StatsFile, needed: readonly string[], config: Readonly<QuantConfig>, src: TuningSource): Promise<AutoAlgoResult> {
  const t0 = performance.now();
  const ctx = await openTuning(input, { ...src, stats, evalData: src.data, labels: undefined });
  const histo = ctx.ranges;
  const cand = new Map<string, Map<string, RangeInput>>();
  for (const algo of ALGOS) {
    const all = rangesFromStats(stats, { ...config, algo });
    cand.set(algo, new Map(needed.filter((t) => all.has(t)).map((t) => [t, { ...all.get(t)!, algo: `auto: ${algo}` }])));
  }
  cand.set('histogram', histo);
  let best = { name: '', db: -Infinity, ranges: histo };
  for (const name of ['mse', 'histogram', 'percentile', 'minmax', 'kl']) {
    const ranges = cand.get(name)!;
    const m = await tryVariant(ctx, { ranges });
    if (m.sqnrDb > best.db + (best.name ? AUTO_MIN_GAIN_DB : 0)) best = { name, db: m.sqnrDb, ranges };
  }
  const startDb = best.db;
  const cur = new Map(best.ranges);
  let db = best.db;
  const symmetric = config.symmetricActivations;
  const q = { ...qRange(config.activationType, { symmetric: symmetric && config.activationType !== 'uint8' }), symmetric };
  for (const t of needed) {
    if (!(t in stats.tensors)) continue;
    const h = histogramOf(stats, t);
    const err = new Map(ALGOS.map((a) => { const r = cand.get(a)!.get(t); return [a, r ? rangeError(h, r.min, r.max, q) : Infinity]; }));
    const least = Math.min(...err.values());
    for (const algo of ALGOS) {
      const now = cur.get(t);
      if (!now) break;
      const r = cand.get(algo)!.get(t);
      if (!r || !(err.get(algo)! <= AUTO_HISTOGRAM_SLACK * least) || (Math.abs(r.min - now.min) <= 1e-7 * Math.abs(now.min) && Math.abs(r.max - now.max) <= 1e-7 * Math.abs(now.max))) continue;
      const trial = new Map(cur).set(t, r);
      const m = await tryVariant(ctx, { ranges: trial });
      if (m.sqnrDb > db + AUTO_MIN_GAIN_DB) {
        db = m.sqnrDb;
        cur.set(t, r);
      }
    }
  }
  return { ranges: cur, startDb, finalDb: db, start: best.name, trials: ctx.trials, ms: performance.now() - t0 };
}

/** quantize()'s hook: the end-to-end choice when calibration data is at hand, else the histogram's. */
export async function autoRangesFor(input: string, stats: StatsFile, needed: readonly string[], config: Readonly<QuantConfig>, opts: TuningSource, notes: Note[]): Promise<Map<string, RangeInput>> {
  if (!opts.data) {
    notes.push(note('algo-auto', '--algo auto chose each range on its histogram only (no calibration data folder to score the model output with; --stats was used)'));
    return rangesFromStats(stats, config);
  }
  const a = await autoAlgoRanges(input, stats, needed, config, { data: opts.data, preprocess: opts.preprocess, configFile: opts.configFile, config: { ...opts.config, format: 'qdq' } });
  const count: Record<string, number> = {};
  for (const r of a.ranges.values()) count[r.algo] = (count[r.algo] ?? 0) + 1;
  notes.push(note('algo-auto', `--algo auto: started from ${a.start} (${a.startDb.toFixed(2)} dB on the calibration data), ${a.finalDb.toFixed(2)} dB after the per-tensor sweep; ${Object.entries(count).map(([k, n]) => `${n}× ${k.replace('auto: ', '')}`).join(', ')} (${a.trials} trials, ${(a.ms / 1000).toFixed(1)} s)`));
  return a.ranges;
}
