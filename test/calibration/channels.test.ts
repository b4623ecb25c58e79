// Per-channel abs-max (the outlier-channel check's statistics): exact against a plain onnxruntime
// loop, independent of batch size and sample order, one float per channel, and carried through
// stats files (files without it still load).
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { calibrate, loadStats, saveStats, serializeStats } from '../../src/api/calibrate.js';
import { ChannelAbsMaxCollector } from '../../src/calibration/index.js';
import { DataType } from '../../src/ir/index.js';
import { encodeModel, readModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { calibrationFiles, copyAs, DATA, fixture, readNpyF32, tmpDir } from './helpers.js';

describe('ChannelAbsMaxCollector', () => {
  // [2, 3, 2]: batch 2, channels 3, 2 values each.
  const x = Float32Array.from([1, -2, 3, 0.5, -7, 6, /* second sample */ -4, 1, NaN, -Infinity, 2, 9]);

  it('keeps the largest finite |x| per channel, on axis 1 or on the last axis', () => {
    const c1 = new ChannelAbsMaxCollector(1);
    c1.observe(x, [2, 3, 2]);
    expect(c1.result()).toEqual({ axis: 1, absMax: [4, 3, 9] });
    const last = new ChannelAbsMaxCollector(-1);
    last.observe(x, [2, 3, 2]);
    expect(last.result()).toEqual({ axis: 2, absMax: [7, 9] });
  });

  it('gives the same result whatever the batch order or split', () => {
    const a = x.subarray(0, 6);
    const b = x.subarray(6);
    const one = new ChannelAbsMaxCollector(1);
    one.observe(b, [1, 3, 2]);
    one.observe(a, [1, 3, 2]);
    const whole = new ChannelAbsMaxCollector(1);
    whole.observe(x, [2, 3, 2]);
    expect(one.result()).toEqual(whole.result());
  });

  it('leaves no result when batches disagree on the channels, or come without a shape', () => {
    const c = new ChannelAbsMaxCollector(1);
    c.observe(x, [2, 3, 2]);
    c.observe(x, [2, 2, 3]);
    expect(c.result()).toBeUndefined();
    const d = new ChannelAbsMaxCollector(1);
    d.observe(x, []);
    d.observe(x, [2, 3, 2]);
    expect(d.result()).toBeUndefined();
  });
});

/** Per-channel abs-max of `tensor` (axis 1) over `files`, from a plain onnxruntime-node loop. */
async function plainChannels(model: string, tensor: string, files: readonly string[]): Promise<number[]> {
  const m = readModelFile(model);
  prepareModel(m);
  m.graph.outputs = [...m.graph.outputs, { name: tensor, elemType: DataType.FLOAT }];
  const session = await ort.InferenceSession.create(encodeModel(m));
  let max: number[] = [];
  for (const f of files) {
    const { dims, data } = readNpyF32(f);
    const out = (await session.run({ input: new ort.Tensor('float32', data, dims) }, [tensor]))[tensor]!;
    const [n, c] = out.dims as number[];
    const inner = (out.data as Float32Array).length / (n! * c!);
    if (max.length === 0) max = new Array<number>(c!).fill(0);
    (out.data as Float32Array).forEach((v, i) => {
      const k = Math.floor(i / inner) % c!;
      max[k] = Math.max(max[k]!, Math.abs(v));
    });
  }
  await session.release();
  return max;
}

describe('per-channel statistics in calibration', () => {
  const T = '/layer2/relu1/Relu_output_0';

  it('resnet_mini: equal to a plain onnxruntime loop (to its last bits), and identical for batch 1, batch 7 and the samples in reverse order', async () => {
    const files = calibrationFiles().slice(0, 40);
    const forward = copyAs(files, (i) => `${String(i).padStart(4, '0')}.npy`);
    const reverse = copyAs([...files].reverse(), (i) => `${String(i).padStart(4, '0')}.npy`);
    const one = await calibrate(fixture('resnet_mini'), { data: forward, config: { batchSize: 1 } });
    const seven = await calibrate(fixture('resnet_mini'), { data: forward, config: { batchSize: 7 } });
    const rev = await calibrate(fixture('resnet_mini'), { data: reverse, config: { batchSize: 5 } });
    const ch = one.tensors[T]!.channels!;
    expect(ch.axis).toBe(1);
    // onnxruntime's own last bits differ between its sessions (the observation session outputs
    // more tensors, so fuses less): equal within 1e-6 relative.
    const plain = await plainChannels(fixture('resnet_mini'), T, files);
    expect(ch.absMax.length).toBe(plain.length);
    ch.absMax.forEach((v, k) => expect(Math.abs(v - plain[k]!)).toBeLessThanOrEqual(1e-6 * plain[k]!));
    expect(Math.max(...ch.absMax) / Math.min(...ch.absMax)).toBeGreaterThan(1.2);
    // The Gemm input, on its last axis.
    expect(one.tensors['/flatten/Flatten_output_0']!.channels).toMatchObject({ axis: 1 });
    for (const other of [seven, rev]) {
      for (const [t, s] of Object.entries(one.tensors)) expect(other.tensors[t]!.channels).toEqual(s.channels);
    }
  });

  it('a stats file round-trips the channels; one without them (older files) still loads; a malformed one is refused', async () => {
    const stats = await calibrate(fixture('lenet_bn'), { data: DATA, config: { calibCount: 10 } });
    expect(Object.values(stats.tensors).filter((t) => t.channels).length).toBeGreaterThanOrEqual(3);
    const dir = tmpDir();
    const file = path.join(dir, 's.json');
    saveStats(stats, file);
    expect(loadStats(file)).toEqual(stats);
    const old = { ...stats, tensors: Object.fromEntries(Object.entries(stats.tensors).map(([t, { channels: _c, ...rest }]) => [t, rest])) };
    fs.writeFileSync(file, serializeStats(old));
    expect(loadStats(file)).toEqual(old);
    const [name, t] = Object.entries(stats.tensors).find(([, s]) => s.channels)!;
    fs.writeFileSync(file, serializeStats({ ...stats, tensors: { ...stats.tensors, [name]: { ...t, channels: { axis: 1, absMax: [-1] } } } }));
    expect(() => loadStats(file)).toThrow(/"channels" must be/);
  });
});
