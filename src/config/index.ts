// One typed config, normalised once. Types, defaults and validation derive from the schema
// (schema.ts); everything inward receives a frozen QuantConfig.
import { UsageError, UserInputError } from '../errors.js';
import {
  JOB_SCHEMA, QUANT_SCHEMA, RECIPE_SCHEMA, flagName,
  type ChoiceOf, type FromSchema, type PartialFromSchema, type QuantKey, type RecipeKey, type SchemaEntry,
} from './schema.js';
import { closest } from './suggest.js';

export { QUANT_SCHEMA, JOB_SCHEMA, RECIPE_SCHEMA, flagName, helpText, kebab, camel, type SchemaEntry, type QuantKey, type JobKey, type RecipeKey } from './schema.js';
export { closest, didYouMean } from './suggest.js';
export { readRecipeFile, type Recipe } from './recipe.js';

export type Algo = ChoiceOf<'algo'>;
export type Format = ChoiceOf<'format'>;
export type Mode = ChoiceOf<'mode'>;
/** What the user may ask for: a target, or `auto` (onnxruntime on this host's CPU). */
export type TargetChoice = ChoiceOf<'target'>;
export type Target = Exclude<TargetChoice, 'auto'>;
export type ActivationType = ChoiceOf<'activationType'>;
export type WeightType = ChoiceOf<'weightType'>;
export type EdgePolicy = ChoiceOf<'firstLayer'>;

type Derived = FromSchema<typeof QUANT_SCHEMA>;
/** The normalised config: every option with a default is set; `target` is resolved. */
export type QuantConfig = Omit<Derived, 'target'> & { target: Target };
/**
 * What a caller may give: any subset of the options (`target` may be `auto`), plus `perTensor`
 * (the same as perChannel: false; both at once is an error).
 */
export type QuantConfigInput = PartialFromSchema<typeof QUANT_SCHEMA> & { perTensor?: boolean };
/** The job options of a recipe (data, reports, gates, ...), camelCase. */
export type JobOptions = PartialFromSchema<typeof JOB_SCHEMA>;

function schemaDefaults(): QuantConfig {
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(QUANT_SCHEMA) as [QuantKey, SchemaEntry][]) {
    out[k] = Array.isArray(e.default) ? [...e.default] : e.default;
  }
  return out as QuantConfig;
}

/** The defaults, read off the schema. `target` is `auto` here; normalizeConfig resolves it. */
export const DEFAULTS: Readonly<QuantConfig> = Object.freeze(schemaDefaults());

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

/** A set of values from one place: the command line, a config file, or library options. */
export interface ConfigLayer {
  values: Record<string, unknown>;
  /** COMMAND_LINE, a config file's path, or a label for library options. */
  origin: string;
}
export const COMMAND_LINE = 'command line';

/** How a key is written where it came from: `--calib-count`, `'calib-count'` (file) or `'calibCount'`. */
export function optionLabel(key: string, origin: string): string {
  if (origin === COMMAND_LINE) return `--${flagName(key)}`;
  if (/\.(ya?ml|json)$/i.test(origin)) return `'${flagName(key)}'`;
  return `'${key}'`;
}

/** `onnxruntime.quantization`'s CalibrationMethod names → our algorithms (--calibrate-method). */
export const CALIBRATE_METHODS: Readonly<Record<string, Algo>> = Object.freeze({
  MinMax: 'minmax', Entropy: 'kl', Percentile: 'percentile', Distribution: 'mse',
});

/** Aliases accepted in every layer: alias key → [key, value mapper]. */
const ALIASES: Record<string, { key: QuantKey; map: (v: unknown) => unknown; want: string }> = {
  perTensor: { key: 'perChannel', map: (v) => (typeof v === 'boolean' ? !v : v), want: 'true or false' },
  calibrateMethod: {
    key: 'algo',
    map: (v) => (typeof v === 'string' && Object.hasOwn(CALIBRATE_METHODS, v) ? CALIBRATE_METHODS[v] : { invalid: v }),
    want: `one of ${Object.keys(CALIBRATE_METHODS).join(', ')}`,
  },
};

