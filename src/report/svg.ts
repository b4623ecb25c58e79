// Inline SVG charts for the HTML report: plain strings, no script, no external resources.
import * as f from './format.js';
import type { Hint, LayerMetrics } from './types.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export const HINT_COLOR: Record<Hint, string> = {
  'clipping-dominated': '#d9480f',
  'rounding-dominated': '#1c7ed6',
  exact: '#868e96',
};

function shorten(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(s.length - n + 1)}`;
}

/** Labels that fit `n` characters where they can, each distinct: clashing ones keep more of the name. */
export function distinctLabels(names: readonly string[], n: number): string[] {
  const out = names.map((s) => shorten(s, n));
  for (let width = n + 8; width < n + 400; width += 8) {
    const seen = new Map<string, number>();
    out.forEach((l) => seen.set(l, (seen.get(l) ?? 0) + 1));
    const clash = out.map((l, i) => (seen.get(l)! > 1 && out[i] !== names[i] ? i : -1)).filter((i) => i >= 0);
    if (clash.length === 0) break;
    for (const i of clash) out[i] = shorten(names[i]!, width);
  }
  return out;
}

/** The name a chart row goes by: the node that produces the tensor, else the tensor. */
export function rowName(l: LayerMetrics): string {
  return l.nodes.producers[0] ?? l.tensor;
}

/** Linear scale from [d0, d1] to [r0, r1]. */
function scale(d0: number, d1: number, a: number, b: number): (x: number) => number {
  const k = d1 === d0 ? 0 : (b - a) / (d1 - d0);
  return (x) => a + (x - d0) * k;
}

/** Horizontal bars of each tensor's own SQNR, worst first, with the accumulated SQNR marked. */
export function layerBars(layers: readonly LayerMetrics[]): string {
  const finite = layers.flatMap((l) => [l.ownSqnrDb, l.accumulatedSqnrDb]).filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const top = Math.max(10, ...finite);
  const inf = top * 1.08;
  const clampDb = (x: number) => (x === Infinity ? inf : x === -Infinity ? lo : x);
  const rowH = 20;
  const labelW = 320;
  const chartW = 440;
  const width = labelW + chartW + 70;
  const height = layers.length * rowH + 40;
  const x = scale(lo, inf, labelW, labelW + chartW);
  const parts: string[] = [];
  const labels = distinctLabels(layers.map(rowName), 44);
  for (let dbv = Math.ceil(lo / 10) * 10; dbv <= top; dbv += 10) {
    parts.push(`<line class="grid" x1="${r1(x(dbv))}" x2="${r1(x(dbv))}" y1="20" y2="${height - 14}"/>`,
      `<text class="tick" x="${r1(x(dbv))}" y="14" text-anchor="middle">${dbv}</text>`);
  }
  layers.forEach((l, i) => {
    const y = 22 + i * rowH;
    const x0 = x(0);
    const x1 = x(clampDb(l.ownSqnrDb));
    const xa = x(clampDb(l.accumulatedSqnrDb));
    const tip = `${rowName(l)} (tensor ${l.tensor}): own ${f.db(l.ownSqnrDb, 2)} dB, accumulated ${f.db(l.accumulatedSqnrDb, 2)} dB, ${l.hint}, clipped ${f.pct(l.clippedFraction, 3)}`;
    parts.push(
      `<g class="layer-row" data-tensor="${esc(l.tensor)}"><title>${esc(tip)}</title>`,
      `<text class="label" x="${labelW - 8}" y="${y + 13}" text-anchor="end">${i + 1}. ${esc(labels[i]!)}</text>`,
      `<rect class="bar ${l.hint}" x="${r1(Math.min(x0, x1))}" y="${y + 2}" width="${r1(Math.max(1, Math.abs(x1 - x0)))}" height="${rowH - 6}" fill="${HINT_COLOR[l.hint]}"/>`,
      `<path class="acc-marker" d="M${r1(xa)} ${y + 1}l4 ${(rowH - 4) / 2}-4 ${(rowH - 4) / 2}-4 -${(rowH - 4) / 2}z"/>`,
      `<text class="value" x="${r1(Math.max(x1, xa) + 8)}" y="${y + 13}">${f.db(l.ownSqnrDb)}</text></g>`,
    );
  });
  return `<svg class="chart layer-bars" role="img" aria-label="per-layer SQNR" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<text class="axis-title" x="${labelW + chartW}" y="${height - 2}" text-anchor="end">SQNR dB (bar: own error; ◆ accumulated)</text>${parts.join('')}</svg>`;
}

/** Histogram of a tensor's float values (log counts) with the clip range marked. */
export function histogramChart(l: LayerMetrics): string {
  const h = l.histogram;
  if (!h) return '';
  const w = 380;
  const ht = 150;
  const pad = { l: 8, r: 8, t: 26, b: 30 };
  const x = scale(h.lo, h.hi, pad.l, w - pad.r);
  const maxLog = Math.log1p(Math.max(1, ...h.counts));
  const base = ht - pad.b;
  const y = (c: number) => base - (Math.log1p(c) / maxLog) * (ht - pad.t - pad.b);
  const bw = (h.hi - h.lo) / h.counts.length;
  let d = `M${r1(x(h.lo))} ${base}`;
  h.counts.forEach((c, i) => {
    const yy = r1(y(c));
    d += `L${r1(x(h.lo + i * bw))} ${yy}L${r1(x(h.lo + (i + 1) * bw))} ${yy}`;
  });
  d += `L${r1(x(h.hi))} ${base}Z`;
  const [c0, c1] = l.clipRange;
  const xc0 = r1(x(c0));
  const xc1 = r1(x(c1));
  const shade = [
    xc0 > pad.l ? `<rect class="clipped-region" x="${pad.l}" y="${pad.t}" width="${r1(xc0 - pad.l)}" height="${base - pad.t}"/>` : '',
    xc1 < w - pad.r ? `<rect class="clipped-region" x="${xc1}" y="${pad.t}" width="${r1(w - pad.r - xc1)}" height="${base - pad.t}"/>` : '',
  ].join('');
  const title = `${shorten(l.tensor, 30)} · ${f.db(l.ownSqnrDb)} dB · ${l.hint}`;
  return `<figure class="hist-figure" data-tensor="${esc(l.tensor)}"><svg class="chart histogram" role="img" aria-label="histogram of ${esc(l.tensor)}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${ht}" viewBox="0 0 ${w} ${ht}">` +
    `<title>${esc(`${l.tensor}: observed ${f.range(l.observed)}, clip range ${f.range(l.clipRange)}, clipped ${f.pct(l.clippedFraction, 3)}`)}</title>` +
    `<text class="hist-title" x="${pad.l}" y="14">${esc(title)}</text>${shade}` +
    `<path class="hist" d="${d}"/>` +
    `<line class="clip-line" x1="${xc0}" x2="${xc0}" y1="${pad.t - 4}" y2="${base}"/><line class="clip-line" x1="${xc1}" x2="${xc1}" y1="${pad.t - 4}" y2="${base}"/>` +
    `<line class="axis" x1="${pad.l}" x2="${w - pad.r}" y1="${base}" y2="${base}"/>` +
    `<text class="tick" x="${pad.l}" y="${base + 14}">${esc(f.num(h.lo))}</text><text class="tick" x="${w - pad.r}" y="${base + 14}" text-anchor="end">${esc(f.num(h.hi))}</text>` +
    `<text class="tick clip-label" x="${w / 2}" y="${base + 26}" text-anchor="middle">clip range ${esc(f.range(l.clipRange))} · observed ${esc(f.range(l.observed))}</text>` +
    `</svg></figure>`;
}

export interface PairRow {
  label: string;
  float: number;
  quantized: number;
  format: (v: number) => string;
  /** Marks the quantized bar as bad (e.g. slower). */
  bad?: boolean;
}

/** Paired horizontal bars, float vs quantized, one pair per row, each row on its own scale. */
export function pairBars(title: string, rows: readonly PairRow[]): string {
  const labelW = 150;
  const barW = 220;
  const rowH = 44;
  const width = labelW + barW + 110;
  const height = rows.length * rowH + 24;
  const parts = rows.map((row, i) => {
    const y = 22 + i * rowH;
    const m = Math.max(row.float, row.quantized, 1e-12);
    const wf = (row.float / m) * barW;
    const wq = (row.quantized / m) * barW;
    return `<g class="pair"><text class="label" x="${labelW - 8}" y="${y + 20}" text-anchor="end">${esc(row.label)}</text>` +
      `<rect class="pair-bar float" x="${labelW}" y="${y}" width="${r1(Math.max(1, wf))}" height="15"/><text class="value" x="${r1(labelW + wf + 6)}" y="${y + 12}">float ${esc(row.format(row.float))}</text>` +
      `<rect class="pair-bar quantized${row.bad ? ' bad' : ''}" x="${labelW}" y="${y + 18}" width="${r1(Math.max(1, wq))}" height="15"/><text class="value" x="${r1(labelW + wq + 6)}" y="${y + 30}">quantized ${esc(row.format(row.quantized))}</text></g>`;
  });
  return `<svg class="chart pair-bars" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<text class="chart-title" x="4" y="14">${esc(title)}</text>${parts.join('')}</svg>`;
}
