// The config file as a full recipe (issue 14 item 6) and the terminal output (item 5), through the
// built CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qtool } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-recipe-'));
const MODEL = path.resolve('fixtures/mnist/lenet_bn.onnx');
const DATA = path.resolve('calibration-data/mnist');
const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

describe('config file: a full recipe in YAML or JSON', () => {
  it('holds data, preprocess-free tensor data, eval data, labels, reports and gates; paths are relative to the file', () => {
    const dir = path.join(tmp, 'job');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(Array.from({ length: 20 }, () => 3)));
    fs.writeFileSync(path.join(dir, 'recipe.yaml'), [
      `data: ${DATA}`,
      'calib-count: 20',
      `eval-data: ${DATA}`,
      'eval-count: 20',
      'labels: labels.json',
      'report: [out/r.md, out/r.json]',
      'output: out/model.int8.onnx',
      'save-plan: out/plan.json',
      'algo: percentile',
      'percentile: 99.9',
      'per-layer: false',
      'latency: false',
      'min-sqnr: 200',
      '',
    ].join('\n'));
    fs.mkdirSync(path.join(dir, 'out'));
    const r = qtool(['quantize', MODEL, '--config', path.join(dir, 'recipe.yaml'), '--json']);
    // The impossible SQNR gate from the file fails the run (exit 3), with the model still written.
    expect(r.code, r.stderr).toBe(3);
    const j = last(r.stdout);
    expect(j.error).toMatchObject({ code: 'gate', exitCode: 3 });
    expect(j.algo).toBe('percentile');
    expect(j.calibrationSamples).toBe(20);
    expect(j.files).toEqual({
      model: path.join(dir, 'out/model.int8.onnx'), plan: path.join(dir, 'out/plan.json'),
      reports: [path.join(dir, 'out/r.md'), path.join(dir, 'out/r.json')],
    });
    for (const f of [j.files.model, j.files.plan, ...j.files.reports]) expect(fs.existsSync(f), f).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'out/r.json'), 'utf8')).data.labels).toBe(path.join(dir, 'labels.json'));
    // --no-latency: the Markdown footer says nothing of threads.
    const md = fs.readFileSync(path.join(dir, 'out/r.md'), 'utf8');
    expect(md).not.toMatch(/threads/);
    // Flags override the file: --min-sqnr 0 passes, --algo kl replaces percentile (and its percentile).
    const o = qtool(['quantize', MODEL, '--config', path.join(dir, 'recipe.yaml'), '--min-sqnr', '0', '--json']);
    expect(o.code, o.stderr).toBe(0);
  });

  it('unknown keys in the file fail with the closest match, every problem at once (exit 1)', () => {
    const cfg = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(cfg, 'calibration-count: 10\nalgo: entropy\nexclude-node: [a]\n');
    const r = qtool(['quantize', MODEL, '--data', DATA, '--config', cfg]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${cfg}: unknown option 'calibration-count'; did you mean 'calib-count'?`);
    expect(lines[0]).toContain(`${cfg}: 'algo' must be one of minmax, kl, mse, percentile, auto, got "entropy"`);
    expect(lines[0]).toContain("did you mean 'exclude-nodes'?");
  });

  it('--calibrate-method (onnxruntime names) selects the algorithm; Distribution is mse', () => {
    for (const [method, algo] of [['Entropy', 'kl'], ['Distribution', 'mse']]) {
      const r = qtool(['quantize', MODEL, '--data', DATA, '--calib-count', '8', '--calibrate-method', method!, '--no-verify', '-o', path.join(tmp, `${method}.onnx`), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(last(r.stdout).algo).toBe(algo);
    }
    expect(qtool(['quantize', '--help']).stdout).toMatch(/Distribution=mse/);
  });
});

describe('terminal output', () => {
  it('names every phase with its elapsed time and ends with the files and the total time, within 80 columns', () => {
    const plan = path.join(tmp, 'p.json');
    const report = path.join(tmp, 'r.html');
    const r = qtool(['quantize', MODEL, '--data', DATA, '--calib-count', '16', '-o', path.join(tmp, 't.onnx'), '--save-plan', plan, '--report', report, '--no-latency']);
    expect(r.code, r.stderr).toBe(0);
    for (const p of ['read', 'prepare', 'calibrate', 'ranges', 'rewrite', 'write', 'verify']) expect(r.stderr).toMatch(new RegExp(`^${p} +done in \\d+\\.\\d+ s$`, 'm'));
    expect(r.stderr).toMatch(/calibrate: 100% \(16\/16 samples\), [\d.]+ samples\/s/);
    expect(r.stdout).toMatch(/^ {2}model {2}.*t\.onnx$/m);
    expect(r.stdout).toContain(`  plan   ${plan}`);
    expect(r.stdout).toContain(`  report ${report}`);
    expect(r.stdout).toMatch(/^done in [\d.]+ s \(read [\d.]+ s, prepare/m);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('--algo is not printed in dynamic mode, where it does nothing', () => {
    const r = qtool(['quantize', 'fixtures/mnist/lstm_rows.onnx', '--mode', 'dynamic', '--data', DATA, '--eval-count', '8', '--no-per-layer', '--no-latency', '-o', path.join(tmp, 'dyn.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}dynamic, qdq, target /m);
    expect(r.stdout).not.toMatch(/algo/);
    const j = qtool(['quantize', 'fixtures/mnist/lstm_rows.onnx', '--mode', 'dynamic', '--no-verify', '-o', path.join(tmp, 'dyn2.onnx'), '--json']);
    expect(last(j.stdout).algo).toBeNull();
  });
});