/** Checks one value against its schema entry: the value, or the reason it is wrong. */
export function checkValue(entry: SchemaEntry, v: unknown): { value: unknown } | { want: string } {
  switch (entry.type) {
    case 'choice':
      return typeof v === 'string' && entry.choices.includes(v) ? { value: v } : { want: `one of ${entry.choices.join(', ')}` };
    case 'int': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isInteger(n) && n >= entry.min ? { value: n } : { want: `a whole number ≥ ${entry.min}` };
    }
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      const lo = entry.above !== undefined ? `> ${entry.above}` : entry.min !== undefined ? `≥ ${entry.min}` : '';
      const want = `a number${lo ? ` ${lo}` : ''}${entry.max !== undefined ? `${lo ? ' and' : ''} ≤ ${entry.max}` : ''}`;
      if (typeof n !== 'number' || !Number.isFinite(n)) return { want };
      if ((entry.above !== undefined && n <= entry.above) || (entry.min !== undefined && n < entry.min) || (entry.max !== undefined && n > entry.max)) return { want };
      return { value: n };
    }
    case 'boolean':
      return typeof v === 'boolean' ? { value: v } : { want: 'true or false' };
    case 'list': {
      const arr = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
      return Array.isArray(arr) && arr.every((s) => typeof s === 'string' && s !== '') ? { value: [...arr] } : { want: 'a list of names (comma-separated, or a list)' };
    }
    case 'ints': {
      const arr = typeof v === 'string' ? v.split(',').map((s) => (s.trim() === '' ? NaN : Number(s))) : typeof v === 'number' ? [v] : v;
      const ok = Array.isArray(arr) && arr.length > 0 && arr.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= entry.min);
      return ok ? { value: [...new Set(arr as number[])] } : { want: `whole numbers ≥ ${entry.min}, comma-separated` };
    }
    case 'string': {
      if (entry.repeatable) {
        const arr = typeof v === 'string' ? [v] : v;
        return Array.isArray(arr) && arr.every((s) => typeof s === 'string' && s !== '') ? { value: [...arr] } : { want: 'a file name or a list of them' };
      }
      return typeof v === 'string' && v !== '' ? { value: v } : { want: 'a non-empty string' };
    }
  }
}

export interface LayerCheck {
  /** Valid values, camelCase keys. */
  values: Record<string, unknown>;
  /** One message per problem, each naming the option as its origin writes it. */
  errors: string[];
}

/**
 * Validates one layer against `schema` (camelCase or kebab-case keys; the aliases perTensor and
 * calibrateMethod). Every problem is collected; nothing throws.
 */
export function checkLayer(layer: ConfigLayer, schema: Readonly<Record<string, SchemaEntry>> = QUANT_SCHEMA): LayerCheck {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  const { origin } = layer;
  const byFlag = new Map(Object.keys(schema).map((k) => [flagName(k), k]));
  const aliasByFlag = new Map(Object.keys(ALIASES).map((k) => [flagName(k), k]));
  const given = new Map<string, string>();
  for (const [raw, v] of Object.entries(layer.values)) {
    if (v === undefined) continue;
    const key = Object.hasOwn(schema, raw) ? raw : byFlag.get(raw) ?? (Object.hasOwn(ALIASES, raw) ? raw : aliasByFlag.get(raw));
    if (key === undefined) {
      const names = [...Object.keys(schema), ...Object.keys(ALIASES)].map((k) => (origin === COMMAND_LINE ? `--${flagName(k)}` : optionLabel(k, origin).slice(1, -1)));
      const near = closest(raw, names);
      errors.push(`unknown option '${raw}'${near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : ''}`);
      continue;
    }
    const alias = ALIASES[key];
    const target = alias ? alias.key : key;
    const entry = schema[target];
    if (!entry) {
      errors.push(`unknown option '${raw}'`);
      continue;
    }
    const mapped = alias ? alias.map(v) : v;
    const r = typeof mapped === 'object' && mapped !== null && 'invalid' in mapped ? { want: alias!.want } : checkValue(entry, mapped);
    if ('want' in r) {
      errors.push(`${optionLabel(key, origin)} must be ${r.want}, got ${JSON.stringify(v)}`);
      continue;
    }
    const prior = given.get(target);
    if (prior !== undefined && JSON.stringify(values[target]) !== JSON.stringify(r.value)) {
      errors.push(`${optionLabel(prior, origin)} and ${optionLabel(key, origin)} contradict each other; give one`);
      continue;
    }
    given.set(target, key);
    values[target] = r.value;
  }
  return { values, errors };
}

