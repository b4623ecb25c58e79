// From a bad layer to a fix: which nodes of the float model stand behind each compared tensor, the
// warning when an output collapsed (never a silent collapse), and the command that keeps the worst
// layers out of int8.
import { UsageError } from '../errors.js';
import type { Graph } from '../ir/index.js';
import type { PlanNodeEntry } from './metadata.js';
import type { CollapseThresholds, LayerMetrics, OutputMetrics, Report, ReportWarning, Suggestion } from './types.js';

export const COLLAPSE_DEFAULTS = { minSqnrDb: 20, minAgreement: 0.98 } as const;

/** Codes a default run prints even with --quiet, and that --strict turns into exit 3 (collapse only). */
export const COLLAPSE_CODES: ReadonlySet<string> = new Set(['output-sqnr-low', 'output-agreement-low']);
export const LOUD_CODES: ReadonlySet<string> = new Set(['quantized-slower', ...COLLAPSE_CODES]);

/**
 * Producers (the quantized op first, then the nodes whose range it absorbed, e.g. its Relu) and
 * consumers of `tensor` in the float graph. With the plan's node list, walking back stops at the
 * first node the plan did not mark 'absorbed'.
 */
export function tensorNodes(float: Graph, tensor: string, plan?: ReadonlyMap<string, PlanNodeEntry>): LayerMetrics['nodes'] {
  const producers: string[] = [];
  let p = float.producerOf(tensor);
  for (let hops = 0; p && hops < 8; hops++) {
    producers.unshift(p.name || p.outputs[0] || p.opType);
    if (plan?.get(p.name)?.status !== 'absorbed') break;
    p = p.inputs[0] ? float.producerOf(p.inputs[0]) : undefined;
  }
  // in graph order, so the same graph read twice names them alike
  const order = new Map(float.nodes.map((n, i) => [n, i]));
  const consumers = [...float.consumersOf(tensor)].sort((a, b) => order.get(a)! - order.get(b)!).map((n) => n.name || n.outputs[0] || n.opType);
  return { producers, consumers: [...new Set(consumers)] };
}

/** The quantized nodes to keep in float for the worst `k` rows: each row's quantized producer, else its quantized consumers. */
export function worstNodes(rows: readonly LayerMetrics[], plan: ReadonlyMap<string, PlanNodeEntry> | undefined, k = 3): string[] {
  const quantized = (n: string) => (plan ? plan.get(n)?.status === 'quantized' : true);
  const out: string[] = [];
  for (const r of rows.slice(0, k)) {
    const own = r.nodes.producers.filter(quantized).slice(0, 1);
    for (const n of own.length ? own : r.nodes.consumers.filter(quantized)) if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** A word as a POSIX shell would read it back. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function withFlag(words: readonly string[], flag: string, value: string | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === flag) i++;
    else if (!w.startsWith(`${flag}=`)) out.push(w);
  }
  return value === undefined ? out : [...out, flag, value];
}

/** The previous value of `--exclude-nodes` in a command, split. */
function excluded(words: readonly string[]): string[] {
  const i = words.indexOf('--exclude-nodes');
  const v = i >= 0 ? words[i + 1] : words.find((w) => w.startsWith('--exclude-nodes='))?.slice('--exclude-nodes='.length);
  return (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** The commands that keep `nodes` in float, or all activations in int16. `command` is the run to repeat. */
export function suggestion(nodes: string[], command: readonly string[]): Suggestion | null {
  if (nodes.length === 0) return null;
  const keep = [...new Set([...excluded(command), ...nodes])];
  const exclude = withFlag(command, '--exclude-nodes', keep.join(','));
  const int16 = withFlag(command, '--activation-type', 'int16');
  return { nodes, excludeCommand: exclude.map(shellWord).join(' '), int16Command: int16.map(shellWord).join(' ') };
}

function worstText(rows: readonly LayerMetrics[]): string {
  if (rows.length === 0) return 'no per-layer figures to name the worst layers (per-layer analysis was off (drop --no-per-layer), or the quantized tensors sit inside If/Loop/Scan bodies, which it does not cover)';
  const list = rows.slice(0, 3).map((r) => {
    const by = r.nodes.producers[0] ?? r.nodes.consumers[0];
    return `${r.tensor}${by ? ` (node ${by})` : ''}, own SQNR ${r.ownSqnrDb.toFixed(1)} dB, ${r.hint}`;
  });
  return `worst layers: ${list.join('; ')}`;
}

function tryText(s: Suggestion | null): string {
  if (!s) return 'try --activation-type int16, or --exclude-nodes with the nodes of the worst layers';
  return `try: ${s.excludeCommand}  (or 16-bit activations: ${s.int16Command})`;
}

/** Warnings for outputs under the collapse thresholds, each naming the output, the worst layers and what to try. */
export function collapseWarnings(outputs: readonly OutputMetrics[], rows: readonly LayerMetrics[], s: Suggestion | null, t: CollapseThresholds = {}): ReportWarning[] {
  const minSqnr = t.minSqnrDb ?? COLLAPSE_DEFAULTS.minSqnrDb;
  const minAgree = t.minAgreement ?? COLLAPSE_DEFAULTS.minAgreement;
  const out: ReportWarning[] = [];
  const tail = `${worstText(rows)}; ${tryText(s)}`;
  for (const o of outputs) {
    if (!(o.sqnrDb >= minSqnr)) {
      out.push({ code: 'output-sqnr-low', message: `output '${o.name}' collapsed: SQNR ${o.sqnrDb.toFixed(2)} dB < ${minSqnr} dB; ${tail}` });
    }
    const a = o.classifier?.top1Agreement;
    if (a !== undefined && a < minAgree) {
      out.push({ code: 'output-agreement-low', message: `output '${o.name}' collapsed: top-1 agreement ${(100 * a).toFixed(2)}% < ${(100 * minAgree).toFixed(2)}%; ${tail}` });
    }
  }
  return out;
}

/** The report's collapse warnings (what --strict turns into exit 3). */
export function collapses(r: Report): ReportWarning[] {
  return r.warnings.filter((w) => COLLAPSE_CODES.has(w.code));
}

export function validateCollapse(t: CollapseThresholds): CollapseThresholds {
  const bad = (v: number | undefined, lo: number, hi: number) => v !== undefined && !(typeof v === 'number' && v >= lo && v <= hi);
  if (bad(t.minSqnrDb, -1000, 1000)) throw new UsageError(`the collapse SQNR threshold must be a number of dB, got ${String(t.minSqnrDb)}`);
  if (bad(t.minAgreement, 0, 1)) throw new UsageError(`the collapse agreement threshold is a fraction in [0, 1], got ${String(t.minAgreement)}`);
  return t;
}
