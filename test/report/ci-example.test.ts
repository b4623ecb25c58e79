// Runs the shell version of docs/ci.md (scripts/ci-example.sh) as a CI job would: a passing run
// publishes the summary and keeps the reports; a failing gate exits 3 and still publishes them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../src/index.js';
import { CALIB, LENET, ensureBuilt, mnistTestSplit, qtool, tmpDir } from './helpers.js';

ensureBuilt();
const help = qtool(['quantize', '--help']).stdout;
const missing = ['--eval-data', '--labels', '--report', '--max-drop'].filter((f) => !help.includes(f));
if (missing.length) {
  console.warn(`\n${'!'.repeat(100)}\n!! SKIPPED: scripts/ci-example.sh needs \`qtool quantize\` with ${missing.join(', ')} (the DESIGN.md contract),\n!! which this build does not offer yet. Re-check once quantize runs the verification step.\n${'!'.repeat(100)}\n`);
}

function runScript(outDir: string, env: Record<string, string>) {
  const summary = path.join(outDir, 'step-summary.md');
  const r = spawnSync('bash', ['scripts/ci-example.sh'], {
    encoding: 'utf8',
    env: { ...process.env, QTOOL: `${process.execPath} ${path.resolve('bin/qtool.js')}`, MODEL: LENET, CALIB_DATA: CALIB, OUT_DIR: outDir, GITHUB_STEP_SUMMARY: summary, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, summary: fs.existsSync(summary) ? fs.readFileSync(summary, 'utf8') : '' };
}

describe.skipIf(missing.length > 0)('scripts/ci-example.sh (docs/ci.md)', () => {
  const dir = tmpDir('ci');
  let env: Record<string, string>;
  beforeAll(() => {
    const split = mnistTestSplit(dir);
    env = { EVAL_DATA: split.data, LABELS: split.labels };
  });

  it('passing gate: exit 0, Markdown in the job summary, JSON/HTML reports and the model kept', () => {
    const out = path.join(dir, 'pass');
    const r = runScript(out, { ...env, MAX_DROP: '0.5' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toContain('**✅ gates passed**');
    expect(r.summary).toMatch(/\| `--max-drop` \| 0\.5 \|/);
    expect(r.stdout).toMatch(/qtool: gates passed/);
    const report = parseReport(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.data.inSample).toBe(false);
    expect(report.gates!.passed).toBe(true);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
    expect(fs.existsSync(path.join(out, 'lenet_bn.int8.onnx'))).toBe(true);
    const last = JSON.parse(fs.readFileSync(path.join(out, 'quantize.log'), 'utf8').trim().split('\n').pop()!);
    expect(last).toBeTypeOf('object');
  });

  it('failing gate: exit 3, the summary still published naming the gate, the model still written', () => {
    const out = path.join(dir, 'fail');
    const r = runScript(out, { ...env, QTOOL_ARGS: '--min-sqnr 99' });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/accuracy gate FAILED/);
    expect(r.summary).toContain('❌ gate failed: `--min-sqnr`');
    expect(parseReport(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).gates!.passed).toBe(false);
    expect(fs.existsSync(path.join(out, 'lenet_bn.int8.onnx'))).toBe(true);
  });
});
