// The ONE option schema. The QuantConfig type, the CLI flags and their choices, the defaults in the
// help text, the config-file keys (kebab-case as on the CLI, camelCase in the library) and the
// validation are all derived from the two tables below; nothing else lists an option's values.
import { RANGE_ALGORITHM_NAMES } from '../math/range-registry.js';

interface Base {
  readonly help: string;
  /** The CLI flag, when it is not the kebab-case of the key (e.g. `provider` for providers). */
  readonly flag?: string;
  /** Not a command-line flag (library and config file only). */
  readonly cliHidden?: boolean;
  /** The value's name in the help (`--data <dir>`); default from the type. */
  readonly arg?: string;
  /** A one-letter short flag (`-o`). */
  readonly short?: string;
}
interface ChoiceEntry extends Base { readonly type: 'choice'; readonly choices: readonly string[]; readonly default?: string }
interface IntEntry extends Base { readonly type: 'int'; readonly default?: number; readonly min: number }
interface NumberEntry extends Base {
  readonly type: 'number';
  readonly default?: number;
  /** Inclusive bounds; `above` is an exclusive lower bound. */
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
}
interface BoolEntry extends Base {
  readonly type: 'boolean';
  readonly default: boolean;
  /** A second flag that sets the option to false (`per-tensor` for perChannel). Both given: an error. */
  readonly negation?: string;
  /** The flag is written `--no-<flag>` (the option is on by default). */
  readonly negatedFlag?: boolean;
}
interface ListEntry extends Base { readonly type: 'list'; readonly default: readonly string[] }
/** Whole numbers ≥ min: comma-separated on the command line, a list in a config file. */
interface IntsEntry extends Base { readonly type: 'ints'; readonly default?: readonly number[]; readonly min: number }
interface StringEntry extends Base { readonly type: 'string'; readonly default?: string; readonly path?: boolean; readonly repeatable?: boolean }
export type SchemaEntry = ChoiceEntry | IntEntry | NumberEntry | BoolEntry | ListEntry | IntsEntry | StringEntry;

/** Options that shape the quantized model: the fields of QuantConfig. */
export const QUANT_SCHEMA = {
  mode: { type: 'choice', choices: ['static', 'dynamic', 'weight-only'], default: 'static', help: 'quantization mode' },
  format: { type: 'choice', choices: ['qdq', 'qoperator'], default: 'qdq', help: 'output format' },
  // `auto` is resolved after the host CPU (api/options.ts): ort-cpu, or ort-cpu-novnni on x86 without VNNI.
  target: {
    type: 'choice', choices: ['auto', 'ort-cpu', 'ort-cpu-novnni', 'tensorrt', 'generic'], default: 'auto',
    help: 'target preset (auto: ort-cpu, or ort-cpu-novnni on an x86 CPU without VNNI)',
  },
  // mse gave the best logits SQNR on all three fixtures (docs/benchmarks.md; test/e2e/golden.test.ts).
  algo: { type: 'choice', choices: RANGE_ALGORITHM_NAMES, default: 'mse', help: 'activation range algorithm (static mode)' },
  percentile: { type: 'number', default: 99.999, arg: 'P', above: 50, max: 100, help: 'kept percentile for --algo percentile' },
  histogramBins: { type: 'int', default: 2048, min: 16, cliHidden: true, help: 'calibration histogram bins' },
  movingAverage: {
    type: 'boolean', default: false,
    help: 'minmax only: moving average of per-batch extrema; ORDER-DEPENDENT (depends on sample order and batch size, cannot be merged)',
  },
  perChannel: { type: 'boolean', default: true, negation: 'per-tensor', help: 'per-channel weight scales (--per-tensor: one scale per weight tensor)' },
  activationType: { type: 'choice', choices: ['uint8', 'int8', 'int16'], default: 'uint8', help: 'activation type' },
  weightType: { type: 'choice', choices: ['int8', 'uint8', 'int4'], default: 'int8', help: 'weight type' },
  symmetricActivations: { type: 'boolean', default: false, help: 'zero point 0 / midpoint for activations' },
  reduceRange: { type: 'boolean', default: false, help: '7-bit weights (pre-VNNI x86)' },
  firstLayer: { type: 'choice', choices: ['int8', 'int16', 'float'], default: 'int8', help: 'precision of the first weighted layer' },
  lastLayer: { type: 'choice', choices: ['int8', 'int16', 'float'], default: 'int8', help: 'precision of the last weighted layer' },
  // TensorRT wants biases float (target preset); int32 biases otherwise.
  quantizeBias: { type: 'boolean', default: true, cliHidden: true, help: 'store Conv/Gemm biases as int32' },
  blockSize: { type: 'int', default: 32, min: 1, help: 'weight-only int4 block size' },
  // Issue 13 item 5 (seedflags): rounding, power-of-two scales, per-group weights.
  stochasticRounding: { type: 'boolean', default: false, help: 'round weights up with probability = fractional part (seeded by --seed; deterministic)' },
  seed: { type: 'int', min: 0, arg: 'S', help: 'seed of --stochastic-rounding (default 0)' },
  pow2Scales: { type: 'boolean', default: false, help: 'static mode: every scale a power of two (shift-only hardware)' },
  groupSize: { type: 'int', min: 1, help: 'static QDQ: weight scales per group of N input channels (opset 21 block_size)' },
  excludeNodes: { type: 'list', default: [], help: 'comma-separated node names to keep in float' },
  excludeOps: { type: 'list', default: [], help: 'comma-separated op types to keep in float' },
  includeOps: { type: 'list', default: [], help: 'quantize only these op types' },
  calibCount: { type: 'int', min: 1, help: 'use the first N calibration samples' },
  batchSize: { type: 'int', min: 1, help: "calibration batch size (default: the model's fixed batch, else 1)" },
  providers: { type: 'list', default: ['cpu'], flag: 'provider', help: 'onnxruntime execution providers, e.g. cpu (the only one tested) or cuda,cpu' },
  threads: { type: 'int', min: 1, help: 'onnxruntime intra-op threads' },
  // ALGORITHMS.md §4 (passes/equalize.ts, api/bias-correction.ts).
  equalize: { type: 'boolean', default: false, help: 'cross-layer equalisation: balance the per-channel weight ranges of consecutive layers (exact in float; helps per-tensor weights of depthwise models)' },
  biasCorrection: { type: 'boolean', default: false, help: 'static mode: subtract the mean output error of the quantized weights (measured on the calibration data) from each layer bias' },
  // quant/outliers.ts (issue 11 item 3): the threshold and why it is 64 are documented there.
  outlierRatio: {
    type: 'number', default: 64, min: 0, arg: 'R',
    help: 'static mode: an activation whose largest channel abs-max is at least R times its median channel\'s stays float, with its readers (0: never)',
  },
} as const satisfies Record<string, SchemaEntry>;

