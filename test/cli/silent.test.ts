// Every input that used to be accepted with a silent default (issue 14) is now one clear error line
// with its exit code: 1 for bad input, 2 for usage. Run through the built CLI as a user would.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { qtool } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-silent-'));
const MODEL = 'fixtures/mnist/resnet_mini.onnx';
const DATA = 'calibration-data/mnist';
const out = (name: string) => path.join(tmp, name);

/** The one error line (phase lines such as "read  done in 0.1 s" may precede it). */
function errorLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => !/^\w+ +done in /.test(l));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

let images: string;
beforeAll(() => {
  images = out('digits-png');
  fs.mkdirSync(images);
  for (let k = 0; k < 4; k++) {
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 28 * 28; i++) png.data.set([(i * (k + 3)) % 256, (i * (k + 3)) % 256, (i * (k + 3)) % 256, 255], i * 4);
    fs.writeFileSync(path.join(images, `${k}.png`), PNG.sync.write(png));
  }
});

describe('no silent defaults (exit codes and one-line errors)', () => {
  it('an image folder without --preprocess is an error that shows the ImageNet-style spec (exit 1)', () => {
    const r = qtool(['quantize', MODEL, '--data', images, '-o', out('a.onnx'), '--no-verify']);
    expect(r.code).toBe(1);
    const line = errorLine(r.stderr);
    expect(line).toContain(images);
    expect(line).toMatch(/image data needs --preprocess/);
    expect(line).toMatch(/--preprocess "resize=\d+,crop=28,mean=0\.485;0\.456;0\.406,std=0\.229;0\.224;0\.225"/);
    expect(fs.existsSync(out('a.onnx'))).toBe(false);
  });

  it('with --preprocess, or a preprocess recorded in the config file, the same folder quantizes', () => {
    const r = qtool(['quantize', MODEL, '--data', images, '-o', out('b.onnx'), '--no-verify', '--preprocess', 'resize=28x28', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = out('images.yaml');
    fs.writeFileSync(cfg, `data: ${images}\npreprocess: resize=28x28\nverify: false\n`);
    const c = qtool(['quantize', MODEL, '--config', cfg, '-o', out('c.onnx'), '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout.trim().split('\n').pop()!).calibrationSamples).toBe(4);
  });

  it('--preprocess with tensor data (.npy) is an error (exit 1)', () => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '--calib-count', '4', '--preprocess', 'resize=28', '-o', out('d.onnx'), '--no-verify']);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/--preprocess applies to image folders, but this data is \.npy tensors/);
  });

  it('unknown node names fail with the closest matches; a folded node names the node to use (exit 2)', () => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '--calib-count', '4', '--exclude-nodes', '/stem/stem.0/Cnv', '-o', out('e.onnx')]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toMatch(/no node named '\/stem\/stem\.0\/Cnv' in the model; did you mean '\/stem\/stem\.0\/Conv'/);
    const folded = qtool(['quantize', MODEL, '--data', DATA, '--calib-count', '4', '--exclude-nodes', '/stem/stem.1/BatchNormalization', '-o', out('e.onnx')]);
    expect(folded.code).toBe(2);
    expect(errorLine(folded.stderr)).toMatch(/'\/stem\/stem\.1\/BatchNormalization' \(BatchNormalization\) is removed by the prepare passes.*name '\/stem\/stem\.0\/Conv' instead/);
    expect(fs.existsSync(out('e.onnx'))).toBe(false);
  });

  it('unknown op types in --exclude-ops / --include-ops fail with the closest match (exit 2)', () => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '--exclude-ops', 'conv', '--include-ops', 'Gem', '-o', out('f.onnx')]);
    expect(r.code).toBe(2);
    const line = errorLine(r.stderr);
    expect(line).toMatch(/--exclude-ops: no node of op type 'conv' in the model; did you mean 'Conv'/);
    expect(line).toMatch(/--include-ops: no node of op type 'Gem' in the model; did you mean 'Gemm'/);
  });

  it.each([
    [['--per-channel', '--per-tensor'], /--per-channel and --per-tensor contradict each other/],
    [['--mode', 'dynamic', '--algo', 'kl'], /--algo applies to static mode only/],
    [['--algo', 'kl', '--percentile', '99.9'], /--percentile applies to --algo percentile only/],
    [['--block-size', '64'], /--block-size applies to --mode weight-only/],
    [['--include-ops', 'Conv', '--exclude-ops', 'Conv'], /Conv is in both --include-ops and --exclude-ops/],
    [['--no-verify', '--report', 'x.md'], /--no-verify contradicts --report/],
    [['--algo', 'kl', '--calibrate-method', 'MinMax'], /--algo and --calibrate-method contradict each other/],
  ])('contradictory flags %j are a usage error (exit 2)', (flags, message) => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '-o', out('g.onnx'), ...flags]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toMatch(message);
  });

  it('labels are checked against the sample count and the number of classes (exit 1)', () => {
    const few = out('few.json');
    fs.writeFileSync(few, JSON.stringify([1, 2, 3]));
    const r = qtool(['compare', MODEL, MODEL, '--data', DATA, '--labels', few, '--no-per-layer', '--no-latency']);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/few\.json: 3 labels for 200 samples/);
    const many = out('many.json');
    fs.writeFileSync(many, JSON.stringify(Array.from({ length: 250 }, () => 1)));
    const m = qtool(['compare', MODEL, MODEL, '--data', DATA, '--labels', many, '--no-per-layer', '--no-latency']);
    expect(m.code).toBe(1);
    expect(errorLine(m.stderr)).toMatch(/many\.json: 250 labels for 200 samples/);
    const big = out('big.json');
    fs.writeFileSync(big, JSON.stringify(Array.from({ length: 200 }, (_, i) => (i === 7 ? 10 : 1))));
    const b = qtool(['compare', MODEL, MODEL, '--data', DATA, '--labels', big, '--no-per-layer', '--no-latency']);
    expect(b.code).toBe(1);
    expect(errorLine(b.stderr)).toMatch(/big\.json: label #7 is 10, but the model's output 'logits' has 10 classes \(0\.\.9\)/);
  });
});

