// What a whole pass over a data folder says about each float input: a tensor whose values are
// all NaN/Inf cannot calibrate anything (an error, per input), and one that is constant across
// every sample is almost always a mistake worth a warning (a blank image folder, a zeroed export).
import { UserInputError } from '../errors.js';
import type { Feeds } from '../ir/index.js';

interface InputHealth {
  values: number;
  finite: number;
  nan: number;
  min: number;
  max: number;
}

export class DataHealth {
  private byInput = new Map<string, InputHealth>();

  observe(feeds: Feeds): void {
    for (const [name, t] of Object.entries(feeds)) {
      const d = t.data;
      if (!(d instanceof Float32Array) && !(d instanceof Float64Array)) continue;
      let h = this.byInput.get(name);
      if (!h) this.byInput.set(name, (h = { values: 0, finite: 0, nan: 0, min: Infinity, max: -Infinity }));
      let { finite, nan, min, max } = h;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (v - v === 0) {
          finite++;
          if (v < min) min = v;
          if (v > max) max = v;
        } else if (v !== v) nan++;
      }
      Object.assign(h, { values: h.values + d.length, finite, nan, min, max });
    }
  }

  /** Throws for an input with no finite value; returns a warning per constant input. */
  check(dir: string, samples: number): string[] {
    const warnings: string[] = [];
    for (const [name, h] of this.byInput) {
      if (h.values === 0) continue;
      if (h.finite === 0) {
        const what = h.nan === h.values ? 'NaN' : h.nan === 0 ? '±Inf' : 'NaN or ±Inf';
        throw new UserInputError(`${dir}: every value of input '${name}' across the ${samples} calibration sample(s) is ${what}; the data files are broken, write them again`);
      }
      if (h.min === h.max) {
        warnings.push(`warning: input '${name}' is constant (${h.min}) across all ${samples} calibration sample(s) in ${dir}; its ranges are meaningless, check the data`);
      }
      const bad = h.values - h.finite;
      if (bad > 0 && h.finite > 0) warnings.push(`warning: ${bad} of ${h.values} values of input '${name}' in ${dir} are NaN or ±Inf`);
    }
    return warnings;
  }
}

const pending: string[] = [];

/** Warnings of finished data passes, handed over once (quantize() adds them to its notes). */
export function takeDataWarnings(): string[] {
  return pending.splice(0, pending.length);
}

export function addDataWarnings(w: readonly string[]): void {
  for (const s of w) if (!pending.includes(s)) pending.push(s);
}
