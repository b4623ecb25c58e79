// Graph analysis for planning: which nodes are quantized (and why not), which tensors carry
// Q/DQ, which ranges are shared, which Relu/Clip outputs absorb their producer. Pure: reads the
// graph, never edits it.
import { AttrType, DataType, inferElemTypes, type Graph, type Node, type Tensor } from '../ir/index.js';
import type { QuantConfig } from '../config/index.js';
import { findHardSwishUnits, isDecision, isPeakTest, ruleFor, type RuleContext, type RuleResult } from './rules/index.js';
import { reason, type Reason } from './reasons.js';

export type NodeStatus = 'quantized' | 'float' | 'absorbed';

export interface NodeDecision {
  node: Node;
  status: NodeStatus;
  reason: Reason;
  rule?: RuleResult;
  /** Activation precision from the first/last-layer policy or a peak-test tail. */
  precision?: 'int16';
}

export interface Analysis {
  decisions: Map<Node, NodeDecision>;
  /** Tensors that get a Q/DQ pair, in graph order. */
  activations: string[];
  /** Producer output absorbed by a following Relu/Clip → that Relu/Clip's output. */
  absorbed: Map<string, string>;
  /** Tensor → representative of its shared-range group. */
  groupOf: Map<string, string>;
  /** Fixed ranges (Sigmoid/Softmax outputs). */
  fixed: Map<string, [number, number]>;
  /** Tensors that want int16 (first/last-layer policy). */
  int16: Set<string>;
  /** Outputs of quantized nodes that get no Q/DQ (a MatMul output feeding its bias Add). */
  unquantized: Set<string>;
  /**
   * analyzeModelGraph: the If/Loop/Scan bodies whose nodes this analysis also holds (outermost
   * first), and the body of each of their nodes. Absent for one graph's analysis.
   */
  bodies?: BodyScope[];
  scopeOf?: Map<Node, BodyScope>;
}

/** An If/Loop/Scan body: where it sits, and the constants it sees (its own and its enclosing graphs'). */
export interface BodyScope {
  graph: Graph;
  owner: Node;
  /** The graph that holds `owner`. */
  parent: Graph;
  /** `owner.attribute` from the main graph down, e.g. `If_0.then_branch/loop.body`. */
  path: string;
  constantOf(name: string): Tensor | undefined;
}

/** What a subgraph sees of its enclosing graphs: value types and constants. */
export interface OuterScope {
  types: ReadonlyMap<string, number>;
  constantOf(name: string): Tensor | undefined;
}

export interface AnalyzeOptions {
  /** What a subgraph sees of its enclosing graphs. */
  outer?: OuterScope;
  /** Nodes (by name) kept in float by a decision made on calibration results, with the reason (outlier channels). */
  floatNodes?: ReadonlyMap<string, Reason>;
}

export function analyzeGraph(g: Graph, config: Readonly<QuantConfig>, opts: AnalyzeOptions = {}): Analysis {
  const { outer, floatNodes } = opts;
  const types = inferElemTypes(g, outer?.types);
  const isFloat = (n: string) => types.get(n) === DataType.FLOAT;
  const constantOf = (n: string) => g.constantOf(n) ?? outer?.constantOf(n);
  const ctx: RuleContext = {
    graph: g,
    config,
    isFloat,
    isConstant: (n) => constantOf(n) !== undefined,
    constantRank: (n) => constantOf(n)?.dims.length,
  };
  const constLike = constantValues(g, constantOf);
  const decisions = new Map<Node, NodeDecision>();
  for (const n of g.nodes) {
    const fromConstants = n.inputs.some((i) => i) && n.inputs.every((i) => !i || constLike(i));
    decisions.set(n, fromConstants ? { node: n, status: 'float', reason: reason('constant-subexpression', 'computes from constants only (weights being reshaped or reordered): onnxruntime folds it; no Q/DQ') } : decide(n, ctx, floatNodes?.get(n.name)));
  }
  applyHardSwishUnits(g, decisions);
  applyEdgePolicy(g, config, decisions);
  const decided = decisionTails(g, config, decisions, isFloat, constantOf);
  floatOperandBinaries(g, decisions, constantOf);
  floatFedActivations(g, decisions);
  settlePassThrough(g, decisions);
  const unquantized = foldBiasAdds(g, decisions, constantOf);
  for (const t of decided) unquantized.add(t);
  const absorbed = absorbActivations(g, decisions);
  return collect(g, decisions, absorbed, isFloat, unquantized, (t) => constantOf(t) !== undefined);
}

