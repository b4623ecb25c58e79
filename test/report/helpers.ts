// Shared helpers for the report tests: real fixtures, real MNIST test digits, real onnxruntime.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { quantize } from '../../src/index.js';
// @ts-expect-error plain .mjs script without types
import { writeSplit } from '../../scripts/mnist-data.mjs';

export const CALIB = 'calibration-data/mnist';
export const LENET = 'fixtures/mnist/lenet_bn.onnx';
/** lenet_bn's fc1 output after its Relu: a tensor with no pass-through group-mates sharing its range. */
export const PLANTED = '/relu3/Relu_output_0';

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `qtool-report-${prefix}-`));
}

/** The 2,000 held-out MNIST test digits: `<dir>/data/digits.npy` and `<dir>/labels.json`. */
export function mnistTestSplit(dir: string): { data: string; labels: string; n: number } {
  return writeSplit('test', dir) as { data: string; labels: string; n: number };
}

/**
 * Quantizes lenet_bn (minmax, QDQ) with optional pinned activation ranges, written exactly as a
 * `--overrides plan.json` file (the same path `qtool quantize --overrides` takes).
 */
export async function quantizeLenet(dir: string, name: string, pinned?: Record<string, [number, number]>): Promise<string> {
  const output = path.join(dir, `${name}.onnx`);
  let overrides: string | undefined;
  if (pinned) {
    overrides = path.join(dir, `${name}.overrides.json`);
    const activations = Object.fromEntries(Object.entries(pinned).map(([t, range]) => [t, { range }]));
    fs.writeFileSync(overrides, JSON.stringify({ activations }));
  }
  await quantize(LENET, { output, data: CALIB, overrides, config: { algo: 'minmax' } });
  return output;
}

/** The calibrated range quantize chose for a tensor (from a plan saved beside the model). */
export async function calibratedRange(dir: string, tensor: string): Promise<[number, number]> {
  const savePlan = path.join(dir, 'plan.json');
  await quantize(LENET, { output: path.join(dir, 'plan-probe.onnx'), data: CALIB, savePlan, config: { algo: 'minmax' } });
  const plan = JSON.parse(fs.readFileSync(savePlan, 'utf8')) as { activations: Record<string, { range: [number, number] }> };
  const a = plan.activations[tensor];
  if (!a) throw new Error(`the plan has no activation '${tensor}'`);
  return a.range;
}

/** Runs the built CLI as a user would. */
export function qtool(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [path.resolve('bin/qtool.js'), ...args], { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Makes sure dist/ holds the code under test. `npm test` builds first, so this normally does
 * nothing; rebuilding while other test files run the CLI could hand them half-written files, so
 * it compiles only when some source is newer than its output (a bare `vitest run` after an edit).
 */
export function ensureBuilt(): void {
  const stale = (dir: string): boolean => fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
    const src = path.join(dir, e.name);
    if (e.isDirectory()) return stale(src);
    if (!e.name.endsWith('.ts')) return false;
    const out = path.join('dist', path.relative('src', src)).replace(/\.ts$/, '.js');
    return !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs;
  });
  if (!stale('src')) return;
  const r = spawnSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}
