// One Report object, four renderers, and the gates — on a hand-made report, so every branch is cheap.
import { describe, expect, it } from 'vitest';
import {
  applyGates, evaluateGates, gateFailureMessage, parseReport, renderHtml, renderJson, renderMarkdown, renderText, reportFiles,
  reportWarnings, REPORT_SCHEMA, REPORT_VERSION, type LayerMetrics, type Report,
} from '../../src/index.js';
import { reportFormat } from '../../src/report/index.js';

function layer(rank: number, tensor: string, own: number, hint: LayerMetrics['hint']): LayerMetrics {
  return {
    rank, tensor, quantized: `${tensor}_dq`, dtype: 'uint8', scale: 0.01, zeroPoint: 0, range: [0, 2.55], clipRange: [0, 2.55], algo: 'minmax',
    observed: [0, 3], elements: 1000, ownSqnrDb: own, accumulatedSqnrDb: own - 1, clipErrorShare: hint === 'clipping-dominated' ? 0.9 : 0,
    clippedFraction: hint === 'clipping-dominated' ? 0.2 : 0, hint, histogram: { lo: 0, hi: 3, counts: [5, 0, 100, 3] },
    nodes: { producers: tensor === 'input' ? [] : [`${tensor}/Conv`], consumers: ['next/Relu'] },
  };
}

function sampleReport(over: Partial<Report> = {}): Report {
  return {
    schema: REPORT_SCHEMA, version: REPORT_VERSION, generator: { name: 'qtool', version: '0.1.0' }, createdAt: '2026-01-01T00:00:00.000Z',
    models: {
      float: { path: 'model.onnx', bytes: 4000, format: 'float', producer: 'pytorch 2', qtoolVersion: null, nodes: 10 },
      quantized: { path: 'model.int8.onnx', bytes: 1000, format: 'qdq', producer: 'pytorch 2', qtoolVersion: '0.1.0', nodes: 30 },
    },
    size: { floatBytes: 4000, quantizedBytes: 1000, ratio: 0.25 },
    data: { dir: 'eval', samples: 100, batchSize: 32, inSample: false, labels: 'labels.json' },
    primaryOutput: 'logits',
    outputs: [{
      name: 'logits', shape: [32, 10], elements: 1000, sqnrDb: 30.5, cosine: 0.9995, maxAbs: 0.3, meanAbs: 0.02,
      classifier: { classes: 10, top1Agreement: 0.99, accuracy: { float: 0.98, quantized: 0.97, dropPp: 1 } },
    }],
    coverage: { source: 'structure', quantized: 9, float: 1, byOp: { Conv: { quantized: 9, float: 0 }, Softmax: { quantized: 0, float: 1 } }, floatNodes: [{ name: 'sm', opType: 'Softmax', reason: 'no dequantized activation feeds it' }] },
    layers: {
      instrumented: true, note: 'instrumented', mapSource: 'metadata', floatGraph: 'original', passes: 1,
      tensors: [layer(1, 'a|b<script>alert(1)</script>', 3.5, 'clipping-dominated'), layer(2, 'conv2', 35, 'rounding-dominated'), layer(3, 'input', Infinity, 'exact')],
      skipped: [], absorbed: [{ tensor: 'bn', into: 'conv2' }],
    },
    latency: { threads: 2, rounds: 5, runsPerRound: 10, results: [{ batch: 1, floatMs: 1, quantizedMs: 0.5, speedup: 2 }, { batch: 8, floatMs: 4, quantizedMs: 3, speedup: 4 / 3 }], skipped: [], quantizedSlower: false, slowerTolerance: 1.05 },
    gates: null,
    warnings: [],
    suggestion: { nodes: ['a|b/Conv'], excludeCommand: "qtool quantize model.onnx --exclude-nodes 'a|b/Conv'", int16Command: 'qtool quantize model.onnx --activation-type int16' },
    ...over,
  };
}

const slower = (): Report => {
  const r = sampleReport();
  return { ...r, latency: { ...r.latency!, results: [{ batch: 1, floatMs: 1, quantizedMs: 2, speedup: 0.5 }], quantizedSlower: true } };
};

