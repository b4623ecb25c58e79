// Drives onnxruntime over the evaluation data: the unmodified models for the output metrics, and
// instrumented copies (compared tensors exposed as extra graph outputs) for the per-layer ones.
//
// onnxruntime allocates every graph output on every run, fetched or not, so the instrumented
// sessions expose only one group of tensors at a time; groups are sized by a budget of bytes per
// batch, measured on the first sample. More groups cost more passes, never a different result.
import { ModelError, UserInputError } from '../errors.js';
import { DataType, dtypeName, type Feeds, type HostTensor, type Model } from '../ir/index.js';
import { modelWithOutputs } from '../onnx/index.js';
import { Session, type SessionOptions } from '../runtime/index.js';
import { batchLength, firstSample, type DataSource } from '../data/index.js';
import { LayerAccumulator, OutputAccumulator, type LayerResult } from './accumulate.js';
import type { LayerTarget } from './tensor-map.js';
import type { OutputMetrics } from './types.js';

/** Default bytes of exposed tensors per batch (both models together) one per-layer pass may hold. */
export const DEFAULT_LAYER_BUDGET = 256 * 2 ** 20;

export interface Progress {
  phase: 'outputs' | 'layers' | 'latency';
  done: number;
  total: number;
}

type Floats = Float32Array | Float64Array;

/** A fetched tensor as floats; integer tensors (QOperator outputs) are dequantized with `q`. */
export function hostToFloats(t: HostTensor, q?: { scale: number; zeroPoint: number }): Floats | undefined {
  const d = t.data;
  if (Array.isArray(d)) return undefined;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  const out = new Float64Array(d.length);
  const s = q?.scale ?? 1;
  const z = q?.zeroPoint ?? 0;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  else for (let i = 0; i < d.length; i++) out[i] = d[i]!;
  if (q && t.dtype !== DataType.FLOAT16) for (let i = 0; i < out.length; i++) out[i] = (out[i]! - z) * s;
  return out;
}


export interface OutputRun {
  float: Session;
  quantized: Session;
  source: DataSource;
  /** Class indices in sample order, applied to the primary (first) output. */
  labels?: readonly number[];
  onProgress?: (p: Progress) => void;
}

/** Output metrics of the unmodified models over the whole source. */
export async function evaluateOutputs(run: OutputRun): Promise<{ outputs: OutputMetrics[]; skipped: string[] }> {
  const names = run.float.outputNames;
  const missing = names.filter((n) => !run.quantized.outputNames.includes(n));
  if (missing.length) throw new UserInputError(`the quantized model has no output named ${missing.map((n) => `'${n}'`).join(', ')}; compare needs the same outputs in both models`);
  const accs = new Map(names.map((n) => [n, new OutputAccumulator(n)]));
  const skipped = new Set<string>();
  let done = 0;
  for await (const feeds of run.source.batches()) {
    const n = batchLength(feeds);
    const [fo, qo] = [await run.float.run(feeds), await run.quantized.run(feeds, names)];
    names.forEach((name, k) => {
      const f = hostToFloats(fo[name]!);
      const q = hostToFloats(qo[name]!);
      if (!f || !q || f.length !== q.length) {
        skipped.add(name);
        return;
      }
      accs.get(name)!.add(f, q, fo[name]!.dims, k === 0 ? run.labels?.slice(done, done + n) : undefined);
    });
    done += n;
    run.onProgress?.({ phase: 'outputs', done, total: run.source.sampleCount });
  }
  return { outputs: names.filter((n) => !skipped.has(n)).map((n) => accs.get(n)!.result()), skipped: [...skipped] };
}

/** Model bytes with `names` added as graph outputs; the model object is left as it was. */
export function instrumentedBytes(model: Model, names: readonly string[]): Uint8Array | string {
  return modelWithOutputs(model, names);
}

export interface LayerRun {
  float: Model;
  quantized: Model;
  targets: readonly LayerTarget[];
  source: DataSource;
  batchSize: number;
  session: SessionOptions;
  budgetBytes?: number;
  histogramBins?: number;
  onProgress?: (p: Progress) => void;
}

export interface LayerRunResult {
  results: LayerResult[];
  skipped: { tensor: string; reason: string }[];
  passes: number;
}


async function firstBatch(source: DataSource): Promise<Feeds> {
  for await (const b of source.batches()) return b;
  throw new UserInputError('the evaluation data holds no samples');
}