/**
 * Constants (initializers, Constant nodes, of this graph or an enclosing one) and what is computed
 * from them alone (a body's Slice/Concat/Unsqueeze that reorders an LSTM's weights): not activations.
 */
function constantValues(g: Graph, constantOf: (n: string) => Tensor | undefined): (n: string) => boolean {
  const derived = new Set<string>();
  for (const n of g.nodes) {
    if (n.subgraphs().length || n.opType.startsWith('Random') || !n.inputs.some((i) => i)) continue;
    if (n.inputs.every((i) => !i || constantOf(i) !== undefined || derived.has(i))) for (const o of n.outputs) if (o) derived.add(o);
  }
  return (n) => constantOf(n) !== undefined || derived.has(n);
}

function decide(n: Node, ctx: RuleContext, forced?: Reason): NodeDecision {
  const { config } = ctx;
  const float = (r: Reason): NodeDecision => ({ node: n, status: 'float', reason: r });
  const user = userExclusion(n, config);
  if (user) return float(user);
  if (forced) return float(forced);
  const rule = ruleFor(n);
  if (!rule) return float(reason('no-rule', n.domain ? `no quantization rule for ${n.domain}::${n.opType}` : `no quantization rule for ${n.opType}`));
  if (config.includeOps.length && !config.includeOps.includes(n.opType)) return float(notIncluded(n));
  const outcome = rule.describe!(n, ctx);
  if ('float' in outcome) return float(outcome.float);
  const dataIn = outcome.inputs.some((r, i) => r.kind === 'activation' && n.inputs[i] && !ctx.isFloat(n.inputs[i]!));
  if (dataIn || !n.outputs[0] || !ctx.isFloat(n.outputs[0])) return float(reason('non-float', 'operates on non-float tensors'));
  const why = outcome.passThrough ? reason('pass-through', 'pass-through: shares its input scale') : reason('quantized', 'quantized');
  return { node: n, status: 'quantized', reason: why, rule: outcome };
}

/** HardSwish spelled out as primitives: input and output quantized, float inside. */
function applyHardSwishUnits(g: Graph, decisions: Map<Node, NodeDecision>): void {
  for (const unit of findHardSwishUnits(g)) {
    if (unit.nodes.some((n) => isUserExcluded(decisions.get(n)!.reason))) continue;
    unit.nodes.forEach((n, i) => {
      const last = i === unit.nodes.length - 1;
      const rule: RuleResult = {
        inputs: n.inputs.map((name) => (i === 0 && name === unit.input ? { kind: 'activation' } : { kind: 'none' })),
        outputs: [last ? { kind: 'activation' } : { kind: 'none' }],
      };
      decisions.set(n, { node: n, status: 'quantized', reason: reason('hardswish-unit', 'part of a HardSwish written out as Add→Clip→Mul→Div (one quantized unit)'), rule });
    });
  }
}

function applyEdgePolicy(g: Graph, config: Readonly<QuantConfig>, decisions: Map<Node, NodeDecision>): void {
  const weighted = g.nodes.filter((n) => decisions.get(n)!.status === 'quantized' && decisions.get(n)!.rule?.weighted);
  const edges: [Node | undefined, 'firstLayer' | 'lastLayer'][] = [[weighted[0], 'firstLayer'], [weighted[weighted.length - 1], 'lastLayer']];
  for (const [node, key] of edges) {
    if (!node || config[key] === 'int8') continue;
    const d = decisions.get(node)!;
    if (config[key] === 'float') decisions.set(node, { node, status: 'float', reason: reason('edge-layer-float', `${key === 'firstLayer' ? 'first' : 'last'} layer kept in float (${key}=float)`) });
    else d.precision = 'int16';
  }
}

