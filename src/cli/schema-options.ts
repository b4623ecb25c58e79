// Commander options made from the one schema (config/schema.ts): flag names, value placeholders
// (the choices), help texts with defaults. Values are validated by the schema, not by commander,
// so every bad flag is reported at once and by its flag name.
import { Option, type Command } from 'commander';
import { CALIBRATE_METHODS, RECIPE_SCHEMA, flagName, helpText, type RecipeKey } from '../index.js';

/** Choice lists longer than this go into the description, so the help keeps room to wrap. */
const LONG = 24;

function description(key: RecipeKey): string {
  const e = RECIPE_SCHEMA[key];
  return e.type === 'choice' && e.choices.join('|').length > LONG ? `${helpText(key)}; one of ${e.choices.join(', ')}` : helpText(key);
}

function placeholder(key: RecipeKey): string {
  const e = RECIPE_SCHEMA[key];
  if (e.arg) return `<${e.arg}>`;
  if (e.type === 'choice') return e.choices.join('|').length <= LONG ? `<${e.choices.join('|')}>` : `<${flagName(key).split('-').pop()}>`;
  if (e.type === 'int') return '<N>';
  if (e.type === 'number') return '<x>';
  if (e.type === 'list') return '<a,b,...>';
  if (e.type === 'ints') return '<n,n,...>';
  return e.type === 'string' && e.path ? '<file>' : '<value>';
}

/** Adds the flags of `keys`; returns the command. */
export function addSchemaOptions(cmd: Command, keys: readonly RecipeKey[]): Command {
  for (const key of keys) {
    const e = RECIPE_SCHEMA[key];
    const flag = flagName(key);
    if (e.type === 'boolean') {
      if (e.negatedFlag) {
        cmd.option(`--no-${flag}`, e.help);
        continue;
      }
      cmd.option(`--${flag}`, e.default ? `${e.help} (default)` : e.help);
      if (e.negation) cmd.option(`--${e.negation}`, `the opposite of --${flag}`);
      continue;
    }
    const opt = new Option(`${e.short ? `-${e.short}, ` : ''}--${flag} ${placeholder(key)}`, description(key));
    if (e.type === 'string' && e.repeatable) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)]);
    cmd.addOption(opt);
  }
  return cmd;
}

/** `--calibrate-method`: onnxruntime.quantization's names for --algo. */
export function addCalibrateMethod(cmd: Command): Command {
  const names = Object.keys(CALIBRATE_METHODS);
  return cmd.option(
    '--calibrate-method <method>',
    `alias of --algo for users of onnxruntime's quantize_static, one of ${names.join(', ')}: ${Object.entries(CALIBRATE_METHODS).map(([k, v]) => `${k}=${v}`).join(', ')} ` +
      "(qtool has no 'Distribution' method; it maps to mse, qtool's histogram search for the least squared error)",
  );
}

/**
 * The values the user typed (commander's source 'cli'), keyed by option attribute name; defaults
 * commander filled in (e.g. `--no-verify`'s true) are left out so a config file can supply them.
 */
export function givenFlags(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cmd.opts())) if (cmd.getOptionValueSource(k) === 'cli') out[k] = v;
  return out;
}
