// Drives onnxruntime over a data source and feeds every observed tensor into its collector.
//
// The tensors are exposed as extra graph outputs of a copy of the encoded model and fetched per
// batch; each batch's outputs are observed and dropped, so memory holds one batch of activations.
// onnxruntime allocates EVERY graph output of a session on each run, fetched or not (measured:
// 40 extra outputs of 32 MB cost 1.2 GB even when one is fetched), so bounding memory needs
// sessions that only output a subset. When the tensors of one batch would pass the budget, they
// are observed in groups, each group one session and one more pass over the data: memory stays
// bounded at the price of running the model once per group. Grouping never changes a result:
// each tensor's collector sees the same batches in the same order either way.
//
// onnxruntime-node runs a session on the JS thread, so binning cannot overlap inference there.
// When there is enough to bin (see WORKER_MIN_BATCHES) and more than one CPU, the collectors live
// on a worker thread (sink.ts) that bins batch n while onnxruntime computes batch n+1. It receives
// the batches in order, so results are identical; it queues at most two batches, and only as many
// as the activation budget holds.
import { DataType, dtypeName, type Feeds, type HostTensor, type Model } from '../ir/index.js';
import { ModelError } from '../errors.js';
import { modelWithOutputs, type SessionModel } from '../onnx/index.js';
import { profileNodeOutputs, Session, tensorBytes, type SessionOptions } from '../runtime/index.js';
import { batchLength, firstSample, type DataSource } from '../data/index.js';
import type { TensorObservation } from './collectors.js';
import { inlineSink, workerSink, workerScript, type BatchPart, type ObservationSink } from './sink.js';
import { groupByBudget, planObservation } from './targets.js';
import { exposeBodyTensors } from './expose.js';

/** Default bytes of fetched activations per batch that one pass may hold. */
export const DEFAULT_ACTIVATION_BUDGET = 512 * 2 ** 20;

export interface ObserveOptions {
  /** Samples per batch the source yields; sizes the groups. */
  batchSize: number;
  bins?: number;
  /** Also keep the (order-dependent) moving average of per-batch extrema. */
  movingAverage?: boolean;
  /**
   * Requested tensor → axis (negative: from the end) to also keep a per-channel abs-max along.
   * Such a tensor is observed itself, not through the reshape chain it may come from (a reshape
   * moves its channels). Tensors inside If/Loop/Scan bodies get none.
   */
  channelAxes?: ReadonlyMap<string, number>;
  providers?: string[];
  threads?: number;
  optimizationLevel?: SessionOptions['optimizationLevel'];
  /** Bytes of fetched activations per batch one pass may hold (default DEFAULT_ACTIVATION_BUDGET). */
  budgetBytes?: number;
  /** Called after every batch with samples processed over all passes and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Names the model in error messages. */
  label?: string;
  /**
   * The model's bytes as encoded already (by the caller, e.g. to hash it), in its current state:
   * sessions append their outputs to these instead of encoding the model again.
   */
  encoded?: Uint8Array;
  /**
   * Bin each batch on a worker thread while onnxruntime runs the next. Default: when it pays off
   * (see WORKER_MIN_BATCHES); true: whenever it can (more than one CPU, the compiled worker script
   * present, the activation budget holding two batches); false: never. Results are identical.
   */
  worker?: boolean;
}

export interface ObserveResult {
  /** One entry per requested tensor, in request order (reshape-like copies share their source's). */
  readonly observations: Map<string, TensorObservation>;
  /** Passes over the data (one per group of fetched tensors). */
  readonly passes: number;
  readonly samples: number;
  /**
   * Per requested tensor, the samples of the batches that gave it values: all of them for a tensor
   * of the main graph; for one inside an If branch (or a Loop/Scan body), those of the batches
   * that ran it (an untaken branch gives an empty tensor, expose.ts).
   */
  readonly samplesSeen: Map<string, number>;
}

