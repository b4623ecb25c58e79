// Latency of both models in onnxruntime-node. The models alternate within every round (float,
// quantized; then quantized, float) so that drift in the machine's state (frequency scaling, other
// load) hits both alike; each figure is the median over the timed runs.
//
// Verification times the model files, opened as they are. Sessions with the compared tensors
// exposed are no measure of speed: onnxruntime allocates every graph output on every run, fetched
// or not (ResNet-18's float model took 242 ms at batch 8 there, 81 ms plain). Only an evaluation
// pass without per-layer analysis leaves its sessions (plain ones) for this phase to time.
//
// Fewer runs than a benchmark, still enough for a median: per batch size, one warm-up run of each
// model unless a run is known to take over SLOW_RUN_MS (known from the evaluation pass, or from the
// batch size timed before; the median of ≥ 3 rounds then absorbs a first, colder run); then rounds
// of ≥ minRoundMs per model, 3 to `rounds`, no new round past the 3rd once `budgetMs` is spent
// (always 3 for runs over SLOW_RUN_MS). Batch 1 by default: every batch size costs its own rounds
// (batch 8 of ResNet-18 224 took ~0.5 s of a quantize run), more with --latency-batches.
import { performance } from 'node:perf_hooks';
import type { Feeds } from '../ir/index.js';
import { Session, type SessionOptions } from '../runtime/index.js';
import type { LatencyResult, LatencySection } from './types.js';
import type { Progress } from './evaluate.js';

export interface LatencyOptions {
  /** Batch sizes to time (default [1]; the CLI's --latency-batches). */
  batchSizes?: number[];
  /** Most rounds of alternating runs (default 5; at least 3 are run unless fewer are given, then exactly that many). */
  rounds?: number;
  /** Aim for at least this many milliseconds per model per round (default 40). */
  minRoundMs?: number;
  /** Milliseconds per batch size after which no round past the 3rd starts (default 1000). */
  budgetMs?: number;
  /** Quantized/float time ratio above which the quantized model counts as slower (default 1.05). */
  slowerTolerance?: number;
}

export const LATENCY_DEFAULTS = { batchSizes: [1], rounds: 5, minRounds: 3, minRoundMs: 40, budgetMs: 1000, slowerTolerance: 1.05, threads: 2 } as const;

/** A run this long (ms) is timed in 3 rounds of one run, without a warm-up run when known in advance. */
export const SLOW_RUN_MS = 100;

export const LATENCY_NOTES = {
  evaluation: 'Timed on the sessions of the evaluation pass (the models as they are, no tensor exposed). ' +
    'Median of alternating float/quantized rounds; one warm-up run per model unless a run takes over 100 ms.',
  files: 'Timed on the unmodified model files. Median of alternating float/quantized rounds; one warm-up run per model unless the batch size timed before shows a run takes over 100 ms.',
} as const;

/** Sessions already open and run (the evaluation pass's): timed as they are, left open. */
export interface OpenSessions {
  float: Session;
  quantized: Session;
  /** What to fetch: the model's own outputs. */
  fetches: readonly string[];
  /** Milliseconds per sample each model took in the evaluation pass (to size the runs without a warm-up). */
  msPerSample?: { float: number; quantized: number };
}

export interface LatencyRun {
  floatModel: string;
  quantizedModel: string;
  /** Time these instead of opening the files. */
  sessions?: OpenSessions;
  /** Feeds per batch size; a batch size without feeds is reported as skipped with `skipReasons`. */
  feeds: Map<number, Feeds>;
  skipReasons: Map<number, string>;
  session: SessionOptions;
  options?: LatencyOptions;
  onProgress?: (p: Progress) => void;
  /**
   * Time one model after the other, never both loaded at once (large models, where two sessions
   * would hold the weights of both). The models then do not alternate within rounds: a drift of
   * the machine's state between the two halves shows in the ratio.
   */
  sequential?: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timeRuns(s: Session, feeds: Feeds, fetches: readonly string[] | undefined, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await s.run(feeds, fetches);
    into.push(performance.now() - t0);
  }
}

type Resolved = Required<LatencyOptions> & { fixedRounds: boolean };

async function timeBatch(f: Session, q: Session, feeds: Feeds, o: Resolved, fetches: readonly string[] | undefined, estimateMs: number | undefined): Promise<{ floatMs: number; quantizedMs: number; runs: number; rounds: number }> {
  let per = estimateMs;
  if (per === undefined || per <= SLOW_RUN_MS) {
    const warm: number[] = [];
    await timeRuns(f, feeds, fetches, 1, warm);
    await timeRuns(q, feeds, fetches, 1, warm);
    per = Math.max(...warm);
  }
  const slow = per > SLOW_RUN_MS;
  const runs = slow ? 1 : Math.min(50, Math.max(1, Math.ceil(o.minRoundMs / Math.max(per, 1e-3))));
  const minRounds = Math.min(LATENCY_DEFAULTS.minRounds, o.rounds);
  const ft: number[] = [];
  const qt: number[] = [];
  const t0 = performance.now();
  let r = 0;
  while (r < o.rounds) {
    const order: [Session, number[]][] = r % 2 === 0 ? [[f, ft], [q, qt]] : [[q, qt], [f, ft]];
    for (const [s, into] of order) await timeRuns(s, feeds, fetches, runs, into);
    r++;
    if (!o.fixedRounds && r >= minRounds && (slow || performance.now() - t0 >= o.budgetMs)) break;
  }
  return { floatMs: median(ft), quantizedMs: median(qt), runs, rounds: r };
}

