// JSON: the Report as is, schema `qtool.report` v1. JSON has no ±Infinity/NaN, so those numbers
// are written as the strings "Infinity", "-Infinity" and "NaN"; parseReport turns them back.
import { UserInputError } from '../errors.js';
import { REPORT_SCHEMA, REPORT_VERSION, type Report } from './types.js';

const NON_FINITE: Record<string, number> = { Infinity, '-Infinity': -Infinity, NaN };

export function renderJson(r: Report, opts: { pretty?: boolean } = {}): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), opts.pretty === false ? undefined : 2);
}

/** Reads a report written by renderJson; refuses other schemas and newer versions. */
export function parseReport(text: string): Report {
  let v: unknown;
  try {
    v = JSON.parse(text, (k, x: unknown) => (typeof x === 'string' && k !== 'tensor' && k !== 'name' && x in NON_FINITE ? NON_FINITE[x] : x));
  } catch (e) {
    throw new UserInputError(`not a JSON report: ${(e as Error).message}`, 1, { cause: e });
  }
  const r = v as Partial<Report> | null;
  if (!r || r.schema !== REPORT_SCHEMA) throw new UserInputError(`not a ${REPORT_SCHEMA} document`);
  if (typeof r.version !== 'number' || r.version > REPORT_VERSION) {
    throw new UserInputError(`${REPORT_SCHEMA} version ${String(r.version)} is newer than this qtool reads (${REPORT_VERSION})`);
  }
  return r as Report;
}