/**
 * Model bytes with `names` added as graph outputs; the model itself is left as it was. With
 * `encoded` (the model's bytes as they are), the outputs are appended to those.
 */
export function augmentedModelBytes(model: Model, names: readonly string[], encoded?: Uint8Array): SessionModel {
  return modelWithOutputs(model, names, { elemType: DataType.FLOAT, encoded });
}

function asFloat32(t: HostTensor | undefined, name: string, label: string): Float32Array {
  if (t?.data instanceof Float32Array) return t.data;
  const got = t ? dtypeName(t.dtype) : 'nothing';
  throw new ModelError(`${label}: tensor '${name}' should be float32 but onnxruntime returned ${got}`);
}


/** The probe's feeds: the source's first sample (the whole first batch when the model fixes its batch dim). */
async function probeFeeds(model: Model, source: DataSource): Promise<{ feeds: Feeds; scale: (batchSize: number) => number }> {
  const fixedBatch = model.graph.feedInputs().some((i) => typeof i.shape?.[0] === 'number' && i.shape[0] !== 1);
  let feeds: Feeds | undefined;
  for await (const batch of source.batches()) {
    feeds = fixedBatch ? batch : firstSample(batch);
    break;
  }
  return { feeds: feeds!, scale: (b) => (fixedBatch ? 1 : b) };
}

/** Bytes per batch of `names`, measured with one run of `session`. */
async function probeSizes(session: Session, feeds: Feeds, names: readonly string[], scale: number) {
  const out = await session.run(feeds, names);
  return names.map((name) => ({ name, bytes: asFloat32(out[name], name, session.label).byteLength * scale }));
}

/**
 * A session that outputs every tensor holds all of them at once, so probing them together would
 * be the memory bomb the budget exists to prevent (a 1024² segmentation model: 300 tensors, GBs).
 * Tensors are probed together only while the worst case stays inside the budget: a tensor is
 * assumed at most PROBE_GROWTH times the size of the model's input per sample until measured.
 */
const PROBE_GROWTH = 8;

function feedBytes(feeds: Feeds): number {
  return Object.values(feeds).reduce((n, t) => n + (Array.isArray(t.data) ? 0 : t.data.byteLength), 0);
}

interface Planned {
  groups: string[][];
  /** Bytes per batch of every fetched tensor (probed). */
  bytes: ReadonlyMap<string, number>;
  /** The session for all fetched tensors, kept when one group suffices. */
  first?: Session;
}

/** Groups of fetched tensors within the budget; the session for all of them is kept when one group suffices. */
async function planGroups(model: Model, fetched: readonly string[], source: DataSource, opts: ObserveOptions, open: (names: readonly string[]) => Promise<Session>): Promise<Planned> {
  if (fetched.length === 0) return { groups: [[]], bytes: new Map() };
  const budget = opts.budgetBytes ?? DEFAULT_ACTIVATION_BUDGET;
  const { feeds, scale } = await probeFeeds(model, source);
  const guess = Math.max(1, feedBytes(feeds) * PROBE_GROWTH);
  if (guess * fetched.length <= budget) {
    const session = await open(fetched);
    try {
      const sizes = await probeSizes(session, feeds, fetched, scale(opts.batchSize));
      const groups = groupByBudget(sizes, budget);
      if (groups.length === 1) return { groups, bytes: new Map(sizes.map((s) => [s.name, s.bytes])), first: session };
      await session.close();
      return { groups, bytes: new Map(sizes.map((s) => [s.name, s.bytes])) };
    } catch (e) {
      await session.close();
      throw e;
    }
  }
  // The sizes of one profiled plain run (profile.ts), at a plain session's memory and the time of
  // one sample; tensors it does not report are probed in chunks sized from what has been measured
  // so far (per sample, as the probe runs one): each chunk costs one more run.
  const profiled = await profiledSizes(model, feeds, opts);
  const sizes: { name: string; bytes: number }[] = [];
  const unknown: string[] = [];
  for (const name of fetched) {
    const b = profiled.get(name);
    if (b === undefined) unknown.push(name);
    else sizes.push({ name, bytes: b * scale(opts.batchSize) });
  }
  let perTensor = sizes.length ? Math.max(...sizes.map((s) => s.bytes / scale(opts.batchSize)), 1) : guess;
  for (let at = 0; at < unknown.length; ) {
    const chunk = unknown.slice(at, at + Math.max(1, Math.floor(budget / perTensor)));
    const session = await open(chunk);
    try {
      sizes.push(...(await probeSizes(session, feeds, chunk, scale(opts.batchSize))));
    } finally {
      await session.close();
    }
    at += chunk.length;
    perTensor = Math.max(...sizes.map((s) => s.bytes / scale(opts.batchSize)), 1);
  }
  const order = new Map(fetched.map((n, i) => [n, i]));
  sizes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { groups: groupByBudget(sizes, budget), bytes: new Map(sizes.map((s) => [s.name, s.bytes])) };
}

