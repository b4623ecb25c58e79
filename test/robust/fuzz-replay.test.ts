// Replays every input the fuzzer (scripts/fuzz.mjs) once found failing and that was kept here
// after the fix: each must now end as a clean one-line error or a valid model.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const CASES = path.resolve('test/robust/fuzz-cases');
const cases = fs.existsSync(CASES) ? fs.readdirSync(CASES).filter((d) => fs.existsSync(path.join(CASES, d, 'case.json'))).sort() : [];

describe('fuzz cases replay', () => {
  it('the kept cases are there', () => {
    expect(cases.length).toBeGreaterThan(0);
  });
  for (const c of cases) {
    it(`case ${c}`, async () => {
      const { replayCase } = await import(path.resolve('scripts/fuzz.mjs'));
      const { verdict, res } = await replayCase(path.join(CASES, c));
      expect({ outcome: verdict.outcome, why: verdict.why, stderr: res.stderr.trim() }).toMatchObject({ outcome: expect.stringMatching(/^(clean|valid)$/) });
    }, 120_000);
  }
});
