// Stats files on disk: deterministic text (fixed key order, one tensor per line), atomic writes,
// and validation on load with one-line errors naming the file.
import fs from 'node:fs';
import { UserInputError } from '../errors.js';
import { RANGE_ALGORITHM_NAMES, StreamingHistogram } from '../math/index.js';
import { atomicWrite } from '../onnx/io.js';
import { STATS_FORMAT, STATS_VERSION, type StatsFile, type TensorStats } from './stats.js';

const ALGOS: readonly string[] = RANGE_ALGORITHM_NAMES;

/**
 * Text of a stats file. Objects are built with a fixed key order, so equal stats give equal
 * bytes; numbers use JSON's shortest round-trip form, so loading gives back the same doubles.
 */
export function serializeStats(stats: StatsFile): string {
  const lines = ['{'];
  const entries = Object.entries(stats);
  entries.forEach(([key, value], i) => {
    const comma = i < entries.length - 1 ? ',' : '';
    if ((key === 'tensors' || key === 'ranges') && value && typeof value === 'object') {
      const inner = Object.entries(value as Record<string, unknown>);
      lines.push(`  ${JSON.stringify(key)}: {`);
      inner.forEach(([name, v], j) => lines.push(`    ${JSON.stringify(name)}: ${JSON.stringify(v)}${j < inner.length - 1 ? ',' : ''}`));
      lines.push(`  }${comma}`);
    } else {
      lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)}${comma}`);
    }
  });
  lines.push('}', '');
  return lines.join('\n');
}

export function saveStats(stats: StatsFile, file: string): void {
  atomicWrite(file, [new TextEncoder().encode(serializeStats(stats))]);
}

export function loadStats(file: string): StatsFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserInputError(`${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (e as Error).message})`}`, 1, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserInputError(`${file}: not a qtool stats file (not valid JSON: ${(e as Error).message})`, 1, { cause: e });
  }
  return validateStats(json, file);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Checks a parsed stats file; every failure is a one-line UserInputError naming `label`. */
export function validateStats(json: unknown, label: string): StatsFile {
  const bad = (why: string): never => {
    throw new UserInputError(`${label}: ${why}`);
  };
  if (!isObject(json) || json.format !== STATS_FORMAT) {
    return bad(`not a qtool stats file (expected "format": "${STATS_FORMAT}"; write one with qtool calibrate)`);
  }
  if (json.version !== STATS_VERSION) {
    bad(`stats file version ${JSON.stringify(json.version)} is not supported (this qtool reads version ${STATS_VERSION}); calibrate again`);
  }
  const m = json.model;
  if (!isObject(m) || typeof m.file !== 'string' || typeof m.sha256 !== 'string' || typeof m.preparedSha256 !== 'string') {
    bad('"model" must hold file, sha256 and preparedSha256');
  }
  if (!isCount(json.samples)) bad('"samples" must be a whole number');
  if (!isCount(json.bins) || json.bins < 1) bad('"bins" must be a positive whole number');
  if (!isObject(json.tensors)) return bad('"tensors" must be an object');
  for (const [name, t] of Object.entries(json.tensors)) checkTensor(name, t, json.bins as number, bad);
  if (json.ranges !== undefined) checkRanges(json.ranges, json.tensors, bad);
  return json as unknown as StatsFile;
}

function checkTensor(name: string, t: unknown, bins: number, bad: (why: string) => never): void {
  if (!isObject(t)) bad(`tensor '${name}': not an object`);
  const s = t as Partial<TensorStats>;
  let h: StreamingHistogram;
  try {
    h = StreamingHistogram.fromJSON(s.histogram);
  } catch (e) {
    return bad(`tensor '${name}': bad histogram (${(e as Error).message})`);
  }
  if (h.bins !== bins) bad(`tensor '${name}': histogram has ${h.bins} bins, the file says ${bins}`);
  const j = s.histogram!;
  if (s.min !== j.min || s.max !== j.max || s.count !== j.count) bad(`tensor '${name}': min/max/count disagree with its histogram`);
  if (s.channels !== undefined) checkChannels(name, s.channels, bad);
}

function checkChannels(name: string, c: unknown, bad: (why: string) => never): void {
  const ok = isObject(c) && isCount(c.axis) && Array.isArray(c.absMax) && c.absMax.length > 0 &&
    c.absMax.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (!ok) bad(`tensor '${name}': "channels" must be { axis, absMax: [non-negative numbers] }`);
}

function checkRanges(ranges: unknown, tensors: Record<string, unknown>, bad: (why: string) => never): void {
  if (!isObject(ranges)) bad('"ranges" must be an object');
  for (const [name, r] of Object.entries(ranges as Record<string, unknown>)) {
    if (!(name in tensors)) bad(`range for '${name}' but no statistics for it`);
    if (!isObject(r) || typeof r.min !== 'number' || typeof r.max !== 'number' || !ALGOS.includes(String(r.algo).replace(/^auto: /, ''))) {
      bad(`range for '${name}' must be { min, max, algo }`);
    }
  }
}
