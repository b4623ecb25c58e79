// Every fact about a quantizable op lives in its rule (src/quant/rules/). Outside that folder, the
// prepare passes (BN folding is about Conv/Gemm by nature; cross-layer equalisation, the optional
// prepare pass of --equalize, rescales Conv/Gemm/MatMul pairs by nature; cleanup removes
// Identity/Dropout; the float16 pass leaves Identity where a Cast became one;
// calibration/expose.ts carries a body tensor out of its If/Loop/Scan through an Identity or a
// flattening Reshape, on a copy used only for observation) and
// the IR's type tables, no source file may name one as a string literal.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/quant/rules/index.js';

const SRC = path.resolve(__dirname, '../../src');
const ALLOWED = [
  'quant/rules/',
  'passes/fold-batchnorm.ts',
  // An optional prepare pass (OPTIONAL_PREPARE_PASSES): like BN folding, it is about Conv/Gemm/MatMul pairs by nature.
  'passes/equalize.ts',
  'passes/cleanup.ts',
  'passes/float16.ts',
  'passes/upgrade/',
  'ir/types.ts',
  // Observation copies only: carries a body tensor out of its If/Loop/Scan (Identity, flattening Reshape).
  'calibration/expose.ts',
];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** String literals naming `ops`, as "file:line 'Op'". */
export function opLiterals(files: { name: string; text: string }[], ops: readonly string[]): string[] {
  const re = new RegExp(`(['"\`])(${ops.join('|')})\\1`, 'g');
  const hits: string[] = [];
  for (const f of files) {
    f.text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(re)) hits.push(`${f.name}:${i + 1} ${m[0]}`);
    });
  }
  return hits;
}

describe('one place per op', () => {
  const ops = RULES.flatMap((r) => r.ops);

  it('the scan finds an op literal where there is one (so the test below can fail)', () => {
    expect(opLiterals([{ name: 'x.ts', text: "if (n.opType === 'Conv') return;\nconst ok = 'Convolution';" }], ops)).toEqual(["x.ts:1 'Conv'"]);
  });

  it('no file outside the rules, the prepare passes and the IR type tables names a quantizable op', () => {
    const files = sources(SRC)
      .map((p) => ({ name: path.relative(SRC, p).split(path.sep).join('/'), text: fs.readFileSync(p, 'utf8') }))
      .filter((f) => !ALLOWED.some((a) => f.name.startsWith(a)));
    expect(files.length).toBeGreaterThan(50);
    expect(opLiterals(files, ops)).toEqual([]);
  });
});
