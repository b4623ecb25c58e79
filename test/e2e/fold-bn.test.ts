import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldBn, readModel } from '../../src/index.js';
import { FIXTURES, fixture, logits, tmpDir } from './helpers.js';

describe('qtool fold-bn on the fixtures', () => {
  it.each(FIXTURES)('%s: no BatchNormalization/Identity left, outputs within 1e-4 relative on the test digits', async (m) => {
    const out = path.join(tmpDir('fold'), `${m}.folded.onnx`);
    foldBn(fixture(m), out);
    const g = readModel(out).graph;
    expect(g.nodes.filter((n) => ['BatchNormalization', 'Identity', 'Dropout'].includes(n.opType))).toEqual([]);
    const [a, b] = [await logits(fixture(m)), await logits(out)];
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
    }
    expect(maxDiff / maxAbs).toBeLessThan(1e-4);
  });
});
