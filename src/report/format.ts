// Number formatting and the summary lines every renderer shares, so the four outputs agree.
import { slowerWarning } from './latency.js';
import type { LayerMetrics, Report, ReportWarning } from './types.js';

export function db(x: number, digits = 1): string {
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '-∞';
  if (Number.isNaN(x)) return 'NaN';
  return x.toFixed(digits);
}

export function pct(x: number, digits = 2): string {
  return `${(100 * x).toFixed(digits)}%`;
}

/** Compact general number: 4 significant digits, exponent outside [1e-3, 1e5). */
export function num(x: number): string {
  if (!Number.isFinite(x)) return db(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function ms(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3);
}

export function range(r: readonly [number, number]): string {
  return `[${num(r[0])}, ${num(r[1])}]`;
}

export function speedup(s: number): string {
  return s >= 1 ? `${s.toFixed(2)}× faster` : `${(1 / s).toFixed(2)}× SLOWER`;
}

export function sizeRatio(r: Report['size']): string {
  return r.ratio > 0 ? `${r.ratio.toFixed(2)}× the size (${(1 / r.ratio).toFixed(2)}× smaller)` : 'n/a';
}

export const INSTRUMENTED_NOTE =
  'Per-layer and output figures come from one pass over the data: the float model (BatchNormalization folded, as quantized) ' +
  'with the compared tensors exposed as extra outputs, and the quantized model with the integer tensors behind them exposed, ' +
  'which keeps its integer kernels; a tensor without one (no QuantizeLinear before its DequantizeLinear) is exposed as is, which can stop onnxruntime fusing across it. ' +
  'Latency: see its own note.';

/** Which samples the per-layer figures were summed over, when not every sample. */
export function layerSamplesText(r: Report): string {
  const l = r.layers;
  return l && l.samples < r.data.samples ? `, over the first ${l.samples} of ${r.data.samples} samples (--layer-samples)` : '';
}

export const IN_SAMPLE_NOTE = 'IN-SAMPLE: evaluated on the calibration samples, so these figures are optimistic; pass --eval-data for held-out figures.';

/** Loud warnings first (a slower quantized model), then the report's own. */
export function allWarnings(r: Report): ReportWarning[] {
  const out: ReportWarning[] = [];
  const slow = r.latency ? slowerWarning(r.latency) : undefined;
  if (slow) out.push({ code: 'quantized-slower', message: slow });
  return [...out, ...r.warnings];
}

/** The nodes behind a layer row: producers (quantized op first) → consumers. */
export function layerNodes(l: LayerMetrics): string {
  const p = l.nodes.producers.join(' + ') || '(graph input)';
  const c = l.nodes.consumers.join(', ') || '(graph output)';
  return `${p} → ${c}`;
}

/** The closing lines every renderer ends with: what to try for the worst layers. */
export function suggestionLines(r: Report): string[] {
  const s = r.suggestion;
  if (!s) return [];
  return [
    `Keep the worst layers (${s.nodes.join(', ')}) in float:`,
    `  ${s.excludeCommand}`,
    'or quantize every activation to 16 bits:',
    `  ${s.int16Command}`,
  ];
}

/** 'PASS', 'FAIL' or '' (no gates) and the failed gates' flags. */
export function gateStatus(r: Report): { label: 'PASS' | 'FAIL' | ''; failed: string[] } {
  if (!r.gates) return { label: '', failed: [] };
  const failed = r.gates.results.filter((g) => !g.passed).map((g) => g.flag);
  return { label: failed.length ? 'FAIL' : 'PASS', failed };
}

export function primaryOutput(r: Report) {
  return r.outputs.find((o) => o.name === r.primaryOutput);
}

export function layerRow(l: LayerMetrics): string[] {
  return [String(l.rank), l.nodes.producers[0] ?? '(input)', l.tensor, db(l.ownSqnrDb), db(l.accumulatedSqnrDb), pct(l.clippedFraction, 3), l.hint, range(l.range), l.algo ?? '-', l.dtype];
}

export const LAYER_HEADERS = ['#', 'node', 'tensor', 'own SQNR dB', 'accum. SQNR dB', 'clipped', 'hint', 'range', 'algo', 'dtype'];

/** Aligned plain-text columns. */
export function table(headers: string[], rows: string[][], rightAlign: ReadonlySet<number> = new Set()): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)];
}
