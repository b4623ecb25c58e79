// Child process of write-checked.ts: loads a model in onnxruntime-node and runs it once on
// deterministic feeds; prints one JSON line. If the run fails, the float model is run with the
// same feeds: when that fails too, the feeds (not the model) are at fault and the check passes.
import { DataType, type HostTensor } from '../ir/index.js';
import { Session, isOrtFeedable } from '../runtime/index.js';

export interface CheckFeed {
  name: string;
  elemType: number;
  dims: number[];
}
export type CheckResult = { ok: true; note?: string } | { ok: false; stage: 'load' | 'run'; message: string };

const MAX_FEED_ELEMENTS = 2 ** 26;

function feed(f: CheckFeed, seed: number): HostTensor {
  const n = f.dims.reduce((a, b) => a * b, 1);
  if (n > MAX_FEED_ELEMENTS || !isOrtFeedable(f.elemType) || f.elemType === DataType.STRING) throw new Error(`input '${f.name}' cannot be fed`);
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const make = (): HostTensor['data'] => {
    switch (f.elemType) {
      case DataType.FLOAT: return Float32Array.from({ length: n }, () => next() * 2 - 1);
      case DataType.DOUBLE: return Float64Array.from({ length: n }, () => next() * 2 - 1);
      case DataType.INT64: return new BigInt64Array(n);
      case DataType.UINT64: return new BigUint64Array(n);
      case DataType.INT32: return new Int32Array(n);
      case DataType.UINT32: return new Uint32Array(n);
      case DataType.INT16: return new Int16Array(n);
      case DataType.UINT16: case DataType.FLOAT16: return new Uint16Array(n);
      case DataType.INT8: return new Int8Array(n);
      default: return new Uint8Array(n);
    }
  };
  return { dtype: f.elemType, dims: f.dims, data: make() };
}

async function runOnce(model: string, feeds: CheckFeed[], threads: number): Promise<CheckResult> {
  let session: Session;
  try {
    session = await Session.open(model, { threads, label: 'model' });
  } catch (e) {
    return { ok: false, stage: 'load', message: msg(e) };
  }
  try {
    const input: Record<string, HostTensor> = {};
    feeds.forEach((f, k) => (input[f.name] = feed(f, 12345 + k)));
    await session.run(input);
    return { ok: true };
  } catch (e) {
    return { ok: false, stage: 'run', message: msg(e) };
  } finally {
    await session.close();
  }
}

function msg(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.replace(/^model: (onnxruntime (cannot load|failed to run) the model: )?/, '').slice(0, 300);
}

async function main(): Promise<void> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const req = JSON.parse(text) as { model: string; floatModel?: string; feeds: CheckFeed[]; threads: number };
  let res = await runOnce(req.model, req.feeds, req.threads);
  if (!res.ok && req.floatModel) {
    // The float model failing the same stage (an op onnxruntime cannot run at all, such as an LSTM
    // with layout=1, or inputs the synthetic feeds cannot satisfy) is not the quantizer's doing.
    const ref = await runOnce(req.floatModel, req.feeds, req.threads);
    if (!ref.ok && (ref.stage === 'load' || res.stage === 'run')) res = { ok: true, note: `the float model fails to ${ref.stage} in onnxruntime too; the quantized model was checked no further` };
  }
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ ok: false, stage: 'load', message: msg(e) })}\n`);
});
