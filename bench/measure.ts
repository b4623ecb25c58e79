// Measurement primitives for the benchmarks: feeds, alternating latency rounds, plain inference
// over calibration samples, child processes for clean peak-RSS figures, and the machine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { readModel } from '../src/index.js';
import { Session } from '../src/runtime/index.js';
import { prng } from './data.js';

export const THREADS = 2;

export interface InputSpec {
  name: string;
  /** Dims of one sample, batch dim excluded. */
  sample: number[];
}

/** The model's single float feed: its name and per-sample dims (dim 0 is the batch). */
export function inputSpec(file: string): InputSpec {
  const feeds = readModel(file).graph.feedInputs();
  const first = feeds[0];
  if (feeds.length !== 1 || !first?.shape) throw new Error(`${file}: benchmarks expect exactly one input of known rank`);
  const sample = first.shape.slice(1).map((d) => (typeof d === 'number' ? d : NaN));
  if (sample.some((d) => !Number.isInteger(d))) throw new Error(`${file}: only the batch dim may be symbolic`);
  return { name: first.name, sample };
}

export function randomFeed(spec: InputSpec, batch: number, seed = 7): Record<string, { dtype: 1; dims: number[]; data: Float32Array }> {
  const rand = prng(seed);
  const size = batch * spec.sample.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: size }, () => rand() * 2 - 1);
  return { [spec.name]: { dtype: 1, dims: [batch, ...spec.sample], data } };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

export interface LatencyStats {
  medianMs: number;
  p25Ms: number;
  p75Ms: number;
  runs: number;
  /** Cores kept busy by other processes during the whole alternation (see foreignCores); over processes, the most. */
  foreignCores?: number;
  /** Median of each round (all processes, in order): speedups pair the rounds of two models. */
  roundMedians: number[];
  /** When combined over processes: each process's median, in the order measured. */
  processMedians?: number[];
}

/**
 * float/int8 speedup as the median over rounds of the ratio of the two models' medians in the
 * same round: adjacent turns share whatever the machine was doing, so a burst of load that hits
 * a few rounds moves this less than a ratio of overall medians.
 */
export function pairedSpeedup(float: LatencyStats, int8: LatencyStats): number {
  const n = Math.min(float.roundMedians.length, int8.roundMedians.length);
  return median(Array.from({ length: n }, (_, i) => float.roundMedians[i]! / int8.roundMedians[i]!));
}

/**
 * Latency of several models on one feed, measured in alternation so that drift (thermal, noisy
 * neighbours) hits them alike: warm-up, then `rounds` rounds in which every model runs
 * `runsPerRound` times back to back, the order rotating each round. Each model gets the same
 * number of runs, chosen from the warm-up so one round of one model takes about `roundMs`.
 */
export async function alternateLatency(
  files: Record<string, string>, batch: number, opts: { rounds?: number; roundMs?: number; warmup?: number } = {},
): Promise<Record<string, LatencyStats>> {
  const { rounds = 7, roundMs = 200, warmup = 3 } = opts;
  const labels = Object.keys(files);
  const feed = randomFeed(inputSpec(Object.values(files)[0]!), batch);
  const sessions: Session[] = [];
  for (const l of labels) sessions.push(await Session.open(files[l]!, { threads: THREADS, optimizationLevel: 'all' }));
  let slowest = 0;
  for (const s of sessions) {
    for (let i = 0; i < warmup; i++) await s.run(feed);
    const t0 = performance.now();
    await s.run(feed);
    slowest = Math.max(slowest, performance.now() - t0);
  }
  const k = Math.max(1, Math.min(500, Math.round(roundMs / Math.max(slowest, 1e-3))));
  const times: number[][] = labels.map(() => []);
  const roundMedians: number[][] = labels.map(() => []);
  const mark = cpuMark();
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < labels.length; j++) {
      const m = (j + r) % labels.length;
      const turn: number[] = [];
      for (let i = 0; i < k; i++) {
        const t0 = performance.now();
        await sessions[m]!.run(feed);
        turn.push(performance.now() - t0);
      }
      times[m]!.push(...turn);
      roundMedians[m]!.push(median(turn));
    }
  }
  const foreign = foreignCores(mark);
  for (const s of sessions) await s.close();
  return Object.fromEntries(labels.map((l, i) => [l, {
    medianMs: median(times[i]!), p25Ms: quantile(times[i]!, 0.25), p75Ms: quantile(times[i]!, 0.75), runs: times[i]!.length,
    foreignCores: foreign, roundMedians: roundMedians[i]!,
  }]));
}

export const QUIET_CORES = 0.2;

/** One budget of waiting for a quiet machine, shared by a whole benchmark run. */
export class WaitBudget {
  constructor(public remainingMs: number) {}

  /** Sleeps in 2 s windows until one shows at most QUIET_CORES of other load, or the budget is spent. */
  async waitForQuiet(): Promise<void> {
    while (this.remainingMs > 0) {
      const mark = cpuMark();
      await new Promise((r) => setTimeout(r, 2000));
      this.remainingMs -= 2000;
      const load = foreignCores(mark);
      if (load === undefined || load <= QUIET_CORES) return;
    }
  }
}

