// Verification in memory, never a silent collapse, and from a bad layer to a fix — on the real
// fixtures with real onnxruntime sessions:
//  - quantize's in-memory verification and `compare(path, path)` on the written files agree;
//  - exposing the integer tensors for the per-layer figures leaves the quantized outputs as they are;
//  - a planted collapse warns (exit 0) with a code naming the output and the worst layer, --strict exits 3;
//  - on resnet_mini the worst row names its original Conv, and the command the report prints keeps
//    that Conv out of the int8 graph.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare, quantize, readModel, renderText, type Report } from '../../src/index.js';
import { instrumentedBytes, readPlanNodes, resolveTensorMap } from '../../src/report/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { Session } from '../../src/runtime/index.js';
import { openDataFolder } from '../../src/data/index.js';
import { CALIB, LENET, PLANTED, calibratedRange, ensureBuilt, mnistTestSplit, qtool, tmpDir } from './helpers.js';

const RESNET = 'fixtures/mnist/resnet_mini.onnx';
const dir = tmpDir('memory');
let split: { data: string; labels: string };

beforeAll(() => {
  ensureBuilt();
  split = mnistTestSplit(dir);
});

/** POSIX shell words of a command line (plain words and '…' quoting, what the report prints). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
  return words;
}

describe('verification in memory', () => {
  it('quantize verifies from memory; compare(path, path) on the written files gives the same figures', async () => {
    const output = path.join(dir, 'resnet.int8.onnx');
    const r = await quantize(RESNET, { output, data: CALIB, config: { calibCount: 64 }, verify: { evalData: split.data, count: 200, latency: false } });
    const fromMemory = r.report!;
    const fromFiles = await compare(RESNET, output, { data: split.data, count: 200, latency: false });
    const figures = (x: Report) => x.layers!.tensors.map((t) => [t.tensor, t.ownSqnrDb, t.accumulatedSqnrDb, t.nodes]);
    expect(fromMemory.layers!.tensors.length).toBeGreaterThan(10);
    expect(figures(fromFiles)).toEqual(figures(fromMemory));
    expect(fromFiles.outputs).toEqual(fromMemory.outputs);
    expect(fromMemory.layers!.passes).toBe(1);
  });

  it('--layer-samples N: per-layer figures over the first N samples, the output metrics still over all of them', async () => {
    const output = path.join(dir, 'resnet.int8.onnx');
    if (!fs.existsSync(output)) await quantize(RESNET, { output, data: CALIB, config: { calibCount: 64 }, verify: false });
    const all = await compare(RESNET, output, { data: split.data, count: 400, latency: false });
    const some = await compare(RESNET, output, { data: split.data, count: 400, latency: false, layerSamples: 24 });
    const first = await compare(RESNET, output, { data: split.data, count: 24, latency: false });
    expect(all.layers!.samples).toBe(400);
    expect(some.layers!.samples).toBe(24);
    expect(some.outputs).toEqual(all.outputs);
    // The per-layer figures are exactly those of an evaluation on the first 24 samples alone.
    const figures = (x: Report) => x.layers!.tensors.map((t) => [t.tensor, t.elements, t.ownSqnrDb, t.accumulatedSqnrDb, t.clippedFraction]);
    expect(figures(some)).toEqual(figures(first));
    expect(figures(some)).not.toEqual(figures(all));
    expect(renderText(some)).toContain('over the first 24 of 400 samples');
    expect(renderText(all)).not.toContain('of 400 samples');
  });

  it('exposing the integer tensors leaves the quantized outputs bit for bit as the unmodified model gives them', async () => {
    const output = path.join(dir, 'resnet.int8.onnx');
    const quant = readModel(output);
    const float = readModel(RESNET);
    prepareModel(float);
    const targets = resolveTensorMap(quant, float.graph).targets;
    expect(targets.filter((t) => t.fetch).length).toBe(targets.length);
    const src = await openDataFolder(split.data, { inputs: float.graph.feedInputs(), count: 64, batchSize: 32 });
    const logits = async (bytes: Uint8Array | string) => {
      const s = await Session.open(bytes, { threads: 2 });
      const out: number[] = [];
      for await (const b of src.batches()) out.push(...(await s.run(b, ['logits'])).logits!.data as Float32Array);
      await s.close();
      return out;
    };
    expect(await logits(instrumentedBytes(quant, targets.map((t) => t.fetch!)))).toEqual(await logits(output));
    // the float side's exposed tensors only change onnxruntime's float rounding
    const withLayers = await compare(RESNET, output, { data: split.data, count: 200, latency: false });
    const plain = await compare(RESNET, output, { data: split.data, count: 200, latency: false, perLayer: false });
    expect(withLayers.outputs[0]!.sqnrDb).toBeCloseTo(plain.outputs[0]!.sqnrDb, 3);
  });
});

describe('latency on the evaluation sessions', () => {
  it('latency times the model files when the evaluation sessions expose compared tensors, and reuses plain evaluation sessions (3 to 5 rounds per batch size)', async () => {
    const output = path.join(dir, 'latency.int8.onnx');
    await quantize(LENET, { output, data: CALIB, verify: false });
    const latency = { batchSizes: [1, 8] };
    const layered = await compare(LENET, output, { data: CALIB, count: 16, latency });
    const grouped = await compare(LENET, output, { data: CALIB, count: 16, layerBudgetBytes: 1, latency });
    const plain = await compare(LENET, output, { data: CALIB, count: 16, perLayer: false, latency });
    expect(layered.layers!.passes).toBe(1);
    expect(grouped.layers!.passes).toBeGreaterThan(1);
    for (const r of [layered, grouped]) expect(r.latency!.sessions).toBe('files');
    expect(plain.latency!.sessions).toBe('evaluation');
    expect(plain.latency!.note).toMatch(/sessions of the evaluation pass/);
    for (const l of [layered.latency!, grouped.latency!, plain.latency!]) {
      expect(l.results.map((r) => r.batch)).toEqual([1, 8]);
      for (const r of l.results) {
        expect(r.rounds).toBeGreaterThanOrEqual(3);
        expect(r.rounds).toBeLessThanOrEqual(5);
        expect(r.floatMs).toBeGreaterThan(0);
        expect(r.speedup).toBeCloseTo(r.floatMs / r.quantizedMs, 12);
      }
    }
    // The same figures either way: latency does not touch the metrics.
    expect(grouped.outputs[0]!.sqnrDb).toBeCloseTo(layered.outputs[0]!.sqnrDb, 9);
    expect(plain.outputs[0]!.sqnrDb).toBeCloseTo(layered.outputs[0]!.sqnrDb, 9);
  });
});

describe('never a silent collapse', () => {
  let overrides: string;
  beforeAll(async () => {
    const [lo, hi] = await calibratedRange(dir, PLANTED);
    overrides = path.join(dir, 'collapse.overrides.json');
    fs.writeFileSync(overrides, JSON.stringify({ activations: { [PLANTED]: { range: [lo / 10, hi / 10] } } }));
  });
  const args = (out: string) => ['quantize', LENET, '-o', path.join(dir, out), '--data', CALIB, '--algo', 'minmax', '--overrides', overrides, '--no-latency', '--json'];

  it('a collapsed output: exit 0, a coded warning naming the output, the worst layer and what to try', () => {
    const r = qtool(args('collapse.onnx'));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const w = summary.verification.warnings.find((x: { code: string }) => x.code === 'output-sqnr-low');
    expect(w, JSON.stringify(summary.verification.warnings)).toBeDefined();
    expect(w.message).toMatch(/output 'logits'/);
    expect(w.message).toContain(PLANTED);
    expect(w.message).toMatch(/--exclude-nodes \S+/);
    expect(summary.verification.worstLayers[0].tensor).toBe(PLANTED);
    // loud: on stderr too
    expect(r.stderr).toMatch(/qtool: WARNING: output 'logits' collapsed/);
  });

  it('--strict: the same run exits 3 and still writes the model', () => {
    const out = path.join(dir, 'collapse-strict.onnx');
    const r = qtool([...args('collapse-strict.onnx'), '--strict']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/--strict: output 'logits' collapsed/);
    expect(fs.existsSync(out)).toBe(true);
  });

  it('a healthy run has no collapse warning; the thresholds are options', async () => {
    const r = await quantize(LENET, { output: path.join(dir, 'healthy.onnx'), data: CALIB, verify: { latency: false, perLayer: false } });
    expect(r.report!.warnings.map((w) => w.code)).not.toContain('output-sqnr-low');
    const strictThresholds = await quantize(LENET, { output: path.join(dir, 'healthy2.onnx'), data: CALIB, verify: { latency: false, perLayer: false, collapse: { minSqnrDb: 200 } } });
    expect(strictThresholds.report!.warnings.map((w) => w.code)).toContain('output-sqnr-low');
  });
});

describe('from a bad layer to a fix', () => {
  it('resnet_mini: the worst row names its original Conv; the printed command keeps it out of int8', () => {
    const out = path.join(dir, 'fix.onnx');
    const reportFile = path.join(dir, 'fix.json');
    const r = qtool(['quantize', RESNET, '-o', out, '--data', CALIB, '--calib-count', '64', '--no-latency', '--report', reportFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
    const worst = report.layers!.tensors[0]!;
    const original = readModel(RESNET).graph;
    const node = original.nodes.find((n) => n.name === worst.nodes.producers[0]);
    expect(node?.opType, JSON.stringify(worst.nodes)).toBe('Conv');
    for (const c of worst.nodes.consumers) expect(original.nodes.some((n) => n.name === c)).toBe(true);
    const s = report.suggestion!;
    expect(s.nodes[0]).toBe(node!.name);
    const words = shellWords(s.excludeCommand);
    expect(words.slice(0, 2)).toEqual(['qtool', 'quantize']);
    expect(words).toContain('--exclude-nodes');
    // the report ends with that command in every format
    expect(fs.existsSync(reportFile)).toBe(true);
    const again = spawnSync(process.execPath, [path.resolve('bin/qtool.js'), ...words.slice(1)], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    const fixed = readModel(out);
    const conv = fixed.graph.nodes.find((n) => n.name === node!.name)!;
    expect(conv.opType).toBe('Conv');
    // its weight is a float initializer, not a DequantizeLinear output, and the plan says float
    expect(fixed.graph.producerOf(conv.inputs[1]!)).toBeUndefined();
    expect(fixed.graph.constantOf(conv.inputs[1]!)?.dtype).toBe(1);
    expect(readPlanNodes(fixed)!.find((n) => n.name === node!.name)!.status).toBe('float');
  });
});
