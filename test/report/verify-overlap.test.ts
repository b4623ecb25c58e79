// quantize()'s verification starts while the written model's load-and-run check is still running
// (api/quantize.ts): its float side opens meanwhile, but nothing of the quantized model is opened
// before the check passed, and a failed check is reported as the write's error, with nothing left
// at the output. The check is made slow (and, once, failing) around the real writeChecked.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { quantize } from '../../src/index.js';
import { Session } from '../../src/runtime/index.js';
import { ModelError } from '../../src/errors.js';
import { CALIB, LENET, tmpDir } from './helpers.js';

const plant = vi.hoisted(() => ({ events: [] as string[], fail: false, delayMs: 400 }));

vi.mock('../../src/api/write-checked.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/api/write-checked.js')>();
  return {
    ...real,
    writeChecked: async (...args: Parameters<typeof real.writeChecked>) => {
      const r = await real.writeChecked(...args);
      await new Promise((res) => setTimeout(res, plant.delayMs));
      if (plant.fail) {
        fs.rmSync(args[1], { force: true });
        plant.events.push('check failed');
        throw new ModelError(`${args[1]}: not written: onnxruntime cannot load the quantized model (planted)`);
      }
      plant.events.push('checked');
      return r;
    },
  };
});

const dir = tmpDir('overlap');

afterEach(() => {
  vi.restoreAllMocks();
  plant.events.length = 0;
  plant.fail = false;
});

function recordOpens(): void {
  const open = Session.open.bind(Session);
  vi.spyOn(Session, 'open').mockImplementation(async (model, opts) => {
    plant.events.push(`open ${opts?.label ?? 'model'}`);
    return open(model, opts);
  });
}

describe('verification overlapping the write check', () => {
  it('the float side opens while the check runs; the quantized model only once it passed', async () => {
    recordOpens();
    const output = path.join(dir, 'ok.onnx');
    const r = await quantize(LENET, { output, data: CALIB, config: { calibCount: 64 }, verify: { latency: false } });
    expect(r.report!.layers!.tensors.length).toBeGreaterThan(0);
    const ev = plant.events;
    const checked = ev.indexOf('checked');
    expect(checked, ev.join(' | ')).toBeGreaterThan(0);
    expect(ev.findIndex((e) => e.startsWith('open float model (instrumented)')), ev.join(' | ')).toBeLessThan(checked);
    const quantOpens = ev.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('open quantized model'));
    expect(quantOpens.length, ev.join(' | ')).toBeGreaterThan(0);
    for (const [, i] of quantOpens) expect(i, ev.join(' | ')).toBeGreaterThan(checked);
  });

  it('a failed check is the error reported; verification stops and nothing is left at the output', async () => {
    recordOpens();
    plant.fail = true;
    const output = path.join(dir, 'bad.onnx');
    await expect(quantize(LENET, { output, data: CALIB, config: { calibCount: 64 }, verify: { latency: false } })).rejects.toThrow(/bad\.onnx: not written: .*planted/);
    expect(fs.existsSync(output)).toBe(false);
    expect(plant.events).toContain('check failed');
    expect(plant.events.some((e) => e.startsWith('open quantized model')), plant.events.join(' | ')).toBe(false);
  });
});
