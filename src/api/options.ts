// Options as callers give them → what quantize() runs with: the config file (a full recipe) under
// explicit options, the host's `auto` target, checks that must happen before any work (output
// folders, names that are not in the model), and the phase events of a run.
import fs from 'node:fs';
import path from 'node:path';
import {
  COMMAND_LINE, checkLayer, didYouMean, isQuantKey, normalizeConfig, readRecipeFile, throwAll,
  type JobOptions, type QuantConfig, type QuantConfigInput, type Target, RECIPE_SCHEMA,
} from '../config/index.js';
import { UsageError, UserInputError } from '../errors.js';
import type { Model } from '../ir/index.js';
import { hostCpu } from '../runtime/cpu.js';
import type { QuantizeOptions } from './quantize.js';

/** Options as the CLI or a library user give them: config-file values under explicit values. */
export interface ConfigSources {
  /** A config file (.json, .yaml, .yml): any quantize option, kebab-case or camelCase. */
  configFile?: string;
  /** Explicit options; they override the config file. */
  config?: QuantConfigInput;
  /** Where `config` came from, for error messages; the CLI passes 'command line' so errors name flags. */
  configOrigin?: string;
}

/** A config file split into its QuantConfig part and its job part (data, reports, gates, ...), all validated. */
export function loadRecipe(file: string): { quant: Record<string, unknown>; job: JobOptions } {
  const recipe = readRecipeFile(file);
  const { values, errors } = checkLayer({ values: recipe.values, origin: file }, RECIPE_SCHEMA);
  throwAll(errors.map((message) => ({ origin: file, message })));
  const quant: Record<string, unknown> = {};
  const job: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) (isQuantKey(k) ? quant : job)[k] = v;
  // Aliases were folded by checkLayer; keep the raw perTensor/calibrateMethod keys out.
  return { quant, job: job as JobOptions };
}

export function resolveConfig(src: ConfigSources): Readonly<QuantConfig> {
  const layers: { values: Record<string, unknown>; origin: string }[] = [];
  if (src.configFile) layers.push({ values: loadRecipe(src.configFile).quant, origin: src.configFile });
  if (src.config) layers.push({ values: src.config, origin: src.configOrigin ?? 'quantize options' });
  return normalizeConfig(layers, { autoTarget: autoTarget() });
}

/** quantize() options with the config file's job values filled in where the caller gave none. */
export function applyRecipe(opts: QuantizeOptions): QuantizeOptions {
  if (!opts.configFile) return opts;
  const job = loadRecipe(opts.configFile).job;
  const out: QuantizeOptions = { ...opts };
  out.output ??= job.output;
  out.data ??= job.data;
  out.stats ??= job.stats;
  out.savePlan ??= job.savePlan;
  out.overrides ??= job.overrides;
  out.preprocess ??= job.preprocess;
  if (out.verify !== false && (out.verify || job.verify === true)) {
    const v = { ...(out.verify ?? {}) };
    v.evalData ??= job.evalData;
    v.labels ??= job.labels;
    v.count ??= job.evalCount;
    v.reports ??= job.report;
    v.perLayer ??= job.perLayer;
    v.layerSamples ??= job.layerSamples;
    v.latency ??= job.latency === false ? false : job.latencyBatches ? { batchSizes: [...job.latencyBatches] } : job.latency;
    const gates = { maxDrop: job.maxDrop, minSqnr: job.minSqnr, minAgreement: job.minAgreement };
    v.gates = { ...gates, ...Object.fromEntries(Object.entries(v.gates ?? {}).filter(([, x]) => x !== undefined)) };
    out.verify = v;
  }
  return out;
}

/** `--target auto` (the default): onnxruntime's CPU kernels as this host runs them. */
export function autoTarget(): Target {
  return hostCpu().int8DotProduct ? 'ort-cpu' : 'ort-cpu-novnni';
}

/** A note when `auto` chose something other than plain ort-cpu, so the user knows why. */
export function autoTargetNote(config: Readonly<QuantConfig>, asked: unknown): string | undefined {
  if (asked !== undefined && asked !== 'auto') return undefined;
  if (config.target !== 'ort-cpu-novnni') return undefined;
  const cpu = hostCpu();
  return `target ort-cpu-novnni (7-bit weights): this CPU has no VNNI (${cpu.evidence}), and onnxruntime's u8×s8 kernels saturate there with full-range int8 weights; pass --target ort-cpu to quantize for a VNNI machine`;
}

