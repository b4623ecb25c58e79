// Test helpers for calibration: an independent .npy reader, a plain onnxruntime-node min/max loop
// (no qtool runtime/calibration code), temporary folders and the CLI spawner.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll } from 'vitest';
import { DataType } from '../../src/ir/index.js';
import { encodeModel, readModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { tensorsToCalibrate } from '../../src/quant/plan.js';
import { DEFAULTS } from '../../src/config/index.js';

export const DATA = path.resolve('calibration-data/mnist');
export const fixture = (name: string) => path.resolve(`fixtures/mnist/${name}.onnx`);

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-calib-'));
  made.push(d);
  return d;
}

/** A .npy file of little-endian float32, C order: its dims and data. */
export function readNpyF32(file: string): { dims: number[]; data: Float32Array } {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x934e554d) throw new Error(`${file}: not .npy`);
  const major = b[6]!;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = b.subarray(major === 1 ? 10 : 12, start).toString('latin1');
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${file}: want <f4 C order`);
  const dims = header.match(/'shape': \(([^)]*)\)/)![1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.byteLength));
  return { dims, data };
}

/** The 200 calibration samples in file-name order. */
export function calibrationFiles(dir = DATA): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.npy')).sort().map((f) => path.join(dir, f));
}

/** Copies files into a fresh folder under new names. */
export function copyAs(files: readonly string[], name: (i: number) => string): string {
  const dir = tmpDir();
  files.forEach((f, i) => fs.copyFileSync(f, path.join(dir, name(i))));
  return dir;
}

/**
 * Independent reference: the prepared graph's tensors to calibrate, their min and max over every
 * sample, from a plain onnxruntime-node loop (batch 1) with the tensors added as outputs here.
 */
export async function plainMinMax(model: string, files: readonly string[]): Promise<Map<string, { min: number; max: number; count: number }>> {
  const m = readModelFile(model);
  prepareModel(m);
  const g = m.graph;
  const tensors = tensorsToCalibrate(g, DEFAULTS);
  const inputName = g.feedInputs()[0]!.name;
  const fetched = tensors.filter((t) => t !== inputName);
  g.outputs = [...g.outputs, ...fetched.filter((t) => !g.isGraphOutput(t)).map((name) => ({ name, elemType: DataType.FLOAT }))];
  const session = await ort.InferenceSession.create(encodeModel(m));
  const acc = new Map(tensors.map((t) => [t, { min: Infinity, max: -Infinity, count: 0 }]));
  const see = (t: string, d: Float32Array) => {
    const a = acc.get(t)!;
    for (const v of d) {
      if (v < a.min) a.min = v;
      if (v > a.max) a.max = v;
    }
    a.count += d.length;
  };
  for (const f of files) {
    const { dims, data } = readNpyF32(f);
    const out = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) }, fetched);
    if (tensors.includes(inputName)) see(inputName, data);
    for (const t of fetched) see(t, out[t]!.data as Float32Array);
  }
  await session.release();
  return acc;
}

export function qtool(args: string[]) {
  const r = spawnSync(process.execPath, [path.resolve('bin/qtool.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A little-endian float32 .npy file. */
export function writeNpyF32(file: string, dims: number[], data: Float32Array): void {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 11, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}
