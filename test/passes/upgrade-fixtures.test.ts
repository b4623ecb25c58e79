// Opset conversion on the real fixture models, through the command line and through quantize.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantize, readModel, writeModel } from '../../src/index.js';
import { Node, makeAttr } from '../../src/ir/index.js';
import { CALIB, fixture, logits, sqnr, tmpDir, top1 } from '../e2e/helpers.js';
import { qtool } from '../cli/helpers.js';

const dir = tmpDir('upgrade-fixtures');

/** The fixture declared at an older opset (valid there: its ops mean the same at `opset`). */
function atOpset(name: string, opset: number, edit?: (m: ReturnType<typeof readModel>) => void): string {
  const m = readModel(fixture(name));
  m.opsets = [{ domain: '', version: opset }];
  edit?.(m);
  const file = path.join(dir, `${name}-${opset}.onnx`);
  writeModel(m, file);
  return file;
}

describe('qtool upgrade on the fixtures', () => {
  it('vit_mini at opset 11 (Softmax, Slice, ReduceMean) → 13 and 21: logits on 2,000 MNIST digits equal the original', async () => {
    const src = atOpset('vit_mini', 11);
    const want = await logits(fixture('vit_mini'));
    for (const to of [13, 21]) {
      const out = path.join(dir, `vit-${to}.onnx`);
      const r = qtool(['upgrade', src, '--opset', String(to), '-o', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
      expect(summary.from).toBe(11);
      expect(summary.to).toBe(to);
      const m = readModel(out);
      expect(m.opsets.find((o) => o.domain === '')!.version).toBe(to);
      if (to === 21) expect(m.graph.nodes.filter((n) => n.opType === 'ReduceMean').every((n) => n.inputs.length === 2 && !n.attr('axes'))).toBe(true);
      const got = await logits(out);
      expect(sqnr(want, got)).toBeGreaterThan(120);
      expect(top1(got)).toBe(top1(want));
    }
  });

  it('refuses with one line naming the file, op and opset; never writes', () => {
    const src = atOpset('lenet_bn', 10, (m) => {
      const g = m.graph;
      const out = g.outputs[0]!.name;
      const last = g.producerOf(out)!;
      g.setNodeOutput(last, 0, 'pre');
      // Scales fed at run time: Resize-10's rounding (floor up, ceil down) cannot be stated at 11.
      g.inputs.push({ name: 'scales', elemType: 1, shape: [2] });
      g.addNode(new Node({ name: 'up', opType: 'Resize', inputs: ['pre', 'scales'], outputs: [out], attributes: [makeAttr.string('mode', 'nearest')] }));
    });
    const out = path.join(dir, 'refused.onnx');
    const r = qtool(['upgrade', src, '--opset', '13', '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/lenet_bn-10\.onnx: cannot convert the model to opset 13: Resize 'up' \(opset 10 → 11\)/);
    expect(qtool(['upgrade', src, '--opset', '22', '-o', out]).code).toBe(2);
    expect(() => readModel(out)).toThrow();
  });

  it('inspect flags the ops that need an adapter', () => {
    const src = atOpset('lenet_bn', 7, (m) => {
      const g = m.graph;
      const out = g.outputs[0]!.name;
      g.setNodeOutput(g.producerOf(out)!, 0, 'pre');
      g.addNode(new Node({ name: 'sm', opType: 'Softmax', inputs: ['pre'], outputs: [out] }));
    });
    const r = qtool(['inspect', src]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/upgrade +opset 7 → 21/);
    expect(r.stdout).toMatch(/BatchNormalization +→ 9 +×2/);
    expect(r.stdout).toMatch(/Softmax +→ 13 +×1/);
  });
});

describe('quantize upgrades old models itself', () => {
  it('lenet_bn at opset 7 with a Softmax(axis 1) head quantizes per-channel (opset 7 → 13) with the accuracy of the original', async () => {
    const src = atOpset('lenet_bn', 7, (m) => {
      const g = m.graph;
      const out = g.outputs[0]!.name;
      g.setNodeOutput(g.producerOf(out)!, 0, 'pre');
      g.addNode(new Node({ name: 'sm', opType: 'Softmax', inputs: ['pre'], outputs: [out] }));
    });
    const r = await quantize(src, { output: path.join(dir, 'lenet7.int8.onnx'), data: CALIB, config: { calibCount: 50 } });
    expect(r.notes.join('\n')).toMatch(/opset upgraded from 7 to 13 for per-channel.*BatchNormalization→9|opset upgraded from 7 to 13 for per-channel.*Softmax→13/);
    const m = readModel(r.output);
    expect(m.opsets.find((o) => o.domain === '')!.version).toBe(13);
    expect(m.graph.nodes.some((n) => n.opType === 'DequantizeLinear' && n.attr('axis'))).toBe(true);
    const ref = await quantize(fixture('lenet_bn'), { output: path.join(dir, 'lenet13.int8.onnx'), data: CALIB, config: { calibCount: 50 } });
    // The Softmax keeps the ranking: top-1 of the probabilities equals top-1 of the logits.
    expect(Math.abs(top1(await logits(r.output)) - top1(await logits(ref.output)))).toBeLessThanOrEqual(0.2);
  });
});
