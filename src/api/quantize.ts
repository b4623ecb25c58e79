// quantize(): read → prepare → calibrate (or reuse stats) → plan → rewrite → write → verify.
// The only place these layers are wired together for the main job.
import fs from 'node:fs';
import { UserInputError } from '../errors.js';
import { opsetVersion, type Model } from '../ir/index.js';
import { readModelFile, writeModelFile } from '../onnx/index.js';
import type { QuantConfig } from '../config/index.js';
import { ensureMsDomain, ensureOpset, insertQdq, lowerToQOperator, prepareModel } from '../passes/index.js';
import { planQuantization, tensorsToCalibrate, type Overrides, type QuantPlan, type RangeInput } from '../quant/plan.js';
import { atomicWrite } from '../onnx/io.js';
import { defaultOutputPath, resolveConfig, type ConfigSources } from './options.js';
import { obtainRanges, type CalibrationProgress } from './ranges.js';
import { applyDynamic, applyWeightOnly } from './modes.js';

export interface QuantizeOptions extends ConfigSources {
  output?: string;
  /** Calibration data folder (static mode). */
  data?: string;
  /** Reuse statistics from `qtool calibrate` instead of calibrating. */
  stats?: string;
  /** `--preprocess` spec for image folders. */
  preprocess?: string;
  /** Pinned ranges/dtypes/granularity: a plan file or its `activations`/`weights` subset. */
  overrides?: string | Overrides;
  /** Write the QuantPlan here. */
  savePlan?: string;
  onProgress?: CalibrationProgress;
}

export interface QuantizeResult {
  input: string;
  output: string;
  config: Readonly<QuantConfig>;
  plan: QuantPlan;
  notes: string[];
  /** float tensor → quantized-model tensor holding its dequantized value. */
  tensorMap: Record<string, string>;
  sizes: { float: number; quantized: number; ratio: number };
  timings: { calibrationMs: number; totalMs: number; calibrationSamples: number };
}

export async function quantize(input: string, opts: QuantizeOptions = {}): Promise<QuantizeResult> {
  const t0 = performance.now();
  const config = resolveConfig(opts);
  const output = opts.output ?? defaultOutputPath(input);
  if (fs.existsSync(input) && fs.existsSync(output) && fs.realpathSync(input) === fs.realpathSync(output)) {
    throw new UserInputError(`${output}: refusing to overwrite the input model; choose another output path with -o`);
  }
  const model = readModelFile(input);
  const notes = prepareModel(model);
  notes.push(...opsetNotes(model, config));
  const overrides = loadOverrides(opts.overrides);
  let plan: QuantPlan;
  let tensorMap: Record<string, string> = {};
  let calib = { ms: 0, samples: 0 };
  if (config.mode === 'static') {
    const needed = tensorsToCalibrate(model.graph, config);
    const r = await obtainRanges(model, needed, config, { data: opts.data, stats: opts.stats, preprocess: opts.preprocess, onProgress: opts.onProgress, label: input });
    calib = { ms: r.ms, samples: r.samples };
    plan = planQuantization(model.graph, config, { ranges: r.ranges, observed: r.observed, overrides, perChannelAllowed: (opsetVersion(model) ?? 0) >= 13 });
    const res = insertQdq(model, plan, { wideTypeDomain: (opsetVersion(model) ?? 0) >= 21 ? '' : 'com.microsoft' });
    tensorMap = res.tensorMap;
    notes.push(...res.notes);
    if (Object.values(plan.activations).some((a) => a.dtype === 'int16') && (opsetVersion(model) ?? 0) < 21) ensureMsDomain(model);
    if (config.format === 'qoperator') notes.push(...lowerToQOperator(model));
  } else {
    plan = config.mode === 'dynamic' ? applyDynamic(model, config) : applyWeightOnly(model, config);
  }
  model.graph.toposort();
  model.graph.cleanup();
  model.graph.checkInvariants();
  recordMetadata(model, plan, tensorMap);
  if (opts.savePlan) atomicWrite(opts.savePlan, [Buffer.from(`${JSON.stringify(plan, null, 2)}\n`)]);
  writeModelFile(model, output, { inputPath: input });
  const floatBytes = fs.statSync(input).size;
  const qBytes = fs.statSync(output).size;
  return {
    input, output, config, plan, notes, tensorMap,
    sizes: { float: floatBytes, quantized: qBytes, ratio: qBytes / floatBytes },
    timings: { calibrationMs: calib.ms, totalMs: performance.now() - t0, calibrationSamples: calib.samples },
  };
}

function opsetNotes(model: Model, config: Readonly<QuantConfig>): string[] {
  const notes: string[] = [];
  const push = (n: string | undefined) => n && notes.push(n);
  if (config.mode !== 'static') return notes;
  push(ensureOpset(model, config.perChannel ? 13 : 10, config.perChannel ? 'per-channel Q/DQ (the axis attribute)' : 'QuantizeLinear/DequantizeLinear'));
  return notes;
}

function loadOverrides(o: string | Overrides | undefined): Overrides | undefined {
  if (o === undefined || typeof o !== 'string') return o;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(o, 'utf8'));
  } catch (e) {
    throw new UserInputError(`${o}: cannot read overrides (${(e as Error).message.split('\n')[0]}); pass a plan JSON saved with --save-plan`);
  }
  if (!json || typeof json !== 'object') throw new UserInputError(`${o}: overrides must be a JSON object with "activations" and/or "weights"`);
  const { activations, weights } = json as Overrides;
  return { activations, weights };
}

/**
 * metadata_props `qtool.tensor_map`: float tensor → [tensor holding its dequantized value, range algorithm].
 * Scale and zero point are read from that tensor's DequantizeLinear, so they are not repeated here.
 */
function recordMetadata(model: Model, plan: QuantPlan, tensorMap: Record<string, string>): void {
  const map: Record<string, unknown> = {};
  for (const [t, q] of Object.entries(tensorMap)) {
    const a = plan.activations[plan.absorbed[t] ?? t];
    if (!a) continue;
    map[t] = [q, a.algo ?? a.source];
  }
  const keep = model.metadata.filter((m) => !m.key.startsWith('qtool.'));
  model.metadata = [...keep, { key: 'qtool.version', value: '0.1.0' }, { key: 'qtool.tensor_map', value: JSON.stringify(map) }];
}

export type { RangeInput };