/** `<input>.int8.onnx` beside the input (never the input itself). */
export function defaultOutputPath(input: string, suffix = 'int8'): string {
  const dir = path.dirname(input);
  const base = path.basename(input).replace(/\.onnx$/i, '');
  return path.join(dir, `${base}.${suffix}.onnx`);
}

/** Fails before any work when a file could not be written: its folder is missing or not a folder. */
export function checkOutputFolders(files: readonly (readonly [what: string, file: string | undefined])[]): void {
  for (const [what, file] of files) {
    if (!file) continue;
    const dir = path.dirname(path.resolve(file));
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st) throw new UserInputError(`${file}: the folder ${dir} for the ${what} does not exist; create it or choose another path`);
    if (!st.isDirectory()) throw new UserInputError(`${file}: ${dir} is not a folder; choose another path for the ${what}`);
  }
}

/** Names and op types of a model's nodes (taken before the prepare passes rename or remove any). */
export interface ModelNames {
  nodes: Map<string, { opType: string; input?: string; output?: string }>;
  opTypes: Set<string>;
}

export function modelNames(model: Model): ModelNames {
  const nodes = new Map<string, { opType: string; input?: string; output?: string }>();
  const opTypes = new Set<string>();
  // If/Loop/Scan body nodes too: they are quantized by the same rules.
  const visit = (g: Model['graph']) => {
    for (const n of g.nodes) {
      if (n.name && !nodes.has(n.name)) nodes.set(n.name, { opType: n.opType, input: n.inputs[0], output: n.outputs[0] });
      opTypes.add(n.opType);
      for (const sub of n.subgraphs()) visit(sub);
    }
  };
  visit(model.graph);
  return { nodes, opTypes };
}

/**
 * --exclude-nodes, --exclude-ops and --include-ops must name something in the model: a name that
 * matches nothing would be ignored, silently changing the result. Node names are checked against
 * the prepared model; a name that only the original model has (a node the prepare passes folded
 * or removed) is an error that says which node to name instead.
 */
export function checkModelNames(original: ModelNames, prepared: Model, config: Readonly<QuantConfig>, origin = COMMAND_LINE): void {
  const now = modelNames(prepared);
  const problems: string[] = [];
  const flag = (key: string) => (origin === COMMAND_LINE ? `--${key}` : key);
  for (const name of config.excludeNodes) {
    if (now.nodes.has(name)) continue;
    const was = original.nodes.get(name);
    if (was) {
      const producer = [was.output, was.input].map((t) => (t ? prepared.graph.producerOf(t)?.name : undefined)).find(Boolean);
      problems.push(`${flag('exclude-nodes')}: node '${name}' (${was.opType}) is removed by the prepare passes (folded into its producer or dropped)${producer ? `; name '${producer}' instead` : ''}`);
      continue;
    }
    problems.push(`${flag('exclude-nodes')}: no node named '${name}' in the model${didYouMean(name, [...now.nodes.keys(), ...original.nodes.keys()])}`);
  }
  for (const [key, list] of [['exclude-ops', config.excludeOps], ['include-ops', config.includeOps]] as const) {
    for (const op of list) {
      if (now.opTypes.has(op) || original.opTypes.has(op)) continue;
      const hint = didYouMean(op, [...now.opTypes, ...original.opTypes]);
      problems.push(`${flag(key)}: no node of op type '${op}' in the model${hint || ` (it has ${[...now.opTypes].sort().join(', ')})`}`);
    }
  }
  if (problems.length === 0) return;
  const message = problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.join('; ')}`;
  throw origin === COMMAND_LINE ? new UsageError(message) : new UserInputError(message);
}

/** The phases of quantize(), in order; verify only when asked. */
export const PHASES = ['read', 'prepare', 'calibrate', 'ranges', 'rewrite', 'write', 'verify'] as const;
export type PhaseName = (typeof PHASES)[number];
export interface PhaseEvent {
  phase: PhaseName;
  state: 'start' | 'end';
  /** Elapsed milliseconds of the phase (on 'end'). */
  ms?: number;
}
export type OnPhase = (e: PhaseEvent) => void;

/** `phase('x')` ends the running phase and starts x; `phase.end()` ends the last. */
export function phaseTracker(onPhase: OnPhase | undefined): ((next: PhaseName) => void) & { end: () => void } {
  let current: { phase: PhaseName; t0: number } | undefined;
  const end = () => {
    if (current) onPhase?.({ phase: current.phase, state: 'end', ms: performance.now() - current.t0 });
    current = undefined;
  };
  const phase = (next: PhaseName) => {
    end();
    current = { phase: next, t0: performance.now() };
    onPhase?.({ phase: next, state: 'start' });
  };
  return Object.assign(phase, { end });
}

