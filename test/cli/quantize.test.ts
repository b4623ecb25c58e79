import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qtool } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-cliq-'));
const copy = (name: string) => {
  const f = path.join(tmp, `${name}.onnx`);
  fs.copyFileSync(`fixtures/mnist/${name}.onnx`, f);
  return f;
};

describe('qtool quantize (built CLI)', () => {
  it('writes <input>.int8.onnx beside the input by default; --json prints a summary as the last line', () => {
    const m = copy('lenet_bn');
    const before = fs.readFileSync(m);
    const r = qtool(['quantize', m, '--data', 'calibration-data/mnist', '--calib-count', '20', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.output).toBe(path.join(tmp, 'lenet_bn.int8.onnx'));
    expect(fs.existsSync(j.output)).toBe(true);
    expect(j.nodes.quantized).toBeGreaterThan(0);
    expect(j.calibrationSamples).toBe(20);
    expect(Buffer.compare(before, fs.readFileSync(m))).toBe(0);
    expect(r.stdout).not.toMatch(/calibrating/);
  });

  it('never overwrites the input model', () => {
    const m = copy('resnet_mini');
    const before = fs.readFileSync(m);
    const r = qtool(['quantize', m, '-o', m, '--data', 'calibration-data/mnist', '--calib-count', '4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to overwrite the input model/);
    expect(Buffer.compare(before, fs.readFileSync(m))).toBe(0);
  });

  it('--config: flags override the file; unknown keys are errors that name the key', () => {
    const m = copy('lenet_bn');
    const cfg = path.join(tmp, 'qtool.config.json');
    fs.writeFileSync(cfg, JSON.stringify({ algo: 'kl', format: 'qoperator', calibCount: 10 }));
    const r = qtool(['quantize', m, '--data', 'calibration-data/mnist', '--config', cfg, '--algo', 'percentile', '--json', '-o', path.join(tmp, 'c.onnx')]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect([j.algo, j.format, j.calibrationSamples]).toEqual(['percentile', 'qoperator', 10]);
    fs.writeFileSync(cfg, JSON.stringify({ algo: 'kl', calibrationCount: 10 }));
    const bad = qtool(['quantize', m, '--data', 'calibration-data/mnist', '--config', cfg]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown option 'calibrationCount'/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('bad data gives one line naming the file and exit 1; a bad flag value exits 2', () => {
    const m = copy('lenet_bn');
    const d = path.join(tmp, 'baddata');
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'x.npy'), Buffer.from('not numpy'));
    const r = qtool(['quantize', m, '--data', d]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('x.npy');
    // Phase lines ("read  done in …") may precede it; the error itself is one line.
    const errors = r.stderr.trim().split('\n').filter((l) => !/^\w+ +done in /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^qtool: .*x\.npy/);
    expect(qtool(['quantize', m, '--data', d, '--algo', 'entropy']).code).toBe(2);
  });

  it('--save-plan writes the plan; --overrides pins a range; --exclude-ops keeps an op float', () => {
    const m = copy('resnet_mini');
    const plan = path.join(tmp, 'plan.json');
    const out = path.join(tmp, 'r.onnx');
    expect(qtool(['quantize', m, '--data', 'calibration-data/mnist', '--calib-count', '10', '--save-plan', plan, '-o', out, '--exclude-ops', 'Add']).code).toBe(0);
    const p = JSON.parse(fs.readFileSync(plan, 'utf8'));
    expect(p.nodes.filter((n: any) => n.opType === 'Add').every((n: any) => n.status === 'float')).toBe(true);
    const t = Object.keys(p.activations)[3]!;
    const ov = path.join(tmp, 'ov.json');
    fs.writeFileSync(ov, JSON.stringify({ activations: { [t]: { range: [-1, 7] } } }));
    const plan2 = path.join(tmp, 'plan2.json');
    expect(qtool(['quantize', m, '--data', 'calibration-data/mnist', '--calib-count', '10', '--overrides', ov, '--save-plan', plan2, '-o', out]).code).toBe(0);
    const p2 = JSON.parse(fs.readFileSync(plan2, 'utf8'));
    expect(p2.activations[t]).toMatchObject({ range: [-1, 7], source: 'override', scale: Math.fround(8 / 255) });
  });

  it('fold-bn writes a model whose outputs match the float model', () => {
    const m = copy('resnet_mini');
    const out = path.join(tmp, 'folded.onnx');
    const r = qtool(['fold-bn', m, '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(j.nodesAfter).toBe(j.nodesBefore - 9 - 2);
  });
});
