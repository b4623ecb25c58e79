// Writing the quantized model without ever leaving a half-done one: the model goes to a temp
// folder beside the output (`.NAME.PID.tmp/`), is loaded and run once by onnxruntime-node in a
// child process (a native crash there cannot take qtool down with it), and only then renamed to
// the output (and its external data file beside it). On any failure the temp folder is removed;
// on SIGINT/SIGTERM too, and the temp of a run killed with SIGKILL is removed by the next run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError, UserInputError } from '../errors.js';
import type { Model } from '../ir/index.js';
import { writeModelFile, type WriteOptions, type WriteResult } from '../onnx/index.js';
import { removeStaleTemps, tempPathFor, trackTemp, untrackTemp, writeError } from '../onnx/io.js';
import type { CheckFeed, CheckResult } from './check-child.js';

export interface CheckedWriteOptions extends WriteOptions {
  /** Load and run the written model once in onnxruntime before it is renamed (default true). */
  check?: boolean;
  /** The float model, run with the same feeds when the check run fails (to tell a bad feed from a bad model). */
  floatModel?: string;
  threads?: number;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The compiled child beside this file; from the TypeScript sources (tests), the built one in dist/. */
const CHILD = [path.join(HERE, 'check-child.js'), path.join(HERE, '../../dist/api/check-child.js')].find((f) => fs.existsSync(f)) ?? path.join(HERE, 'check-child.js');

/** What was written; `unchecked` says why the load-and-run check stopped short (the float model fails it too). */
export type CheckedWriteResult = WriteResult & { unchecked?: string };

export async function writeChecked(model: Model, output: string, opts: CheckedWriteOptions = {}): Promise<CheckedWriteResult> {
  if (opts.inputPath && path.resolve(opts.inputPath) === path.resolve(output)) {
    throw new UserInputError(`${output}: refusing to overwrite the input model; choose another output path with -o`);
  }
  const dir = path.dirname(path.resolve(output));
  if (!fs.existsSync(dir)) throw new UserInputError(`${output}: output folder ${dir} does not exist; create it or choose another output path with -o`);
  removeStaleTemps(output);
  const tmpDir = tempPathFor(output);
  const base = path.basename(output);
  trackTemp(tmpDir);
  try {
    try {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      fs.mkdirSync(tmpDir);
    } catch (e) {
      throw writeError(output, e);
    }
    const tmpModel = path.join(tmpDir, base);
    const result = writeModelFile(model, tmpModel, { externalDataThreshold: opts.externalDataThreshold, externalData: opts.externalData });
    const unchecked = opts.check !== false ? await checkRuns(tmpModel, output, model, opts) : undefined;
    try {
      if (result.externalDataFile) fs.renameSync(path.join(tmpDir, result.externalDataFile), path.join(dir, result.externalDataFile));
      fs.renameSync(tmpModel, output);
    } catch (e) {
      throw writeError(output, e);
    }
    return unchecked ? { ...result, unchecked } : result;
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    untrackTemp(tmpDir);
  }
}

/** Feeds for one run: every dynamic dim 1 (shape-less inputs are refused by the child's load/run and then judged against the float model). */
function feedsOf(model: Model): CheckFeed[] {
  return model.graph.feedInputs().map((i) => ({
    name: i.name,
    elemType: i.elemType ?? 1,
    dims: (i.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : 1)),
  }));
}

/** Resolves with the child's note when it accepted the model without a full check; throws when the model fails. */
async function checkRuns(tmpModel: string, output: string, model: Model, opts: CheckedWriteOptions): Promise<string | undefined> {
  const request = JSON.stringify({ model: tmpModel, floatModel: opts.floatModel, feeds: feedsOf(model), threads: opts.threads ?? 1 });
  const { code, signal, stdout, stderr } = await runChild(request);
  const last = stdout.trim().split('\n').pop() ?? '';
  let res: CheckResult | undefined;
  try {
    res = JSON.parse(last) as CheckResult;
  } catch {
    res = undefined;
  }
  if (res?.ok) return res.note;
  if (res && !res.ok) {
    throw new ModelError(`${output}: not written: onnxruntime ${res.stage === 'load' ? 'cannot load' : 'fails to run'} the quantized model (${res.message}); keep the failing layers in float with --exclude-nodes/--exclude-ops, or try --format qdq`);
  }
  const how = signal ? `crashed (${signal})` : `exited with code ${code}`;
  const detail = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^\s*at /.test(l)).pop();
  throw new ModelError(`${output}: not written: onnxruntime ${how} while loading and running the quantized model${detail ? ` (${detail.slice(0, 200)})` : ''}; keep the failing layers in float with --exclude-nodes/--exclude-ops`);
}

function runChild(request: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8192)));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.on('close', () => process.removeListener('exit', kill));
    child.stdin.end(request);
  });
}

/** Runs `step` on a written output; if it throws, the output (and its data file) is removed first. */
export async function removeOnFailure<T>(output: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    fs.rmSync(output, { force: true });
    fs.rmSync(`${output}.data`, { force: true });
    throw e;
  }
}
