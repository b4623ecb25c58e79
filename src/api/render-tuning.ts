// Text, JSON and HTML for `qtool sensitivity` and for the accuracy search of `quantize --target-*`.
// Same conventions as the verification report: one self-contained HTML page (no script, no CDN),
// the data embedded as an inert JSON block; JSON with non-finite numbers as strings.
import { esc } from '../report/svg.js';
import { table } from '../report/format.js';
import { atomicWrite } from '../onnx/io.js';
import { UserInputError } from '../errors.js';
import type { SensitivityResult } from './sensitivity.js';
import type { SearchRecord } from './autotune.js';

const dB = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x === Infinity ? 'exact' : x === -Infinity ? '-inf' : x.toFixed(2));
const rec = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x === Infinity ? '+inf' : `${x >= 0 ? '+' : ''}${x.toFixed(2)}`);
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

/** JSON.stringify with ±Infinity kept as strings ("Infinity"), which plain JSON cannot hold. */
export function toJson(x: unknown, pretty = true): string {
  return JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), pretty ? 2 : undefined);
}

const HEADERS = ['#', 'node', 'op', 'alone dB', 'float: dB', 'recovery', 'int16: dB', 'recovery'];

export function renderSensitivityText(r: SensitivityResult): string {
  const rows = r.units.map((u) => [String(u.rank), u.node, u.opType, dB(u.aloneSqnrDb), dB(u.floatSqnrDb), rec(u.floatRecoveryDb), dB(u.int16SqnrDb), rec(u.int16RecoveryDb)]);
  return [
    `sensitivity of ${r.model} (output '${r.primaryOutput}', ${r.data.samples} samples from ${r.data.dir}${r.data.inSample ? ', in-sample' : ''})`,
    `  full int8: ${dB(r.baseline.sqnrDb)} dB SQNR${r.baseline.agreement !== null ? `, top-1 agreement ${pct(r.baseline.agreement)}` : ''}${r.baseline.accuracy !== null ? `, accuracy ${pct(r.baseline.accuracy)} (float ${pct(r.float.accuracy)})` : ''}`,
    '  alone: output SQNR with only this unit quantized; float/int16: output SQNR with everything int8 but this unit, and the gain over full int8',
    '',
    ...table(HEADERS, rows, new Set([0, 3, 4, 5, 6, 7])),
    '',
    `cost: calibration ${(r.cost.calibrationMs / 1000).toFixed(1)} s, float pass ${(r.cost.floatPassMs / 1000).toFixed(1)} s, ${r.cost.trials} trials ${(r.cost.trialMs / 1000).toFixed(1)} s, total ${(r.cost.totalMs / 1000).toFixed(1)} s`,
    ...r.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;color:#212529;margin:0 auto;padding:24px;max-width:1200px}h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #dee2e6}
code{font:12px ui-monospace,monospace;background:#f1f3f5;padding:1px 4px;border-radius:3px;word-break:break-all}.muted{color:#6c757d}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #dee2e6;padding:4px 8px;text-align:left}th{background:#f8f9fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:10px;background:#1c7ed6;vertical-align:middle}.miss{color:#c92a2a;font-weight:600}.met{color:#2f9e44;font-weight:600}`;

function tableHtml(headers: string[], rows: string[][], numeric: ReadonlySet<number>): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function page(title: string, body: string, data: unknown): string {
  const json = toJson(data, false).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>
<body>${body}
<script type="application/json" id="qtool-data">${json}</script>
</body></html>
`;
}

export function renderSensitivityHtml(r: SensitivityResult): string {
  const best = Math.max(1e-9, ...r.units.map((u) => Math.max(finite(u.floatRecoveryDb), finite(u.int16RecoveryDb))));
  const rows = r.units.map((u) => {
    const g = Math.max(finite(u.floatRecoveryDb), finite(u.int16RecoveryDb));
    return [String(u.rank), `<code>${esc(u.node)}</code>`, esc(u.opType), dB(u.aloneSqnrDb), dB(u.floatSqnrDb), rec(u.floatRecoveryDb), dB(u.int16SqnrDb), rec(u.int16RecoveryDb),
      `<span class="bar" style="width:${Math.max(0, Math.round((160 * g) / best))}px"></span>`];
  });
  const body = `<h1>qtool sensitivity</h1><div class="muted"><code>${esc(r.model)}</code> · output <code>${esc(r.primaryOutput)}</code> · ${r.data.samples} samples from <code>${esc(r.data.dir)}</code>${r.data.inSample ? ' (in-sample)' : ''}</div>
<p>Full int8: <strong>${dB(r.baseline.sqnrDb)} dB</strong> output SQNR${r.baseline.agreement !== null ? `, top-1 agreement ${pct(r.baseline.agreement)}` : ''}${r.baseline.accuracy !== null ? `, accuracy ${pct(r.baseline.accuracy)} (float ${pct(r.float.accuracy)})` : ''}.
Units are ranked by the SQNR they recover when they alone fall back (float or int16); "alone" is the output SQNR with only that unit quantized.</p>
<h2>Units</h2>${tableHtml([...HEADERS, 'best recovery'], rows, new Set([0, 3, 4, 5, 6, 7]))}
<p class="muted">Cost: calibration ${(r.cost.calibrationMs / 1000).toFixed(1)} s, float pass ${(r.cost.floatPassMs / 1000).toFixed(1)} s, ${r.cost.trials} in-memory trials ${(r.cost.trialMs / 1000).toFixed(1)} s, total ${(r.cost.totalMs / 1000).toFixed(1)} s. qtool ${esc(r.generator.version)}.</p>
${r.notes.map((n) => `<p class="muted">${esc(n)}</p>`).join('')}`;
  return page(`qtool sensitivity: ${r.model}`, body, r);
}

export function renderSearchText(s: SearchRecord): string {
  const rows = s.steps.map((st, i) => [String(i), String(st.fallback.length), st.added.join(', ') || '(full int8)', dB(st.metrics.sqnrDb), pct(st.metrics.agreement), pct(st.metrics.accuracy), st.met ? 'yes' : 'no']);
  return [
    `accuracy search: target ${s.target.label}; ${s.met ? 'MET' : `MISSED by ${s.shortfall}`} with ${s.fallback.length} of ${s.units} units in ${s.mode} (${s.reason})`,
    ...table(['step', 'units', 'added', 'SQNR dB', 'agreement', 'accuracy', 'target met'], rows, new Set([0, 1, 3, 4, 5])),
    `  fell back: ${s.fallback.length ? s.fallback.join(', ') : 'none'}`,
    `  cost: ${s.trials} trials, ${(s.ms / 1000).toFixed(1)} s (calibration ${(s.calibrationMs / 1000).toFixed(1)} s)`,
  ].join('\n');
}

export function renderSearchHtml(s: SearchRecord): string {
  const rows = s.steps.map((st, i) => [String(i), String(st.fallback.length), esc(st.added.join(', ') || '(full int8)'), dB(st.metrics.sqnrDb), pct(st.metrics.agreement), pct(st.metrics.accuracy), st.met ? '<span class="met">yes</span>' : 'no']);
  const body = `<h1>qtool accuracy search</h1><p>Target ${esc(s.target.label)}: ${s.met ? '<span class="met">met</span>' : `<span class="miss">missed by ${esc(s.shortfall ?? '')}</span>`} with ${s.fallback.length} of ${s.units} units in ${esc(s.mode)} (${esc(s.reason)}).</p>
<h2>Steps</h2>${tableHtml(['step', 'units', 'added', 'SQNR dB', 'agreement', 'accuracy', 'target met'], rows, new Set([0, 1, 3, 4, 5]))}
<h2>Units that fell back</h2><p>${s.fallback.map((n) => `<code>${esc(n)}</code>`).join(' ') || 'none'}</p>
<p class="muted">${s.trials} trials, ${(s.ms / 1000).toFixed(1)} s.</p>`;
  return page('qtool accuracy search', body, s);
}

/** Writes .json / .html / .txt files (atomically), by extension. */
export function writeTuningFiles(files: readonly string[], render: { json: () => string; html: () => string; text: () => string }): string[] {
  for (const f of files) {
    const ext = f.toLowerCase().split('.').pop();
    const body = ext === 'json' ? render.json() : ext === 'html' || ext === 'htm' ? render.html() : ext === 'txt' || ext === 'md' ? render.text() : undefined;
    if (body === undefined) throw new UserInputError(`${f}: unknown report format; use .json, .html or .txt`);
    atomicWrite(f, [Buffer.from(body.endsWith('\n') ? body : `${body}\n`)]);
  }
  return [...files];
}

function finite(x: number | null): number {
  if (x === null || Number.isNaN(x)) return 0;
  return x === Infinity ? 100 : x;
}
