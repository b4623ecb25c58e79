// qtool sensitivity on a real fixture, checked against models written one by one through quantize().
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrate, quantize, readModel, saveStats, sensitivity, type SensitivityResult } from '../../src/index.js';
import { CALIB, fixture, tmpDir } from '../e2e/helpers.js';
import { qtool } from '../cli/helpers.js';
import { logitsOn, sqnrDb, testDigits } from './helpers.js';

const N = 500;
const dir = tmpDir('sens');
const stats = path.join(dir, 'resnet_mini.stats.json');
const model = fixture('resnet_mini');
let evalDir: { data: string; labels: string };
let r: SensitivityResult;
let floatLogits: Float32Array;

beforeAll(async () => {
  evalDir = testDigits(path.join(dir, 'eval'), N);
  saveStats(await calibrate(model, { data: CALIB }), stats);
  r = await sensitivity(model, { data: CALIB, stats, evalData: evalDir.data, labels: evalDir.labels, fallbacks: ['float'], aloneTrials: false });
  floatLogits = await logitsOn(model, N);
}, 600_000);

describe('sensitivity on resnet_mini (500 held-out digits)', () => {
  it('names every quantized unit by its original node, ranked by recovery', () => {
    const names = new Set(readModel(model).graph.nodes.map((n) => n.name));
    expect(r.units.length).toBeGreaterThanOrEqual(10);
    for (const u of r.units) expect(names.has(u.node), u.node).toBe(true);
    const rec = r.units.map((u) => u.floatRecoveryDb!);
    for (let i = 1; i < rec.length; i++) expect(rec[i - 1]!).toBeGreaterThanOrEqual(rec[i]!);
    expect(r.baseline.sqnrDb).toBeGreaterThan(20);
    expect(r.float.accuracy).toBeGreaterThan(0.95);
  });

  it('the top unit, kept in float, recovers at least as much SQNR as any other single unit (every unit written through quantize())', async () => {
    const measured = new Map<string, number>();
    for (const u of r.units) {
      const out = path.join(dir, `keep-${u.rank}.onnx`);
      await quantize(model, { output: out, stats, overrides: { keepFloat: u.keepFloat } });
      const db = sqnrDb(floatLogits, await logitsOn(out, N));
      measured.set(u.node, db);
      // The in-memory trial is the model quantize() writes.
      expect(db, u.node).toBeCloseTo(u.floatSqnrDb!, 3);
    }
    const top = measured.get(r.units[0]!.node)!;
    const rows = [...measured].map(([n, db]) => `${n.padEnd(36)} ${db.toFixed(3)} dB`);
    console.log(`resnet_mini, one unit in float, logits SQNR on ${N} test digits (full int8 ${r.baseline.sqnrDb.toFixed(3)} dB):\n${rows.join('\n')}`);
    for (const [n, db] of measured) expect(top, `${r.units[0]!.node} vs ${n}`).toBeGreaterThanOrEqual(db);
  }, 600_000);

  it('a unit kept in float leaves its node float and its output without Q/DQ', async () => {
    const u = r.units[0]!;
    const out = path.join(dir, 'keep-top.onnx');
    const res = await quantize(model, { output: out, stats, overrides: { keepFloat: u.keepFloat } });
    expect(res.plan.nodes.find((n) => n.name === u.node)?.status).toBe('float');
    for (const t of u.keepFloat.tensors) expect(res.plan.activations[t]).toBeUndefined();
    expect(res.plan.keepFloat).toEqual(u.keepFloat);
  }, 120_000);
});

describe('qtool sensitivity (CLI)', () => {
  it('prints the ranked table and writes JSON and HTML naming the nodes', () => {
    const json = path.join(dir, 'sens.json');
    const html = path.join(dir, 'sens.html');
    const c = qtool(['sensitivity', fixture('lenet_bn'), '--data', CALIB, '--eval-count', '100', '--report', json, '--report', html, '--quiet']);
    expect(c.code, c.stderr).toBe(0);
    const j = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(j.schema).toBe('qtool.sensitivity');
    expect(j.units.map((u: { node: string }) => u.node)).toContain('/conv1/Conv');
    expect(j.units[0].rank).toBe(1);
    expect(typeof j.units[0].aloneSqnrDb === 'number' || typeof j.units[0].aloneSqnrDb === 'string').toBe(true);
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toContain('/conv2/Conv');
    expect(page).toContain('id="qtool-data"');
    const t = qtool(['sensitivity', fixture('lenet_bn'), '--data', CALIB, '--eval-count', '50', '--fallback', 'float', '--no-alone']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/#\s+node\s+op/);
    expect(t.stdout).toContain('/fc1/Gemm');
  }, 300_000);

  it('bad input: one line, non-zero exit', () => {
    const a = qtool(['sensitivity', fixture('lenet_bn')]);
    expect(a.code).toBe(1);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toMatch(/--data/);
    const b = qtool(['sensitivity', fixture('lenet_bn'), '--data', CALIB, '--mode', 'dynamic']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
  });
});