/**
 * The rest of a quantize recipe: files, data, verification, reports, gates and output style. A
 * config file may hold any of these too; relative paths in it are taken from the file's folder.
 */
export const JOB_SCHEMA = {
  output: { type: 'string', path: true, short: 'o', help: 'output model (default <model>.int8.onnx)' },
  data: { type: 'string', path: true, arg: 'dir', help: 'calibration data folder (.npy/.npz/.pb, or images with --preprocess)' },
  stats: { type: 'string', path: true, help: 'reuse statistics from qtool calibrate instead of calibrating' },
  savePlan: { type: 'string', path: true, help: 'write the quantization plan (JSON)' },
  overrides: { type: 'string', path: true, help: 'pin ranges, dtypes or granularity per tensor (plan JSON)' },
  preprocess: { type: 'string', arg: 'spec', help: 'image preprocessing, required for image folders, e.g. "resize=256,crop=224,mean=0.485;0.456;0.406,std=0.229;0.224;0.225"' },
  fixedInput: { type: 'string', repeatable: true, arg: 'name=value', help: 'an input fed one value for every batch: a number, zeros, or a .npy file (repeatable; also <data>/fixed/<name>.npy)' },
  requantize: { type: 'boolean', default: false, help: 'quantize the float ops of a model that is already (partly) quantized' },
  evalData: { type: 'string', path: true, arg: 'dir', help: 'held-out data for the verification (default: the calibration data, marked in-sample)' },
  labels: { type: 'string', path: true, help: 'class indices of the evaluation samples (.json array or .npy), for accuracy' },
  evalCount: { type: 'int', min: 1, help: 'evaluate on the first N samples only' },
  report: { type: 'string', path: true, repeatable: true, help: 'write the report: .json, .md or .html (repeatable, or a comma list)' },
  perLayer: { type: 'boolean', default: true, negatedFlag: true, help: 'skip the per-layer error analysis' },
  layerSamples: { type: 'int', min: 1, arg: 'N', help: 'sum the per-layer errors over the first N evaluation samples (default: all; the output metrics use every sample)' },
  latency: { type: 'boolean', default: true, negatedFlag: true, help: 'skip the latency measurement' },
  latencyBatches: { type: 'ints', default: [1], min: 1, arg: 'n,n', help: 'batch sizes the latency measurement times, e.g. 1,8 to add a batch of 8' },
  verify: { type: 'boolean', default: true, negatedFlag: true, help: 'skip the verification against the float model' },
  maxDrop: { type: 'number', min: 0, arg: 'PP', help: 'fail (exit 3) when accuracy drops by more than PP points (needs --labels); the model is still written' },
  minSqnr: { type: 'number', arg: 'DB', help: 'fail (exit 3) when the output SQNR is below DB' },
  minAgreement: { type: 'number', min: 0, max: 1, arg: 'F', help: 'fail (exit 3) when top-1 agreement (0..1) is below F' },
  warnSqnr: { type: 'number', arg: 'DB', help: 'warn when an output SQNR is below DB (default 20)' },
  warnAgreement: { type: 'number', min: 0, max: 1, arg: 'F', help: 'warn when top-1 agreement (0..1) is below F (default 0.98)' },
  // The accuracy search (api/autotune.ts): one target; the budget and fallback shape the search.
  targetSqnr: { type: 'number', arg: 'DB', help: 'search: fall back the fewest units (int16 or float) until the output SQNR reaches DB' },
  targetDrop: { type: 'number', min: 0, arg: 'PP', help: 'search: ... until accuracy drops by at most PP points (needs --labels)' },
  targetAgreement: { type: 'number', min: 0, max: 100, arg: 'PCT', help: 'search: ... until top-1 agreement with float reaches PCT percent' },
  budget: { type: 'string', arg: 'time', help: 'time budget of the --target-* search, e.g. 90s, 10m (default 10m); the best model found is written when it ends' },
  fallback: { type: 'choice', choices: ['int16', 'float'], help: 'higher precision for the units the --target-* search moves (default int16)' },
  strict: { type: 'boolean', default: false, help: 'a collapsed output (one of those warnings) fails with exit 3; the model is still written' },
  json: { type: 'boolean', default: false, help: 'print a JSON summary (or error) as the last line of stdout' },
  quiet: { type: 'boolean', default: false, help: 'no progress output' },
} as const satisfies Record<string, SchemaEntry>;