/** Pass-through ops are quantized only next to a quantized neighbour; otherwise they stay float. */
function settlePassThrough(g: Graph, decisions: Map<Node, NodeDecision>): void {
  const isQ = (n: Node | undefined) => !!n && decisions.get(n)!.status === 'quantized';
  const pass = g.nodes.filter((n) => decisions.get(n)!.rule?.passThrough);
  const keep = new Set<Node>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const n of pass) {
      if (keep.has(n)) continue;
      const prod = g.producerOf(n.inputs[0] ?? '');
      const nearQ = (prod && isQ(prod) && (!decisions.get(prod)!.rule?.passThrough || keep.has(prod))) ||
        n.outputs.some((o) => g.consumersOf(o).some((c) => isQ(c) && (!decisions.get(c)!.rule?.passThrough || keep.has(c))));
      if (nearQ) {
        keep.add(n);
        changed = true;
      }
    }
  }
  for (const n of pass) if (!keep.has(n)) decisions.set(n, { node: n, status: 'float', reason: reason('isolated-pass-through', 'pass-through op with no quantized neighbour') });
}

/**
 * Post-processing inside the graph stays float. The float tensors that reach only comparisons and
 * selections (rule `decision`: Equal, Greater, ArgMax, TopK, NonMaxSuppression…) or what those
 * feed up to a weighted layer or a control-flow node (Mul(map, mask) after a suppression step) keep their order exactly: quantizing them creates
 * ties (Equal(map, MaxPool(map)) then keeps every tied neighbour). The chain that feeds only them
 * stays float (a MaxPool compared with its input is part of it), back to the first weighted layer,
 * which keeps its integer weights and gets a float output. Returns those float outputs.
 */
function decisionTails(g: Graph, config: Readonly<QuantConfig>, decisions: Map<Node, NodeDecision>, isFloat: (n: string) => boolean, constantOf: (n: string) => Tensor | undefined): Set<string> {
  const floatOut = new Set<string>();
  const deciders = g.nodes.filter((n) => isDecision(n) && n.inputs.some((i) => i && isFloat(i) && !constantOf(i)));
  if (!deciders.length) return floatOut;
  const tail = new Set<Node>();
  const stack = [...deciders];
  while (stack.length) {
    const n = stack.pop()!;
    if (tail.has(n)) continue;
    tail.add(n);
    // What a decision feeds is post-processing, up to a weighted layer (real compute again) or a
    // control-flow node (a condition selects a branch; the branches are not post-processing).
    for (const o of n.outputs) if (o) stack.push(...g.consumersOf(o).filter((c) => !c.subgraphs().length && !decisions.get(c)!.rule?.weighted));
  }
  // A weighted quantized layer ends the chain: its output goes float, the layer stays int8.
  const chain = feedersOnly(g, tail, (n) => {
    const d = decisions.get(n)!;
    if (!(d.status === 'quantized' && d.rule?.weighted)) return true;
    for (const o of n.outputs) if (o) floatOut.add(o);
    return false;
  });
  for (const n of chain) {
    if (decisions.get(n)!.status === 'float') continue;
    decisions.set(n, { node: n, status: 'float', reason: reason('decision-tail', 'feeds only comparisons or selections (post-processing): kept in float so quantization creates no ties') });
  }
  // TensorRT's explicit quantization has no 16-bit Q/DQ: there the layers stay int8.
  if (config.target !== 'tensorrt') peakTestFeeders(g, decisions, tail, deciders);
  return floatOut;
}

/**
 * The nodes outside `tail` whose every output goes only to `tail` or to nodes already found (none
 * a graph output), grown backwards to a fixed point; `admit` may turn a candidate down.
 */
