import { Option, type Command } from 'commander';
import { GateError, gateFailureMessage, quantize, renderText, reportWarnings, type QuantizeResult } from '../index.js';
import { gatesFrom, number, progressBar, reportFlag } from './compare.js';
import { runCommand, stdio } from './run.js';
import { createProgress } from './progress.js';
import { formatBytes } from './inspect.js';
import { addTuneOptions, quantizeOrSearch, type TuneFlags } from './sensitivity.js';
import type { SearchRecord } from '../api/autotune.js';

interface QuantizeFlags extends TuneFlags {
  output?: string; data?: string; algo?: string; format?: string; mode?: string; target?: string;
  perChannel?: boolean; perTensor?: boolean; activationType?: string; weightType?: string;
  symmetricActivations?: boolean; reduceRange?: boolean; excludeNodes?: string; excludeOps?: string;
  includeOps?: string; calibCount?: string; batchSize?: string; percentile?: string; firstLayer?: string;
  lastLayer?: string; blockSize?: string; stats?: string; savePlan?: string; overrides?: string;
  config?: string; preprocess?: string; provider?: string; threads?: string; json?: boolean; quiet?: boolean;
  debug?: boolean; evalData?: string; labels?: string; report?: string[]; perLayer: boolean; latency: boolean;
  verify: boolean; maxDrop?: string; minSqnr?: string; minAgreement?: string; evalCount?: string;
}

/** Flags that are QuantConfig keys; undefined ones are dropped so the config file can supply them. */
export function configFromFlags(f: QuantizeFlags): Record<string, unknown> {
  const perChannel = f.perTensor ? false : f.perChannel ? true : undefined;
  const raw: Record<string, unknown> = {
    algo: f.algo, format: f.format, mode: f.mode, target: f.target, perChannel,
    activationType: f.activationType, weightType: f.weightType, symmetricActivations: f.symmetricActivations,
    reduceRange: f.reduceRange, excludeNodes: f.excludeNodes, excludeOps: f.excludeOps, includeOps: f.includeOps,
    calibCount: f.calibCount, batchSize: f.batchSize, percentile: f.percentile, firstLayer: f.firstLayer,
    lastLayer: f.lastLayer, blockSize: f.blockSize, providers: f.provider, threads: f.threads,
  };
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}

export function addQuantOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--algo <algo>', 'range algorithm (default mse; auto: chosen per tensor on the model output over the calibration data)').choices(['minmax', 'kl', 'mse', 'percentile', 'auto']))
    .addOption(new Option('--format <format>', 'output format (default qdq)').choices(['qdq', 'qoperator']))
    .addOption(new Option('--mode <mode>', 'quantization mode (default static)').choices(['static', 'dynamic', 'weight-only']))
    .addOption(new Option('--target <target>', 'target preset (default auto: ort-cpu, or ort-cpu-novnni on an x86 CPU without VNNI)').choices(['auto', 'ort-cpu', 'ort-cpu-novnni', 'tensorrt', 'generic']))
    .option('--per-channel', 'per-channel weight scales (default)')
    .option('--per-tensor', 'one scale per weight tensor')
    .addOption(new Option('--activation-type <type>', 'activation type (default uint8)').choices(['uint8', 'int8', 'int16']))
    .addOption(new Option('--weight-type <type>', 'weight type (default int8)').choices(['int8', 'uint8', 'int4']))
    .option('--symmetric-activations', 'zero point 0 / midpoint for activations')
    .option('--reduce-range', '7-bit weights (pre-VNNI x86)')
    .option('--exclude-nodes <names>', 'comma-separated node names to keep in float')
    .option('--exclude-ops <ops>', 'comma-separated op types to keep in float')
    .option('--include-ops <ops>', 'quantize only these op types')
    .option('--calib-count <n>', 'use the first N calibration samples')
    .option('--batch-size <n>', 'calibration batch size (default 1)')
    .option('--percentile <p>', 'percentile for --algo percentile (default 99.999)')
    .addOption(new Option('--first-layer <precision>', 'precision of the first weighted layer (default int8)').choices(['int8', 'int16', 'float']))
    .addOption(new Option('--last-layer <precision>', 'precision of the last weighted layer (default int8)').choices(['int8', 'int16', 'float']))
    .option('--block-size <n>', 'weight-only int4 block size (default 32)')
    .option('--preprocess <spec>', 'image preprocessing, e.g. "resize=256,crop=224,mean=0.485;0.456;0.406,std=0.229;0.224;0.225"')
    .option('--provider <list>', 'onnxruntime execution providers, e.g. cpu (default; the only one tested) or cuda,cpu')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--config <file>', 'qtool.config.json with the same options (flags override it)');
}

