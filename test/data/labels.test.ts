import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { readLabels } from '../../src/data/index.js';
import { tmpDir, writeNpy } from './helpers.js';

describe('readLabels', () => {
  it('reads a JSON array of class indices', () => {
    const file = path.join(tmpDir(), 'labels.json');
    fs.writeFileSync(file, '[7, 2, 1, 0, 4]\n');
    expect(readLabels(file)).toEqual([7, 2, 1, 0, 4]);
  });

  it('reads an integer .npy, [N] or [N,1], either byte order', () => {
    const dir = tmpDir();
    writeNpy(path.join(dir, 'a.npy'), '<i8', [3], BigInt64Array.from([9n, 0n, 3n]));
    writeNpy(path.join(dir, 'b.npy'), '>i4', [3, 1], Int32Array.from([5, 6, 300]));
    writeNpy(path.join(dir, 'c.npy'), '|u1', [2], Uint8Array.from([255, 1]));
    expect(readLabels(path.join(dir, 'a.npy'))).toEqual([9, 0, 3]);
    expect(readLabels(path.join(dir, 'b.npy'))).toEqual([5, 6, 300]);
    expect(readLabels(path.join(dir, 'c.npy'))).toEqual([255, 1]);
  });

  it('names the file and the problem', () => {
    const dir = tmpDir();
    const j = path.join(dir, 'l.json');
    fs.writeFileSync(j, '[1, 2.5, 3]');
    expect(() => readLabels(j)).toThrow(`${j}: label #1 is 2.5; labels must be class indices (whole numbers ≥ 0)`);
    fs.writeFileSync(j, '{"labels": [1]}');
    expect(() => readLabels(j)).toThrow(`${j}: expected a JSON array of class indices like [3, 0, 7]`);
    fs.writeFileSync(j, '[1, 2');
    expect(() => readLabels(j)).toThrow(/l\.json: not valid JSON/);
    const f = path.join(dir, 'f.npy');
    writeNpy(f, '<f4', [2], Float32Array.from([1, 2]));
    expect(() => readLabels(f)).toThrow(`${f}: labels are float32; save class indices as integers (e.g. labels.astype(numpy.int64))`);
    const m = path.join(dir, 'm.npy');
    writeNpy(m, '<i8', [2, 2], new BigInt64Array(4));
    expect(() => readLabels(m)).toThrow(`${m}: labels have shape [2,2]; expected a 1-D array [N] of class indices`);
    expect(() => readLabels(path.join(dir, 'none.json'))).toThrow(`${path.join(dir, 'none.json')}: labels file not found`);
    fs.writeFileSync(path.join(dir, 'l.csv'), '1,2');
    expect(() => readLabels(path.join(dir, 'l.csv'))).toThrow(/unknown labels format/);
  });
});