function feedersOnly(g: Graph, tail: ReadonlySet<Node>, admit: (n: Node) => boolean): Set<Node> {
  const found = new Set<Node>();
  const onlyTail = (n: Node) => n.outputs.some((o) => o) && n.outputs.every((o) => !o || (!g.isGraphOutput(o) && g.consumersOf(o).length > 0 && g.consumersOf(o).every((c) => tail.has(c) || found.has(c))));
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const n = g.nodes[i]!;
      if (tail.has(n) || found.has(n) || !onlyTail(n) || !admit(n)) continue;
      found.add(n);
      changed = true;
    }
  }
  return found;
}

/**
 * A peak test (Equal(x, MaxPool(x)), rules/index.ts isPeakTest) holds on every tie: where close
 * neighbours of x are reordered by noise, the selected positions change, so even a float tail is
 * only as good as the map that reaches it. The quantized layers whose data reaches nothing but such
 * a tail (back to where it also feeds a model output or another consumer: a detector's shared
 * backbone stays int8) keep int8 weights and get 16-bit activations (W8A16).
 */
function peakTestFeeders(g: Graph, decisions: Map<Node, NodeDecision>, tail: Set<Node>, deciders: Node[]): void {
  const peakTests = deciders.filter((n) => isPeakTest(n, g));
  if (!peakTests.length) return;
  const feeds = feedersOnly(g, tail, (n) => !n.subgraphs().length);
  // Of those, the ones a peak test reads (an ArgMax-only branch of the same tail keeps its precision).
  const stack = peakTests.flatMap((n) => n.inputs.map((i) => g.producerOf(i)));
  const reaches = new Set<Node>();
  while (stack.length) {
    const n = stack.pop();
    if (!n || reaches.has(n) || !feeds.has(n)) continue;
    reaches.add(n);
    for (const i of n.inputs) if (i) stack.push(g.producerOf(i));
  }
  for (const n of reaches) {
    const d = decisions.get(n)!;
    if (d.status === 'float') continue;
    d.precision = 'int16';
    if (d.reason.code === 'quantized') d.reason = reason('peak-test-int16', 'feeds only a peak test (x == MaxPool(x)), which keeps every tie: int8 weights, 16-bit activations');
  }
}

function absorbActivations(g: Graph, decisions: Map<Node, NodeDecision>): Map<string, string> {
  const absorbed = new Map<string, string>();
  for (const n of g.nodes) {
    const d = decisions.get(n)!;
    const a = d.status === 'quantized' ? d.rule?.absorbable : undefined;
    if (!a || a.min !== 0) continue;
    const t = n.inputs[0]!;
    const p = g.producerOf(t);
    if (!p || g.isGraphOutput(t) || g.consumersOf(t).length !== 1) continue;
    const pd = decisions.get(p)!;
    if (pd.status !== 'quantized' || pd.rule?.passThrough || pd.rule?.outputs[0]?.kind !== 'activation' || p.outputs.length !== 1) continue;
    absorbed.set(t, n.outputs[0]!);
    decisions.set(n, { ...d, status: 'absorbed', reason: reason('absorbed', `${n.opType} folded into the output range of ${p.describe()}`) });
  }
  return absorbed;
}

/** Does this value come out of quantized arithmetic (through pass-through ops), or the model input? */
function fromQuantized(g: Graph, decisions: Map<Node, NodeDecision>, name: string): boolean {
  const p = g.producerOf(name);
  if (!p) return g.isGraphInput(name);
  const d = decisions.get(p)!;
  if (d.status === 'float') return false;
  return d.rule?.passThrough ? fromQuantized(g, decisions, p.inputs[0] ?? '') : true;
}

/**
 * Add/Mul are quantized only when every non-constant operand already comes out of quantized
 * arithmetic (residual adds between convs: the integer flow continues). An Add/Mul fed by float
 * ops (LayerNorm's affine, GELU's products) would add a rounding step and save no float work.
 */
