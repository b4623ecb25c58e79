// Drives onnxruntime over the evaluation data ONCE: the float model with the compared float tensors
// exposed as extra outputs, the quantized model with the INTEGER tensors behind the compared ones
// exposed (a QuantizeLinear output is already a tensor of onnxruntime's fused integer graph, so
// exposing it keeps the integer kernels; exposing the DequantizeLinear output would not). Every
// batch feeds the output accumulators and the per-layer accumulators: sums, never activations.
//
// onnxruntime allocates every graph output on every run, fetched or not. The exposed bytes per
// sample are measured on the first sample; when a batch would pass the budget, the batch shrinks
// (models with a free batch dimension) so that one pass still holds everything. Only when even
// that cannot fit are the tensors observed in groups, one more pass per group; more groups cost
// more passes, never a different result.
import { performance } from 'node:perf_hooks';
import { ModelError, UserInputError } from '../errors.js';
import { DataType, dtypeName, type Feeds, type HostTensor, type Model } from '../ir/index.js';
import { hasLazyTensors, modelWithOutputs, type SessionModel } from '../onnx/index.js';
import { profileNodeOutputs, Session, tensorBytes, type SessionOptions } from '../runtime/index.js';
import { batchLength, firstSample, type DataSource } from '../data/index.js';
import { LayerAccumulator, OutputAccumulator, type LayerResult } from './accumulate.js';
import { inlineLayerSink, layerWorkerScript, workerLayerSink, type LayerPart, type LayerSink } from './layer-sink.js';
import type { LayerTarget } from './tensor-map.js';
import type { OutputMetrics } from './types.js';
import type { OpenSessions } from './latency.js';

/** Default bytes of exposed tensors per batch (both models together) one per-layer pass may hold. */
export const DEFAULT_LAYER_BUDGET = 256 * 2 ** 20;

/**
 * Largest bytes one exposed float tensor may have per batch when the pass may choose its batch
 * (no --batch-size, no fixed batch dim). Above glibc's mmap threshold (at most 32 MiB) every
 * fetched output is a fresh mapping, faulted in page by page on every run: on ResNet-18 224 with
 * 31 tensors exposed, 32 samples took 2.16 s in batches of 32 and 0.64-0.73 s in batches of 1-4
 * (0.37-0.42 s fetching only the model outputs).
 */
export const MAX_FETCHED_TENSOR_BYTES = 8 * 2 ** 20;

/** Samples every target is summed over: the first `layerSamples`, or all. */
function layerLimit(run: PassRun): number {
  return run.layerSamples === undefined ? Infinity : Math.max(1, run.layerSamples);
}

export interface Progress {
  phase: 'evaluate' | 'layers' | 'latency';
  done: number;
  total: number;
}

type Floats = Float32Array | Float64Array;

/** A fetched tensor as floats; integer tensors (QOperator outputs) are dequantized with `q`. */
export function hostToFloats(t: HostTensor, q?: { scale: number; zeroPoint: number }): Floats | undefined {
  const d = t.data;
  if (Array.isArray(d)) return undefined;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (q && t.dtype !== DataType.FLOAT16 && !(d instanceof BigInt64Array || d instanceof BigUint64Array)) {
    // As DequantizeLinear computes it: (q − z)·s rounded to float32 (q − z is exact).
    const out = new Float32Array(d.length);
    const { scale: s, zeroPoint: z } = q;
    for (let i = 0; i < d.length; i++) out[i] = (d[i]! - z) * s;
    return out;
  }
  const out = new Float64Array(d.length);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  else for (let i = 0; i < d.length; i++) out[i] = d[i]!;
}


/**
 * Model bytes with `names` added as graph outputs; the model object is left as it was. With
 * `encoded` (the model's bytes as they are, e.g. the file just written) the outputs are appended
 * to those instead of encoding the model again.
 */
export function instrumentedBytes(model: Model, names: readonly string[], encoded?: Uint8Array): SessionModel {
  return modelWithOutputs(model, names, { encoded });
}

