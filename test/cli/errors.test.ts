import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qtool } from './helpers.js';


describe('qtool CLI errors', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-cli-'));
  it('missing file: one line naming the file, exit 1, no stack', () => {
    const r = qtool(['inspect', path.join(tmp, 'nope.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nope\.onnx: file not found/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
  it('truncated file: names the file and the problem', () => {
    const f = path.join(tmp, 'trunc.onnx');
    fs.writeFileSync(f, fs.readFileSync('fixtures/mnist/lenet_bn.onnx').subarray(0, 5000));
    const r = qtool(['inspect', f]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('trunc.onnx');
    expect(r.stderr).toMatch(/truncated or corrupt/);
  });
  it('non-ONNX file is refused; --debug shows the stack', () => {
    const f = path.join(tmp, 'notes.onnx');
    fs.writeFileSync(f, 'hello, this is not a model\n');
    const r = qtool(['inspect', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('notes.onnx');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const d = qtool(['inspect', f, '--debug']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/\n\s+at /);
  });
  it('usage errors exit 2', () => {
    expect(qtool(['inspect']).code).toBe(2);
    expect(qtool(['frobnicate']).code).toBe(2);
    expect(qtool(['inspect', 'a', 'b']).code).toBe(2);
  });
  it('inspect --json prints one JSON object as the last line', () => {
    const r = qtool(['inspect', 'fixtures/mnist/lenet_bn.onnx', '--json']);
    expect(r.code).toBe(0);
    const last = r.stdout.trim().split('\n').pop()!;
    const j = JSON.parse(last);
    expect(j.opHistogram.Conv).toBe(2);
    expect(j.irVersion).toBeDefined();
  });
});
