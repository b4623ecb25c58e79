// Calibration data for the 224×224 benchmark models: deterministic, image-like float32 samples
// (smooth low-frequency fields plus pixel noise; mean ≈ 0, std ≈ 0.65, range about ±2.6, like
// ImageNet-normalised pixels), written as one NumPy .npy file of shape [1, 3, 224, 224] each.
//
//   npx tsx bench/data.ts [folder] [count]
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const IMAGE_DIMS = [1, 3, 224, 224] as const;

/** mulberry32: tiny, fast, deterministic. */
export function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** One image-like sample [C, H, W] (C·H·W floats), a deterministic function of `seed`. */
export function makeImage(seed: number, c = 3, h = 224, w = 224): Float32Array {
  const rand = prng(seed * 7919 + 17);
  const out = new Float32Array(c * h * w);
  const waves = Array.from({ length: 6 }, () => ({
    fx: (rand() * 8 + 0.5) / w, fy: (rand() * 8 + 0.5) / h, phase: rand() * 2 * Math.PI,
    amp: 0.3 + rand() * 0.5, mix: Array.from({ length: c }, () => 0.5 + rand() * 0.5),
  }));
  for (let ch = 0; ch < c; ch++) {
    const offset = (rand() - 0.5) * 0.6;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = offset;
        for (const wv of waves) v += wv.amp * wv.mix[ch]! * Math.sin(2 * Math.PI * (wv.fx * x + wv.fy * y) + wv.phase);
        out[(ch * h + y) * w + x] = v + 0.25 * gaussian(rand);
      }
    }
  }
  return out;
}

/** A NumPy v1.0 .npy file of little-endian float32, C order. */
export function encodeNpy(dims: readonly number[], data: Float32Array): Uint8Array {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic(6) + version(2) + header length(2) + dict + padding + '\n' is a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Writes `count` samples 0000.npy … to `dir` (created; existing samples are overwritten). */
export function writeCalibrationFolder(dir: string, count: number, firstSeed = 1): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `${String(i).padStart(4, '0')}.npy`);
    fs.writeFileSync(file, encodeNpy(IMAGE_DIMS, makeImage(firstSeed + i)));
    files.push(file);
  }
  return files;
}

/** `count` samples stacked into one [count, 3, 224, 224] batch (e.g. to fit BN statistics). */
export function imageBatch(count: number, firstSeed: number): Float32Array {
  const per = IMAGE_DIMS[1] * IMAGE_DIMS[2] * IMAGE_DIMS[3];
  const out = new Float32Array(count * per);
  for (let i = 0; i < count; i++) out.set(makeImage(firstSeed + i), i * per);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2] ?? 'bench/out/calib224';
  const count = Number(process.argv[3] ?? 32);
  const files = writeCalibrationFolder(dir, count);
  console.log(`wrote ${files.length} samples [${IMAGE_DIMS.join(', ')}] to ${dir}`);
}
