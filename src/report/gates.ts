// Accuracy gates (DESIGN.md "Command line": exit code 3 when one fails; the model is still written).
// A gate whose figure cannot be measured fails: a CI gate that silently passes is worse than none.
import { UsageError } from '../errors.js';
import type { GateResult, GateSection, Gates, OutputMetrics, Report } from './types.js';

function primary(report: Report): OutputMetrics | undefined {
  return report.outputs.find((o) => o.name === report.primaryOutput);
}

function result(gate: GateResult['gate'], threshold: number, actual: number | null, passed: boolean, message: string): GateResult {
  return { gate, flag: `--${gate}`, threshold, actual, passed, message };
}

function maxDrop(report: Report, limit: number): GateResult {
  const acc = primary(report)?.classifier?.accuracy;
  if (!acc) {
    const why = report.data.labels ? `the primary output '${report.primaryOutput}' is not a [N, C] classifier output` : 'no labels were given (--labels)';
    return result('max-drop', limit, null, false, `--max-drop ${limit}: cannot measure the accuracy drop: ${why}`);
  }
  const ok = acc.dropPp <= limit;
  const cmp = ok ? '≤' : '>';
  return result('max-drop', limit, acc.dropPp, ok,
    `--max-drop ${limit}: accuracy drop ${acc.dropPp.toFixed(2)} pp ${cmp} ${limit} pp (float ${pct(acc.float)}, quantized ${pct(acc.quantized)})`);
}

function minSqnr(report: Report, limit: number): GateResult {
  const o = primary(report);
  if (!o) return result('min-sqnr', limit, null, false, `--min-sqnr ${limit}: the primary output '${report.primaryOutput}' was not compared`);
  const ok = o.sqnrDb >= limit;
  return result('min-sqnr', limit, o.sqnrDb, ok, `--min-sqnr ${limit}: SQNR of '${o.name}' ${o.sqnrDb.toFixed(2)} dB ${ok ? '≥' : '<'} ${limit} dB`);
}

function minAgreement(report: Report, limit: number): GateResult {
  const c = primary(report)?.classifier;
  if (!c) return result('min-agreement', limit, null, false, `--min-agreement ${limit}: the primary output '${report.primaryOutput}' is not a [N, C] classifier output`);
  const ok = c.top1Agreement >= limit;
  return result('min-agreement', limit, c.top1Agreement, ok,
    `--min-agreement ${limit}: top-1 agreement ${c.top1Agreement.toFixed(4)} ${ok ? '≥' : '<'} ${limit}`);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** Checks gate thresholds once (the CLI and the library share this). */
export function validateGates(gates: Gates): Gates {
  const num = (flag: string, v: number | undefined, lo: number, hi: number) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new UsageError(`${flag} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  };
  num('--max-drop', gates.maxDrop, 0, 100);
  num('--min-sqnr', gates.minSqnr, -1000, 1000);
  num('--min-agreement', gates.minAgreement, 0, 1);
  return gates;
}

/** Every given gate, passed or not. */
export function checkGates(report: Report, gates: Gates): GateResult[] {
  const out: GateResult[] = [];
  if (gates.maxDrop !== undefined) out.push(maxDrop(report, gates.maxDrop));
  if (gates.minSqnr !== undefined) out.push(minSqnr(report, gates.minSqnr));
  if (gates.minAgreement !== undefined) out.push(minAgreement(report, gates.minAgreement));
  return out;
}

/** The gates that failed (empty when all passed or none was given). */
export function evaluateGates(report: Report, gates: Gates): GateResult[] {
  return checkGates(report, gates).filter((g) => !g.passed);
}

/** The report with its `gates` section filled in (null when no gate was given). */
export function applyGates(report: Report, gates: Gates): Report {
  const results = checkGates(report, gates);
  const section: GateSection | null = results.length ? { passed: results.every((r) => r.passed), results } : null;
  return { ...report, gates: section };
}

/** One line for stderr / GateError naming every failed gate. */
export function gateFailureMessage(failures: readonly GateResult[]): string {
  return `accuracy gate failed: ${failures.map((f) => f.message).join('; ')}`;
}