export type QuantKey = keyof typeof QUANT_SCHEMA;
export type JobKey = keyof typeof JOB_SCHEMA;
export type RecipeKey = QuantKey | JobKey;
export const RECIPE_SCHEMA: Readonly<Record<RecipeKey, SchemaEntry>> = { ...QUANT_SCHEMA, ...JOB_SCHEMA };

type ValueOf<E> = E extends { readonly type: 'choice'; readonly choices: readonly (infer C)[] }
  ? C
  : E extends { readonly type: 'int' | 'number' }
    ? number
    : E extends { readonly type: 'boolean' }
      ? boolean
      : E extends { readonly type: 'list' }
        ? string[]
        : E extends { readonly type: 'ints' }
          ? number[]
        : E extends { readonly type: 'string'; readonly repeatable: true }
          ? string[]
          : string;
type Required_<S> = { [K in keyof S as S[K] extends { readonly default: unknown } ? K : never]: ValueOf<S[K]> };
type Optional_<S> = { [K in keyof S as S[K] extends { readonly default: unknown } ? never : K]?: ValueOf<S[K]> };
/** Every option with a default is present; the others may be absent. */
export type FromSchema<S> = Required_<S> & Optional_<S>;
/** What a user may give for a schema: any subset. */
export type PartialFromSchema<S> = { [K in keyof S]?: ValueOf<S[K]> };

export type ChoiceOf<K extends QuantKey> = ValueOf<(typeof QUANT_SCHEMA)[K]>;

/** `calibCount` → `calib-count`. */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** `calib-count` → `calibCount`. */
export const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The CLI flag name (without dashes) of a key. */
export function flagName(key: string): string {
  const e = RECIPE_SCHEMA[key as RecipeKey];
  return e?.flag ?? kebab(key);
}

/** Help text with the schema's default (and choices) appended, for the CLI and the README. */
export function helpText(key: RecipeKey): string {
  const e = RECIPE_SCHEMA[key];
  if (e.type === 'boolean') return e.help;
  const d = e.default;
  const shown = Array.isArray(d) ? (d.length ? d.join(',') : undefined) : d;
  return shown === undefined ? e.help : `${e.help} (default ${shown})`;
}
