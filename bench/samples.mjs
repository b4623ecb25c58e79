// Deterministic sample data for the bench scripts: a seeded PRNG, .npy encoding, and folders of
// N(0, 1) samples (what a normalised image looks like to a CNN).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** mulberry32: a 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A version-1.0 .npy of float32 data. */
export function npyBytes(dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** A temp folder of `count` .npy samples [1, ...dims] of seeded N(0, 1) noise (Box–Muller pairs). */
export function randomNpyFolder(count, dims, seed = 12345) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-bench-samples-'));
  const rand = mulberry32(seed);
  const n = dims.reduce((x, y) => x * y, 1);
  for (let i = 0; i < count; i++) {
    const data = new Float32Array(n);
    for (let j = 0; j < n; j += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - rand()));
      const t = 2 * Math.PI * rand();
      data[j] = r * Math.cos(t);
      if (j + 1 < n) data[j + 1] = r * Math.sin(t);
    }
    fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.npy`), npyBytes([1, ...dims], data));
  }
  return dir;
}
