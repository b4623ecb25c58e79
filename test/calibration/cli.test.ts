import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrationFiles, copyAs, DATA, fixture, qtool, tmpDir } from './helpers.js';

// Through the built binary, as a user runs it (npm run build first).
describe('qtool calibrate / merge-stats', () => {
  const dir = tmpDir();
  const out = (name: string) => path.join(dir, name);

  it('calibrate -o writes a stats file; progress goes to stderr, the summary to stdout', () => {
    const r = qtool(['calibrate', fixture('lenet_bn'), '--data', DATA, '-o', out('lenet.json'), '--calib-count', '50']);
    expect(r.stderr).toMatch(/calibrating: 100% \(50\/50 samples\)/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/calibrated \d+ tensors of lenet_bn\.onnx over 50 samples .* → .*lenet\.json/);
    const stats = JSON.parse(fs.readFileSync(out('lenet.json'), 'utf8'));
    expect(stats.format).toBe('qtool.stats');
    expect(stats.samples).toBe(50);
    expect(stats.ranges).toBeUndefined();
    expect(Object.keys(stats.tensors)).toContain('input');
  });

  it('--algo kl stores kl ranges for every tensor; --json prints one JSON object last and nothing else on stdout', () => {
    const r = qtool(['calibrate', fixture('resnet_mini'), '--data', DATA, '-o', out('resnet.json'), '--algo', 'kl', '--batch-size', '8', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines.at(-1)!);
    expect(summary).toMatchObject({ stats: out('resnet.json'), model: 'resnet_mini.onnx', samples: 200, algo: 'kl', movingAverage: false });
    const stats = JSON.parse(fs.readFileSync(out('resnet.json'), 'utf8'));
    expect(stats.rangeConfig.algo).toBe('kl');
    expect(Object.keys(stats.ranges)).toEqual(Object.keys(stats.tensors));
    expect(summary.tensors).toBe(Object.keys(stats.tensors).length);
    for (const r of Object.values(stats.ranges) as { min: number; max: number; algo: string }[]) {
      expect(r.algo).toBe('kl');
      expect(r.min).toBeLessThanOrEqual(r.max);
    }
  });

  it('merge-stats of two shards writes the same bytes as calibrating both at once', () => {
    const files = calibrationFiles();
    const a = copyAs(files.slice(0, 30), (i) => `a${i}.npy`);
    const b = copyAs(files.slice(30, 60), (i) => `b${i}.npy`);
    for (const [data, name] of [[a, 'a.json'], [b, 'b.json']] as const) {
      expect(qtool(['calibrate', fixture('lenet_bn'), '--data', data, '-o', out(name), '--quiet']).code).toBe(0);
    }
    const m = qtool(['merge-stats', out('a.json'), out('b.json'), '-o', out('m.json'), '--algo', 'mse', '--json']);
    expect({ code: m.code, stderr: m.stderr }).toMatchObject({ code: 0 });
    expect(JSON.parse(m.stdout.trim().split('\n').at(-1)!)).toMatchObject({ inputs: 2, samples: 60, algo: 'mse' });
    expect(qtool(['calibrate', fixture('lenet_bn'), '--data', DATA, '--calib-count', '60', '--algo', 'mse', '-o', out('all.json'), '--quiet']).code).toBe(0);
    expect(fs.readFileSync(out('m.json'), 'utf8')).toBe(fs.readFileSync(out('all.json'), 'utf8'));
  });

  it('a bad data folder: exit 1 and one line naming it, no stack', () => {
    const empty = tmpDir();
    for (const args of [['--data', path.join(dir, 'nope')], ['--data', empty]]) {
      const r = qtool(['calibrate', fixture('lenet_bn'), ...args, '-o', out('x.json')]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(args[1]!);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(fs.existsSync(out('x.json'))).toBe(false);
  });

  it('usage errors exit 2; a wrong stats file exits 1 with one line', () => {
    const usage = [
      ['calibrate', fixture('lenet_bn'), '-o', out('y.json')],
      ['calibrate', fixture('lenet_bn'), '--data', DATA, '--algo', 'entropy'],
      ['calibrate', fixture('lenet_bn'), '--data', DATA, '--batch-size', '0'],
      ['calibrate', fixture('lenet_bn'), '--data', DATA, '--moving-average', '--algo', 'kl', '-o', out('y.json')],
    ];
    for (const args of usage) {
      const r = qtool(args);
      expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ code: 2 });
    }
    fs.writeFileSync(out('plan.json'), '{"version":1}');
    const r = qtool(['merge-stats', out('plan.json'), out('a.json'), '-o', out('z.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/plan\.json: not a qtool stats file/)]);
  });

  it('--moving-average says in the help and in the file that it is order-dependent', () => {
    expect(qtool(['calibrate', '--help']).stdout).toMatch(/--moving-average[\s\S]*ORDER-DEPENDENT/);
    const r = qtool(['calibrate', fixture('lenet_bn'), '--data', DATA, '--calib-count', '20', '--moving-average', '-o', out('ma.json'), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/order-dependent/);
    const stats = JSON.parse(fs.readFileSync(out('ma.json'), 'utf8'));
    expect(stats.movingAverage.note).toMatch(/order-dependent/);
    expect(stats.rangeConfig.algo).toBe('minmax');
  });
});
