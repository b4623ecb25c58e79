// Test helpers: temporary folders, a minimal .npy writer (independent of src/data), and batch collection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { Feeds } from '../../src/ir/index.js';
import type { DataSource } from '../../src/data/index.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh folder under os.tmpdir(), removed after the test file. */
export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-data-'));
  made.push(d);
  return d;
}

type Typed = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array;

/** .npy bytes, format 1.0 unless the header needs 2.0; `bigEndian` byte-swaps the data. */
export function npyBytes(descr: string, shape: number[], data: Typed, opts: { fortran?: boolean; version?: 1 | 2 } = {}): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const version = opts.version ?? 1;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (descr.startsWith('>')) {
    const size = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < body.length; i += size) body.subarray(i, i + size).reverse();
  }
  out.set(body, total);
  return out;
}

export function writeNpy(file: string, descr: string, shape: number[], data: Typed, opts?: { fortran?: boolean; version?: 1 | 2 }): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, npyBytes(descr, shape, data, opts));
}

/** Float32 values 0, 1, 2, … offset by `base`. */
export function ramp(n: number, base = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => base + i);
}

export async function collect(src: DataSource): Promise<Feeds[]> {
  const out: Feeds[] = [];
  for await (const b of src.batches()) out.push(b);
  return out;
}

/** The float32 values of one input across batches, concatenated. */
export function concat(batches: Feeds[], input: string): number[] {
  return batches.flatMap((b) => Array.from(b[input]!.data as Float32Array));
}

/** Runs `fn` and returns the UserInputError message it throws (fails the test otherwise). */
export async function errorOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if ((e as Error).name !== 'UserInputError') throw e;
    return (e as Error).message;
  }
  throw new Error('expected a UserInputError, but nothing was thrown');
}
