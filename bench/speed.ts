// Speed benchmark: quantize each model (QDQ, QOperator, and QDQ with the first layer left float;
// default config otherwise), then measure
// float vs int8 latency in onnxruntime-node at 2 threads, batch 1 and 8, alternating the models;
// plus file-size ratio, calibration cost relative to plain inference, and peak RSS (each figure
// from its own child process). Numbers only: nothing here asserts.
//
//   npx tsx bench/speed.ts [--models resnet18,mobilenetv2,lenet_bn,resnet_mini] [--out bench/out/speed.json]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantize } from '../src/index.js';
import { Session } from '../src/runtime/index.js';
import { writeCalibrationFolder } from './data.js';
import {
  THREADS, alternateLatency, cpuMark, pairedSpeedup, foreignCores, inputSpec, machine, peakRssMiB, plainInferenceMs, randomFeed, repeatLatency, reply, runChild, WaitBudget,
  type LatencyStats, type Machine,
} from './measure.js';
import { buildBenchModels } from './models.js';

const SELF = fileURLToPath(import.meta.url);
export const OUT = 'bench/out';
const CALIB224 = path.join(OUT, 'calib224');
const CALIB224_COUNT = 32;
export const BATCHES = [1, 8] as const;
/** The int8 variants each model is quantized to: config over the defaults. */
export const VARIANTS = {
  qdq: { label: 'QDQ (default config)', config: {} },
  qoperator: { label: 'QOperator', config: { format: 'qoperator' } },
  'qdq-first-float': { label: 'QDQ, first layer float', config: { firstLayer: 'float' } },
} as const satisfies Record<string, { label: string; config: Record<string, unknown> }>;
export type Variant = keyof typeof VARIANTS;
export const VARIANT_KEYS = Object.keys(VARIANTS) as Variant[];

export interface BenchModel {
  key: string;
  title: string;
  file: string;
  data: string;
}

export const MODELS: BenchModel[] = [
  { key: 'resnet18', title: 'ResNet-18 224×224', file: path.join(OUT, 'resnet18.onnx'), data: CALIB224 },
  { key: 'mobilenetv2', title: 'MobileNetV2 224×224', file: path.join(OUT, 'mobilenetv2.onnx'), data: CALIB224 },
  { key: 'lenet_bn', title: 'lenet_bn (MNIST fixture)', file: 'fixtures/mnist/lenet_bn.onnx', data: 'calibration-data/mnist' },
  { key: 'resnet_mini', title: 'resnet_mini (MNIST fixture)', file: 'fixtures/mnist/resnet_mini.onnx', data: 'calibration-data/mnist' },
];

export interface QuantizeFigures {
  output: string;
  sizeRatio: number;
  calibrationMs: number;
  calibrationSamples: number;
  plainInferenceMs: number;
  totalMs: number;
  peakRssMiB: number;
  /** Cores other processes kept busy while quantize and the plain loop ran. */
  foreignCores?: number;
  notes: string[];
}

export interface ModelResult {
  model: BenchModel;
  floatBytes: number;
  quantized: Partial<Record<Variant, QuantizeFigures | { error: string }>>;
  /** batch → 'float' or variant → latency. */
  latency: Record<string, Record<string, LatencyStats>>;
  /** label → peak RSS (MiB) of a process that only loads the model and runs batch 8. */
  inferenceRssMiB: Record<string, number>;
  /** Measurements that failed (the report lists them). */
  errors: string[];
}

export interface SpeedReport {
  date: string;
  machine: Machine;
  threads: number;
  results: ModelResult[];
}

// ---- children -------------------------------------------------------------------------------

async function childQuantize(file: string, data: string, variant: Variant, output: string): Promise<void> {
  const mark = cpuMark();
  const r = await quantize(file, { output, data, config: { ...VARIANTS[variant].config } });
  const peak = peakRssMiB();
  const plain = await plainInferenceMs(file, data, r.timings.calibrationSamples);
  reply({
    output: r.output, sizeRatio: r.sizes.ratio, calibrationMs: r.timings.calibrationMs, calibrationSamples: r.timings.calibrationSamples,
    plainInferenceMs: plain, totalMs: r.timings.totalMs, peakRssMiB: peak, foreignCores: foreignCores(mark), notes: r.notes,
  } satisfies QuantizeFigures);
}

async function childRss(file: string): Promise<void> {
  const session = await Session.open(file, { threads: THREADS });
  const feed = randomFeed(inputSpec(file), 8);
  for (let i = 0; i < 3; i++) await session.run(feed);
  reply(peakRssMiB());
}

async function childLatency(filesJson: string, batch: string): Promise<void> {
  reply(await alternateLatency(JSON.parse(filesJson) as Record<string, string>, Number(batch)));
}

// ---- parent ---------------------------------------------------------------------------------

