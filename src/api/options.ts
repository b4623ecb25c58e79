import path from 'node:path';
import { normalizeConfig, readConfigFile, type QuantConfig } from '../config/index.js';

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
  return normalizeConfig(layers);
}

/** `<input>.int8.onnx` beside the input (never the input itself). */
export function defaultOutputPath(input: string, suffix = 'int8'): string {
  const dir = path.dirname(input);
  const base = path.basename(input).replace(/\.onnx$/i, '');
  return path.join(dir, `${base}.${suffix}.onnx`);
}