function floatOperandBinaries(g: Graph, decisions: Map<Node, NodeDecision>, constantOf: (n: string) => Tensor | undefined): void {
  for (const n of g.nodes) {
    const d = decisions.get(n)!;
    if (d.status !== 'quantized' || !ruleFor(n)?.integerFlowOnly || d.reason.code === 'hardswish-unit') continue;
    const operands = n.inputs.filter((i) => !constantOf(i));
    if (operands.every((i) => fromQuantized(g, decisions, i))) continue;
    decisions.set(n, { node: n, status: 'float', reason: reason('float-operand', `${n.opType} operand comes from a float op: quantizing it would add rounding error and save no float work`) });
  }
}

/**
 * Relu/Clip after a float op (a layer kept in float, an op without a rule) run in float on the
 * float input; only their output is quantized. Quantizing the pre-activation tensor would spend
 * half the integer range on values the activation discards.
 */
function floatFedActivations(g: Graph, decisions: Map<Node, NodeDecision>): void {
  for (const n of g.nodes) {
    const d = decisions.get(n)!;
    if (d.status !== 'quantized' || !d.rule?.absorbable || fromQuantized(g, decisions, n.inputs[0] ?? '')) continue;
    const inputs = d.rule.inputs.map(() => ({ kind: 'none' as const }));
    decisions.set(n, { ...d, reason: reason('float-fed-activation', `${n.opType} runs in float on a float input; its output is quantized`), rule: { ...d.rule, inputs, absorbable: undefined } });
  }
}

/**
 * MatMul/Gemm ─▶ Add(constant bias) is one linear layer: the MatMul output gets no Q/DQ (ORT runs
 * it as MatMulIntegerToFloat with the bias fused) and the Add's output carries the range.
 */
function foldBiasAdds(g: Graph, decisions: Map<Node, NodeDecision>, constantOf: (n: string) => Tensor | undefined): Set<string> {
  const out = new Set<string>();
  // A model output computed by Gemm/MatMul stays float: onnxruntime still runs the integer kernel
  // (QGemm / MatMulIntegerToFloat with float output), and a final uint8 rounding of the logits
  // would be the largest single error in a classifier.
  for (const n of g.nodes) {
    const y = n.outputs[0];
    if (y && g.isGraphOutput(y) && ruleFor(n)?.linear && decisions.get(n)!.status === 'quantized') out.add(y);
  }
  for (const n of g.nodes) {
    const d = decisions.get(n)!;
    if (d.status !== 'quantized' || !ruleFor(n)?.addsBias || n.inputs.length !== 2) continue;
    const ci = n.inputs.findIndex((i) => constantOf(i));
    const t = n.inputs[1 - ci];
    if (ci < 0 || !t || (constantOf(n.inputs[ci]!)?.dims.length ?? 9) > 1) continue;
    const p = g.producerOf(t);
    if (!p || !ruleFor(p)?.linear || decisions.get(p)!.status !== 'quantized') continue;
    if (g.consumersOf(t).length !== 1 || g.isGraphOutput(t)) continue;
    out.add(t);
    decisions.set(n, { ...d, reason: reason('bias-add', `bias Add of ${p.describe()}: one linear layer, quantized at its output`), rule: { inputs: [{ kind: 'none' }, { kind: 'none' }], outputs: [{ kind: 'activation' }] } });
  }
  return out;
}

