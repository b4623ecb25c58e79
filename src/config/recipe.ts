// A config file is a full recipe: every quantize option (kebab-case as on the command line, or
// camelCase as in the library), in JSON or YAML. Paths in it are relative to the file's folder.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserInputError } from '../errors.js';
import { JOB_SCHEMA, type SchemaEntry } from './schema.js';

export interface Recipe {
  /** Where it came from (the origin named in errors). */
  file: string;
  /** Every key of the file as written, paths resolved against the file's folder. */
  values: Record<string, unknown>;
}

const camelKey = (k: string) => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function parse(file: string, text: string): unknown {
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new UserInputError(`${file}: not valid ${yaml ? 'YAML' : 'JSON'} (${why})`, 1, { cause: e });
  }
}

/** Reads a config file (.json, .yaml or .yml). Keys are only renamed here; validation is the caller's. */
export function readRecipeFile(file: string): Recipe {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserInputError(`${file}: ${code === 'ENOENT' ? 'config file not found' : `cannot read the config file (${code})`}`, 1, { cause: e });
  }
  const obj = parse(file, text);
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new UserInputError(`${file}: must hold one mapping of options (like "algo: mse")`);
  const dir = path.dirname(file);
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = camelKey(k);
    const entry: SchemaEntry | undefined = Object.hasOwn(JOB_SCHEMA, key) ? JOB_SCHEMA[key as keyof typeof JOB_SCHEMA] : undefined;
    const rel = (s: unknown) => (typeof s === 'string' && s !== '' && !path.isAbsolute(s) ? path.join(dir, s) : s);
    values[k] = entry?.type === 'string' && entry.path ? (Array.isArray(v) ? v.map(rel) : rel(v)) : v;
  }
  return { file, values };
}
