// Shared helpers for end-to-end tests: real onnxruntime-node, real MNIST test digits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from '../../src/runtime/index.js';
import { readModel } from '../../src/index.js';
// @ts-expect-error plain .mjs script without types
import { loadSplit } from '../../scripts/mnist-data.mjs';

export const FIXTURES = ['lenet_bn', 'resnet_mini', 'vit_mini'] as const;
export const CALIB = 'calibration-data/mnist';
export const fixture = (name: string) => `fixtures/mnist/${name}.onnx`;

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `qtool-${prefix}-`));
}

let testSet: { x: Float32Array; y: number[]; n: number } | undefined;
/** The 2,000 held-out MNIST test digits (never the calibration samples). */
export function mnistTest(): { x: Float32Array; y: number[]; n: number } {
  testSet ??= loadSplit('test');
  return testSet!;
}

export async function logits(model: string): Promise<Float32Array> {
  const { x, n } = mnistTest();
  const s = await Session.open(model);
  const out = new Float32Array(n * 10);
  for (let i = 0; i < n; i += 250) {
    const r = await s.run({ input: { dtype: 1, dims: [250, 1, 28, 28], data: x.subarray(i * 784, (i + 250) * 784) } });
    out.set(r[s.outputNames[0]!]!.data as Float32Array, i * 10);
  }
  await s.close();
  return out;
}

export function top1(l: Float32Array): number {
  const { y, n } = mnistTest();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (l[i * 10 + k]! > l[i * 10 + best]!) best = k;
    if (best === y[i]) correct++;
  }
  return (100 * correct) / n;
}

export function sqnr(ref: Float32Array, q: Float32Array): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    e += (ref[i]! - q[i]!) ** 2;
  }
  return 10 * Math.log10(s / e);
}

/** Op histogram of the graph onnxruntime actually runs (saved with optimizedModelFilePath). */
export async function optimizedOps(model: string, level: 'extended' | 'all'): Promise<Record<string, number>> {
  const out = path.join(tmpDir('opt'), 'optimized.onnx');
  const s = await Session.open(model, { optimizationLevel: level, optimizedModelPath: out });
  await s.close();
  const ops: Record<string, number> = {};
  for (const n of readModel(out).graph.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  return ops;
}

/** The largest absolute difference, relative to the largest magnitude of `a`. */
export function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(a[i]!));
  }
  return d / m;
}
