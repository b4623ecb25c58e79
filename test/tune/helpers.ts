// Helpers for the accuracy-search tests: real onnxruntime sessions on held-out MNIST digits.
import { Session } from '../../src/runtime/index.js';
// @ts-expect-error plain .mjs script without types
import { loadSplit, writeSplit } from '../../scripts/mnist-data.mjs';

/** The first `n` held-out test digits as a data folder (+ labels.json) under `dir`. */
export function testDigits(dir: string, n: number): { data: string; labels: string; n: number } {
  return writeSplit('test', dir, n);
}

/** Logits of a model on the first `n` held-out test digits. */
export async function logitsOn(model: string, n: number): Promise<Float32Array> {
  const { x } = loadSplit('test', n);
  const s = await Session.open(model);
  const out = new Float32Array(n * 10);
  for (let i = 0; i < n; i += 250) {
    const b = Math.min(250, n - i);
    const r = await s.run({ input: { dtype: 1, dims: [b, 1, 28, 28], data: x.subarray(i * 784, (i + b) * 784) } });
    out.set(r[s.outputNames[0]!]!.data as Float32Array, i * 10);
  }
  await s.close();
  return out;
}

export function sqnrDb(ref: Float32Array, q: Float32Array): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i]! ** 2;
    e += (ref[i]! - q[i]!) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}
