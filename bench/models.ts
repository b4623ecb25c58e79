// Architecture-faithful benchmark models built with the project's own IR: ResNet-18 and
// MobileNetV2 at 224×224, shaped like a PyTorch (torchvision) ONNX export at opset 13 with
// BatchNormalization left unfolded, bias-free convs before BN, a dynamic batch dim 'N', and
// deterministic random weights (speed does not depend on training).
//
// Weights are He-initialised; BN running statistics are then fitted to image-like data
// (bench/data.ts) so every BN really normalises its input and calibration ranges look like those
// of a trained network's rather than exploding or vanishing with depth.
//
//   npx tsx bench/models.ts [outDir]      builds, verifies in onnxruntime-node, prints param counts
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeModel } from '../src/index.js';
import { GraphBuilder, Tensor, type Model } from '../src/ir/index.js';
import { Session } from '../src/runtime/index.js';
import { gaussian, imageBatch, prng } from './data.js';

/** A BatchNormalization node's parameter initializers, kept so its statistics can be fitted. */
interface BnRecord {
  input: string;
  channels: number;
  mean: string;
  variance: string;
}

/** A model under construction plus what fitting its BN statistics needs. */
interface Built {
  model: Model;
  bns: BnRecord[];
}

/** Builds a torchvision-style net: conv/BN helpers over a GraphBuilder. */
class NetBuilder {
  readonly b: GraphBuilder;
  readonly bns: BnRecord[] = [];
  private readonly rand: () => number;
  private clipBounds?: [string, string];

  constructor(seed: number) {
    this.b = new GraphBuilder({ seed });
    this.rand = prng(seed + 101);
  }

  /** Conv without bias (it is followed by BN), He-initialised over fan-in = cin/group·k·k. */
  conv(x: string, cin: number, cout: number, k: number, stride: number, group = 1): string {
    const w = this.b.randomInit('conv.weight', [cout, cin / group, k, k]);
    const p = (k - 1) >> 1;
    return this.b.op1('Conv', [x, w], { dilations: [1, 1], group, kernel_shape: [k, k], pads: [p, p, p, p], strides: [stride, stride] });
  }