/** Splits targets into groups whose exposed bytes per batch (float + quantized) stay within budget. */
async function groupTargets(run: LayerRun, fetched: LayerTarget[]): Promise<LayerTarget[][]> {
  if (fetched.length === 0) return [];
  const batch = await firstBatch(run.source);
  const n = batchLength(batch);
  const probeFeeds = n > 1 ? firstSample(batch) : batch;
  const names = fetched.map((t) => t.tensor);
  let out: Record<string, HostTensor>;
  const s = await Session.open(instrumentedBytes(run.float, names), { ...run.session, label: `${run.session.label ?? 'float model'} (instrumented)` });
  try {
    out = await s.run(probeFeeds, [...new Set(names)]).catch(() => s.run(batch, [...new Set(names)]));
  } finally {
    await s.close();
  }
  const perSample = (t: LayerTarget) => {
    const v = out[t.tensor];
    const b = v?.dims[0] ?? 1;
    return v && !Array.isArray(v.data) ? (v.data.byteLength / Math.max(1, b)) * 2 : 0;
  };
  const budget = run.budgetBytes ?? DEFAULT_LAYER_BUDGET;
  const groups: LayerTarget[][] = [];
  let cur: LayerTarget[] = [];
  let used = 0;
  for (const t of fetched) {
    const bytes = perSample(t) * run.batchSize;
    if (cur.length > 0 && used + bytes > budget) {
      groups.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(t);
    used += bytes;
  }
  groups.push(cur);
  return groups;
}

interface GroupCtx {
  run: LayerRun;
  accs: Map<LayerTarget, LayerAccumulator>;
  failed: Map<LayerTarget, string>;
  feedNames: Set<string>;
}

function observePair(ctx: GroupCtx, t: LayerTarget, f: HostTensor | undefined, q: HostTensor | undefined): void {
  if (ctx.failed.has(t)) return;
  const fv = f && hostToFloats(f);
  const qv = q && hostToFloats(q, q.dtype === DataType.FLOAT ? undefined : t);
  if (!fv || !qv) {
    ctx.failed.set(t, `onnxruntime returned ${f ? dtypeName(f.dtype) : 'nothing'} / ${q ? dtypeName(q.dtype) : 'nothing'} instead of numbers`);
  } else if (fv.length !== qv.length) {
    ctx.failed.set(t, `float has ${fv.length} values per batch, the quantized counterpart ${qv.length}`);
  } else {
    ctx.accs.get(t)!.add(fv instanceof Float32Array ? fv : Float32Array.from(fv), qv);
  }
}

async function runGroup(ctx: GroupCtx, group: LayerTarget[], progress: { done: number; total: number }): Promise<void> {
  const { run } = ctx;
  const fNames = [...new Set(group.map((t) => t.tensor).filter((n) => !ctx.feedNames.has(n)))];
  const qNames = [...new Set(group.map((t) => t.quantized))];
  const label = (l: string) => ({ ...run.session, label: `${l} (instrumented)` });
  const fs = fNames.length ? await Session.open(instrumentedBytes(run.float, fNames), label('float model')) : undefined;
  const qs = await Session.open(instrumentedBytes(run.quantized, qNames), label('quantized model'));
  try {
    for await (const feeds of run.source.batches()) {
      const fo = fs ? await fs.run(feeds, fNames) : {};
      const qo = await qs.run(feeds, qNames);
      for (const t of group) observePair(ctx, t, ctx.feedNames.has(t.tensor) ? feeds[t.tensor] : fo[t.tensor], qo[t.quantized]);
      progress.done += batchLength(feeds);
      run.onProgress?.({ phase: 'layers', ...progress });
    }
  } finally {
    await fs?.close();
    await qs.close();
  }
}

/** Per-layer accumulators over the source, through instrumented copies of both models. */
export async function evaluateLayers(run: LayerRun): Promise<LayerRunResult> {
  const feedNames = new Set(run.float.graph.feedInputs().map((i) => i.name));
  const accs = new Map(run.targets.map((t) => [t, new LayerAccumulator(t, run.histogramBins)]));
  const ctx: GroupCtx = { run, accs, feedNames, failed: new Map() };
  const fromFeeds = run.targets.filter((t) => feedNames.has(t.tensor));
  const groups = await groupTargets(run, run.targets.filter((t) => !feedNames.has(t.tensor)));
  if (groups.length === 0) groups.push([]);
  groups[0]!.push(...fromFeeds);
  const progress = { done: 0, total: run.source.sampleCount * groups.length };
  for (const g of groups) if (g.length) await runGroup(ctx, g, progress);
  const results: LayerResult[] = [];
  const skipped = [...ctx.failed].map(([t, reason]) => ({ tensor: t.tensor, reason }));
  for (const [t, a] of accs) if (!ctx.failed.has(t)) results.push(a.result());
  if (results.length === 0 && run.targets.length > 0 && skipped.length === 0) throw new ModelError('per-layer analysis produced no results');
  return { results, skipped, passes: groups.filter((g) => g.length).length };
}
