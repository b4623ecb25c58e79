// Opset conversion of the default domain, from any opset ≥ 7 up to 21: every node whose op changed
// meaning or signature in between is rewritten by the adapters of ./table.ts, in subgraphs too
// (If/Loop/Scan bodies share the model's opset). Nothing is changed unless every node converts;
// otherwise the refusal names each op, node and opset that cannot be converted and why.
import { UnsupportedError } from '../../errors.js';
import { opsetVersion, type Graph, type Model, type Node } from '../../ir/index.js';
import type { Pass } from '../pass.js';
import { AdaptContext, Refusal } from './context.js';
import { adaptersFor, CHANGES, type Change } from './table.js';

export const MIN_SOURCE_OPSET = 7;
export const MAX_TARGET_OPSET = 21;

export { CHANGES, type Change } from './table.js';

export interface UpgradeStep {
  op: string;
  /** The opset whose definition the node is converted to. */
  since: number;
  what: string;
  count: number;
}
export interface UpgradeRefusal {
  op: string;
  node: string;
  /** The model's opset (the op's definition there) and the opset it cannot be converted to. */
  opset: number;
  to: number;
  reason: string;
}
export interface UpgradePlan {
  from: number;
  to: number;
  /** Adapters the conversion runs, per op and change, with the number of nodes. */
  steps: UpgradeStep[];
  refused: UpgradeRefusal[];
}

const isDefault = (domain: string) => domain === '' || domain === 'ai.onnx';

function allNames(g: Graph, out: Set<string>): Set<string> {
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo.values()]) out.add(v.name);
  for (const name of g.initializers.keys()) out.add(name);
  for (const n of g.nodes) {
    if (n.name) out.add(n.name);
    for (const v of [...n.inputs, ...n.outputs]) if (v) out.add(v);
    for (const sub of n.subgraphs()) allNames(sub, out);
  }
  return out;
}

/** Visits every node, subgraph nodes before the node that holds them. */
function each(g: Graph, visit: (g: Graph, n: Node) => void): void {
  for (const n of [...g.nodes]) {
    for (const sub of n.subgraphs()) each(sub, visit);
    visit(g, n);
  }
}

/** One context per graph, each knowing the context of the graph around it. */
function contexts(model: Model, from: number, target: number): (g: Graph) => AdaptContext {
  const ir = Number(model.irVersion);
  const names = allNames(model.graph, new Set());
  const parents = new Map<Graph, Graph>();
  const link = (g: Graph) => {
    for (const n of g.nodes) for (const sub of n.subgraphs()) {
      parents.set(sub, g);
      link(sub);
    }
  };
  link(model.graph);
  const made = new Map<Graph, AdaptContext>();
  const get = (g: Graph): AdaptContext => {
    let c = made.get(g);
    if (!c) {
      const p = parents.get(g);
      c = new AdaptContext(g, names, from, target, p ? get(p) : undefined, ir);
      made.set(g, c);
    }
    return c;
  };
  return get;
}

function checkRange(from: number | undefined, to: number): number {
  if (from === undefined) throw new UnsupportedError('the model imports no default-domain (ai.onnx) opset; nothing to convert');
  if (from < MIN_SOURCE_OPSET) throw new UnsupportedError(`the model has opset ${from}; qtool converts from opset ${MIN_SOURCE_OPSET} on (convert it to ${MIN_SOURCE_OPSET} first)`);
  if (to > MAX_TARGET_OPSET) throw new UnsupportedError(`opset ${to} is beyond ${MAX_TARGET_OPSET}, the newest opset qtool converts to`);
  if (to < from) throw new UnsupportedError(`the model already has opset ${from}; qtool does not convert down to ${to}`);
  return from;
}

/** What converting `model` to `target` would do, without changing it. */
export function planUpgrade(model: Model, target: number): UpgradePlan {
  const from = checkRange(opsetVersion(model), target);
  const steps = new Map<string, UpgradeStep>();
  const refused: UpgradeRefusal[] = [];
  const contextOf = contexts(model, from, target);
  each(model.graph, (g, n) => {
    if (!isDefault(n.domain)) return;
    const c = contextOf(g);
    let op = n.opType;
    let v = from;
    for (let change: Change | undefined = adaptersFor(op, v, target)[0]; change; change = adaptersFor(op, v, target)[0]) {
      const why = change.check?.(c, n);
      if (why) {
        refused.push({ op: n.opType, node: n.name || n.outputs[0] || '', opset: from, to: change.since, reason: why });
        break;
      }
      if (change.applies && !change.applies(n)) {
        v = change.since;
        continue;
      }
      const key = `${op}@${change.since}`;
      const s = steps.get(key) ?? steps.set(key, { op, since: change.since, what: change.what, count: 0 }).get(key)!;
      s.count++;
      op = change.becomes ?? op;
      v = change.since;
    }
  });
  return { from, to: target, steps: [...steps.values()].sort((a, b) => a.since - b.since || (a.op < b.op ? -1 : 1)), refused };
}

