// Why an int8 model is (not) fast: load it in onnxruntime with graph optimisation 'extended',
// have onnxruntime save the graph it will run, and look for float islands in it — float compute
// between DequantizeLinear and QuantizeLinear — which cost a DQ and a Q each and run float kernels.
//
//   npx tsx bench/fusion.ts model.int8.onnx [more.onnx …]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModel } from '../src/index.js';
import type { Graph, Node } from '../src/ir/index.js';
import { Session } from '../src/runtime/index.js';

/** Integer kernels (either domain) that consume and produce quantized tensors. */
const INTEGER_OPS = new Set([
  'QLinearConv', 'QLinearMatMul', 'QGemm', 'QLinearAdd', 'QLinearMul', 'QLinearConcat', 'QLinearGlobalAveragePool',
  'QLinearAveragePool', 'QLinearSigmoid', 'QLinearLeakyRelu', 'QLinearSoftmax', 'QLinearReduceMean', 'QLinearWhere',
  'ConvInteger', 'MatMulInteger', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul', 'MatMulNBits', 'NhwcQLinearConv',
]);
const CONVERSIONS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear']);

export interface Island {
  /** Float ops of the island in graph order, e.g. "Relu" or "Add→Relu". */
  pattern: string;
  /** Every activation input comes from a DequantizeLinear and every output goes to a QuantizeLinear. */
  betweenQdq: boolean;
  nodes: string[];
}

export interface FusionReport {
  file: string;
  optimizedFile: string;
  /** Op histogram of onnxruntime's optimised graph ('domain::Op' outside ai.onnx). */
  ops: Record<string, number>;
  integerOps: number;
  /** QuantizeLinear / DequantizeLinear left on activations (each one a full-tensor conversion). */
  activationQ: number;
  activationDQ: number;
  /** Float compute ops, by type. */
  floatOps: Record<string, number>;
  islands: Island[];
  /** Float Conv/Relu/Clip/Add (and friends) inside DQ→…→Q islands, by op type. */
  floatBetweenQdq: Record<string, number>;
  /** The graph onnxruntime runs at level 'all' (layouts chosen: NCHWc float, NHWC int8). */
  allLevel: { nodes: number; transposes: number; nchwIntegerMaxPools: number };
}