export interface PassRun {
  /** The float model the quantized one was made from (as prepared: BN folded), in memory. */
  float: Model;
  quantized: Model;
  /** The encodings of `float` and `quantized` as they are in memory, when the caller has them (sessions append outputs to those). */
  floatBytes?: Uint8Array;
  /**
   * A promise while the quantized model is still being written and checked (the float side is
   * prepared meanwhile): no session of the quantized model opens before it settles, and a
   * rejection fails the pass.
   */
  quantizedBytes?: Uint8Array | PromiseLike<Uint8Array | undefined>;
  /** Per-layer targets; empty for outputs only. */
  targets: readonly LayerTarget[];
  /**
   * Samples every compared tensor is summed over: the first N of the source (default: all). The
   * output metrics always use every sample; past the first N only the model outputs are fetched.
   */
  layerSamples?: number;
  source: DataSource;
  /** The same data at another batch size (models with a free batch dimension), to fit the budget in one pass. */
  reopen?: (batchSize: number) => Promise<DataSource>;
  /** Class indices in sample order, applied to the primary (first) output. */
  labels?: readonly number[];
  session: SessionOptions;
  /** Bytes of exposed tensors per batch (both models together) one pass may hold. */
  budgetBytes?: number;
  histogramBins?: number;
  /**
   * Leave both sessions open when one pass covered everything (PassResult.sessions; the caller
   * closes them), for the latency phase to time instead of opening the files again.
   */
  keepSessions?: boolean;
  onProgress?: (p: Progress) => void;
  /** Sum the per-layer errors on a worker thread (this compiled script) or never (false); default: when it pays and the compiled script is there. */
  layerWorker?: URL | false;
  /**
   * Run the float and the quantized session one after the other, never both loaded at once: the
   * float session goes over the data first and its fetched tensors are kept (within the budget,
   * for all the samples), then the quantized session replays the data against them. Default: when
   * either model is a large one (tensors left in their external data file), where two sessions at
   * once would hold the weights of both. Same results either way.
   */
  sequential?: boolean;
}

export interface PassResult {
  outputs: OutputMetrics[];
  /** Outputs not compared (not numeric, or sizes differ). */
  skippedOutputs: string[];
  layers: LayerRunResult;
  /** With keepSessions and one pass: both sessions, open, and what one sample cost each in the pass. */
  sessions?: OpenSessions;
}

export interface LayerRunResult {
  results: LayerResult[];
  /** Samples the per-layer figures were summed over. */
  samples: number;
  skipped: { tensor: string; reason: string }[];
  passes: number;
}

async function firstBatch(source: DataSource): Promise<Feeds> {
  for await (const b of source.batches()) return b;
  throw new UserInputError('the evaluation data holds no samples');
}

const INT_BYTES: Record<string, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint4: 1, int4: 1 };

/**
 * The first sample, to size the exposed tensors, read once: alone where the batch is free
 * (reopen), not as the first of a whole batch (reading 32 ResNet-18 224 samples took ~0.1 s).
 */
function sampleProbe(run: PassRun): () => Promise<Feeds> {
  let probe: Promise<Feeds> | undefined;
  return () => (probe ??= (async () => {
    const batch = await firstBatch(run.reopen ? await run.reopen(1) : run.source);
    return batchLength(batch) > 1 ? firstSample(batch) : batch;
  })());
}

/** Exposed bytes per sample of each fetched target (float tensor + its quantized counterpart), from one sample. */
async function measureTargets(run: PassRun, probe: () => Promise<Feeds>, fetched: readonly LayerTarget[], fs: Session): Promise<{ sizes: Map<LayerTarget, number>; largest: number }> {
  const names = [...new Set(fetched.map((t) => t.tensor))];
  // A model whose batch dim is fixed above 1 refuses one sample: then the whole first batch.
  const out = await fs.run(await probe(), names).catch(async () => fs.run(await firstBatch(run.source), names));
  const sizes = new Map<LayerTarget, number>();
  let largest = 0;
  for (const t of fetched) {
    const v = out[t.tensor];
    const per = v && !Array.isArray(v.data) ? v.data.byteLength / Math.max(1, v.dims[0] ?? 1) : 0;
    const q = t.fetch ? (per / 4) * (INT_BYTES[t.dtype] ?? 4) : per;
    sizes.set(t, per + q);
    largest = Math.max(largest, per);
  }
  return { sizes, largest };
}

