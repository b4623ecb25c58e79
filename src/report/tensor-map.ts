// Which float tensor corresponds to which tensor of the quantized model (STYLE.md "Explicit tensor
// mapping"). A model qtool wrote carries the rewrite's map in metadata_props (`qtool.tensor_map`);
// for other QDQ models the structure is the fallback: DequantizeLinear(QuantizeLinear(T)) holds
// T's dequantized value. Names are never parsed.
import { bodiesOf, QTYPE_DTYPE, qtypeOfDType, type Graph, type Model, type Node } from '../ir/index.js';
import type { QType } from '../math/index.js';
import { TENSOR_MAP_KEY, type ReportWarning } from './types.js';
import { readTensorMap, type MapEntry } from './metadata.js';

export interface LayerTarget {
  /** Float tensor name. */
  tensor: string;
  /** Tensor of the quantized model holding the dequantized value (or its integer value, see below). */
  quantized: string;
  dtype: QType;
  scale: number;
  zeroPoint: number;
  /** Calibrated range recorded by the quantizer, when known. */
  range: [number, number] | null;
  algo: string | null;
  /**
   * The integer tensor to fetch instead of `quantized` (the QuantizeLinear output feeding its
   * DequantizeLinear): exposing it keeps onnxruntime's integer fusions, exposing the dequantized
   * tensor would break them. Dequantized on the host with scale and zero point, as the DQ would.
   */
  fetch?: string;
}

export interface TensorMapping {
  source: 'metadata' | 'structure';
  targets: LayerTarget[];
  skipped: { tensor: string; reason: string }[];
  /** Float tensors whose quantized tensor a downstream one shares (a Relu absorbed into its producer's range). */
  absorbed: { tensor: string; into: string }[];
  /** Float names from the metadata that the given float graph does not define. */
  missing: string[];
  warnings: ReportWarning[];
}

const QTYPE_NAMES = new Set<string>(Object.keys(QTYPE_DTYPE).filter((t) => t !== 'int32'));

interface QParams {
  dtype: QType;
  scale: number;
  zeroPoint: number;
}

/** Per-tensor scale/zero point of a (De)QuantizeLinear node, or why there is none. */
function nodeParams(g: Graph, n: Node): QParams | string {
  const scale = n.inputs[1] ? g.constantOf(n.inputs[1]) : undefined;
  if (!scale) return 'its scale is not a constant';
  if (scale.size !== 1) return 'per-channel quantization (per-tensor analysis only)';
  const zpName = n.inputs[2];
  const zp = zpName ? g.constantOf(zpName) : undefined;
  if (zpName && !zp) return 'its zero point is not a constant';
  const dtype: QType | undefined = zp ? qtypeOfDType(zp.dtype) : 'uint8';
  if (!dtype) return 'its integer type is not one qtool analyses';
  return { dtype, scale: scale.toFloat64()[0]!, zeroPoint: zp ? zp.toFloat64()[0]! : 0 };
}

function isDefined(g: Graph, name: string): boolean {
  return g.producerOf(name) !== undefined || g.feedInputs().some((i) => i.name === name);
}

/**
 * Scale/zero point from the graph when the quantized tensor is a DequantizeLinear output (what the
 * model really computes), else from the map entry (QOperator: the tensor is an integer output).
 */
function targetFromEntry(quant: Graph, tensor: string, e: MapEntry): LayerTarget | string {
  const p = quant.producerOf(e.quantized);
  const fromGraph = p && p.opType === 'DequantizeLinear' ? nodeParams(quant, p) : undefined;
  if (typeof fromGraph === 'string') return fromGraph;
  let params = fromGraph;
  if (!params && e.scale !== undefined && e.zeroPoint !== undefined && e.dtype && QTYPE_NAMES.has(e.dtype)) {
    params = { dtype: e.dtype as QType, scale: e.scale, zeroPoint: e.zeroPoint };
  }
  if (!params) return 'no scale/zero point: the tensor map entry lacks them and no DequantizeLinear produces the tensor';
  if (!(params.scale > 0) || !Number.isFinite(params.scale)) return `invalid scale ${params.scale}`;
  return { tensor, quantized: e.quantized, ...params, range: e.range ?? null, algo: e.algo ?? null, fetch: integerInput(quant, e.quantized) };
}

/** The QuantizeLinear output a DequantizeLinear producing `dq` reads, when there is one. */
function integerInput(quant: Graph, dq: string): string | undefined {
  const p = quant.producerOf(dq);
  const x = p?.opType === 'DequantizeLinear' ? p.inputs[0] : undefined;
  return x && quant.producerOf(x)?.opType === 'QuantizeLinear' ? x : undefined;
}

