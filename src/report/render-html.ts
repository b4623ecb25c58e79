// One self-contained HTML page: inline CSS and SVG, no script, no CDN, works offline. The report
// itself is embedded as JSON (an inert data block) so tools can read it back from the page.
import * as f from './format.js';
import { renderJson } from './render-json.js';
import { esc, histogramChart, layerBars, pairBars, type PairRow } from './svg.js';
import type { Report } from './types.js';

const CSS = `
:root{--fg:#212529;--muted:#6c757d;--line:#dee2e6;--float:#868e96;--quant:#1c7ed6;--bad:#e03131}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0 auto;padding:24px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f5;padding:1px 4px;border-radius:3px;word-break:break-all}
.muted{color:var(--muted)}.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;margin-left:8px;font-size:13px}
.pass{background:#2f9e44}.fail{background:var(--bad)}
.warning{border:2px solid var(--bad);background:#fff5f5;color:#c92a2a;padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}
.note{border-left:4px solid #fab005;background:#fff9db;padding:8px 12px;margin:12px 0}
.cards{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid var(--line);border-radius:6px;padding:10px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f8f9fa;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.chart text{font:12px system-ui,sans-serif;fill:var(--fg)}.chart .tick,.chart .axis-title{fill:var(--muted);font-size:11px}
.chart .grid{stroke:#e9ecef}.chart .axis{stroke:#adb5bd}.chart .acc-marker{fill:#212529}
.chart .hist{fill:#4dabf7;stroke:#1971c2;stroke-width:.8}.chart .clip-line{stroke:var(--bad);stroke-width:2;stroke-dasharray:4 2}
.chart .clipped-region{fill:var(--bad);opacity:.08}.chart .pair-bar.float{fill:var(--float)}.chart .pair-bar.quantized{fill:var(--quant)}
.chart .pair-bar.bad{fill:var(--bad)}.chart .chart-title,.chart .hist-title{font-weight:600}
.hists{display:flex;flex-wrap:wrap;gap:12px}.hist-figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:4px}
.hint-clipping-dominated{color:#d9480f;font-weight:600}.hint-rounding-dominated{color:#1c7ed6}
`;

