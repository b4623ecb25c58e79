import path from 'node:path';
import { normalizeConfig, readConfigFile, type QuantConfig, type Target } from '../config/index.js';
import { hostCpu } from '../runtime/cpu.js';

/** Options as the CLI or a library user give them: config-file values under flag values. */
export interface ConfigSources {
  /** Path of a qtool.config.json. */
  configFile?: string;
  /** Explicit options (flags); they override the config file. */
  config?: Record<string, unknown>;
}

export function resolveConfig(src: ConfigSources): Readonly<QuantConfig> {
  const layers: { values: Record<string, unknown>; origin: string }[] = [];
  if (src.configFile) layers.push({ values: readConfigFile(src.configFile), origin: src.configFile });
  if (src.config) layers.push({ values: src.config, origin: 'command line' });
  return normalizeConfig(layers, { autoTarget: autoTarget() });
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