function collect(g: Graph, decisions: Map<Node, NodeDecision>, absorbed: Map<string, string>, isFloat: (n: string) => boolean, unquantized: Set<string>, isConstant: (n: string) => boolean): Analysis {
  const seen = new Set<string>();
  const activations: string[] = [];
  const fixed = new Map<string, [number, number]>();
  const int16 = new Set<string>();
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    while (parent.has(x) && parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  const add = (t: string | undefined, d: NodeDecision) => {
    if (!t || absorbed.has(t) || unquantized.has(t) || !isFloat(t) || isConstant(t)) return;
    if (!seen.has(t)) {
      seen.add(t);
      activations.push(t);
      parent.set(t, t);
    }
    if (d.precision) int16.add(t);
  };
  for (const n of g.nodes) {
    const d = decisions.get(n)!;
    if (d.status === 'float' || !d.rule) continue;
    if (d.status === 'quantized') d.rule.inputs.forEach((r, i) => r.kind === 'activation' && add(n.inputs[i], d));
    d.rule.outputs.forEach((r, i) => {
      const o = n.outputs[i];
      if (r.kind === 'none' || !o) return;
      add(o, d);
      if (r.kind === 'fixed') fixed.set(o, [r.min, r.max]);
      if (r.kind === 'shared' && seen.has(n.inputs[r.input]!)) union(n.inputs[r.input]!, o);
    });
    if (d.rule.sharedGroup && seen.has(n.outputs[0]!)) for (const i of n.inputs) if (seen.has(i)) union(n.outputs[0]!, i);
  }
  const groupOf = new Map(activations.map((t) => [t, find(t)]));
  return { decisions, activations, absorbed, groupOf, fixed, int16, unquantized };
}

/**
 * The main graph and every If/Loop/Scan body (nested ones included) under the same rules, as one
 * analysis: body nodes get decisions like any other, body tensors are activations by name (the
 * prepare pass scope-names made every name unique in the model). `floatBodies` (branches that never
 * ran in calibration, and what they hold) keep every node float.
 */
export function analyzeModelGraph(g: Graph, config: Readonly<QuantConfig>, opts: { floatBodies?: ReadonlySet<Graph>; floatNodes?: ReadonlyMap<string, Reason> } = {}): Analysis {
  const { floatNodes } = opts;
  const a = analyzeGraph(g, config, { floatNodes });
  const bodies: BodyScope[] = [];
  const scopeOf = new Map<Node, BodyScope>();
  const walk = (parent: Graph, outer: OuterScope | undefined, path: string, untaken: boolean) => {
    const types = inferElemTypes(parent, outer?.types);
    const scope: OuterScope = { types, constantOf: (n) => parent.constantOf(n) ?? outer?.constantOf(n) };
    for (const n of parent.nodes) {
      for (const attr of n.attributes) {
        const graphs = attr.type === AttrType.GRAPH ? [attr.value] : attr.type === AttrType.GRAPHS ? attr.value : [];
        graphs.forEach((sub, k) => {
          const at = `${path}${n.name}.${attr.name}${attr.type === AttrType.GRAPHS ? `[${k}]` : ''}`;
          const body: BodyScope = { graph: sub, owner: n, parent, path: at, constantOf: (x) => sub.constantOf(x) ?? scope.constantOf(x) };
          bodies.push(body);
          const skip = untaken || !!opts.floatBodies?.has(sub);
          for (const m of sub.nodes) scopeOf.set(m, body);
          if (skip) {
            for (const m of sub.nodes) a.decisions.set(m, { node: m, status: 'float', reason: reason('untaken-branch', 'in a branch that never ran on the calibration data: kept in float (no ranges for its tensors)') });
          } else mergeAnalysis(a, analyzeGraph(sub, config, { outer: scope, floatNodes }));
          walk(sub, scope, `${at}/`, skip);
        });
      }
    }
  };
  walk(g, undefined, '', false);
  if (bodies.length) {
    a.bodies = bodies;
    a.scopeOf = scopeOf;
  }
  return a;
}

/**
 * The bodies that never ran on the calibration data: those defining a tensor in `unseen` (tensors
 * that got no values), and every body nested in them.
 */
export function untakenBodies(a: Analysis, unseen: readonly string[]): Set<Graph> {
  const out = new Set<Graph>();
  if (!a.bodies?.length || !unseen.length) return out;
  const missing = new Set(unseen);
  for (const b of a.bodies) {
    const parentUntaken = [...out].some((g) => g.nodes.includes(b.owner));
    const defines = b.graph.inputs.some((i) => missing.has(i.name)) || b.graph.nodes.some((n) => n.outputs.some((o) => missing.has(o)));
    if (parentUntaken || defines) out.add(b.graph);
  }
  return out;
}

/**
 * The bodies that ran, but on fewer than `fraction` of the `samples` calibration samples: the
 * fewest samples any tensor they define had values on (`seen`, tensors absent from it not counted).
 * Outermost only: a body nested in a rare one runs no more often than it. Untaken bodies (`skip`)
 * are not rare, they are float.
 */
export function rareBodies(a: Analysis, seen: ReadonlyMap<string, number>, samples: number, fraction: number, skip: ReadonlySet<Graph> = new Set()): { path: string; samples: number }[] {
  const out: { body: BodyScope; samples: number }[] = [];
  const listed = new Set<BodyScope>();
  const inListed = (b: BodyScope): boolean => {
    for (let p = a.scopeOf?.get(b.owner); p; p = a.scopeOf?.get(p.owner)) if (listed.has(p)) return true;
    return false;
  };
  for (const b of a.bodies ?? []) {
    if (skip.has(b.graph) || inListed(b)) continue;
    const defined = [...b.graph.inputs.map((i) => i.name), ...b.graph.nodes.flatMap((n) => n.outputs)];
    const counts = defined.map((t) => seen.get(t)).filter((c): c is number => c !== undefined && c > 0);
    const fewest = counts.length ? Math.min(...counts) : undefined;
    if (fewest !== undefined && fewest < fraction * samples) {
      out.push({ body: b, samples: fewest });
      listed.add(b);
    }
  }
  return out.map((r) => ({ path: r.body.path, samples: r.samples }));
}

function mergeAnalysis(into: Analysis, from: Analysis): void {
  for (const [n, d] of from.decisions) into.decisions.set(n, d);
  const seen = new Set(into.activations);
  for (const t of from.activations) if (!seen.has(t)) into.activations.push(t);
  for (const [k, v] of from.absorbed) into.absorbed.set(k, v);
  for (const [k, v] of from.groupOf) if (!into.groupOf.has(k)) into.groupOf.set(k, v);
  for (const [k, v] of from.fixed) into.fixed.set(k, v);
  for (const t of from.int16) into.int16.add(t);
  for (const t of from.unquantized) into.unquantized.add(t);
}

/**
 * Every subgraph (If branches, Loop/Scan bodies, nested ones included) with the analysis of its
 * nodes under the same rules, each seeing the types and constants of its enclosing graphs.
 */
export function analyzeSubgraphs(g: Graph, config: Readonly<QuantConfig>, outer?: OuterScope): { graph: Graph; owner: Node; analysis: Analysis }[] {
  const out: { graph: Graph; owner: Node; analysis: Analysis }[] = [];
  const types = inferElemTypes(g, outer?.types);
  const scope: OuterScope = { types, constantOf: (n) => g.constantOf(n) ?? outer?.constantOf(n) };
  for (const n of g.nodes) {
    for (const sub of n.subgraphs()) {
      out.push({ graph: sub, owner: n, analysis: analyzeGraph(sub, config, { outer: scope }) });
      out.push(...analyzeSubgraphs(sub, config, scope));
    }
  }
  return out;
}

/** The user's exclusions (excludeNodes, excludeOps), shared by every mode. */
export function userExclusion(n: Node, config: Readonly<QuantConfig>): Reason | undefined {
  if (config.excludeNodes.includes(n.name)) return reason('excluded-node', 'excluded by name (excludeNodes)');
  if (config.excludeOps.includes(n.opType)) return reason('excluded-op', `op type ${n.opType} excluded (excludeOps)`);
  return undefined;
}

export function notIncluded(n: Node): Reason {
  return reason('not-included', `op type ${n.opType} not in includeOps`);
}

function isUserExcluded(r: Reason): boolean {
  return r.code === 'excluded-node' || r.code === 'excluded-op';
}