/** Errors for explicitly given options that contradict each other or do nothing. */
function contradictions(explicit: Record<string, unknown>, origins: Map<string, string>): string[] {
  const label = (k: string) => optionLabel(k, origins.get(k) ?? COMMAND_LINE);
  const errors: string[] = [];
  const mode = (explicit.mode as Mode | undefined) ?? DEFAULTS.mode;
  const algo = (explicit.algo as Algo | undefined) ?? DEFAULTS.algo;
  if (mode !== 'static') {
    for (const k of ['algo', 'percentile', 'movingAverage', 'calibCount', 'batchSize'] as const) {
      if (explicit[k] !== undefined) errors.push(`${label(k)} applies to static mode only (calibration); mode is ${mode}`);
    }
  } else {
    if (explicit.percentile !== undefined && algo !== 'percentile') errors.push(`${label('percentile')} applies to --algo percentile only (algo is ${algo})`);
    if (explicit.movingAverage === true && algo !== 'minmax') errors.push(`${label('movingAverage')} applies to --algo minmax only (algo is ${algo})`);
  }
  if (explicit.biasCorrection === true && mode !== 'static') errors.push(`${label('biasCorrection')} applies to static mode only (it measures on the calibration data); mode is ${mode}`);
  if (explicit.blockSize !== undefined && mode !== 'weight-only') errors.push(`${label('blockSize')} applies to --mode weight-only only`);
  errors.push(...seedflagsContradictions(explicit, mode, label));
  const include = (explicit.includeOps as string[] | undefined) ?? [];
  const both = ((explicit.excludeOps as string[] | undefined) ?? []).filter((op) => include.includes(op));
  if (both.length) errors.push(`${both.join(', ')} is in both ${label('includeOps')} and ${label('excludeOps')}`);
  return errors;
}

/** --stochastic-rounding/--seed, --pow2-scales and --group-size (issue 13 item 5). */
function seedflagsContradictions(explicit: Record<string, unknown>, mode: Mode, label: (k: string) => string): string[] {
  const errors: string[] = [];
  if (explicit.seed !== undefined && explicit.stochasticRounding !== true) errors.push(`${label('seed')} seeds --stochastic-rounding; add --stochastic-rounding or drop ${label('seed')}`);
  if (explicit.pow2Scales === true && mode !== 'static') errors.push(`${label('pow2Scales')} applies to static mode only (${mode} mode has no stored activation scales)`);
  if (explicit.groupSize === undefined) return errors;
  if (mode !== 'static') errors.push(`${label('groupSize')} applies to static mode only; ${mode === 'weight-only' ? 'weight-only mode takes --block-size' : `${mode} mode has one scale per weight or channel`}`);
  if (explicit.format === 'qoperator') errors.push(`${label('groupSize')} needs --format qdq: QLinearConv/QLinearMatMul take one weight scale per tensor or per output channel`);
  if (explicit.perChannel === false) errors.push(`${label('groupSize')} and per-tensor weights contradict each other; give one`);
  if (explicit.target === 'tensorrt') errors.push(`${label('groupSize')} is not available for --target tensorrt (blocked DequantizeLinear is only verified on onnxruntime's CPU kernels); drop it or use --target ort-cpu`);
  return errors;
}

/** Throws one error listing every problem: a UsageError (exit 2) when any came from the command line. */
export function throwAll(errors: { origin: string; message: string }[]): void {
  if (errors.length === 0) return;
  const text = errors.map((e) => (e.origin === COMMAND_LINE ? e.message : `${e.origin}: ${e.message}`));
  const message = text.length === 1 ? text[0]! : `${text.length} problems: ${text.join('; ')}`;
  throw errors.some((e) => e.origin === COMMAND_LINE) ? new UsageError(message) : new UserInputError(message);
}

/**
 * Merges the layers (later ones win) over the target preset and the defaults, validating every
 * key; reports every problem at once. `auto` target resolves to `host.autoTarget`.
 */
export function normalizeConfig(layers: ConfigLayer[], host: { autoTarget?: Target } = {}): Readonly<QuantConfig> {
  const errors: { origin: string; message: string }[] = [];
  const explicit: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const layer of layers) {
    const r = checkLayer(layer);
    errors.push(...r.errors.map((message) => ({ origin: layer.origin, message })));
    for (const [k, v] of Object.entries(r.values)) {
      explicit[k] = v;
      origins.set(k, layer.origin);
    }
  }
  for (const message of contradictions(explicit, origins)) {
    const origin = [...origins.values()].includes(COMMAND_LINE) ? COMMAND_LINE : layers[layers.length - 1]?.origin ?? COMMAND_LINE;
    errors.push({ origin, message });
  }
  throwAll(errors);
  const asked = (explicit.target as TargetChoice | undefined) ?? 'auto';
  const target: Target = asked === 'auto' ? host.autoTarget ?? 'ort-cpu' : asked;
  explicit.target = target;
  return Object.freeze({ ...DEFAULTS, ...TARGET_PRESETS[target], ...explicit } as QuantConfig);
}

/** The keys of QUANT_SCHEMA and JOB_SCHEMA, for a caller that splits a recipe. */
export const isQuantKey = (k: string): k is QuantKey => Object.hasOwn(QUANT_SCHEMA, k) || Object.hasOwn(ALIASES, k);
export const isRecipeKey = (k: string): k is RecipeKey => Object.hasOwn(RECIPE_SCHEMA, k);
