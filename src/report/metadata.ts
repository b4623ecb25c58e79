// The one module that writes and reads what a qtool-written model says about itself in
// metadata_props, so that `qtool compare` works on the two files alone:
//   qtool.version     the qtool that wrote it
//   qtool.tensor_map  float tensor → [quantized, algo, [min, max]] where `quantized` holds its
//                     dequantized value (QDQ), or [integer, algo, [min, max], dtype, scale, zeroPoint]
//                     when the QOperator lowering replaced it by an integer tensor
//   qtool.nodes       the plan's node list: [name, opType, status] or [name, opType, status, reason]
// Tuples rather than objects because the keys would repeat per entry, in every model file.
// Numbers are rounded to 7 significant digits: the exact scale and zero point are in the graph.
//
// quantize() hands the same entries to the in-memory compare (tensorMapEntries), so a report made
// right after the rewrite and one made later from the files read the same map.
import type { Model } from '../ir/index.js';
import { NODES_KEY, TENSOR_MAP_KEY, VERSION_KEY } from './types.js';

/** What the metadata needs of a QuantPlan (structurally; report does not import quant/). */
export interface PlanForMetadata {
  activations: Record<string, { dtype: string; scale: number; zeroPoint: number; range: [number, number]; source: string; algo?: string }>;
  absorbed: Record<string, string>;
  nodes: readonly { name: string; opType: string; status: string; reason: string }[];
  /** --equalize: the float graph the tensor map names is the equalized one. */
  equalize?: boolean;
}

/** Set when the prepare stage equalized the float graph (compare must equalize its float model too). */
export const EQUALIZE_KEY = 'qtool.equalize';

/** What the rewrite returns about where every quantized float tensor went. */
export interface RewriteMapping {
  /** float tensor → tensor of the quantized model holding its dequantized value. */
  tensorMap: Readonly<Record<string, string>>;
  /** dequantized tensor the QOperator lowering removed → the integer tensor that replaced it. */
  integerOf?: ReadonlyMap<string, string>;
}

/** One tensor-map entry. */
export interface MapEntry {
  quantized: string;
  range?: [number, number];
  algo?: string;
  dtype?: string;
  scale?: number;
  zeroPoint?: number;
}

/** The plan's node list as the metadata records it. */
export interface PlanNodeEntry {
  name: string;
  opType: string;
  status: string;
  reason: string;
}

const r7 = (x: number) => Number(x.toPrecision(7));

/** The tensor-map entries of a rewrite, in the map's order (exactly what recordMetadata writes). */
export function tensorMapEntries(plan: PlanForMetadata, mapping: RewriteMapping): Map<string, MapEntry> {
  const out = new Map<string, MapEntry>();
  for (const [t, q] of Object.entries(mapping.tensorMap)) {
    const a = plan.activations[plan.absorbed[t] ?? t];
    if (!a) continue;
    const integer = mapping.integerOf?.get(q);
    const entry: MapEntry = { quantized: integer ?? q, algo: a.algo ?? a.source, range: [r7(a.range[0]), r7(a.range[1])] };
    if (integer) Object.assign(entry, { dtype: a.dtype, scale: a.scale, zeroPoint: a.zeroPoint });
    out.set(t, entry);
  }
  return out;
}

export function planNodeEntries(plan: PlanForMetadata): PlanNodeEntry[] {
  return plan.nodes.map((n) => ({ name: n.name, opType: n.opType, status: n.status, reason: n.reason }));
}

/** Replaces the model's qtool.* metadata with the version, the tensor map and the plan's nodes. */
export function recordMetadata(model: Model, plan: PlanForMetadata, mapping: RewriteMapping, version: string): void {
  const map: Record<string, unknown> = {};
  for (const [t, e] of tensorMapEntries(plan, mapping)) {
    const entry = [e.quantized, e.algo, e.range];
    map[t] = e.dtype !== undefined ? [...entry, e.dtype, e.scale, e.zeroPoint] : entry;
  }
  const nodes = plan.nodes.map((n) => (n.status === 'quantized' ? [n.name, n.opType, n.status] : [n.name, n.opType, n.status, n.reason]));
  const keep = model.metadata.filter((m) => !m.key.startsWith('qtool.'));
  model.metadata = [
    ...keep,
    { key: VERSION_KEY, value: version },
    { key: TENSOR_MAP_KEY, value: JSON.stringify(map) },
    { key: NODES_KEY, value: JSON.stringify(nodes) },
    ...(plan.equalize ? [{ key: EQUALIZE_KEY, value: 'true' }] : []),
  ];
}

function okRange(range: unknown): range is [number, number] {
  return Array.isArray(range) && range.length === 2 && range.every((x) => typeof x === 'number');
}

/**
 * One map entry: `[quantized, algo, [min, max]?, dtype?, scale?, zeroPoint?]` (what recordMetadata
 * writes) or `{ quantized, range?, algo?, dtype?, scale?, zeroPoint? }`.
 */
function parseEntry(v: unknown): MapEntry | undefined {
  const e: Record<string, unknown> | undefined = Array.isArray(v)
    ? { quantized: v[0], algo: v[1], range: v[2], dtype: v[3], scale: v[4], zeroPoint: v[5] }
    : typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  if (!e || typeof e.quantized !== 'string' || !e.quantized) return undefined;
  return {
    quantized: e.quantized,
    range: okRange(e.range) ? e.range : undefined,
    algo: typeof e.algo === 'string' ? e.algo : undefined,
    dtype: typeof e.dtype === 'string' ? e.dtype : undefined,
    scale: typeof e.scale === 'number' ? e.scale : undefined,
    zeroPoint: typeof e.zeroPoint === 'number' ? e.zeroPoint : undefined,
  };
}

/** The parsed `qtool.tensor_map`, undefined when absent, or a string saying why it is unusable. */
export function readTensorMap(model: Model): Map<string, MapEntry> | string | undefined {
  const raw = model.metadata.find((m) => m.key === TENSOR_MAP_KEY)?.value;
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return `${TENSOR_MAP_KEY} is not valid JSON`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `${TENSOR_MAP_KEY} is not a JSON object`;
  const out = new Map<string, MapEntry>();
  for (const [k, v] of Object.entries(parsed)) {
    const e = parseEntry(v);
    if (!e) return `${TENSOR_MAP_KEY} entry '${k}' names no quantized tensor`;
    out.set(k, e);
  }
  return out;
}

/** The plan's node list from `qtool.nodes`, undefined when absent or unreadable. */
export function readPlanNodes(model: Model): PlanNodeEntry[] | undefined {
  const raw = model.metadata.find((m) => m.key === NODES_KEY)?.value;
  if (!raw) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    if (!Array.isArray(v)) return undefined;
    // [name, opType, status, reason?] tuples (what recordMetadata writes) or {name, opType, status, reason} objects.
    const nodes = v.map((e) => (Array.isArray(e) ? { name: e[0], opType: e[1], status: e[2], reason: e[3] ?? '' } : { reason: '', ...e }));
    const ok = nodes.every((e) => e && typeof e.name === 'string' && typeof e.opType === 'string' && typeof e.status === 'string');
    return ok ? (nodes as PlanNodeEntry[]) : undefined;
  } catch {
    return undefined;
  }
}
