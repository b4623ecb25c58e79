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
import { DataType, dtypeName, type Feeds, type HostTensor, type Model } from '../ir/index.js';
import { ModelError } from '../errors.js';
import { encodeModel } from '../onnx/index.js';
import { Session, type SessionOptions } from '../runtime/index.js';
import type { DataSource } from '../data/index.js';
import { TensorCollector, type TensorObservation } from './collectors.js';
import { groupByBudget, planObservation } from './targets.js';

/** Default bytes of fetched activations per batch that one pass may hold. */
export const DEFAULT_ACTIVATION_BUDGET = 512 * 2 ** 20;

export interface ObserveOptions {
  /** Samples per batch the source yields; sizes the groups. */
  batchSize: number;
  bins?: number;
  /** Also keep the (order-dependent) moving average of per-batch extrema. */
  movingAverage?: boolean;
  providers?: string[];
  threads?: number;
  optimizationLevel?: SessionOptions['optimizationLevel'];
  /** Bytes of fetched activations per batch one pass may hold (default DEFAULT_ACTIVATION_BUDGET). */
  budgetBytes?: number;
  /** Called after every batch with samples processed over all passes and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Names the model in error messages. */
  label?: string;
}

export interface ObserveResult {
  /** One entry per requested tensor, in request order (reshape-like copies share their source's). */
  readonly observations: Map<string, TensorObservation>;
  /** Passes over the data (one per group of fetched tensors). */
  readonly passes: number;
  readonly samples: number;
}

/** Model bytes with `names` added as graph outputs; the model itself is left as it was. */
export function augmentedModelBytes(model: Model, names: readonly string[]): Uint8Array {
  const g = model.graph;
  const saved = g.outputs;
  const extra = names.filter((n) => !g.isGraphOutput(n)).map((name) => ({ name, elemType: DataType.FLOAT }));
  g.outputs = [...saved, ...extra];
  try {
    return encodeModel(model);
  } finally {
    g.outputs = saved;
  }
}

function batchLength(feeds: Feeds): number {
  const first = Object.values(feeds)[0];
  return first?.dims[0] ?? 0;
}

function asFloat32(t: HostTensor | undefined, name: string, label: string): Float32Array {
  if (t?.data instanceof Float32Array) return t.data;
  const got = t ? dtypeName(t.dtype) : 'nothing';
  throw new ModelError(`${label}: tensor '${name}' should be float32 but onnxruntime returned ${got}`);
}

/** The first sample of a batch (axis 0), for the size probe. */
function firstSample(feeds: Feeds): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = Array.isArray(t.data) ? t.data.slice(0, per) : t.data.subarray(0, per);
    out[name] = { dtype: t.dtype, dims: [1, ...t.dims.slice(1)], data };
  }
  return out;
}

/**
 * Bytes per batch of every fetched tensor, measured on the source's first sample (on the whole
 * first batch when the model fixes its batch dim, since one sample cannot be fed then).
 */
async function probeSizes(session: Session, model: Model, source: DataSource, names: readonly string[], batchSize: number) {
  const fixedBatch = model.graph.feedInputs().some((i) => typeof i.shape?.[0] === 'number' && i.shape[0] !== 1);
  let feeds: Feeds | undefined;
  for await (const batch of source.batches()) {
    feeds = fixedBatch ? batch : firstSample(batch);
    break;
  }
  const out = await session.run(feeds!, names);
  const scale = fixedBatch ? 1 : batchSize;
  return names.map((name) => ({ name, bytes: asFloat32(out[name], name, session.label).byteLength * scale }));
}

/** Groups of fetched tensors within the budget; the session for all of them is kept when one group suffices. */
async function planGroups(model: Model, fetched: readonly string[], source: DataSource, opts: ObserveOptions, open: (names: readonly string[]) => Promise<Session>) {
  if (fetched.length === 0) return { groups: [[]], first: undefined };
  const first = await open(fetched);
  try {
    const sizes = await probeSizes(first, model, source, fetched, opts.batchSize);
    const groups = groupByBudget(sizes, opts.budgetBytes ?? DEFAULT_ACTIVATION_BUDGET);
    if (groups.length === 1) return { groups, first };
    await first.close();
    return { groups, first: undefined };
  } catch (e) {
    await first.close();
    throw e;
  }
}

export async function observeTensors(model: Model, tensors: readonly string[], source: DataSource, opts: ObserveOptions): Promise<ObserveResult> {
  const label = opts.label ?? 'model';
  const plan = planObservation(model.graph, tensors);
  const collectors = new Map<string, TensorCollector>();
  for (const name of [...plan.fromFeeds, ...plan.fetched]) collectors.set(name, new TensorCollector({ bins: opts.bins, movingAverage: opts.movingAverage }));
  const sessionOptions: SessionOptions = { providers: opts.providers, threads: opts.threads, optimizationLevel: opts.optimizationLevel ?? 'all', label };
  const open = (names: readonly string[]) => Session.open(augmentedModelBytes(model, names), sessionOptions);

  const { groups, first } = await planGroups(model, plan.fetched, source, opts, open);

  const total = source.sampleCount * groups.length;
  let done = 0;
  for (const [k, group] of groups.entries()) {
    const session = k === 0 && first ? first : group.length > 0 ? await open(group) : undefined;
    const fetched = group.map((name) => [name, collectors.get(name)!] as const);
    const fed = k === 0 ? plan.fromFeeds.map((name) => [name, collectors.get(name)!] as const) : [];
    try {
      for await (const feeds of source.batches()) {
        for (const [name, c] of fed) c.observe(asFloat32(feeds[name], name, label));
        if (session) {
          const out = await session.run(feeds, group);
          for (const [name, c] of fetched) c.observe(asFloat32(out[name], name, label));
        }
        done += batchLength(feeds);
        opts.onProgress?.(done, total);
      }
    } finally {
      await session?.close();
    }
  }

  const observations = new Map<string, TensorObservation>();
  for (const t of tensors) observations.set(t, collectors.get(plan.sourceOf.get(t)!)!.result());
  return { observations, passes: groups.length, samples: source.sampleCount };
}