export interface UpgradeResult extends UpgradePlan {
  notes: string[];
}

function refusalMessage(refused: UpgradeRefusal[], to: number): string {
  const shown = refused.slice(0, 5).map((r) => `${r.op}${r.node ? ` '${r.node}'` : ''} (opset ${r.opset} → ${r.to}): ${r.reason}`);
  const more = refused.length > 5 ? `; and ${refused.length - 5} more` : '';
  return `cannot convert the model to opset ${to}: ${shown.join('; ')}${more}`;
}

/** Converts the default-domain opset of `model` to `target` in place. Throws UnsupportedError,
 * with the model unchanged, when any node cannot be converted. */
export function upgradeModel(model: Model, target: number): UpgradeResult {
  const plan = planUpgrade(model, target);
  if (plan.refused.length) throw new UnsupportedError(refusalMessage(plan.refused, target));
  const { from } = plan;
  if (from === target) return { ...plan, notes: [] };
  const contextOf = contexts(model, from, target);
  const refused: UpgradeRefusal[] = [];
  each(model.graph, (g, n) => {
    if (!isDefault(n.domain)) return;
    const c = contextOf(g);
    let node: Node | undefined = n;
    let v = from;
    for (let change: Change | undefined = adaptersFor(n.opType, v, target)[0]; node && change; change = node ? adaptersFor(node.opType, v, target)[0] : undefined) {
      if (change.applies && !change.applies(node)) {
        v = change.since;
        continue;
      }
      try {
        node = change.adapt!(c, node);
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        refused.push({ op: n.opType, node: n.name || n.outputs[0] || '', opset: from, to: change.since, reason: e.message });
        break;
      }
      v = change.since;
    }
  });
  if (refused.length) throw new UnsupportedError(refusalMessage(refused, target));
  setOpset(model, target);
  const adapted = plan.steps.map((s) => `${s.op}→${s.since} ×${s.count}`);
  const notes = [`opset upgraded from ${from} to ${target}${adapted.length ? `; adapted ${adapted.join(', ')}` : '; no op needed an adapter'}`];
  if (model.functions.length) notes.push(`${model.functions.length} model-local function(s) keep their own opset imports`);
  return { ...plan, notes };
}

/** The IR version each opset came with (ONNX's versioning table), from opset 7 on. */
const IR_OF_OPSET: Record<number, number> = { 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

function setOpset(model: Model, target: number): void {
  model.opsets = model.opsets.map((o) => (isDefault(o.domain) ? { ...o, version: target } : o));
  const ir = Number(model.irVersion);
  const minIr = IR_OF_OPSET[target] ?? 10;
  if (ir >= minIr) return;
  model.irVersion = minIr;
  // Below IR 4 every initializer is also listed as a graph input and is still a constant; from 4 on
  // an initializer listed as an input is a default that a feed may override. Keep them constants.
  if (ir < 4 && minIr >= 4) {
    const g = model.graph;
    g.inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
  }
}

/** Ops of the model (any graph) that need an adapter between `from` (exclusive) and `to`. */
export function opsNeedingAdapters(model: Model, from: number, to: number): string[] {
  const out = new Set<string>();
  each(model.graph, (_g, n) => {
    if (isDefault(n.domain) && adaptersFor(n.opType, from, to).length) out.add(n.opType);
  });
  return [...out].sort();
}

/** The conversion as a pass (no-op when the model is already at `target` or above). */
export function upgradePass(target: number): Pass {
  return {
    name: `upgrade-opset-${target}`,
    run(model: Model): string[] {
      const v = opsetVersion(model);
      if (v !== undefined && v >= target) return [];
      return upgradeModel(model, target).notes;
    },
  };
}

/** Every op the table knows about (for documentation and tests). */
export function knownChanges(): [string, readonly Change[]][] {
  return Object.entries(CHANGES);
}