  /** BN with random affine parameters; mean/var are placeholders until fitBatchNorm runs. */
  bn(x: string, c: number): string {
    const gamma = Float32Array.from({ length: c }, () => 0.6 + 0.8 * this.rand());
    const beta = Float32Array.from({ length: c }, () => 0.2 * gaussian(this.rand));
    const scale = this.b.init('bn.weight', [c], gamma);
    const bias = this.b.init('bn.bias', [c], beta);
    const mean = this.b.init('bn.running_mean', [c], new Float32Array(c));
    const variance = this.b.init('bn.running_var', [c], new Float32Array(c).fill(1));
    this.bns.push({ input: x, channels: c, mean, variance });
    return this.b.op1('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } });
  }

  relu(x: string): string {
    return this.b.op1('Relu', [x]);
  }

  /** ReLU6 as PyTorch exports it at opset ≥ 11: Clip with min and max as inputs. */
  relu6(x: string): string {
    this.clipBounds ??= [this.b.init('clip.min', [], [0]), this.b.init('clip.max', [], [6])];
    return this.b.op1('Clip', [x, ...this.clipBounds]);
  }

  convBn(x: string, cin: number, cout: number, k: number, stride: number, group = 1): string {
    return this.bn(this.conv(x, cin, cout, k, stride, group), cout);
  }

  /** GlobalAveragePool → Flatten → Gemm(transB) as torch.nn.Linear exports. */
  head(x: string, features: number, classes: number): void {
    const pooled = this.b.op1('GlobalAveragePool', [x]);
    const flat = this.b.op1('Flatten', [pooled], { axis: 1 });
    const w = this.b.randomInit('fc.weight', [classes, features], 1 / Math.sqrt(features));
    const bias = this.b.randomInit('fc.bias', [classes], 0.01);
    const logits = this.b.op1('Gemm', [flat, w, bias], { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 });
    const g = this.b.graph;
    g.setNodeOutput(g.producerOf(logits)!, 0, 'output');
    this.b.output('output', ['N', classes]);
  }

  built(): Built {
    return { model: this.b.model([{ domain: '', version: 13 }], 7), bns: this.bns };
  }
}

/** torchvision resnet18: 7×7/2 stem, maxpool, 4 stages × 2 BasicBlocks, GAP, fc 1000. */
export function buildResNet18(seed = 18): Built {
  const n = new NetBuilder(seed);
  let x = n.b.input('input', ['N', 3, 224, 224]);
  x = n.relu(n.convBn(x, 3, 64, 7, 2));
  x = n.b.op1('MaxPool', [x], { ceil_mode: 0, dilations: [1, 1], kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
  let cin = 64;
  for (const [stage, cout] of [64, 128, 256, 512].entries()) {
    for (let block = 0; block < 2; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      x = basicBlock(n, x, cin, cout, stride);
      cin = cout;
    }
  }
  n.head(x, 512, 1000);
  return n.built();
}

function basicBlock(n: NetBuilder, x: string, cin: number, cout: number, stride: number): string {
  const y = n.convBn(n.relu(n.convBn(x, cin, cout, 3, stride)), cout, cout, 3, 1);
  const shortcut = stride !== 1 || cin !== cout ? n.convBn(x, cin, cout, 1, stride) : x;
  return n.relu(n.b.op1('Add', [y, shortcut]));
}

/** torchvision mobilenet_v2 (width 1.0): inverted residuals with ReLU6, last conv 1280, fc 1000. */
export function buildMobileNetV2(seed = 2): Built {
  const settings: [number, number, number, number][] = [
    [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
  ];
  const n = new NetBuilder(seed);
  let x = n.b.input('input', ['N', 3, 224, 224]);
  x = n.relu6(n.convBn(x, 3, 32, 3, 2));
  let cin = 32;
  for (const [t, c, reps, s] of settings) {
    for (let i = 0; i < reps; i++) {
      x = invertedResidual(n, x, cin, c, i === 0 ? s : 1, t);
      cin = c;
    }
  }
  x = n.relu6(n.convBn(x, cin, 1280, 1, 1));
  n.head(x, 1280, 1000);
  return n.built();
}

function invertedResidual(n: NetBuilder, x: string, cin: number, cout: number, stride: number, t: number): string {
  const hidden = cin * t;
  let y = t === 1 ? x : n.relu6(n.convBn(x, cin, hidden, 1, 1));
  y = n.relu6(n.convBn(y, hidden, hidden, 3, stride, hidden));
  y = n.convBn(y, hidden, cout, 1, 1);
  return stride === 1 && cin === cout ? n.b.op1('Add', [x, y]) : y;
}

/**
 * Sets every BN's running mean/var to the per-channel statistics of its input on `batch`, so each
 * BN normalises exactly there. A BN's input depends on the BNs upstream of it, so BNs are fitted
 * level by level (level = number of BNs on the longest path above it), one onnxruntime run per level.
 */
export async function fitBatchNorm(built: Built, scratch: string, batch: { data: Float32Array; n: number }): Promise<void> {
  const { model, bns } = built;
  const g = model.graph;
  const outputs = g.outputs;
  const levels = bnLevels(model, bns);
  for (let level = 0; level < levels.length; level++) {
    const todo = levels[level]!;
    g.outputs = [...outputs, ...todo.map((r) => ({ name: r.input, elemType: 1 }))];
    writeModel(model, scratch);
    g.outputs = outputs;
    const session = await Session.open(scratch, { optimizationLevel: 'disabled' });
    const result = await session.run({ input: { dtype: 1, dims: [batch.n, 3, 224, 224], data: batch.data } }, todo.map((r) => r.input));
    await session.close();
    for (const r of todo) {
      const t = result[r.input]!;
      const { mean, variance } = channelStats(t.data as Float32Array, t.dims, r.channels);
      g.addInitializer(Tensor.fromFloat32(r.mean, [r.channels], mean));
      g.addInitializer(Tensor.fromFloat32(r.variance, [r.channels], variance));
    }
  }
  fs.rmSync(scratch, { force: true });
}

/** BNs grouped by how many BNs lie on the longest path above them (nodes are in topological order). */
function bnLevels(model: Model, bns: BnRecord[]): BnRecord[][] {
  const depth = new Map<string, number>();
  const byInput = new Map(bns.map((r) => [r.input, r]));
  const levels: BnRecord[][] = [];
  for (const node of model.graph.nodes) {
    const d = Math.max(0, ...node.inputs.map((i) => depth.get(i) ?? 0));
    const r = node.opType === 'BatchNormalization' ? byInput.get(node.inputs[0]!) : undefined;
    if (r) (levels[d] ??= []).push(r);
    for (const o of node.outputs) depth.set(o, r ? d + 1 : d);
  }
  return levels;
}

function channelStats(data: Float32Array, dims: readonly number[], c: number): { mean: Float32Array; variance: Float32Array } {
  const [n, , h = 1, w = 1] = dims as number[];
  const plane = h * w;
  const mean = new Float32Array(c);
  const variance = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n!; i++) {
      const base = (i * c + ch) * plane;
      for (let j = 0; j < plane; j++) {
        const v = data[base + j]!;
        s += v;
        s2 += v * v;
      }
    }
    const count = n! * plane;
    mean[ch] = s / count;
    variance[ch] = Math.max(s2 / count - (s / count) ** 2, 1e-4);
  }
  return { mean, variance };
}

/** Parameters as PyTorch counts them: every initializer except BN running statistics and Clip bounds. */
export function countParams(model: Model): { trainable: number; total: number } {
  const buffers = new Set(model.graph.nodes.filter((nd) => nd.opType === 'BatchNormalization').flatMap((nd) => nd.inputs.slice(3)));
  let trainable = 0;
  let total = 0;
  for (const [name, t] of model.graph.initializers) {
    total += t.size;
    if (!buffers.has(name) && t.dims.length > 0) trainable += t.size;
  }
  return { trainable, total };
}

export interface BuiltModel {
  name: string;
  file: string;
  params: number;
}

const BUILDERS = { resnet18: buildResNet18, mobilenetv2: buildMobileNetV2 } as const;

/** Builds, BN-fits and writes both 224×224 models to `outDir`. */
export async function buildBenchModels(outDir: string): Promise<BuiltModel[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const batch = { data: imageBatch(4, 10_001), n: 4 };
  const built: BuiltModel[] = [];
  for (const [name, build] of Object.entries(BUILDERS)) {
    const net = build();
    const file = path.join(outDir, `${name}.onnx`);
    await fitBatchNorm(net, path.join(outDir, `.${name}.fit.onnx`), batch);
    writeModel(net.model, file);
    built.push({ name, file, params: countParams(net.model).trainable });
  }
  return built;
}

/** Loads a model in onnxruntime-node, runs batch 1 and 2, and summarises the logits. */
export async function verifyModel(file: string): Promise<{ logitStd: number; batchConsistent: boolean }> {
  const session = await Session.open(file, { threads: 2 });
  const two = imageBatch(2, 20_001);
  const r2 = (await session.run({ input: { dtype: 1, dims: [2, 3, 224, 224], data: two } })).output!.data as Float32Array;
  const r1 = (await session.run({ input: { dtype: 1, dims: [1, 3, 224, 224], data: two.subarray(0, 3 * 224 * 224) } })).output!.data as Float32Array;
  await session.close();
  let s2 = 0;
  let maxDiff = 0;
  for (let i = 0; i < r2.length; i++) s2 += r2[i]! ** 2;
  for (let i = 0; i < r1.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r1[i]! - r2[i]!));
  return { logitStd: Math.sqrt(s2 / r2.length), batchConsistent: maxDiff < 1e-3 && r2.every(Number.isFinite) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = process.argv[2] ?? 'bench/out';
  for (const m of await buildBenchModels(outDir)) {
    const v = await verifyModel(m.file);
    const mb = (fs.statSync(m.file).size / 2 ** 20).toFixed(1);
    console.log(`${m.name}: ${(m.params / 1e6).toFixed(3)}M params, ${mb} MiB, logits rms ${v.logitStd.toFixed(3)}, batch 1 = batch 2: ${v.batchConsistent}  → ${m.file}`);
  }
}