/** One model alone: warm-up as timeBatch does, then rounds of runs. */
async function timeAlone(s: Session, feeds: Feeds, o: Required<LatencyOptions> & { fixedRounds: boolean }): Promise<{ ms: number; runs: number; rounds: number }> {
  const warm: number[] = [];
  await timeRuns(s, feeds, undefined, 1, warm);
  const slow = Math.min(...warm) > SLOW_RUN_MS;
  if (!slow) await timeRuns(s, feeds, undefined, 2, warm);
  const per = Math.max(median(warm), 1e-3);
  const runs = Math.min(50, Math.max(1, Math.ceil(o.minRoundMs / per)));
  const rounds = slow && !o.fixedRounds ? Math.min(3, o.rounds) : o.rounds;
  const t: number[] = [];
  for (let r = 0; r < rounds; r++) await timeRuns(s, feeds, undefined, runs, t);
  return { ms: median(t), runs, rounds };
}

async function measureSequential(run: LatencyRun, o: Required<LatencyOptions> & { fixedRounds: boolean }, opts: SessionOptions, threads: number): Promise<LatencySection> {
  const skipped: LatencySection['skipped'] = [];
  const timed = new Map<number, { f?: { ms: number; runs: number; rounds: number }; q?: { ms: number; runs: number; rounds: number } }>();
  for (const batch of o.batchSizes) {
    if (run.feeds.get(batch)) timed.set(batch, {});
    else skipped.push({ batch, reason: run.skipReasons.get(batch) ?? 'no data for this batch size' });
  }
  let step = 0;
  for (const [side, file] of [['f', run.floatModel], ['q', run.quantizedModel]] as const) {
    const s = await Session.open(file, { ...opts, label: file });
    try {
      for (const [batch, t] of timed) {
        t[side] = await timeAlone(s, run.feeds.get(batch)!, o);
        run.onProgress?.({ phase: 'latency', done: ++step, total: timed.size * 2 });
      }
    } finally {
      await s.close();
    }
  }
  const results: LatencyResult[] = [...timed].map(([batch, t]) => ({ batch, floatMs: t.f!.ms, quantizedMs: t.q!.ms, speedup: t.f!.ms / t.q!.ms }));
  const all = [...timed.values()].flatMap((t) => [t.f!, t.q!]);
  return {
    threads,
    rounds: Math.max(0, ...all.map((t) => t.rounds)) || o.rounds,
    runsPerRound: Math.max(0, ...all.map((t) => t.runs)),
    results,
    skipped,
    quantizedSlower: results.some((r) => r.quantizedMs > r.floatMs * o.slowerTolerance),
    slowerTolerance: o.slowerTolerance,
  };
}

export async function measureLatency(run: LatencyRun): Promise<LatencySection> {
  const o: Resolved = {
    ...LATENCY_DEFAULTS, batchSizes: [...LATENCY_DEFAULTS.batchSizes], ...run.options, fixedRounds: run.options?.rounds !== undefined,
  };
  const threads = run.session.threads ?? LATENCY_DEFAULTS.threads;
  const opts = { ...run.session, threads };
  if (run.sequential) return measureSequential(run, o, opts, threads);
  const own = run.sessions === undefined;
  const f = run.sessions?.float ?? await Session.open(run.floatModel, { ...opts, label: run.floatModel });
  let q: Session | undefined;
  const results: LatencyResult[] = [];
  const skipped: LatencySection['skipped'] = [];
  let runsPerRound = 0;
  let rounds = 0;
  try {
    q = run.sessions?.quantized ?? await Session.open(run.quantizedModel, { ...opts, label: run.quantizedModel });
    // Milliseconds a sample costs (the slower model): from the evaluation pass, then from each
    // batch size timed, to size the next one's runs without a warm-up once they are slow.
    let perSample = run.sessions?.msPerSample && Math.max(run.sessions.msPerSample.float, run.sessions.msPerSample.quantized);
    for (const [k, batch] of o.batchSizes.entries()) {
      const feeds = run.feeds.get(batch);
      if (!feeds) {
        skipped.push({ batch, reason: run.skipReasons.get(batch) ?? 'no data for this batch size' });
        continue;
      }
      const t = await timeBatch(f, q, feeds, o, run.sessions?.fetches, perSample ? perSample * batch : undefined);
      perSample = Math.max(t.floatMs, t.quantizedMs) / batch;
      runsPerRound = Math.max(runsPerRound, t.runs);
      rounds = Math.max(rounds, t.rounds);
      results.push({ batch, floatMs: t.floatMs, quantizedMs: t.quantizedMs, speedup: t.floatMs / t.quantizedMs, rounds: t.rounds, runsPerRound: t.runs });
      run.onProgress?.({ phase: 'latency', done: k + 1, total: o.batchSizes.length });
    }
  } finally {
    if (own) {
      await f.close();
      await q?.close();
    }
  }
  return {
    threads,
    rounds: rounds || o.rounds,
    runsPerRound,
    results,
    skipped,
    quantizedSlower: results.some((r) => r.quantizedMs > r.floatMs * o.slowerTolerance),
    slowerTolerance: o.slowerTolerance,
    sessions: own ? 'files' : 'evaluation',
    note: own ? LATENCY_NOTES.files : LATENCY_NOTES.evaluation,
  };
}

/** The loud warning every renderer shows when the quantized model is slower. */
export function slowerWarning(l: LatencySection): string | undefined {
  if (!l.quantizedSlower) return undefined;
  const worst = l.results.reduce((a, b) => (b.speedup < a.speedup ? b : a));
  return `THE QUANTIZED MODEL IS SLOWER than the float one: ${worst.quantizedMs.toFixed(3)} ms vs ${worst.floatMs.toFixed(3)} ms at batch ${worst.batch} ` +
    `(${(1 / worst.speedup).toFixed(2)}× the time). onnxruntime may not be fusing the Q/DQ pairs into integer kernels on this CPU, or the model is too small to gain.`;
}