describe('gates', () => {
  it('pass and fail against the primary output, naming each gate', () => {
    const r = sampleReport();
    expect(evaluateGates(r, { maxDrop: 1, minSqnr: 30, minAgreement: 0.99 })).toEqual([]);
    const failed = evaluateGates(r, { maxDrop: 0.5, minSqnr: 31, minAgreement: 0.995 });
    expect(failed.map((g) => g.flag)).toEqual(['--max-drop', '--min-sqnr', '--min-agreement']);
    expect(failed[0]!.actual).toBe(1);
    expect(gateFailureMessage(failed)).toMatch(/--max-drop 0\.5: accuracy drop 1\.00 pp > 0\.5 pp/);
  });

  it('a gate whose figure cannot be measured fails (never passes silently)', () => {
    const r = sampleReport({ outputs: [{ ...sampleReport().outputs[0]!, classifier: null }], data: { ...sampleReport().data, labels: null } });
    const failed = evaluateGates(r, { maxDrop: 5, minAgreement: 0 });
    expect(failed.map((g) => [g.gate, g.actual])).toEqual([['max-drop', null], ['min-agreement', null]]);
    expect(failed[0]!.message).toMatch(/no labels/);
  });

  it('applyGates fills report.gates; no gates → null', () => {
    expect(applyGates(sampleReport(), {}).gates).toBeNull();
    const g = applyGates(sampleReport(), { minSqnr: 40 }).gates!;
    expect(g.passed).toBe(false);
    expect(g.results[0]!.gate).toBe('min-sqnr');
  });
});

