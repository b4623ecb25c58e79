// Markdown sized for a CI job summary (GitHub's $GITHUB_STEP_SUMMARY takes up to 1 MiB per step):
// the verdict and the headline figures first, the worst layers, the rest folded away.
import * as f from './format.js';
import type { Report } from './types.js';

export interface MarkdownOptions {
  /** Worst layers to list (default 10). */
  maxLayers?: number;
  /** Heading level of the title (default 2). */
  level?: number;
}

/** Text safe inside a table cell. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
/** A tensor or file name as inline code, safe inside a table cell. */
function code(s: string): string {
  const ticks = s.includes('`') ? '``' : '`';
  return `${ticks}${s.replace(/\|/g, '\\|')}${ticks}`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}
function mdTable(headers: string[], rows: string[][]): string[] {
  return [row(headers), row(headers.map(() => '---')), ...rows.map(row)];
}

function headline(r: Report, h: string): string[] {
  const s = f.gateStatus(r);
  const verdict = s.label === 'FAIL' ? `❌ gate failed: ${s.failed.map((x) => `\`${x}\``).join(', ')}` : s.label === 'PASS' ? '✅ gates passed' : '';
  const title = `${h} qtool: ${code(r.models.float.path)} → ${code(r.models.quantized.path)}`;
  const out = [title, ''];
  if (verdict) out.push(`**${verdict}**`, '');
  for (const w of f.allWarnings(r)) out.push(`> [!WARNING]`, `> ${cell(w.message)} <sub>(${w.code})</sub>`, '');
  if (r.data.inSample) out.push(`> [!NOTE]`, `> ${f.IN_SAMPLE_NOTE}`, '');
  return out;
}

function summary(r: Report): string[] {
  const p = f.primaryOutput(r);
  const rows: string[][] = [];
  const acc = p?.classifier?.accuracy;
  if (acc) rows.push(['accuracy', f.pct(acc.float), f.pct(acc.quantized), `drop **${acc.dropPp.toFixed(2)} pp**`]);
  if (p?.classifier) rows.push([`top-1 agreement (${code(p.name)})`, '', f.pct(p.classifier.top1Agreement), '']);
  if (p) rows.push([`SQNR (${code(p.name)})`, '', `${f.db(p.sqnrDb, 2)} dB`, `cosine ${p.cosine.toFixed(5)}`]);
  rows.push(['size', f.bytes(r.size.floatBytes), f.bytes(r.size.quantizedBytes), cell(f.sizeRatio(r.size))]);
  for (const l of r.latency?.results ?? []) {
    rows.push([`latency, batch ${l.batch}`, `${f.ms(l.floatMs)} ms`, `${f.ms(l.quantizedMs)} ms`, l.speedup < 1 ? `**${f.speedup(l.speedup)}**` : f.speedup(l.speedup)]);
  }
  const samples = `${r.data.samples} samples${r.data.inSample ? ' (in-sample)' : ''}${r.data.labels ? ', labelled' : ''}`;
  return [...mdTable(['', 'float', 'quantized', ''], rows), '', `<sub>${cell(samples)}${r.latency ? `; latency: onnxruntime-node, ${r.latency.threads} threads, medians of alternating rounds${r.latency.note ? `. ${cell(r.latency.note.replace(/\.$/, ''))}` : ''}` : ''}.</sub>`, ''];
}

function gates(r: Report, h: string): string[] {
  if (!r.gates) return [];
  const rows = r.gates.results.map((g) => [`\`${g.flag}\``, String(g.threshold), g.actual === null ? 'n/a' : f.num(g.actual), g.passed ? '✅ pass' : '❌ **FAIL**', cell(g.message)]);
  return [`${h}# Gates`, '', ...mdTable(['gate', 'threshold', 'measured', 'result', 'detail'], rows), ''];
}

function outputs(r: Report, h: string): string[] {
  if (r.outputs.length <= 1) return [];
  const rows = r.outputs.map((o) => [code(o.name), f.db(o.sqnrDb, 2), o.cosine.toFixed(5), f.num(o.maxAbs), f.num(o.meanAbs), o.classifier ? f.pct(o.classifier.top1Agreement) : '-']);
  return [`${h}# Outputs`, '', ...mdTable(['output', 'SQNR dB', 'cosine', 'max abs', 'mean abs', 'top-1 agree'], rows), ''];
}

function layers(r: Report, h: string, max: number): string[] {
  const l = r.layers;
  if (!l) return [`${h}# Per-layer`, '', 'Skipped (`--no-per-layer`).', ''];
  const rows = l.tensors.slice(0, max).map((t) => {
    const c = f.layerRow(t);
    return [c[0]!, code(f.layerNodes(t)), code(t.tensor), c[3]!, c[4]!, c[5]!, t.hint === 'clipping-dominated' ? '**clipping-dominated**' : t.hint, c[7]!, cell(c[8]!)];
  });
  const out = [
    `${h}# Worst layers`, '',
    `Ranked by the error each tensor adds on its own; accumulated error beside it${f.layerSamplesText(r)}. <sub>${cell(f.INSTRUMENTED_NOTE)}</sub>`, '',
    ...mdTable(['#', 'nodes (producer → consumers)', 'tensor', 'own SQNR dB', 'accum. dB', 'clipped', 'hint', 'range', 'algo'], rows), '',
  ];
  if (l.tensors.length > max) out.push(`<sub>${l.tensors.length - max} more tensors in the HTML/JSON report.</sub>`, '');
  return out;
}

function floatNodes(r: Report): string[] {
  const c = r.coverage;
  const head = `${c.quantized} nodes quantized, ${c.float} left in float`;
  if (!c.floatNodes.length) return [`<sub>${head}.</sub>`, ''];
  const rows = c.floatNodes.slice(0, 50).map((n) => [code(n.name), n.opType, cell(n.reason)]);
  return ['<details><summary>' + head + '</summary>', '', ...mdTable(['node', 'op', 'why float'], rows), '', '</details>', ''];
}

function suggestion(r: Report, h: string): string[] {
  const s = r.suggestion;
  if (!s) return [];
  return [`${h}# What to try`, '', `Keep the worst layers (${s.nodes.map(code).join(', ')}) in float:`, '', '```sh', s.excludeCommand, '```', '',
    'or quantize every activation to 16 bits:', '', '```sh', s.int16Command, '```', ''];
}

export function renderMarkdown(r: Report, opts: MarkdownOptions = {}): string {
  const h = '#'.repeat(Math.max(1, Math.min(5, opts.level ?? 2)));
  return [
    ...headline(r, h),
    ...summary(r),
    ...gates(r, h),
    ...outputs(r, h),
    ...layers(r, h, opts.maxLayers ?? 10),
    ...floatNodes(r),
    ...suggestion(r, h),
    `<sub>qtool ${r.generator.version} · schema ${r.schema} v${r.version}</sub>`,
    '',
  ].join('\n');
}