/** Bytes per sample of the float tensors of one profiled plain run of `feeds` (none when profiling fails). */
async function profiledSizes(model: Model, feeds: Feeds, opts: ObserveOptions): Promise<Map<string, number>> {
  try {
    const nodes = await profileNodeOutputs(augmentedModelBytes(model, [], opts.encoded), feeds, { providers: opts.providers, threads: opts.threads, spinning: false, label: opts.label });
    return tensorBytes(model.graph.nodes, nodes);
  } catch {
    return new Map();
  }
}

/**
 * When binning on a worker pays off (measured on 2 cores, resnet_mini and a 224×224 ResNet-18).
 * The worker costs about 25 ms to start, a message per batch and a cold JIT, and a pipeline gains
 * nothing on its first and last batch. Since binning moved to WebAssembly SIMD (~1.2 ns a value,
 * a fifth of onnxruntime's time) the overlap gains little and the worker competes with
 * onnxruntime's intra-op threads for the 2 cores: the observation loop over 64 ResNet-18 samples
 * took 1504 vs 1606 ms at batch 1 (64 batches: the worker wins 6%) but 1583 vs 1466 ms at batch 8
 * (8 batches: it loses 8%); 200 resnet_mini samples took 202 vs 134 ms at batch 1 and 116 vs
 * 74 ms at batch 32 with the worker vs without. Batches under 1 MiB stay on this thread too: the
 * worker's isolate adds ~10 MiB of RSS, a step that would show between small and large runs of a
 * small model (the 2,000- vs 200-sample peak RSS bound).
 */
const WORKER_MIN_BATCHES = 16;
const WORKER_MIN_BATCH_BYTES = 2 ** 20;
const WORKER_MIN_BYTES = 256 * 2 ** 20;

/**
 * Batches a worker may queue (0: bin on this thread): enough work to pay for it, and as many more
 * batches of the largest group as the budget holds, at most 2.
 */
function queueDepth(groups: readonly string[][], bytes: ReadonlyMap<string, number>, batches: number, budget: number, always: boolean): number {
  const perBatch = groups.map((g) => g.reduce((n, name) => n + (bytes.get(name) ?? 0), 0));
  const largest = Math.max(...perBatch);
  const total = perBatch.reduce((a, b) => a + b, 0) * batches;
  const paysOff = batches >= WORKER_MIN_BATCHES && largest >= WORKER_MIN_BATCH_BYTES && total >= WORKER_MIN_BYTES;
  if (!(largest > 0) || !(always || paysOff)) return 0;
  return Math.max(0, Math.min(2, Math.floor(budget / largest) - 1));
}