describe('renderers', () => {
  it('JSON: versioned schema; ±Infinity survive a round trip', () => {
    const text = renderJson(sampleReport());
    const raw = JSON.parse(text);
    expect(raw.schema).toBe('qtool.report');
    expect(raw.version).toBe(1);
    expect(raw.layers.tensors[2].ownSqnrDb).toBe('Infinity');
    const back = parseReport(text);
    expect(back.layers!.tensors[2]!.ownSqnrDb).toBe(Infinity);
    expect(back).toEqual(sampleReport());
    expect(() => parseReport(JSON.stringify({ ...raw, version: 2 }))).toThrow(/newer/);
    expect(() => parseReport('{"schema":"other"}')).toThrow(/qtool\.report/);
  });

  it('terminal: outputs, latency, worst layers with hints, coverage', () => {
    const t = renderText(applyGates(sampleReport(), { maxDrop: 0.5 }));
    expect(t).toMatch(/\[FAIL: --max-drop\]/);
    expect(t).toMatch(/logits\s+30\.50\s+0\.99950/);
    expect(t).toMatch(/1\s+a\|b<script>alert\(1\)<\/script>\/Conv\s+a\|b<script>alert\(1\)<\/script>\s+3\.5\s+2\.5\s+20\.000%\s+clipping-dominated/);
    // the report ends with the command that keeps the worst layers in float
    expect(t.trimEnd().split('\n').slice(-4)).toEqual([
      'Keep the worst layers (a|b/Conv) in float:', "  qtool quantize model.onnx --exclude-nodes 'a|b/Conv'",
      'or quantize every activation to 16 bits:', '  qtool quantize model.onnx --activation-type int16',
    ]);
    expect(t).toMatch(/one pass/);
    expect(t).toMatch(/2\.00× faster/);
    expect(t).toMatch(/float {2}Softmax 'sm'/);
    expect(t).not.toMatch(/WARNINGS/);
  });

  it('every renderer shows the loud warning when the quantized model is slower', () => {
    const r = slower();
    expect(reportWarnings(r)[0]!.code).toBe('quantized-slower');
    expect(renderText(r)).toMatch(/WARNINGS\n {2}!! THE QUANTIZED MODEL IS SLOWER/);
    expect(renderMarkdown(r)).toMatch(/> \[!WARNING\]\n> THE QUANTIZED MODEL IS SLOWER.*\(quantized-slower\)/);
    expect(renderHtml(r)).toMatch(/<div class="warning" role="alert" data-code="quantized-slower">⚠ THE QUANTIZED MODEL IS SLOWER/);
    expect(JSON.parse(renderJson(r)).latency.quantizedSlower).toBe(true);
  });

  it('Markdown: verdict first, summary table, escaped cells, worst layers, small enough for a job summary', () => {
    const md = renderMarkdown(applyGates(sampleReport(), { maxDrop: 0.5, minSqnr: 20 }));
    const lines = md.split('\n');
    expect(lines[0]).toBe('## qtool: `model.onnx` → `model.int8.onnx`');
    expect(md).toMatch(/\*\*❌ gate failed: `--max-drop`\*\*/);
    expect(md).toMatch(/\| accuracy \| 98\.00% \| 97\.00% \| drop \*\*1\.00 pp\*\* \|/);
    expect(md).toMatch(/\| `--min-sqnr` \| 20 \| 30\.5 \| ✅ pass \|/);
    expect(md).toMatch(/\| 1 \| `a\\\|b<script>alert\(1\)<\/script>\/Conv → next\/Relu` \| `a\\\|b<script>alert\(1\)<\/script>` \| 3\.5 \|/);
    expect(md.trimEnd()).toMatch(/# What to try\n\nKeep the worst layers \(`a\\\|b\/Conv`\) in float:\n\n```sh\nqtool quantize model.onnx --exclude-nodes 'a\|b\/Conv'\n```/);
    expect(md).toMatch(/\*\*clipping-dominated\*\*/);
    expect(md).toMatch(/<details><summary>9 nodes quantized, 1 left in float<\/summary>/);
    const many = sampleReport();
    many.layers!.tensors = Array.from({ length: 500 }, (_, i) => layer(i + 1, `t${i}`, 20 + i / 10, 'rounding-dominated'));
    const big = renderMarkdown(many);
    expect(big).toMatch(/490 more tensors in the HTML\/JSON report/);
    expect(big.length).toBeLessThan(8000);
  });

  it('HTML: self-contained, escaped, one bar per tensor, histograms with the clip range', () => {
    const html = renderHtml(sampleReport());
    expect(html).not.toMatch(/<script(?! type="application\/json")/);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html.match(/<rect class="bar /g)).toHaveLength(3);
    expect(html.match(/<path class="hist"/g)).toHaveLength(3);
    expect(html.match(/<line class="clip-line"/g)).toHaveLength(6);
    const embedded = html.match(/<script type="application\/json" id="qtool-report">(.*)<\/script>/)![1]!;
    expect(parseReport(embedded)).toEqual(sampleReport());
    expect(html).toMatch(/<h2>What to try<\/h2>.*<code>qtool quantize model\.onnx --exclude-nodes &#39;a\|b\/Conv&#39;<\/code>/s);
  });

  it('HTML chart: rows named after their nodes, and names that clash when shortened stay apart', () => {
    const r = sampleReport();
    const long = (stage: string) => `/model/backbone/${stage}/shortcut/shortcut.0/Conv`;
    r.layers!.tensors = [layer(1, 'x', 10, 'rounding-dominated'), layer(2, 'y', 11, 'rounding-dominated')];
    r.layers!.tensors[0]!.nodes.producers = [long('stage_one_very_long_name_a')];
    r.layers!.tensors[1]!.nodes.producers = [long('stage_one_very_long_name_b')];
    const labels = [...renderHtml(r).matchAll(/<g class="layer-row"[^>]*><title>.*?<\/title><text class="label"[^>]*>(.*?)<\/text>/g)].map((m) => m[1]!);
    expect(labels).toHaveLength(2);
    expect(labels[0]).not.toBe(labels[1]!.replace(/^2\./, '1.'));
    expect(labels[0]).toMatch(/_a\/shortcut\/shortcut\.0\/Conv$/);
  });

  it('report files: the extension picks the renderer; comma lists and repeats both work', () => {
    expect(reportFiles(['a.json,b.md', 'c.html'])).toEqual(['a.json', 'b.md', 'c.html']);
    expect(['x.json', 'x.md', 'x.html', 'x.HTM'].map(reportFormat)).toEqual(['json', 'md', 'html', 'html']);
    expect(() => reportFormat('x.txt')).toThrow(/\.json, \.md or \.html/);
  });
});