describe('usage errors before any work', () => {
  it('missing --data is a usage error (exit 2); with --json the error is one JSON object on stdout', () => {
    const r = qtool(['quantize', MODEL, '-o', out('h.onnx'), '--json']);
    expect(r.code).toBe(2);
    const line = errorLine(r.stderr);
    expect(line).toMatch(/needs calibration data: pass --data/);
    const j = JSON.parse(r.stdout.trim());
    expect(j).toEqual({ error: { code: 'usage', exitCode: 2, message: line.replace(/^qtool: /, '') } });
  });

  it('--json on a commander usage error (unknown flag) still prints one JSON object', () => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '--frobnicate', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout.trim()).error).toMatchObject({ code: 'usage', exitCode: 2, message: expect.stringMatching(/unknown option '--frobnicate'/) });
  });

  it('a missing output folder is reported before calibration (exit 1)', () => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '-o', path.join(tmp, 'no', 'such', 'x.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/calibrat/);
    expect(errorLine(r.stderr)).toMatch(/the folder .*no\/such for the model does not exist/);
    const rep = qtool(['quantize', MODEL, '--data', DATA, '-o', out('i.onnx'), '--report', path.join(tmp, 'nowhere', 'r.md')]);
    expect(rep.code).toBe(1);
    expect(rep.stderr).not.toMatch(/calibrat/);
    expect(fs.existsSync(out('i.onnx'))).toBe(false);
  });

  it('--calib-count abc names the flag; every bad flag is reported at once (exit 2)', () => {
    const r = qtool(['quantize', MODEL, '--data', DATA, '--calib-count', 'abc', '--algo', 'entropy']);
    expect(r.code).toBe(2);
    const line = errorLine(r.stderr);
    expect(line).toMatch(/--calib-count must be a whole number ≥ 1, got "abc"/);
    expect(line).toMatch(/--algo must be one of minmax, kl, mse, percentile, auto, got "entropy"/);
    expect(line).not.toMatch(/calibCount/);
  });
});