export async function observeTensors(model: Model, requested: readonly string[], source: DataSource, opts: ObserveOptions): Promise<ObserveResult> {
  const label = opts.label ?? 'model';
  // Tensors inside If/Loop/Scan bodies are observed through the outputs a copy routes them to.
  const exposed = exposeBodyTensors(model, requested);
  if (exposed) {
    model = exposed.model;
    opts = { ...opts, encoded: undefined };
  }
  const tensors = requested.map((t) => exposed?.outputOf.get(t) ?? t);
  const axes = new Map([...(opts.channelAxes ?? [])].filter(([t]) => !exposed?.outputOf.has(t)));
  const plan = planObservation(model.graph, tensors, new Set(axes.keys()));
  const observed = [...plan.fromFeeds, ...plan.fetched];
  const idOf = new Map(observed.map((name, id) => [name, id]));
  const spec = { bins: opts.bins, movingAverage: opts.movingAverage, channelAxes: observed.map((name) => axes.get(name) ?? null) };
  // A worker can only help when onnxruntime has tensors to produce while it bins the last batch.
  const script = opts.worker === false || plan.fetched.length === 0 ? undefined : workerScript();
  // Between runs this thread (or the worker) bins for a long while: intra-op threads spinning for
  // the next run only take the cores it needs. Measured on 2 cores shared with other work: loops
  // 1.25-1.9× slower with spinning; no difference on an idle machine. Scheduling only: the
  // results do not change.
  const sessionOptions: SessionOptions = {
    providers: opts.providers, threads: opts.threads, optimizationLevel: opts.optimizationLevel ?? 'all', label, spinning: false,
  };
  const open = (names: readonly string[]) => Session.open(augmentedModelBytes(model, names, opts.encoded), sessionOptions);

  const { groups, bytes, first } = await planGroups(model, plan.fetched, source, opts, open);
  const batches = Math.ceil(source.sampleCount / opts.batchSize);
  const depth = script ? queueDepth(groups, bytes, batches, opts.budgetBytes ?? DEFAULT_ACTIVATION_BUDGET, opts.worker === true) : 0;
  let sink: ObservationSink;
  try {
    sink = script && depth > 0 ? workerSink(observed.length, spec, script, depth) : inlineSink(observed.length, spec);
  } catch (e) {
    await first?.close();
    throw e;
  }
  let results: TensorObservation[];
  const seen = new Array<number>(observed.length).fill(0);
  try {
    const total = source.sampleCount * groups.length;
    let done = 0;
    for (const [k, group] of groups.entries()) {
      const session = k === 0 && first ? first : group.length > 0 ? await open(group) : undefined;
      const fed = k === 0 ? plan.fromFeeds : [];
      try {
        for await (const feeds of source.batches()) {
          const n = batchLength(feeds);
          // Fed arrays belong to the data source (a worker gets a copy); fetched ones are this
          // loop's own copies from onnxruntime and move to a worker as they are.
          const parts: BatchPart[] = fed.map((name) => ({ id: idOf.get(name)!, data: asFloat32(feeds[name], name, label), dims: feeds[name]!.dims, owned: false }));
          if (session) {
            const out = await session.run(feeds, group);
            for (const name of group) parts.push({ id: idOf.get(name)!, data: asFloat32(out[name], name, label), dims: out[name]!.dims, owned: true });
          }
          for (const p of parts) if (p.data.length > 0) seen[p.id]! += n;
          await sink.observe(parts);
          done += n;
          opts.onProgress?.(done, total);
        }
      } finally {
        await session?.close();
      }
    }
    results = await sink.finish();
  } catch (e) {
    await sink.abort();
    throw e;
  }

  const observations = new Map<string, TensorObservation>();
  const samplesSeen = new Map<string, number>();
  requested.forEach((t, i) => {
    const id = idOf.get(plan.sourceOf.get(tensors[i]!)!)!;
    samplesSeen.set(t, seen[id]!);
    const o = results[id]!;
    // A reshape of an observed tensor shares its values, not its channels.
    const { channels, ...rest } = o;
    observations.set(t, channels && !axes.has(t) ? rest : o);
  });
  return { observations, passes: groups.length, samples: source.sampleCount, samplesSeen };
}