/** Assumed largest ratio of a tensor's size to the input's until measured (as calibration's probe). */
const PROBE_GROWTH = 8;

/**
 * measureTargets' sizes from one profiled plain run of the float model (runtime/profile.ts), or
 * undefined when the profile does not report every target (or cannot be taken), or is not needed.
 */
async function profiledTargets(run: PassRun, probe: () => Promise<Feeds>, fetched: readonly LayerTarget[]): Promise<{ sizes: Map<LayerTarget, number>; largest: number } | undefined> {
  const feeds = await probe();
  // Where every target at PROBE_GROWTH times the input's size fits the budget, exposing them all is
  // cheaper than a second session.
  const input = Object.values(feeds).reduce((n, t) => n + (Array.isArray(t.data) ? 0 : t.data.byteLength), 0);
  if (input * PROBE_GROWTH * fetched.length <= (run.budgetBytes ?? DEFAULT_LAYER_BUDGET)) return undefined;
  let bytes: Map<string, number>;
  try {
    bytes = tensorBytes(run.float.graph.nodes, await profileNodeOutputs(instrumentedBytes(run.float, [], run.floatBytes), feeds, run.session));
  } catch {
    return undefined;
  }
  const sizes = new Map<LayerTarget, number>();
  let largest = 0;
  for (const t of fetched) {
    const per = bytes.get(t.tensor);
    if (per === undefined) return undefined;
    sizes.set(t, per + (t.fetch ? (per / 4) * (INT_BYTES[t.dtype] ?? 4) : per));
    largest = Math.max(largest, per);
  }
  return { sizes, largest };
}