const key = (n: Node) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.opType}` : n.opType);
const isConst = (g: Graph, name: string) => g.initializers.has(name) || g.producerOf(name)?.opType === 'Constant';

/** A float compute node: neither a conversion, nor an integer kernel, nor a constant. */
function isFloatCompute(g: Graph, n: Node): boolean {
  if (CONVERSIONS.has(n.opType) || INTEGER_OPS.has(n.opType) || n.opType === 'Constant') return false;
  return n.inputs.some((i) => i !== '' && !isConst(g, i) && !isIntegerValue(g, i));
}

/** Values produced by a QuantizeLinear or an integer kernel (uint8/int8 data). */
function isIntegerValue(g: Graph, name: string): boolean {
  const p = g.producerOf(name);
  if (!p) return false;
  if (p.opType === 'QuantizeLinear' || (INTEGER_OPS.has(p.opType) && p.opType !== 'MatMulIntegerToFloat')) return true;
  // Pass-through ops (MaxPool, Reshape, Flatten, …) on integer data stay integer.
  return !CONVERSIONS.has(p.opType) && p.inputs[0] !== undefined && isIntegerValue(g, p.inputs[0]);
}

/** Connected groups of float compute nodes (edges between two float compute nodes join them). */
function floatIslands(g: Graph): Island[] {
  const float = g.nodes.filter((n) => isFloatCompute(g, n));
  const inSet = new Set(float);
  const seen = new Set<Node>();
  const islands: Island[] = [];
  for (const start of float) {
    if (seen.has(start)) continue;
    const members: Node[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const n = stack.pop()!;
      members.push(n);
      const neighbours = [...n.inputs.map((i) => g.producerOf(i)), ...n.outputs.flatMap((o) => g.consumersOf(o))];
      for (const m of neighbours) if (m && inSet.has(m) && !seen.has(m)) (seen.add(m), stack.push(m));
    }
    members.sort((a, b) => g.nodes.indexOf(a) - g.nodes.indexOf(b));
    islands.push({ pattern: members.map((m) => m.opType).join('→'), betweenQdq: betweenQdq(g, members), nodes: members.map((m) => m.name) });
  }
  return islands;
}

function betweenQdq(g: Graph, members: Node[]): boolean {
  const set = new Set(members);
  const ins = members.flatMap((m) => m.inputs.filter((i) => i && !isConst(g, i) && !set.has(g.producerOf(i)!)));
  const outs = members.flatMap((m) => m.outputs.flatMap((o) => g.consumersOf(o).filter((c) => !set.has(c))));
  const graphOut = members.some((m) => m.outputs.some((o) => g.isGraphOutput(o)));
  return ins.length > 0 && ins.every((i) => g.producerOf(i)?.opType === 'DequantizeLinear')
    && !graphOut && outs.length > 0 && outs.every((c) => c.opType === 'QuantizeLinear');
}

/** Analyses onnxruntime's optimised graph of `file` at level 'extended' (layout-neutral, CPU EP). */
export async function analyzeFusion(file: string, outDir = path.join('bench', 'out', 'fusion')): Promise<FusionReport> {
  fs.mkdirSync(outDir, { recursive: true });
  const optimizedFile = path.join(outDir, `${path.basename(file, '.onnx')}.ort-extended.onnx`);
  const session = await Session.open(file, { optimizationLevel: 'extended', optimizedModelPath: optimizedFile, threads: 1 });
  await session.close();
  const g = readModel(optimizedFile).graph;
  const ops: Record<string, number> = {};
  for (const n of g.nodes) ops[key(n)] = (ops[key(n)] ?? 0) + 1;
  const floatOps: Record<string, number> = {};
  for (const n of g.nodes.filter((x) => isFloatCompute(g, x))) floatOps[key(n)] = (floatOps[key(n)] ?? 0) + 1;
  const islands = floatIslands(g);
  const floatBetweenQdq: Record<string, number> = {};
  for (const isl of islands.filter((i) => i.betweenQdq)) for (const op of isl.pattern.split('→')) floatBetweenQdq[op] = (floatBetweenQdq[op] ?? 0) + 1;
  const activation = (n: Node) => !isConst(g, n.inputs[0] ?? '');
  return {
    file, optimizedFile, ops, floatOps, islands, floatBetweenQdq, allLevel: await allLevelSummary(file, outDir),
    integerOps: g.nodes.filter((n) => INTEGER_OPS.has(n.opType)).length,
    activationQ: g.nodes.filter((n) => n.opType === 'QuantizeLinear' && activation(n)).length,
    activationDQ: g.nodes.filter((n) => n.opType === 'DequantizeLinear' && activation(n)).length,
  };
}

/**
 * Level 'all' adds layout transforms: int8 convs run NHWC with Transposes at the layout's edges,
 * and a MaxPool left on uint8 data in NCHW runs a generic kernel far slower than either layout's
 * pooling (onnxruntime 1.30), which is what a float first layer followed by MaxPool leads to.
 */
async function allLevelSummary(file: string, outDir: string): Promise<FusionReport['allLevel']> {
  const optimized = path.join(outDir, `${path.basename(file, '.onnx')}.ort-all.onnx`);
  const session = await Session.open(file, { optimizationLevel: 'all', optimizedModelPath: optimized, threads: 1 });
  await session.close();
  const g = readModel(optimized).graph;
  return {
    nodes: g.nodes.length,
    transposes: g.nodes.filter((n) => n.opType === 'Transpose').length,
    nchwIntegerMaxPools: g.nodes.filter((n) => n.opType === 'MaxPool' && (n.domain === '' || n.domain === 'ai.onnx') && isIntegerValue(g, n.inputs[0]!)).length,
  };
}

/** Island patterns with their counts, most frequent first: "12× DQ→Relu→Q". */
export function summarizeIslands(islands: Island[]): string[] {
  const counts = new Map<string, number>();
  for (const i of islands) {
    const k = i.betweenQdq ? `DQ→${i.pattern}→Q` : `${i.pattern} (float, at the graph's edge)`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${c}× ${k}`);
}

export function printFusion(r: FusionReport): void {
  console.log(`${r.file} → ${r.optimizedFile}`);
  console.log(`  integer kernels: ${r.integerOps}; activation Q: ${r.activationQ}, DQ: ${r.activationDQ}; at level all: ${r.allLevel.nodes} nodes, ${r.allLevel.transposes} Transpose, ${r.allLevel.nchwIntegerMaxPools} uint8 NCHW MaxPool`);
  console.log(`  ops: ${Object.entries(r.ops).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  float ops between DQ and Q: ${JSON.stringify(r.floatBetweenQdq)}`);
  for (const line of summarizeIslands(r.islands)) console.log(`    ${line}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) printFusion(await analyzeFusion(f));
}
