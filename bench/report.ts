// docs/benchmarks.md from the figures of one `npm run bench`: numbers only, plus whether the
// speed targets of issue 6 hold as measured.
import type { FusionReport } from './fusion.js';
import { summarizeIslands } from './fusion.js';
import { pairedSpeedup, QUIET_CORES, type LatencyStats } from './measure.js';
import { VARIANT_KEYS, VARIANTS, type ModelResult, type QuantizeFigures, type SpeedReport, type Variant } from './speed.js';

export interface BenchReport extends SpeedReport {
  command: string;
  wallS: number;
  baselineRssMiB: number;
  /** model key → variant → analysis of onnxruntime's optimised graph. */
  fusion: Record<string, Partial<Record<string, FusionReport | { error: string }>>>;
}

/** Issue 6: int8 must be at least this much faster than float (model key → batch → ×). */
export const TARGETS: Record<string, Record<number, number>> = {
  resnet18: { 1: 2.3, 8: 2.0 },
  mobilenetv2: { 1: 1.4, 8: 1.2 },
};

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const ms = (x: number) => (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
const load = (s: LatencyStats | undefined) => (s?.foreignCores === undefined ? '–' : f2(s.foreignCores));
const figures = (r: ModelResult, v: Variant) => {
  const q = r.quantized[v];
  return q && 'output' in q ? q : undefined;
};

/** Paired per-round speedup of a variant over float (see pairedSpeedup). */
export function speedup(r: ModelResult, variant: string, batch: number): number | undefined {
  const l = r.latency[batch];
  const q = l?.[variant];
  return l?.float && q ? pairedSpeedup(l.float, q) : undefined;
}

function latencyTable(rep: BenchReport): string[] {
  const lines = [
    '| model | int8 variant | batch | float median ms | int8 median ms | speedup | ratio of medians in each process | int8 p25–p75 ms | runs each | other load (cores) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rep.results) {
    for (const f of VARIANT_KEYS) {
      for (const b of Object.keys(r.latency).map(Number)) {
        const l = r.latency[b]!;
        const q = l[f];
        if (!q) continue;
        const each = (q.processMedians ?? []).map((x, i) => f2(l.float!.processMedians![i]! / x)).join(', ');
        lines.push(`| ${r.model.title} | ${VARIANTS[f].label} | ${b} | ${ms(l.float!.medianMs)} | ${ms(q.medianMs)} | **${f2(speedup(r, f, b)!)}×** | ${each} | ${ms(q.p25Ms)}–${ms(q.p75Ms)} | ${q.runs} | ${load(q)} |`);
      }
    }
  }
  return lines;
}

function targetLines(rep: BenchReport): string[] {
  const lines = [
    `| model | batch | target | ${VARIANT_KEYS.map((v) => VARIANTS[v].label).join(' | ')} | holds (default config) | other load (cores) |`,
    `|---|---|---|${VARIANT_KEYS.map(() => '---|').join('')}---|---|`,
  ];
  for (const r of rep.results) {
    const t = TARGETS[r.model.key];
    if (!t) continue;
    for (const [b, want] of Object.entries(t)) {
      const qdq = speedup(r, 'qdq', Number(b));
      const cells = VARIANT_KEYS.map((v) => speedup(r, v, Number(b))).map((x) => (x === undefined ? '–' : `${f2(x)}×`));
      const noisy = (r.latency[b]?.qdq?.foreignCores ?? 0) > QUIET_CORES ? ' (noisy)' : '';
      const verdict = qdq === undefined ? 'not measured' : `${qdq >= want ? 'yes' : '**no**'}${noisy}`;
      lines.push(`| ${r.model.title} | ${b} | ≥ ${want}× | ${cells.join(' | ')} | ${verdict} | ${load(r.latency[b]?.qdq)} |`);
    }
  }
  return lines;
}

function costTable(rep: BenchReport): string[] {
  const lines = [
    '| model | int8 variant | file size int8/float | calibration ms (samples) | plain float inference ms, same samples | calibration / inference | other load (cores) | quantize peak RSS MiB | inference peak RSS MiB, float → int8 (batch 8) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rep.results) {
    for (const f of VARIANT_KEYS) {
      const q = figures(r, f);
      const err = r.quantized[f];
      if (!q) {
        lines.push(`| ${r.model.title} | ${VARIANTS[f].label} | quantize failed: ${err && 'error' in err ? err.error.split('\n')[0]!.replace(/\|/g, '\\|') : '?'} | | | | | | |`);
        continue;
      }
      lines.push(`| ${r.model.title} | ${VARIANTS[f].label} | ${f2(q.sizeRatio)} (${f1(r.floatBytes / 2 ** 20)} → ${f1((r.floatBytes * q.sizeRatio) / 2 ** 20)} MiB) | ${ms(q.calibrationMs)} (${q.calibrationSamples}) | ${ms(q.plainInferenceMs)} | ${f1(q.calibrationMs / q.plainInferenceMs)}× | ${q.foreignCores === undefined ? '–' : f2(q.foreignCores)} | ${q.peakRssMiB.toFixed(0)} | ${rss(r, f)} |`);
    }
  }
  return lines;
}

function rss(r: ModelResult, f: string): string {
  const a = r.inferenceRssMiB.float;
  const b = r.inferenceRssMiB[f];
  return a === undefined || b === undefined ? '–' : `${a.toFixed(0)} → ${b.toFixed(0)}`;
}

function fusionTable(rep: BenchReport): string[] {
  const lines = [
    '| model | int8 variant | integer kernels | activation Q / DQ left | float ops between DQ and Q | float islands | level `all`: nodes / Transposes / uint8 NCHW MaxPools |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rep.results) {
    for (const f of VARIANT_KEYS) {
      const a = rep.fusion[r.model.key]?.[f];
      if (!a) continue;
      if ('error' in a) {
        lines.push(`| ${r.model.title} | ${VARIANTS[f].label} | analysis failed: ${a.error.split('\n')[0]} | | | | |`);
        continue;
      }
      const between = Object.entries(a.floatBetweenQdq).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
      const islands = summarizeIslands(a.islands).join('; ') || 'none';
      const all = a.allLevel;
      lines.push(`| ${r.model.title} | ${VARIANTS[f].label} | ${a.integerOps} | ${a.activationQ} / ${a.activationDQ} | ${between} | ${islands} | ${all.nodes} / ${all.transposes} / ${all.nchwIntegerMaxPools} |`);
    }
  }
  return lines;
}

function failures(rep: BenchReport): string[] {
  const lines = rep.results.flatMap((r) => r.errors.map((e) => `- ${r.model.title}: ${e}`));
  return lines.length ? ['## Failed measurements', '', ...lines, ''] : [];
}

export function renderReport(rep: BenchReport): string {
  const m = rep.machine;
  const noisy = rep.results.some((r) => Object.values(r.latency).some((l) => Object.values(l).some((s) => (s.foreignCores ?? 0) > QUIET_CORES)));
  return [
    '# Benchmarks',
    '',
    `Generated by \`${rep.command}\` on ${rep.date.slice(0, 10)} (${rep.date}); the whole run took ${rep.wallS.toFixed(0)} s.`,
    'Regenerate with the same command; nothing here is asserted, these are measurements.',
    '',
    `- **Machine:** ${m.cpu}, ${m.cores} logical cores, ${m.memGiB} GiB RAM, ${m.os}`,
    `- **Software:** Node ${m.node}, onnxruntime-node ${m.onnxruntime} (CPU execution provider)`,
    `- **Sessions:** ${rep.threads} intra-op threads, graph optimisation level \`all\`, for float and int8 alike.`,
    '',
    '## How it is measured',
    '',
    '- **Models.** ResNet-18 and MobileNetV2 at 224×224 are built by `bench/models.ts` with qtool\'s own IR, shaped like a',
    '  torchvision export at opset 13 (bias-free convs, BatchNormalization unfolded, ReLU6 as `Clip(x, 0, 6)`,',
    '  dynamic batch dim). Weights are random (He init) and the BN statistics are fitted to image-like data, so',
    '  activations have trained-like ranges. Speed does not depend on training. The MNIST fixtures come from `fixtures/`.',
    '- **Quantization.** `quantize()` with the default config (static, `--algo mse`, per-channel int8 weights, uint8',
    '  activations, `--target ort-cpu`, QDQ), then the same with `format: qoperator`, and with `firstLayer: float`',
    '  (the first-layer policy of issue 6). The 224 models calibrate on 32 synthetic samples (`bench/data.ts`), the',
    '  fixtures on `calibration-data/mnist` (200 samples).',
    '- **Latency.** In a fresh process per model and batch size: three warm-up runs per model, then 7 rounds in which',
    '  the float model and every int8 variant each run k times back to back (k chosen so one model\'s turn takes',
    '  about 0.2 s), the order rotating each round. A model can settle at a different speed in another process, so',
    '  this is done in 3 processes (fewer when the machine stayed busy, see below); latencies are the median of the',
    '  per-process medians. **Speedup** is the median, over the rounds of all processes, of float\'s median in a',
    '  round divided by the int8 model\'s median in the same round (adjacent turns share the machine\'s state, so a',
    '  burst of load moves this less than a ratio of overall medians).',
    '- **Other load.** The machine may be shared. Each figure carries the number of cores other processes kept busy',
    '  while it was measured (from /proc/stat minus the measuring process; for latency, the most over its processes).',
    `  Before each measurement the benchmark waits for other load to fall to ${QUIET_CORES} cores (at most 2 minutes over the`,
    '  whole run); a latency process measured under more load is discarded and retried (5 tries at most, then the',
    '  least noisy are kept). Figures taken under more load are rough: regenerate them on a quiet machine.',
    '- **Calibration cost.** Calibration time as `quantize()` reports it (reading the samples and running the',
    '  augmented model) divided by the time of plain float inference over the same samples at the same batch size',
    '  (samples preloaded, median of three passes, onnxruntime\'s default threads as calibration uses).',
    `- **Peak RSS.** \`process.resourceUsage().maxRSS\`, each figure from its own child process. A child that loads`,
    `  no model peaks at ${rep.baselineRssMiB.toFixed(0)} MiB (Node, tsx and onnxruntime-node themselves).`,
    '',
    '## Speed targets (issue 6)',
    '',
    ...(noisy ? [`> Some latency figures were measured with more than ${QUIET_CORES} cores of other load on the machine (see the last column); treat them as rough.`, ''] : []),
    ...targetLines(rep),
    '',
    '## Latency, float vs int8',
    '',
    ...latencyTable(rep),
    '',
    '## Size, calibration cost and memory',
    '',
    ...costTable(rep),
    '',
    ...failures(rep),
    '## What onnxruntime runs',
    '',
    'Each int8 model is loaded with graph optimisation `extended` and onnxruntime saves the graph it will run',
    '(`optimizedModelFilePath`); `bench/fusion.ts` counts integer kernels, Q/DQ left on activations, and float',
    'compute between a DequantizeLinear and a QuantizeLinear (each such island costs a DQ, a float kernel and a Q).',
    'The last column is from the graph saved at level `all`, which also picks layouts: int8 convs run NHWC with',
    'Transposes at the edges of that region, and a MaxPool left on uint8 data in NCHW runs a generic kernel that',
    'is much slower than pooling in either layout.',
    '',
    ...fusionTable(rep),
    '',
  ].join('\n');
}

export type { QuantizeFigures };