function tableHtml(headers: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  const th = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

const c = (s: string) => `<code>${esc(s)}</code>`;

function header(r: Report): string {
  const s = f.gateStatus(r);
  const badge = s.label ? `<span class="badge ${s.label.toLowerCase()}">${s.label === 'PASS' ? 'gates passed' : `gate failed: ${esc(s.failed.join(', '))}`}</span>` : '';
  const warn = f.allWarnings(r).map((w) => `<div class="warning" role="alert" data-code="${esc(w.code)}">⚠ ${esc(w.message)}</div>`).join('');
  const inSample = r.data.inSample ? `<div class="note">${esc(f.IN_SAMPLE_NOTE)}</div>` : '';
  const data = `${esc(r.data.dir)}: ${r.data.samples} samples, batch ${r.data.batchSize}${r.data.labels ? `, labels ${esc(r.data.labels)}` : ''}`;
  return `<h1>qtool report${badge}</h1><div class="muted">${c(r.models.float.path)} (${r.models.float.format}) → ${c(r.models.quantized.path)} (${r.models.quantized.format}) · ${data}</div>${warn}${inSample}`;
}

function summaryCharts(r: Report): string {
  const p = f.primaryOutput(r);
  const charts: string[] = [];
  const acc = p?.classifier?.accuracy;
  if (acc) charts.push(pairBars(`Accuracy (drop ${acc.dropPp.toFixed(2)} pp)`, [{ label: 'top-1 accuracy', float: acc.float, quantized: acc.quantized, format: (v) => f.pct(v) }]));
  else if (p?.classifier) charts.push(pairBars('Top-1 agreement', [{ label: 'agreement', float: 1, quantized: p.classifier.top1Agreement, format: (v) => f.pct(v) }]));
  charts.push(pairBars(`Size (${f.sizeRatio(r.size)})`, [{ label: 'file size', float: r.size.floatBytes, quantized: r.size.quantizedBytes, format: f.bytes }]));
  const lat = r.latency?.results ?? [];
  if (lat.length) {
    const rows: PairRow[] = lat.map((l) => ({ label: `batch ${l.batch} (ms)`, float: l.floatMs, quantized: l.quantizedMs, format: f.ms, bad: l.speedup < 1 }));
    charts.push(pairBars(`Latency, ${r.latency!.threads} threads (median)`, rows));
  }
  return `<h2>Summary</h2><div class="cards">${charts.map((s) => `<div class="card">${s}</div>`).join('')}</div>`;
}

function summaryTable(r: Report): string {
  const rows = r.outputs.map((o) => {
    const k = o.classifier;
    const a = k?.accuracy;
    return [c(o.name), f.db(o.sqnrDb, 2), o.cosine.toFixed(5), f.num(o.maxAbs), f.num(o.meanAbs), k ? f.pct(k.top1Agreement) : '-',
      a ? f.pct(a.float) : '-', a ? f.pct(a.quantized) : '-', a ? a.dropPp.toFixed(2) : '-'];
  });
  const lat = (r.latency?.results ?? []).map((l) => [String(l.batch), f.ms(l.floatMs), f.ms(l.quantizedMs), l.speedup < 1 ? `<strong class="hint-clipping-dominated">${f.speedup(l.speedup)}</strong>` : f.speedup(l.speedup)]);
  const skipped = (r.latency?.skipped ?? []).map((s) => `<div class="muted">batch ${s.batch} not timed: ${esc(s.reason)}</div>`).join('');
  return `<h2>Outputs</h2>${tableHtml(['output', 'SQNR dB', 'cosine', 'max abs', 'mean abs', 'top-1 agree', 'acc float', 'acc quant', 'drop pp'], rows, new Set([1, 2, 3, 4, 5, 6, 7, 8]))}` +
    `<h2>Size and speed</h2>${tableHtml(['', 'float', 'quantized', ''], [['bytes', f.bytes(r.size.floatBytes), f.bytes(r.size.quantizedBytes), esc(f.sizeRatio(r.size))]], new Set([1, 2]))}` +
    (lat.length ? tableHtml(['batch', 'float ms', 'quantized ms', 'speed'], lat, new Set([0, 1, 2])) : '<div class="muted">latency not measured</div>') + skipped +
    (r.latency?.note ? `<div class="note">${esc(r.latency.note)}</div>` : '');
}

function gates(r: Report): string {
  if (!r.gates) return '';
  const rows = r.gates.results.map((g) => [c(g.flag), String(g.threshold), g.actual === null ? 'n/a' : f.num(g.actual), g.passed ? 'pass' : '<strong class="hint-clipping-dominated">FAIL</strong>', esc(g.message)]);
  return `<h2>Gates</h2>${tableHtml(['gate', 'threshold', 'measured', 'result', 'detail'], rows, new Set([1, 2]))}`;
}

function layers(r: Report, maxHistograms: number): string {
  const l = r.layers;
  if (!l) return '<h2>Per-layer analysis</h2><p class="muted">Skipped (--no-per-layer).</p>';
  const rows = l.tensors.map((t) => {
    const cells = f.layerRow(t);
    return [cells[0]!, c(f.layerNodes(t)), c(t.tensor), cells[3]!, cells[4]!, cells[5]!, `<span class="hint-${t.hint}">${t.hint}</span>`, esc(cells[7]!), esc(f.range(t.clipRange)), esc(cells[8]!), cells[9]!];
  });
  const hists = l.tensors.filter((t) => t.histogram).slice(0, maxHistograms).map(histogramChart).join('');
  const skipped = l.skipped.length ? `<details><summary>${l.skipped.length} tensors not analysed</summary>${tableHtml(['tensor', 'why'], l.skipped.map((s) => [c(s.tensor), esc(s.reason)]))}</details>` : '';
  const absorbed = l.absorbed.length ? `<details><summary>${l.absorbed.length} tensors analysed as the tensor whose range absorbed them</summary>${tableHtml(['tensor', 'analysed as'], l.absorbed.map((a) => [c(a.tensor), c(a.into)]))}</details>` : '';
  const how = l.mapSource === 'metadata' ? 'matched through the tensor map qtool recorded in the model' : 'matched through QuantizeLinear→DequantizeLinear pairs (the model carries no qtool tensor map)';
  return `<h2>Per-layer analysis</h2><div class="note">${esc(f.INSTRUMENTED_NOTE)}</div>` +
    `<p>${l.tensors.length} quantized tensors${esc(f.layerSamplesText(r))}, ${esc(how)}; ranked worst first by the error each adds on its own (only that tensor quantized). Bars are coloured by hint: <span class="hint-clipping-dominated">clipping-dominated</span>, <span class="hint-rounding-dominated">rounding-dominated</span>.</p>` +
    (l.tensors.length ? layerBars(l.tensors) : '') +
    (hists ? `<h2>Histograms of the worst tensors</h2><p class="muted">Float values over the evaluation data (log counts); dashed red lines mark the clip range the quantizer chose, the shaded area is clipped.</p><div class="hists">${hists}</div>` : '') +
    `<h2>All quantized tensors</h2>${tableHtml(['#', 'nodes (producer → consumers)', ...f.LAYER_HEADERS.slice(2, 8), 'clip range', 'algo', 'dtype'], rows, new Set([0, 3, 4, 5]))}${absorbed}${skipped}`;
}

function coverageHtml(r: Report): string {
  const cv = r.coverage;
  const byOp = Object.entries(cv.byOp).map(([op, n]) => [esc(op), String(n.quantized), String(n.float)]);
  const fl = cv.floatNodes.map((n) => [c(n.name), esc(n.opType), esc(n.reason)]);
  return `<h2>Quantized and float nodes</h2><p>${cv.quantized} nodes quantized, ${cv.float} left in float.</p>${tableHtml(['op', 'quantized', 'float'], byOp, new Set([1, 2]))}` +
    (fl.length ? `<details><summary>Nodes left in float and why</summary>${tableHtml(['node', 'op', 'why'], fl)}</details>` : '');
}

function suggestionHtml(r: Report): string {
  const s = r.suggestion;
  if (!s) return '';
  return `<h2>What to try</h2><p>Keep the worst layers (${s.nodes.map(c).join(', ')}) in float:</p><pre class="command"><code>${esc(s.excludeCommand)}</code></pre>` +
    `<p>or quantize every activation to 16 bits:</p><pre class="command"><code>${esc(s.int16Command)}</code></pre>`;
}

export interface HtmlOptions {
  /** Histograms of the worst tensors to draw (default 8). */
  maxHistograms?: number;
}

export function renderHtml(r: Report, opts: HtmlOptions = {}): string {
  const json = renderJson(r, { pretty: false }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>qtool report: ${esc(r.models.quantized.path)}</title><style>${CSS}</style></head>
<body>${header(r)}${summaryCharts(r)}${gates(r)}${summaryTable(r)}${layers(r, opts.maxHistograms ?? 8)}${coverageHtml(r)}${suggestionHtml(r)}
<p class="muted">Generated by qtool ${esc(r.generator.version)} at ${esc(r.createdAt)} · schema ${esc(r.schema)} v${r.version}</p>
<script type="application/json" id="qtool-report">${json}</script>
</body></html>
`;
}
