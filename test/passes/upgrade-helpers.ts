// Shared by the opset-conversion tests: run a synthetic model in onnxruntime at its own opset and
// after conversion, and compare the outputs.
import { expect } from 'vitest';
import { DataType, GraphBuilder, type Graph, type HostTensor, type Model } from '../../src/ir/index.js';
import { decodeModel, encodeModel } from '../../src/onnx/index.js';
import { upgradeModel } from '../../src/passes/upgrade/index.js';
import { Session } from '../../src/runtime/index.js';

export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return lo + ((hi - lo) * s) / 2147483648;
  });
}

export const f32 = (dims: number[], seed = 1, lo = -3, hi = 3): HostTensor => ({ dtype: DataType.FLOAT, dims, data: rand(dims.reduce((a, b) => a * b, 1), seed, lo, hi) });

export async function run(model: Model | Uint8Array, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const s = await Session.open(model instanceof Uint8Array ? model : encodeModel(model));
  try {
    return await s.run(feeds);
  } finally {
    await s.close();
  }
}

export function opsOf(g: Graph, out: string[] = []): string[] {
  for (const n of g.nodes) {
    out.push(n.opType);
    for (const sub of n.subgraphs()) opsOf(sub, out);
  }
  return out;
}

export function model(b: GraphBuilder, opset: number): Model {
  return b.model([{ domain: '', version: opset }], opset >= 13 ? 7 : opset >= 9 ? 4 : 3);
}

const bytesOf = (t: HostTensor) => {
  const d = t.data as Float32Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
};

function maxRelDiff(a: HostTensor, b: HostTensor): number {
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  let scale = 0;
  let d = 0;
  for (let i = 0; i < x.length; i++) {
    scale = Math.max(scale, Math.abs(x[i]!));
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
  }
  return scale ? d / scale : d;
}

/**
 * Runs `m` (at its own opset) and its conversions to each target in onnxruntime on `feeds`;
 * expects every output equal (bit-identical unless `rtol` is given). Returns the converted models.
 */
export async function expectSameOutputs(m: Model, feeds: Record<string, HostTensor>, targets: number[] = [13, 21], rtol = 0): Promise<Model[]> {
  const bytes = encodeModel(m);
  const before = await run(bytes, feeds);
  const converted: Model[] = [];
  for (const t of targets) {
    const c = decodeModel(bytes, { label: 'test model' });
    upgradeModel(c, t);
    c.graph.checkInvariants();
    const after = await run(encodeModel(c), feeds);
    for (const [name, want] of Object.entries(before)) {
      const got = after[name]!;
      expect(got, `output ${name} at opset ${t}`).toBeDefined();
      expect([...got.dims], `dims of ${name} at opset ${t}`).toEqual([...want.dims]);
      expect(got.dtype).toBe(want.dtype);
      if (rtol === 0) expect(bytesOf(got), `${name} at opset ${t}`).toEqual(bytesOf(want));
      else expect(maxRelDiff(want, got), `${name} at opset ${t}`).toBeLessThanOrEqual(rtol);
    }
    converted.push(c);
  }
  return converted;
}