const loadOf = (r: Record<string, LatencyStats>) => Object.values(r)[0]?.foreignCores ?? 0;

/**
 * Latency from several processes: the same model can settle at a different speed in another
 * process (thread placement, memory layout), so one process is not enough. Runs `measure` (one
 * fresh process each time) after waiting for a quiet machine, until `want` quiet measurements or
 * `maxTries` tries; keeps the quiet ones (else the `want` least noisy) and reports, per model, the
 * median over processes of each process's median.
 */
export async function repeatLatency(
  measure: () => Promise<Record<string, LatencyStats>>, budget: WaitBudget, want = 3, maxTries = 5,
): Promise<Record<string, LatencyStats>> {
  const quiet: Record<string, LatencyStats>[] = [];
  const noisy: Record<string, LatencyStats>[] = [];
  for (let i = 0; i < maxTries && quiet.length < want; i++) {
    await budget.waitForQuiet();
    const r = await measure();
    (loadOf(r) <= QUIET_CORES ? quiet : noisy).push(r);
  }
  const kept = quiet.length ? quiet : noisy.sort((a, b) => loadOf(a) - loadOf(b)).slice(0, want);
  return Object.fromEntries(Object.keys(kept[0]!).map((label) => {
    const all = kept.map((k) => k[label]!);
    return [label, {
      medianMs: median(all.map((x) => x.medianMs)), p25Ms: median(all.map((x) => x.p25Ms)), p75Ms: median(all.map((x) => x.p75Ms)),
      runs: all.reduce((a, x) => a + x.runs, 0), foreignCores: Math.max(...kept.map(loadOf)), processMedians: all.map((x) => x.medianMs),
      roundMedians: all.flatMap((x) => x.roundMedians),
    } satisfies LatencyStats];
  }));
}

/** Float32 samples of a folder of .npy files (v1–v3 headers), in name order. */
export function readNpySamples(dir: string, count: number): Float32Array[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.npy')).sort().slice(0, count);
  return files.map((f) => {
    const bytes = fs.readFileSync(path.join(dir, f));
    const headerLen = bytes[6] === 1 ? 10 + bytes.readUInt16LE(8) : 12 + bytes.readUInt32LE(8);
    const body = bytes.subarray(headerLen);
    return new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  });
}

/**
 * Plain float inference over the same samples calibration sees, with the session settings
 * calibration uses (onnxruntime's default threads and optimisation): the denominator of the
 * calibration-cost ratio. Samples are read before timing starts; the median of three passes.
 */
export async function plainInferenceMs(file: string, dataDir: string, samples: number): Promise<number> {
  const spec = inputSpec(file);
  const data = readNpySamples(dataDir, samples);
  const session = await Session.open(file);
  const feed = (d: Float32Array) => ({ [spec.name]: { dtype: 1 as const, dims: [1, ...spec.sample], data: d } });
  await session.run(feed(data[0]!));
  const passes: number[] = [];
  for (let p = 0; p < 3; p++) {
    const t0 = performance.now();
    for (const d of data) await session.run(feed(d));
    passes.push(performance.now() - t0);
  }
  await session.close();
  return median(passes);
}

/** A point on two clocks: the machine's busy CPU time (/proc/stat) and this process's own. */
export interface CpuMark {
  wallMs: number;
  machineBusyS?: number;
  ownS: number;
}

export function cpuMark(): CpuMark {
  const own = process.cpuUsage();
  let machineBusyS: number | undefined;
  try {
    // cpu  user nice system idle iowait irq softirq steal …, in USER_HZ ticks (100/s on Linux).
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    machineBusyS = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
  } catch {
    machineBusyS = undefined;
  }
  return { wallMs: performance.now(), machineBusyS, ownS: (own.user + own.system) / 1e6 };
}

/**
 * Average number of cores other processes kept busy between two marks: the benchmark shares the
 * machine, so every figure carries this to show how much to trust it. Undefined off Linux.
 */
export function foreignCores(from: CpuMark, to: CpuMark = cpuMark()): number | undefined {
  if (from.machineBusyS === undefined || to.machineBusyS === undefined) return undefined;
  const wallS = (to.wallMs - from.wallMs) / 1000;
  return Math.max(0, (to.machineBusyS - from.machineBusyS - (to.ownS - from.ownS)) / wallS);
}

/** Peak resident set of this process so far, MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

const RESULT = 'BENCH-RESULT ';

/** In a child: hand a JSON result to the parent. */
export function reply(value: unknown): void {
  process.stdout.write(`\n${RESULT}${JSON.stringify(value)}\n`);
}

/** Runs `script --child <args>` in a fresh node process (same loader as this one) and returns its reply. */
export function runChild<T>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, '--child', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code !== 0 || !line) reject(new Error(`child ${path.basename(script)} ${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(RESULT.length)) as T);
    });
  });
}

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  node: string;
  onnxruntime: string;
  os: string;
}

export function machine(): Machine {
  const require = createRequire(import.meta.url);
  const ortPkg = require('onnxruntime-node/package.json') as { version: string };
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, onnxruntime: ortPkg.version, os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}
