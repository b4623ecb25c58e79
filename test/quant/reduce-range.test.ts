// ort-cpu-novnni's 7-bit weights guard onnxruntime's u8×s8 kernels; a layer whose input is a 16-bit
// activation never runs in them (the CPU provider dequantizes it and runs float), so its int8
// weights keep the full range.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel } from '../../src/index.js';
import { DataType } from '../../src/ir/index.js';
import { CALIB, fixture, tmpDir } from '../e2e/helpers.js';

const dir = tmpDir('reduce-range');

/** Largest |integer| of every int8 weight initializer of the written model (127: full range; 63/64: reduced). */
async function weightMaxima(activationType: 'uint8' | 'int16', target: 'ort-cpu' | 'ort-cpu-novnni'): Promise<number[]> {
  const r = await quantize(fixture('lenet_bn'), {
    output: path.join(dir, `${activationType}-${target}.onnx`), data: CALIB,
    config: { calibCount: 32, activationType, target }, verify: false,
  });
  const out: number[] = [];
  const g = readModel(r.output).graph;
  // The integers a DequantizeLinear reads as its x (not its zero points).
  const xs = new Set(g.nodes.filter((n) => n.opType === 'DequantizeLinear').map((n) => n.inputs[0]!));
  for (const t of g.initializers.values()) {
    if (t.dtype !== DataType.INT8 || t.size < 64 || !xs.has(t.name)) continue;
    const q = new Int8Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength));
    out.push(Math.max(...Array.from(q, Math.abs)));
  }
  return out;
}

describe('reduced weight range (ort-cpu-novnni)', () => {
  it('applies to layers with 8-bit inputs and not to layers with 16-bit inputs', async () => {
    const reduced = await weightMaxima('uint8', 'ort-cpu-novnni');
    const full = await weightMaxima('uint8', 'ort-cpu');
    const wide = await weightMaxima('int16', 'ort-cpu-novnni');
    expect(reduced.length).toBeGreaterThanOrEqual(3);
    for (const m of reduced) expect(m).toBeLessThanOrEqual(64);
    for (const m of [...full, ...wide]) expect(m).toBe(127);
    expect(wide.length).toBe(reduced.length);
  });
});
