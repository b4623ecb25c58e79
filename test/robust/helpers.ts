// Hostile inputs for the robustness tests, made at the protobuf level from the real fixtures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelProtoType } from '../../src/onnx/schema.js';

export const RESNET = path.resolve('fixtures/mnist/resnet_mini.onnx');
export const CALIB = path.resolve('calibration-data/mnist');

const dirs: string[] = [];
export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-robust-'));
  dirs.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Runs the built CLI; a hang fails the test through the timeout instead of blocking it. */
export function qtool(args: string[], opts: { timeoutMs?: number; uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [path.resolve('bin/qtool.js'), ...args], {
    encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, uid: opts.uid, gid: opts.gid, env: { ...process.env, QTOOL_ORT_LOG_LEVEL: '' },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

export function readProto(file: string): Msg {
  return ModelProtoType.decode(fs.readFileSync(file)) as unknown as Msg;
}
export function writeProto(m: Msg, file: string): string {
  fs.writeFileSync(file, ModelProtoType.encode(m).finish());
  return file;
}

/** A small model: y = x + w, w uint8 [n] stored externally at `location` with the given extra entries. */
export function externalModel(dir: string, location: string, n: number, extra: { key: string; value: string }[] = []): string {
  const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: 2, shape: { dim: [{ dim_value: n }] } } } });
  return writeProto({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ input: ['x', 'w'], output: ['y'], op_type: 'Add' }],
      initializer: [{ name: 'w', data_type: 2, dims: [n], data_location: 1, external_data: [{ key: 'location', value: location }, ...extra] }],
      input: [vi('x')],
      output: [vi('y')],
    },
  }, path.join(dir, 'm.onnx'));
}

/** Asserts the usual contract of a refused input: exit 1, one `qtool:` line, no stack, no onnxruntime log. */
export function oneLine(r: { code: number | null; signal: NodeJS.Signals | null; stderr: string }): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^calibrating: /.test(l));
  if (r.signal !== null || r.code !== 1 || lines.length !== 1 || !lines[0]!.startsWith('qtool: ') || /internal error|\x1b\[|\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one clean error line, got code ${r.code} signal ${r.signal}:\n${r.stderr}`);
  }
  return lines[0]!;
}

/** Files in `dir` other than `keep` (what a failed run left behind). */
export function leftovers(dir: string, keep: string[]): string[] {
  return fs.readdirSync(dir).filter((f) => !keep.includes(f));
}