/** Greedy groups whose exposed bytes per batch stay within the budget (each group at least one target). */
function groupBySize(fetched: readonly LayerTarget[], sizes: ReadonlyMap<LayerTarget, number>, batch: number, budget: number): LayerTarget[][] {
  const groups: LayerTarget[][] = [];
  let cur: LayerTarget[] = [];
  let used = 0;
  for (const t of fetched) {
    const bytes = sizes.get(t)! * batch;
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

interface PassCtx {
  run: PassRun;
  /** Most samples any target was summed over. */
  layerSamples: number;
  kept?: OpenSessions;
  passes: number;
  /** Each target's accumulator index in the sink, which sums batch by batch (on a worker thread when it pays). */
  ids: Map<LayerTarget, number>;
  sink: LayerSink;
  /** The pairs of the batch being observed, handed to the sink together. */
  parts: LayerPart[];
  failed: Map<LayerTarget, string>;
  feedNames: Set<string>;
  outputs: Map<string, OutputAccumulator>;
  skippedOutputs: Set<string>;
}

function observePair(ctx: PassCtx, t: LayerTarget, f: HostTensor | undefined, q: HostTensor | undefined): void {
  if (ctx.failed.has(t)) return;
  const fv = f && hostToFloats(f);
  const qv = q && (isInteger(q) ? q.data as IntegerArray : hostToFloats(q, q.dtype === DataType.FLOAT ? undefined : t));
  if (!fv || !qv) {
    ctx.failed.set(t, `onnxruntime returned ${f ? dtypeName(f.dtype) : 'nothing'} / ${q ? dtypeName(q.dtype) : 'nothing'} instead of numbers`);
  } else if (fv.length !== qv.length) {
    ctx.failed.set(t, `float has ${fv.length} values per batch, the quantized counterpart ${qv.length}`);
  } else {
    // A fed tensor is the data source's array: the sink gets a copy (its own arrays may move to a worker).
    const own = fv instanceof Float32Array ? (ctx.feedNames.has(t.tensor) ? fv.slice() : fv) : Float32Array.from(fv);
    ctx.parts.push({ id: ctx.ids.get(t)!, f: own, q: qv });
  }
}

async function flushParts(ctx: PassCtx): Promise<void> {
  if (ctx.parts.length === 0) return;
  const parts = ctx.parts;
  ctx.parts = [];
  await ctx.sink.observe(parts);
}

type IntegerArray = Uint8Array | Int8Array | Uint16Array | Int16Array;

/** The first `m` of a batch of `n` samples (a tensor without that batch dimension as it is). */
function firstSamples(t: HostTensor | undefined, n: number, m: number): HostTensor | undefined {
  if (!t || m >= n || Array.isArray(t.data) || t.dims[0] !== n) return t;
  return { dtype: t.dtype, dims: [m, ...t.dims.slice(1)], data: t.data.subarray(0, (t.data.length / n) * m) };
}

/** 8/16-bit integer tensors the layer accumulator dequantizes itself (no float copy). */
function isInteger(t: HostTensor): boolean {
  return t.dtype === DataType.UINT8 || t.dtype === DataType.INT8 || t.dtype === DataType.INT16 || t.dtype === DataType.UINT16;
}

function observeOutputs(ctx: PassCtx, fo: Record<string, HostTensor>, qo: Record<string, HostTensor>, done: number, n: number): void {
  let k = 0;
  for (const [name, acc] of ctx.outputs) {
    const f = fo[name] && hostToFloats(fo[name]);
    const q = qo[name] && hostToFloats(qo[name]);
    if (!f || !q || f.length !== q.length) ctx.skippedOutputs.add(name);
    else if (!ctx.skippedOutputs.has(name)) acc.add(f, q, fo[name]!.dims, k === 0 ? ctx.run.labels?.slice(done, done + n) : undefined);
    k++;
  }
}

interface Group {
  targets: LayerTarget[];
  /** This pass also computes the output metrics. */
  outputs: boolean;
  floatSession?: Session;
  /** Leave both sessions open in ctx.kept (the only pass, with keepSessions). */
  keep?: boolean;
}

async function runPass(ctx: PassCtx, source: DataSource, g: Group, progress: { done: number; total: number }, sequential: boolean): Promise<void> {
  const { run } = ctx;
  const outNames = g.outputs ? [...ctx.outputs.keys()] : [];
  const fNames = [...new Set([...outNames, ...g.targets.map((t) => t.tensor).filter((n) => !ctx.feedNames.has(n))])];
  const qNames = [...new Set([...outNames, ...g.targets.map((t) => t.fetch ?? t.quantized)])];
  const label = (l: string) => ({ ...run.session, label: `${l}${g.targets.length ? ' (instrumented)' : ''}` });
  const fs = g.floatSession ?? (fNames.length ? await Session.open(instrumentedBytes(run.float, fNames, run.floatBytes), label('float model')) : undefined);
  // The targets are fetched for the first `limit` samples (layerLimit); past them only the outputs.
  const limit = layerLimit(run);
  const names = (done: number) => {
    const any = g.targets.length > 0 && done < limit;
    return { f: any ? fNames : outNames, q: any ? qNames : outNames, any };
  };
  const observeLayers = (done: number, n: number, feeds: Feeds, fo: Record<string, HostTensor>, qo: Record<string, HostTensor>) => {
    if (done >= limit) return Promise.resolve();
    const m = Math.min(n, limit - done);
    for (const t of g.targets) {
      const f = ctx.feedNames.has(t.tensor) ? feeds[t.tensor] : fo[t.tensor];
      observePair(ctx, t, firstSamples(f, n, m), firstSamples(qo[t.fetch ?? t.quantized], n, m));
    }
    if (g.targets.length) ctx.layerSamples = Math.max(ctx.layerSamples, Math.min(done + m, source.sampleCount));
    return flushParts(ctx);
  };
  if (sequential) {
    // The float side first, kept per batch; its session is closed before the quantized one opens.
    const floats: Record<string, HostTensor>[] = [];
    try {
      let done = 0;
      for await (const feeds of source.batches()) {
        const want = names(done);
        if (!g.outputs && !want.any) break;
        floats.push(fs && want.f.length ? await fs.run(feeds, want.f) : {});
        done += batchLength(feeds);
        progress.done += batchLength(feeds);
        run.onProgress?.({ phase: 'evaluate', ...progress });
      }
    } finally {
      await fs?.close();
    }
    const qs = await Session.open(instrumentedBytes(run.quantized, qNames, await run.quantizedBytes), label('quantized model'));
    try {
      let done = 0;
      let k = 0;
      for await (const feeds of source.batches()) {
        if (k >= floats.length) break;
        const n = batchLength(feeds);
        const fo = floats[k]!;
        floats[k++] = {};
        const qo = await qs.run(feeds, names(done).q);
        if (g.outputs) observeOutputs(ctx, fo, qo, done, n);
        await observeLayers(done, n, feeds, fo, qo);
        done += n;
        progress.done += n;
        run.onProgress?.({ phase: 'evaluate', ...progress });
      }
    } finally {
      await qs.close();
    }
    return;
  }
  let qs: Session | undefined;
  let kept = false;
  try {
    qs = await Session.open(instrumentedBytes(run.quantized, qNames, await run.quantizedBytes), label('quantized model'));
    // Milliseconds per sample of each model, the first (colder) batch left out when there are others.
    const cost = { float: 0, quantized: 0, samples: 0, first: { float: 0, quantized: 0, samples: 0 } };
    let done = 0;
    for await (const feeds of source.batches()) {
      const want = names(done);
      if (!g.outputs && !want.any) break;
      const n = batchLength(feeds);
      const t0 = performance.now();
      const fo = fs && want.f.length ? await fs.run(feeds, want.f) : {};
      const t1 = performance.now();
      const qo = await qs.run(feeds, want.q);
      const into = done === 0 ? cost.first : cost;
      into.float += t1 - t0;
      into.quantized += performance.now() - t1;
      into.samples += n;
      if (g.outputs) observeOutputs(ctx, fo, qo, done, n);
      await observeLayers(done, n, feeds, fo, qo);
      done += n;
      progress.done += n;
      run.onProgress?.({ phase: 'evaluate', ...progress });
    }
    if (g.keep && fs) {
      const c = cost.samples ? cost : cost.first;
      const msPerSample = c.samples ? { float: c.float / c.samples, quantized: c.quantized / c.samples } : undefined;
      ctx.kept = { float: fs, quantized: qs, fetches: outNames, msPerSample };
      kept = true;
    }
  } finally {
    if (!kept) {
      await qs?.close();
      await fs?.close();
    }
  }
}

/** Output and per-layer accumulators over the source, in one pass unless the budget forces groups. */
export async function evaluatePass(run: PassRun): Promise<PassResult> {
  const names = run.float.graph.outputs.map((o) => o.name);
  const qOut = new Set(run.quantized.graph.outputs.map((o) => o.name));
  const missing = names.filter((n) => !qOut.has(n));
  if (missing.length) throw new UserInputError(`the quantized model has no output named ${missing.map((n) => `'${n}'`).join(', ')}; compare needs the same outputs in both models`);
  const feedNames = new Set(run.float.graph.feedInputs().map((i) => i.name));
  const ctx: PassCtx = {
    run, feedNames, failed: new Map(), skippedOutputs: new Set(), passes: 0, layerSamples: 0,
    ids: new Map(run.targets.map((t, i) => [t, i])), sink: inlineLayerSink(run.targets, run.histogramBins), parts: [],
    outputs: new Map(names.map((n) => [n, new OutputAccumulator(n)])),
  };
  const fromFeeds = run.targets.filter((t) => feedNames.has(t.tensor));
  const fetched = run.targets.filter((t) => !feedNames.has(t.tensor));
  const budget = run.budgetBytes ?? DEFAULT_LAYER_BUDGET;
  const sequential = run.sequential ?? (hasLazyTensors(run.float) || hasLazyTensors(run.quantized));
  let source = run.source;
  let fetchedBytes = 0;
  const groups: Group[] = [];
  if (fetched.length === 0) {
    groups.push({ targets: [...fromFeeds], outputs: true, keep: run.keepSessions });
  } else {
    const allNames = [...new Set([...names, ...fetched.map((t) => t.tensor)])];
    const openAll = () => Session.open(instrumentedBytes(run.float, allNames, run.floatBytes), { ...run.session, label: 'float model (instrumented)' });
    // Sizes from a profiled plain run when it reports them all: the session exposing every target
    // is opened only for a pass that holds them all anyway (on a 1024² model, a run of it holds GBs).
    let fs: Session | undefined;
    let sizes: Map<LayerTarget, number>;
    let largest: number;
    const probe = sampleProbe(run);
    const profiled = await profiledTargets(run, probe, fetched);
    if (profiled) ({ sizes, largest } = profiled);
    else {
      fs = await openAll();
      try {
        ({ sizes, largest } = await measureTargets(run, probe, fetched, fs));
      } catch (e) {
        await fs.close();
        throw e;
      }
    }
    const perSample = [...sizes.values()].reduce((a, b) => a + b, 0);
    fetchedBytes = perSample;
    const fits = Math.floor(budget / Math.max(1, perSample));
    // A batch the pass may choose (reopen) also keeps every fetched tensor small (MAX_FETCHED_TENSOR_BYTES).
    const small = Math.min(fits, Math.max(1, Math.floor(MAX_FETCHED_TENSOR_BYTES / Math.max(1, largest))));
    // Sequential passes keep the float side of every sample, not of one batch.
    const held = sequential ? source.sampleCount : source.batchSize;
    if (run.reopen && !sequential && small >= 1 && small < source.batchSize) {
      source = await run.reopen(small);
      groups.push({ targets: [...run.targets], outputs: true, floatSession: fs ?? await openAll(), keep: run.keepSessions });
    } else if (perSample * held <= budget) {
      groups.push({ targets: [...run.targets], outputs: true, floatSession: fs ?? await openAll(), keep: run.keepSessions && !sequential });
    } else if (fits >= 1 && run.reopen && !sequential) {
      source = await run.reopen(fits);
      groups.push({ targets: [...run.targets], outputs: true, floatSession: fs ?? await openAll(), keep: run.keepSessions });
    } else {
      await fs?.close();
      const parts = groupBySize(fetched, sizes, held, budget);
      parts[0]!.push(...fromFeeds);
      parts.forEach((p, i) => groups.push({ targets: p, outputs: i === 0 }));
    }
  }
  const progress = { done: 0, total: source.sampleCount * groups.length * (sequential ? 2 : 1) };
  ctx.passes = groups.length;
  // One pass over several batches: sum on a worker while onnxruntime runs the next batch, when
  // the budget holds the batch in flight besides the one being fetched.
  const script = run.layerWorker === false ? undefined : run.layerWorker ?? layerWorkerScript();
  const batchBytes = fetchedBytes * source.batchSize;
  if (script && groups.length === 1 && !sequential && fetched.length && source.sampleCount > source.batchSize && 2 * batchBytes <= budget) {
    ctx.sink = workerLayerSink(run.targets, run.histogramBins, script, 1);
  }
  try {
    for (const g of groups) await runPass(ctx, source, g, progress, sequential);
    return await passResult(ctx, names);
  } catch (e) {
    await ctx.sink.abort();
    await closeSessions(ctx.kept);
    throw e;
  }
}

/** Closes sessions evaluatePass left open (keepSessions). */
export async function closeSessions(s: OpenSessions | undefined): Promise<void> {
  if (!s) return;
  try {
    await s.quantized.close();
  } finally {
    await s.float.close();
  }
}

async function passResult(ctx: PassCtx, names: readonly string[]): Promise<PassResult> {
  const { run } = ctx;
  const fetched = run.targets.filter((t) => !ctx.feedNames.has(t.tensor));
  const results: LayerResult[] = [];
  const skipped = [...ctx.failed].map(([t, reason]) => ({ tensor: t.tensor, reason }));
  const states = await ctx.sink.finish();
  for (const [t, id] of ctx.ids) if (!ctx.failed.has(t)) results.push(LayerAccumulator.fromState(t, states[id]!).result());
  if (results.length === 0 && run.targets.length > 0 && skipped.length === 0) throw new ModelError('per-layer analysis produced no results');
  return {
    outputs: names.filter((n) => !ctx.skippedOutputs.has(n)).map((n) => ctx.outputs.get(n)!.result()),
    skippedOutputs: [...ctx.skippedOutputs],
    layers: {
      results, skipped, passes: fetched.length ? ctx.passes : run.targets.length ? 1 : 0,
      samples: ctx.layerSamples,
    },
    sessions: ctx.kept,
  };
}
