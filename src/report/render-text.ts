// The terminal table.
import * as f from './format.js';
import type { Report } from './types.js';

export interface TextOptions {
  /** Layers to list (default 15). */
  maxLayers?: number;
}

function outputsBlock(r: Report): string[] {
  const rows = r.outputs.map((o) => {
    const c = o.classifier;
    const a = c?.accuracy;
    return [o.name, f.db(o.sqnrDb, 2), o.cosine.toFixed(5), f.num(o.maxAbs), f.num(o.meanAbs),
      c ? f.pct(c.top1Agreement) : '-', a ? f.pct(a.float) : '-', a ? f.pct(a.quantized) : '-', a ? a.dropPp.toFixed(2) : '-'];
  });
  const headers = ['output', 'SQNR dB', 'cosine', 'max abs', 'mean abs', 'top-1 agree', 'acc float', 'acc quant', 'drop pp'];
  return ['outputs', ...f.table(headers, rows, new Set([1, 2, 3, 4, 5, 6, 7, 8])).map((l) => `  ${l}`)];
}

function latencyBlock(r: Report): string[] {
  const l = r.latency;
  if (!l) return [];
  const rows = l.results.map((x) => [String(x.batch), f.ms(x.floatMs), f.ms(x.quantizedMs), f.speedup(x.speedup)]);
  return [
    '',
    `latency    onnxruntime-node, ${l.threads} threads, median of ${l.rounds === l.results.reduce((m, x) => Math.min(m, x.rounds ?? l.rounds), l.rounds) ? '' : 'up to '}${l.rounds} alternating rounds × ${l.runsPerRound} runs`,
    ...(l.note ? [`           ${l.note}`] : []),
    ...f.table(['batch', 'float ms', 'quantized ms', 'speed'], rows, new Set([0, 1, 2])).map((x) => `  ${x}`),
    ...l.skipped.map((s) => `  batch ${s.batch} skipped: ${s.reason}`),
  ];
}

function layersBlock(r: Report, max: number): string[] {
  const l = r.layers;
  if (!l) return ['', 'per-layer  skipped (--no-per-layer)'];
  const shown = l.tensors.slice(0, max);
  const lines = [
    '',
    `per-layer  ${l.tensors.length} quantized tensors${f.layerSamplesText(r)}, worst first by the error each adds on its own (matched by ${l.mapSource === 'metadata' ? 'the qtool tensor map' : 'Q→DQ structure'})`,
    `           ${f.INSTRUMENTED_NOTE}`,
    ...f.table(f.LAYER_HEADERS, shown.map(f.layerRow), new Set([0, 3, 4, 5])).map((x) => `  ${x}`),
  ];
  if (l.tensors.length > shown.length) lines.push(`  … ${l.tensors.length - shown.length} more in the JSON/HTML report`);
  if (l.absorbed.length) lines.push(`  ${l.absorbed.length} tensors share the quantized tensor of a following one (range absorbed by a Relu/Clip) and are analysed as that one`);
  if (l.skipped.length) lines.push(`  ${l.skipped.length} tensors not analysed: ${l.skipped.slice(0, 3).map((s) => `${s.tensor} (${s.reason})`).join('; ')}${l.skipped.length > 3 ? '; …' : ''}`);
  return lines;
}

function coverageBlock(r: Report): string[] {
  const c = r.coverage;
  const lines = ['', `coverage   ${c.quantized} nodes quantized, ${c.float} left in float`];
  for (const n of c.floatNodes.slice(0, 10)) lines.push(`  float  ${n.opType} '${n.name}': ${n.reason}`);
  if (c.floatNodes.length > 10) lines.push(`  … ${c.floatNodes.length - 10} more`);
  return lines;
}

function gatesBlock(r: Report): string[] {
  if (!r.gates) return [];
  return ['', 'gates', ...r.gates.results.map((g) => `  ${g.passed ? 'PASS' : 'FAIL'}  ${g.message}`)];
}

export function renderText(r: Report, opts: TextOptions = {}): string {
  const m = r.models;
  const status = f.gateStatus(r);
  const lines = [
    `qtool compare${status.label ? `  [${status.label}${status.failed.length ? `: ${status.failed.join(', ')}` : ''}]` : ''}`,
    `float      ${m.float.path}  (${f.bytes(m.float.bytes)}, ${m.float.format})`,
    `quantized  ${m.quantized.path}  (${f.bytes(m.quantized.bytes)}, ${m.quantized.format})`,
    `size       ${f.sizeRatio(r.size)}`,
    `data       ${r.data.dir}: ${r.data.samples} samples, batch ${r.data.batchSize}${r.data.labels ? `, labels ${r.data.labels}` : ''}`,
  ];
  if (r.data.inSample) lines.push(`           ${f.IN_SAMPLE_NOTE}`);
  lines.push('', ...outputsBlock(r), ...latencyBlock(r), ...layersBlock(r, opts.maxLayers ?? 15), ...coverageBlock(r), ...gatesBlock(r));
  const warnings = f.allWarnings(r);
  if (warnings.length) lines.push('', 'WARNINGS', ...warnings.map((w) => `  !! ${w.message}`));
  const next = f.suggestionLines(r);
  if (next.length) lines.push('', ...next);
  return lines.join('\n');
}
