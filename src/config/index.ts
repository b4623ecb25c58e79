// One typed config, normalised once: the ONE table of defaults, the target presets, and
// validation. Everything inward receives a frozen QuantConfig.
import fs from 'node:fs';
import { UsageError, UserInputError } from '../errors.js';

export type Algo = 'minmax' | 'kl' | 'mse' | 'percentile' | 'auto';
export type Format = 'qdq' | 'qoperator';
export type Mode = 'static' | 'dynamic' | 'weight-only';
export type Target = 'ort-cpu' | 'ort-cpu-novnni' | 'tensorrt' | 'generic';
/** What the user may ask for: a target, or `auto` (onnxruntime on this host's CPU). */
export type TargetChoice = Target | 'auto';
export type ActivationType = 'uint8' | 'int8' | 'int16';
export type WeightType = 'int8' | 'uint8' | 'int4';
export type EdgePolicy = 'int8' | 'int16' | 'float';

export interface QuantConfig {
  mode: Mode;
  format: Format;
  target: Target;
  algo: Algo;
  /** percentile algorithm: the kept percentile (ALGORITHMS.md §2). */
  percentile: number;
  histogramBins: number;
  /** minmax only: moving average of per-batch extrema (order-dependent by nature). */
  movingAverage: boolean;
  perChannel: boolean;
  activationType: ActivationType;
  weightType: WeightType;
  symmetricActivations: boolean;
  reduceRange: boolean;
  /** Precision of the first and last quantizable layers. */
  firstLayer: EdgePolicy;
  lastLayer: EdgePolicy;
  /** Store Conv/Gemm biases as int32 (scale s_x·s_w); TensorRT wants them float. */
  quantizeBias: boolean;
  /** weight-only mode: block size along the reduction axis. */
  blockSize: number;
  excludeNodes: string[];
  excludeOps: string[];
  /** When non-empty, only these op types are quantized. */
  includeOps: string[];
  calibCount?: number;
  /** Calibration batch size; undefined: the batch the model's input fixes, else 1. */
  batchSize?: number;
  providers: string[];
  threads?: number;
}

/** The one table of defaults. */
export const DEFAULTS: Readonly<QuantConfig> = Object.freeze({
  mode: 'static',
  format: 'qdq',
  // Resolved by normalizeConfig: `auto` becomes ort-cpu or ort-cpu-novnni after the host CPU.
  target: 'auto' as Target,
  // mse gave the best logits SQNR on all three fixtures (docs/benchmarks.md; test/e2e/golden.test.ts).
  algo: 'mse',
  percentile: 99.999,
  histogramBins: 2048,
  movingAverage: false,
  perChannel: true,
  activationType: 'uint8',
  weightType: 'int8',
  symmetricActivations: false,
  reduceRange: false,
  firstLayer: 'int8',
  lastLayer: 'int8',
  quantizeBias: true,
  blockSize: 32,
  excludeNodes: [],
  excludeOps: [],
  includeOps: [],
  calibCount: undefined,
  batchSize: undefined,
  providers: ['cpu'],
  threads: undefined,
});

/** Target presets: values that differ from DEFAULTS. Explicit user options win over a preset. */
export const TARGET_PRESETS: Readonly<Record<Target, Partial<QuantConfig>>> = Object.freeze({
  'ort-cpu': {},
  // Pre-VNNI x86: u8×s8 products can saturate 16-bit intermediates; 7-bit weights avoid it (§1).
  'ort-cpu-novnni': { reduceRange: true },
  // TensorRT wants symmetric int8 activations (zero point 0) and per-channel weights.
  // Biases stay float: TensorRT folds them itself and expects no int32 bias Q/DQ.
  tensorrt: { activationType: 'int8', symmetricActivations: true, perChannel: true, quantizeBias: false },
  generic: {},
});

const CHOICES: Partial<Record<keyof QuantConfig, readonly string[]>> = {
  mode: ['static', 'dynamic', 'weight-only'],
  format: ['qdq', 'qoperator'],
  target: ['auto', 'ort-cpu', 'ort-cpu-novnni', 'tensorrt', 'generic'],
  algo: ['minmax', 'kl', 'mse', 'percentile', 'auto'],
  activationType: ['uint8', 'int8', 'int16'],
  weightType: ['int8', 'uint8', 'int4'],
  firstLayer: ['int8', 'int16', 'float'],
  lastLayer: ['int8', 'int16', 'float'],
};

const KEYS = Object.keys(DEFAULTS) as (keyof QuantConfig)[];

/**
 * Merges config-file values and command-line values (flags win) over the target preset and the
 * defaults, validating every key. `origin` names the source in error messages.
 */
export function normalizeConfig(layers: { values: Record<string, unknown>; origin: string }[], host: { autoTarget?: Target } = {}): Readonly<QuantConfig> {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.values)) {
      if (v === undefined) continue;
      if (!KEYS.includes(k as keyof QuantConfig)) {
        const Err = layer.origin === 'command line' ? UsageError : UserInputError;
        throw new Err(`${layer.origin}: unknown option '${k}'; known options: ${KEYS.join(', ')}`);
      }
      merged[k] = validate(k as keyof QuantConfig, v, layer.origin);
    }
  }
  const asked = (merged.target as TargetChoice | undefined) ?? 'auto';
  const target: Target = asked === 'auto' ? host.autoTarget ?? 'ort-cpu' : asked;
  merged.target = target;
  const cfg = { ...DEFAULTS, ...TARGET_PRESETS[target], ...merged } as QuantConfig;
  if (cfg.movingAverage && cfg.algo !== 'minmax') throw new UsageError(`movingAverage applies to --algo minmax only (got '${cfg.algo}')`);
  return Object.freeze(cfg);
}

function validate(key: keyof QuantConfig, v: unknown, origin: string): unknown {
  const bad = (want: string) => new UserInputError(`${origin}: option '${key}' must be ${want}, got ${JSON.stringify(v)}`);
  const choices = CHOICES[key];
  if (choices) {
    if (typeof v !== 'string' || !choices.includes(v)) throw bad(`one of ${choices.join(', ')}`);
    return v;
  }
  const dflt = DEFAULTS[key];
  if (key === 'calibCount' || key === 'threads' || key === 'batchSize' || typeof dflt === 'number') {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw bad('a positive number');
    if (key !== 'percentile' && !Number.isInteger(n)) throw bad('a positive integer');
    if (key === 'percentile' && (n <= 50 || n > 100)) throw bad('in (50, 100]');
    return n;
  }
  if (typeof dflt === 'boolean') {
    if (typeof v !== 'boolean') throw bad('true or false');
    return v;
  }
  if (Array.isArray(dflt)) {
    const arr = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
    if (!Array.isArray(arr) || !arr.every((s) => typeof s === 'string')) throw bad('a list of strings');
    return arr;
  }
  return v;
}

/** Reads a qtool.config.json file: a JSON object whose keys are QuantConfig keys. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserInputError(`${file}: config file not found`);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new UserInputError(`${file}: must hold one JSON object of options`);
  return obj as Record<string, unknown>;
}