export function registerQuantize(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('quantize')
    .description('quantize a float ONNX model to INT8 (default: static, QDQ, per-channel int8 weights, uint8 activations)')
    .argument('<model>', 'float ONNX model')
    .option('-o, --output <file>', 'output model (default <model>.int8.onnx)')
    .option('--data <dir>', 'calibration data folder (.npy/.npz/.pb/images)')
    .option('--stats <file>', 'reuse statistics from qtool calibrate instead of calibrating')
    .option('--save-plan <file>', 'write the quantization plan (JSON)')
    .option('--overrides <file>', 'pin ranges, dtypes or granularity per tensor (plan JSON)');
  addTuneOptions(addQuantOptions(cmd))
    .option('--eval-data <dir>', 'held-out data for the verification (default: the calibration data, marked in-sample)')
    .option('--labels <file>', 'class indices of the evaluation samples (.json array or .npy), for accuracy')
    .option('--eval-count <n>', 'evaluate on the first N samples only')
    .option('--report <file>', 'write the report: .json, .md or .html (repeatable, or a comma list)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-per-layer', 'skip the per-layer error analysis')
    .option('--no-latency', 'skip the latency measurement')
    .option('--no-verify', 'skip the verification against the float model')
    .option('--max-drop <pp>', 'fail (exit 3) when accuracy drops by more than PP points (needs --labels); the model is still written')
    .option('--min-sqnr <db>', 'fail (exit 3) when the output SQNR is below DB')
    .option('--min-agreement <f>', 'fail (exit 3) when top-1 agreement (0..1) is below F')
    .option('--json', 'print a JSON summary as the last line')
    .option('--quiet', 'no progress output')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string, flags: QuantizeFlags) => {
      setExit(await runCommand(async () => {
        const gates = gatesFrom(flags);
        const reports = reportFlag(flags.report);
        const progress = createProgress({ label: 'calibrating', unit: 'samples', quiet: flags.quiet || flags.json });
        const verifyBar = progressBar(!flags.quiet && !flags.json && !!process.stderr.isTTY);
        let result: QuantizeResult;
        let search: SearchRecord | undefined;
        try {
          ({ result, search } = await quantizeOrSearch(model, flags, {
            output: flags.output, data: flags.data, stats: flags.stats, savePlan: flags.savePlan,
            overrides: flags.overrides, preprocess: flags.preprocess, configFile: flags.config,
            config: configFromFlags(flags), onProgress: (d, t) => progress.update(d, t),
            verify: flags.verify ? {
              evalData: flags.evalData, labels: flags.labels, reports, gates, perLayer: flags.perLayer, latency: flags.latency,
              count: number('--eval-count', flags.evalCount, { int: true, min: 1 }), onProgress: verifyBar.update,
            } : undefined,
          }, quantize));
        } finally {
          progress.stop();
          verifyBar.stop();
        }
        if (result.report) {
          for (const w of reportWarnings(result.report)) if (!flags.quiet || w.startsWith('THE QUANTIZED MODEL IS SLOWER')) stdio.err(`qtool: WARNING: ${w}`);
        }
        if (flags.json) stdio.out(JSON.stringify({ ...summary(result), ...(search ? { search } : {}) }, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
        else if (!flags.quiet) stdio.out([renderSummary(result), ...(result.report ? ['', renderText(result.report)] : [])].join('\n'));
        if (result.gateFailures.length) throw new GateError(gateFailureMessage(result.gateFailures));
        if (search && !search.met) throw new GateError(`target ${search.target.label} missed by ${search.shortfall} (${search.reason}); the best model found was written to ${result.output}`);
      }, !!flags.debug));
    });
}

export function summary(r: QuantizeResult) {
  const count = (s: string) => r.plan.nodes.filter((n) => n.status === s).length;
  return {
    input: r.input, output: r.output, mode: r.config.mode, format: r.config.format, algo: r.config.algo, target: r.config.target,
    nodes: { quantized: count('quantized'), absorbed: count('absorbed'), float: count('float') },
    sizes: r.sizes, calibrationSamples: r.timings.calibrationSamples, notes: r.notes,
    verification: r.report ? {
      inSample: r.report.data.inSample, samples: r.report.data.samples, outputs: r.report.outputs,
      worstLayers: r.report.layers?.tensors.slice(0, 5).map((t) => ({ tensor: t.tensor, ownSqnrDb: t.ownSqnrDb, hint: t.hint })) ?? null,
      latency: r.report.latency, gates: r.report.gates, warnings: r.report.warnings,
    } : null,
    reports: r.reportFiles,
  };
}

function renderSummary(r: QuantizeResult): string {
  const s = summary(r);
  const floatNodes = r.plan.nodes.filter((n) => n.status === 'float');
  const reasons = new Map<string, number>();
  for (const n of floatNodes) reasons.set(`${n.opType}: ${n.reason}`, (reasons.get(`${n.opType}: ${n.reason}`) ?? 0) + 1);
  return [
    `wrote ${r.output}`,
    `  ${s.mode}, ${s.format}, algo ${s.algo}, target ${s.target}; ${s.calibrationSamples} calibration samples`,
    `  nodes: ${s.nodes.quantized} quantized, ${s.nodes.absorbed} folded into a producer's range, ${s.nodes.float} left in float`,
    ...[...reasons].map(([k, n]) => `    float ×${n}  ${k}`),
    `  size: ${formatBytes(r.sizes.float)} → ${formatBytes(r.sizes.quantized)} (${(r.sizes.ratio * 100).toFixed(1)}%)`,
    ...r.notes.map((n) => `  note: ${n}`),
  ].join('\n');
}