export async function prepareInputs(models: BenchModel[]): Promise<void> {
  const needs224 = models.some((m) => m.data === CALIB224);
  if (!needs224) return;
  fs.mkdirSync(OUT, { recursive: true });
  console.log('building ResNet-18 and MobileNetV2 (BN statistics fitted level by level)…');
  await buildBenchModels(OUT);
  writeCalibrationFolder(CALIB224, CALIB224_COUNT);
}

async function quantizeAll(m: BenchModel, budget: WaitBudget): Promise<ModelResult['quantized']> {
  const out: ModelResult['quantized'] = {};
  for (const variant of VARIANT_KEYS) {
    const output = path.join(OUT, `${m.key}.${variant}.onnx`);
    fs.rmSync(output, { force: true });
    await budget.waitForQuiet();
    try {
      out[variant] = await runChild<QuantizeFigures>(SELF, ['quantize', m.file, m.data, variant, output]);
    } catch (e) {
      out[variant] = { error: String((e as Error).message).split('\n').slice(0, 6).join('\n') };
    }
  }
  return out;
}

export async function benchModel(m: BenchModel, budget: WaitBudget): Promise<ModelResult> {
  console.log(`\n== ${m.title}: ${m.file}`);
  const quantized = await quantizeAll(m, budget);
  const files: Record<string, string> = { float: m.file };
  for (const f of VARIANT_KEYS) {
    const q = quantized[f];
    if (q && 'output' in q) files[f] = q.output;
    console.log(q && 'output' in q
      ? `  ${f}: size ×${q.sizeRatio.toFixed(3)}, calibration ${q.calibrationMs.toFixed(0)} ms / plain ${q.plainInferenceMs.toFixed(0)} ms over ${q.calibrationSamples} samples, peak RSS ${q.peakRssMiB.toFixed(0)} MiB`
      : `  ${f}: quantize failed: ${q && 'error' in q ? q.error.split('\n')[0] : '?'}`);
  }
  const errors: string[] = [];
  const latency: ModelResult['latency'] = {};
  for (const b of BATCHES) {
    const one = () => runChild<Record<string, LatencyStats>>(SELF, ['latency', JSON.stringify(files), String(b)]);
    try {
      const l = (latency[b] = await repeatLatency(one, budget));
      const parts = Object.entries(l).map(([k, v]) => `${k} ${v.medianMs.toFixed(2)} ms${k === 'float' ? '' : ` (×${pairedSpeedup(l.float!, v).toFixed(2)})`}`);
      console.log(`  batch ${b}: ${parts.join(', ')}; other load ${l.float!.foreignCores?.toFixed(2) ?? '?'} cores`);
    } catch (e) {
      errors.push(failure(`latency at batch ${b}`, e));
    }
  }
  const inferenceRssMiB: Record<string, number> = {};
  for (const [label, file] of Object.entries(files)) {
    try {
      inferenceRssMiB[label] = await runChild<number>(SELF, ['rss', file]);
    } catch (e) {
      errors.push(failure(`peak RSS of ${label}`, e));
    }
  }
  console.log(`  inference peak RSS (batch 8): ${Object.entries(inferenceRssMiB).map(([k, v]) => `${k} ${v.toFixed(0)} MiB`).join(', ')}`);
  return { model: m, floatBytes: fs.statSync(m.file).size, quantized, latency, inferenceRssMiB, errors };
}

/** A failed measurement, logged and kept for the report; the rest of the run goes on. */
function failure(what: string, e: unknown): string {
  const msg = `${what} failed: ${String((e as Error).message ?? e).split('\n').filter(Boolean).slice(0, 3).join(' / ')}`;
  console.log(`  ${msg}`);
  return msg;
}

export async function runSpeed(keys?: string[]): Promise<SpeedReport> {
  const models = MODELS.filter((m) => !keys || keys.includes(m.key));
  const mc = machine();
  console.log(`machine: ${mc.cpu}, ${mc.cores} cores, ${mc.memGiB} GiB, node ${mc.node}, onnxruntime-node ${mc.onnxruntime}; ${THREADS} intra-op threads`);
  await prepareInputs(models);
  const results: ModelResult[] = [];
  // Waiting for other load to pass: at most this long over the whole run.
  const budget = new WaitBudget(120_000);
  for (const m of models) results.push(await benchModel(m, budget));
  return { date: new Date().toISOString(), machine: mc, threads: THREADS, results };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const [, kind, ...rest] = argv;
    if (kind === 'quantize') return childQuantize(rest[0]!, rest[1]!, rest[2] as Variant, rest[3]!);
    if (kind === 'rss') return childRss(rest[0]!);
    if (kind === 'latency') return childLatency(rest[0]!, rest[1]!);
    throw new Error(`unknown child task ${kind}`);
  }
  const report = await runSpeed(arg('--models')?.split(','));
  const out = arg('--out') ?? path.join(OUT, 'speed.json');
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) await main();
