// `qtool compare` through the built CLI, as a user or a CI job runs it: gate exit codes (0 pass,
// 3 fail with the gate named), report files, the Markdown summary, --json, usage errors.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../src/index.js';
import { LENET, PLANTED, calibratedRange, ensureBuilt, mnistTestSplit, qtool, quantizeLenet, tmpDir } from './helpers.js';

const dir = tmpDir('cli');
let split: { data: string; labels: string };
let clean: string;
let narrow: string;
const base = () => ['compare', LENET, '--data', split.data, '--labels', split.labels, '--calib-count', '300'];
const out = (f: string) => path.join(dir, f);

beforeAll(async () => {
  ensureBuilt();
  split = mnistTestSplit(dir);
  const [lo, hi] = await calibratedRange(dir, PLANTED);
  clean = await quantizeLenet(dir, 'clean');
  narrow = await quantizeLenet(dir, 'narrow', { [PLANTED]: [lo / 10, hi / 10] });
});

describe('qtool compare (built CLI)', () => {
  it('passing gates: exit 0, terminal table, all three reports written', () => {
    const r = qtool([...base().slice(0, 2), clean, ...base().slice(2), '--max-drop', '1.5', '--min-sqnr', '15', '--min-agreement', '0.95',
      '--report', out('pass.md'), '--report', `${out('pass.json')},${out('pass.html')}`]);
    expect(r.stderr).not.toMatch(/qtool: (?!WARNING)/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^qtool compare {2}\[PASS\]/);
    expect(r.stdout).toMatch(/per-layer {2}\d+ quantized tensors/);
    expect(r.stdout).toMatch(/latency {4}onnxruntime-node, 2 threads/);
    const md = fs.readFileSync(out('pass.md'), 'utf8');
    expect(md).toMatch(/^## qtool: `fixtures\/mnist\/lenet_bn\.onnx` → `.*clean\.onnx`/);
    expect(md).toContain('**✅ gates passed**');
    expect(md).toMatch(/\| `--max-drop` \| 1\.5 \| [\d.]+ \| ✅ pass \|/);
    expect(md).toMatch(/\| latency, batch 1 \| [\d.]+ ms \| [\d.]+ ms \|/);
    expect(md).toMatch(/### Worst layers/);
    const report = parseReport(fs.readFileSync(out('pass.json'), 'utf8'));
    expect(report.gates!.passed).toBe(true);
    expect(report.data.samples).toBe(300);
    expect(fs.readFileSync(out('pass.html'), 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('a failing gate: exit 3, the gate named on stderr and in every report, reports still written', () => {
    const r = qtool([...base().slice(0, 2), narrow, ...base().slice(2), '--max-drop', '50', '--min-sqnr', '20', '--min-agreement', '0.999',
      '--report', `${out('fail.md')},${out('fail.json')},${out('fail.html')}`, '--json']);
    expect(r.code, r.stderr).toBe(3);
    const errLines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('qtool: WARNING'));
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^qtool: accuracy gate failed: --min-sqnr 20: SQNR of 'logits' [\d.-]+ dB < 20 dB; --min-agreement 0\.999: top-1 agreement/);
    expect(errLines[0]).not.toMatch(/--max-drop/);
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(last.schema).toBe('qtool.report');
    expect(last.gates.results.map((g: { flag: string; passed: boolean }) => [g.flag, g.passed])).toEqual([['--max-drop', true], ['--min-sqnr', false], ['--min-agreement', false]]);
    expect(last.layers.tensors[0].tensor).toBe(PLANTED);

    const md = fs.readFileSync(out('fail.md'), 'utf8');
    expect(md).toContain('**❌ gate failed: `--min-sqnr`, `--min-agreement`**');
    expect(md).toMatch(/\| `--min-sqnr` \| 20 \| [\d.-]+ \| ❌ \*\*FAIL\*\* \|/);
    expect(md).toMatch(/\| 1 \| `[^`]+` \| `\/relu3\/Relu_output_0` \|/);
    // 1.9 dB at the output is a collapse: a coded warning naming the output, whatever the gates say
    expect(last.warnings.map((w: { code: string }) => w.code)).toContain('output-sqnr-low');
    expect(md).toContain('**clipping-dominated**');
    expect(md.length).toBeLessThan(20_000);
    expect(fs.readFileSync(out('fail.html'), 'utf8')).toContain('gate failed: --min-sqnr, --min-agreement');
    expect(parseReport(fs.readFileSync(out('fail.json'), 'utf8')).gates!.passed).toBe(false);
  });

  it('--quiet prints nothing on stdout; --no-per-layer skips the analysis', () => {
    const r = qtool([...base().slice(0, 2), clean, ...base().slice(2), '--quiet', '--no-per-layer', '--no-latency', '--report', out('quiet.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const report = parseReport(fs.readFileSync(out('quiet.json'), 'utf8'));
    expect(report.layers).toBeNull();
    expect(report.latency).toBeNull();
  });

  it('latency times batch 1 unless --latency-batches asks for more (quantize and compare alike)', () => {
    const one = qtool(['compare', LENET, clean, '--data', split.data, '--calib-count', '32', '--no-per-layer', '--json']);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout.trim().split('\n').pop()!).latency.results.map((r: { batch: number }) => r.batch)).toEqual([1]);
    const two = qtool(['compare', LENET, clean, '--data', split.data, '--calib-count', '32', '--no-per-layer', '--latency-batches', '8,1', '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout.trim().split('\n').pop()!).latency.results.map((r: { batch: number }) => r.batch)).toEqual([8, 1]);
    const q = qtool(['quantize', LENET, '-o', out('lat.onnx'), '--data', split.data, '--calib-count', '32', '--no-per-layer', '--latency-batches', '1,4', '--json']);
    expect(q.code, q.stderr).toBe(0);
    expect(JSON.parse(q.stdout.trim().split('\n').pop()!).verification.latency.results.map((r: { batch: number }) => r.batch)).toEqual([1, 4]);
  });

  it('usage errors exit 2 before any work; bad input exits 1 naming the file', () => {
    const q = [...base().slice(0, 2), clean, ...base().slice(2)];
    const noLabels = qtool(['compare', LENET, clean, '--data', split.data, '--max-drop', '1']);
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toMatch(/--max-drop needs --labels/);
    expect(qtool([...q, '--min-agreement', '1.5']).code).toBe(2);
    expect(qtool([...q, '--min-sqnr', 'lots']).code).toBe(2);
    expect(qtool([...q, '--report', out('r.txt')]).code).toBe(2);
    for (const bad of ['0', '1,x', '']) {
      const r = qtool([...q, '--latency-batches', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim()).toMatch(/^qtool: --latency-batches expects whole numbers ≥ 1, comma-separated, got '.*'/);
    }
    expect(qtool(['compare', LENET, clean]).code).toBe(2);
    const missing = qtool(['compare', LENET, out('nope.onnx'), '--data', split.data]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/nope\.onnx: file not found$/);
  });
});