function fromMetadata(map: ReadonlyMap<string, MapEntry>, float: Graph, quant: Graph): TensorMapping {
  const out: TensorMapping = { source: 'metadata', targets: [], skipped: [], absorbed: [], missing: [], warnings: [] };
  for (const [tensor, e] of map) {
    if (float.constantOf(tensor)) {
      out.skipped.push({ tensor, reason: 'a constant (weight): not an activation' });
    } else if (!isDefined(float, tensor)) {
      if (bodiesOf(float).some((b) => isDefined(b, tensor))) out.skipped.push({ tensor, reason: 'inside an If/Loop/Scan body (per-layer analysis covers the main graph\'s tensors)' });
      else out.missing.push(tensor);
    } else if (!isDefined(quant, e.quantized)) {
      out.skipped.push({ tensor, reason: `the quantized model has no tensor '${e.quantized}'` });
    } else {
      const t = targetFromEntry(quant, tensor, e);
      if (typeof t === 'string') out.skipped.push({ tensor, reason: t });
      else out.targets.push(t);
    }
  }
  return out;
}

/** DequantizeLinear(QuantizeLinear(T)) pairs; T named as in the float model. */
function fromStructure(float: Graph, quant: Graph): TensorMapping {
  const out: TensorMapping = { source: 'structure', targets: [], skipped: [], absorbed: [], missing: [], warnings: [] };
  const seen = new Set<string>();
  for (const q of quant.nodes) {
    const x = q.inputs[0];
    if (q.opType !== 'QuantizeLinear' || !x || quant.constantOf(x) || seen.has(x)) continue;
    const dq = quant.consumersOf(q.outputs[0] ?? '').find((c) => c.opType === 'DequantizeLinear');
    const y = dq?.outputs[0];
    if (!dq || !y) continue;
    seen.add(x);
    // A model output keeps its name on the DQ; its float producer was renamed in the quantized graph.
    const tensor = isDefined(float, x) ? x : quant.isGraphOutput(y) && isDefined(float, y) ? y : undefined;
    if (!tensor) {
      out.skipped.push({ tensor: x, reason: 'no tensor of that name in the float model' });
      continue;
    }
    const p = nodeParams(quant, dq);
    if (typeof p === 'string') out.skipped.push({ tensor, reason: p });
    else out.targets.push({ tensor, quantized: y, ...p, range: null, algo: null, fetch: q.outputs[0] });
  }
  return out;
}

/**
 * When several float tensors share one quantized tensor (a Conv output whose range a following
 * Relu absorbed, the Relu then removed), keep the one latest in the float graph: it holds the
 * values the quantized tensor stands for.
 */
function dedupeShared(m: TensorMapping, float: Graph): void {
  const order = new Map<string, number>();
  float.nodes.forEach((n, i) => n.outputs.forEach((o) => order.set(o, i)));
  const pos = (t: string) => order.get(t) ?? -1;
  const byQ = new Map<string, LayerTarget>();
  for (const t of m.targets) {
    const prev = byQ.get(t.quantized);
    if (!prev) {
      byQ.set(t.quantized, t);
      continue;
    }
    const [keep, drop] = pos(t.tensor) > pos(prev.tensor) ? [t, prev] : [prev, t];
    byQ.set(t.quantized, keep);
    m.absorbed.push({ tensor: drop.tensor, into: keep.tensor });
  }
  m.targets = m.targets.filter((t) => byQ.get(t.quantized) === t);
}

/** The float → quantized tensor pairs of a rewrite's map (in memory, or read from metadata). */
export function resolveEntries(entries: ReadonlyMap<string, MapEntry>, quant: Model, float: Graph): TensorMapping {
  const m = fromMetadata(entries, float, quant.graph);
  dedupeShared(m, float);
  return m;
}

/** The float → quantized tensor pairs to analyse, from metadata when present, else from structure. */
export function resolveTensorMap(quant: Model, float: Graph): TensorMapping {
  const meta = readTensorMap(quant);
  let m: TensorMapping;
  if (meta instanceof Map) {
    m = fromMetadata(meta, float, quant.graph);
  } else {
    m = fromStructure(float, quant.graph);
    m.warnings.push(typeof meta === 'string'
      ? { code: 'tensor-map-unusable', message: `${meta}; per-layer tensors were matched through QuantizeLinear→DequantizeLinear pairs instead` }
      : { code: 'no-tensor-map', message: `the quantized model has no ${TENSOR_MAP_KEY} (not written by qtool); per-layer tensors were matched through QuantizeLinear→DequantizeLinear pairs` });
  }
  dedupeShared(m, float);
  return m;
}

/** Per-tensor quantization parameters read from a DequantizeLinear node (for tests and tools). */
export function dequantizeParams(g: Graph, tensor: string): QParams | undefined {
  const p = g.producerOf(tensor);
  if (!p || p.opType !== 'DequantizeLinear') return undefined;
  const r = nodeParams(g, p);
  return typeof r === 'string' ? undefined : r;
}
