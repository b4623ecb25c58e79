// The cases of issue 15, each on real files through the built CLI: a clean one-line error (or a
// correct result), and nothing written at -o or beside it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CALIB, RESNET, cleanup, externalModel, leftovers, oneLine, qtool, readProto, tmpDir, writeProto } from './helpers.js';

afterAll(cleanup);

const QUICK = ['--calib-count', '4', '--no-verify', '--quiet'];

function npy(shape: number[], data: Float32Array): Buffer {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = Buffer.from(`${header}${' '.repeat(pad)}\n`, 'latin1');
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]), h, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** resnet_mini with `edit` applied to its decoded ModelProto, written into a fresh folder. */
function editedResnet(edit: (m: Record<string, any>) => void): { dir: string; model: string } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const dir = tmpDir();
  const m = readProto(RESNET);
  edit(m);
  return { dir, model: writeProto(m, path.join(dir, 'model.onnx')) };
}

function setWeight(name: string, index: number, value: number) {
  return (m: Record<string, any>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const t = m.graph.initializer.find((i: { name: string }) => i.name === name);
    const raw = Buffer.from(t.raw_data);
    raw.writeFloatLE(value, index * 4);
    t.raw_data = raw;
  };
}

describe('1. external data stays inside the model folder', () => {
  it('a symlink beside the model to /etc/passwd is refused by inspect and quantize; nothing is written', () => {
    const dir = tmpDir();
    fs.symlinkSync('/etc/passwd', path.join(dir, 'w.bin'));
    const model = externalModel(dir, 'w.bin', 8);
    expect(oneLine(qtool(['inspect', model]))).toMatch(/w\.bin: external data for tensor 'w' resolves to \/etc\/passwd, outside the model's folder; copy the data file/);
    const out = path.join(dir, 'out.onnx');
    expect(oneLine(qtool(['quantize', model, '--mode', 'weight-only', '-o', out, '--quiet']))).toMatch(/outside the model's folder/);
    expect(leftovers(dir, ['w.bin', 'm.onnx'])).toEqual([]);
  });

  it('a symlink to a file inside the folder is followed (containment is on the resolved path)', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'real.bin'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    fs.symlinkSync('real.bin', path.join(dir, 'w.bin'));
    const r = qtool(['inspect', externalModel(dir, 'w.bin', 8), '--json']);
    expect(r.code).toBe(0);
  });
});

describe('2. length bombs: the dims win, the length must agree, the file must hold it', () => {
  it('length=1e9 at a symlink to /dev/zero is refused without reading', () => {
    const dir = tmpDir();
    fs.symlinkSync('/dev/zero', path.join(dir, 'w.bin'));
    const line = oneLine(qtool(['inspect', externalModel(dir, 'w.bin', 8, [{ key: 'length', value: '1000000000' }])]));
    expect(line).toMatch(/length 1000000000, but its dims and type need 8 bytes|outside the model's folder/);
  });

  it('/dev/zero hard-wired as a device node inside the folder is not a regular file', () => {
    const dir = tmpDir();
    fs.symlinkSync('/dev/zero', path.join(dir, 'w.bin'));
    expect(oneLine(qtool(['inspect', externalModel(dir, 'w.bin', 8)]))).toMatch(/outside the model's folder/);
  });

  for (const length of ['1000000000', String(2 ** 52)]) {
    it(`length=${length} on a small regular file is a mismatch with the dims`, () => {
      const dir = tmpDir();
      fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(8));
      expect(oneLine(qtool(['inspect', externalModel(dir, 'w.bin', 8, [{ key: 'length', value: length }])]))).toMatch(new RegExp(`m\\.onnx: tensor 'w' has external data length ${length}, but its dims and type need 8 bytes; fix the length entry or the dims`));
    });
  }

  it('dims that ask for more than the file holds are refused before allocating', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(8));
    expect(oneLine(qtool(['inspect', externalModel(dir, 'w.bin', 2 ** 31)]))).toMatch(/w\.bin: external data for tensor 'w' is truncated \(wanted 2147483648 bytes at offset 0, the file has 8\)/);
    expect(oneLine(qtool(['inspect', externalModel(dir, 'w.bin', 2 ** 45)]))).toMatch(/tensor 'w' has invalid or too large dims/);
  });

  it('a 30000x30000 PNG is refused from its header, before decoding', () => {
    const dir = tmpDir();
    const calib = path.join(dir, 'calib');
    fs.mkdirSync(calib);
    const chunk = (type: string, data: Buffer) => {
      const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(td));
      return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(30000, 0);
    ihdr.writeUInt32BE(30000, 4);
    ihdr[8] = 8; // 8-bit gray
    const rows = Buffer.alloc(64 * 30001); // the first 64 rows (filter byte + pixels); the rest would inflate later
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
    fs.writeFileSync(path.join(calib, 'bomb.png'), png);
    const out = path.join(dir, 'out.onnx');
    const line = oneLine(qtool(['quantize', RESNET, '--data', calib, '--preprocess', 'resize=28,crop=28,layout=NCHW', '-o', out, ...QUICK]));
    expect(line).toMatch(/bomb\.png: the PNG declares 30000x30000 pixels, over the limit of 100 megapixels; resize the image/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a 2 MB .npz that would inflate to 2 GB is refused before inflating', () => {
    const dir = tmpDir();
    const calib = path.join(dir, 'calib');
    fs.mkdirSync(calib);
    // input [688128, 1, 28, 28] float32 of zeros: 2.01 GiB, deflated as 42 identical full-flush blocks.
    const chunkBytes = 3136 * 16384;
    const header = npy([42 * 16384, 1, 28, 28], new Float32Array(0));
    const deflateSyncFlush = (buf: Buffer): Buffer => zlib.deflateRawSync(buf, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
    const head = deflateSyncFlush(header);
    const zeros = deflateSyncFlush(Buffer.alloc(chunkBytes));
    const stream = Buffer.concat([head, ...Array.from({ length: 42 }, () => zeros), Buffer.from([0x03, 0x00])]);
    let crc = zlib.crc32(header);
    const z = Buffer.alloc(chunkBytes);
    for (let k = 0; k < 42; k++) crc = zlib.crc32(z, crc);
    const size = header.length + 42 * chunkBytes;
    expect(zlib.inflateRawSync(Buffer.concat([head, zeros, Buffer.from([0x03, 0x00])])).length).toBe(header.length + chunkBytes);
    const name = Buffer.from('input.npy');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc >>> 0, 14); local.writeUInt32LE(stream.length, 18); local.writeUInt32LE(size, 22); local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc >>> 0, 16); central.writeUInt32LE(stream.length, 20); central.writeUInt32LE(size, 24); central.writeUInt16LE(name.length, 28);
    const cdOffset = local.length + name.length + stream.length;
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10);
    eocd.writeUInt32LE(central.length + name.length, 12); eocd.writeUInt32LE(cdOffset, 16);
    const file = path.join(calib, 'bomb.npz');
    fs.writeFileSync(file, Buffer.concat([local, name, stream, central, name, eocd]));
    expect(fs.statSync(file).size).toBeLessThan(4 * 2 ** 20);
    const out = path.join(dir, 'out.onnx');
    expect(oneLine(qtool(['quantize', RESNET, '--data', calib, '-o', out, ...QUICK]))).toMatch(/bomb\.npz: member 'input\.npy' declares 2\.0 GiB, over the 2\.0 GiB an archive may inflate to; save smaller arrays/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('3. no hang on a FIFO', () => {
  it('external data pointing at a FIFO is refused at once', () => {
    const dir = tmpDir();
    expect(qtool(['--version']).code).toBe(0);
    const fifo = path.join(dir, 'w.bin');
    expect(spawnFifo(fifo)).toBe(0);
    expect(oneLine(qtool(['inspect', externalModel(dir, 'w.bin', 8)], { timeoutMs: 60_000 }))).toMatch(/w\.bin: external data for tensor 'w' is not a regular file \(a FIFO, device or folder\)/);
  });

  it('a FIFO in the data folder is refused at once', () => {
    const dir = tmpDir();
    const calib = path.join(dir, 'calib');
    fs.mkdirSync(calib);
    fs.writeFileSync(path.join(calib, '0000.npy'), npy([1, 1, 28, 28], new Float32Array(784).fill(0.5)));
    expect(spawnFifo(path.join(calib, '0001.npy'))).toBe(0);
    const out = path.join(dir, 'out.onnx');
    expect(oneLine(qtool(['quantize', RESNET, '--data', calib, '-o', out, ...QUICK], { timeoutMs: 60_000 }))).toMatch(/0001\.npy: not a regular file \(a FIFO\)/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a symlink loop in the data folder is one line', () => {
    const dir = tmpDir();
    const calib = path.join(dir, 'calib');
    fs.mkdirSync(calib);
    fs.symlinkSync('b.npy', path.join(calib, 'a.npy'));
    fs.symlinkSync('a.npy', path.join(calib, 'b.npy'));
    expect(oneLine(qtool(['quantize', RESNET, '--data', calib, '-o', path.join(dir, 'out.onnx'), ...QUICK]))).toMatch(/a\.npy: a symlink loop; remove it/);
  });
});

function spawnFifo(file: string): number | null {
  return spawnSync('mkfifo', [file]).status;
}

describe('4. onnxruntime is guarded', () => {
  it('a weight at 3.4e38 (a native crash in QLinearGlobalAveragePool) is refused before onnxruntime sees a quantized model', () => {
    const { dir, model } = editedResnet(setWeight('layer3.conv2.weight', 0, 3.4e38));
    const out = path.join(dir, 'out.onnx');
    const line = oneLine(qtool(['quantize', model, '--data', CALIB, '-o', out, ...QUICK]));
    expect(line).toMatch(/model\.onnx: .*(3\.40e\+38|Infinity).*(--exclude-nodes|check the data and the weights)/);
    expect(leftovers(dir, ['model.onnx'])).toEqual([]);
  });

  it('QTOOL_ORT_LOG_LEVEL routes onnxruntime\'s own log; by default none of it reaches stderr', () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out.onnx');
    const quiet = qtool(['quantize', RESNET, '--data', CALIB, '-o', out, ...QUICK]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/onnxruntime|\x1b\[/);
    const r = spawnSync(process.execPath, [path.resolve('bin/qtool.js'), 'quantize', RESNET, '--data', CALIB, '-o', out, ...QUICK], { encoding: 'utf8', env: { ...process.env, QTOOL_ORT_LOG_LEVEL: 'verbose' } });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/onnxruntime/);
  });
});

describe('5. nothing is left at -o when the written model fails in onnxruntime', () => {
  // A model whose float original onnxruntime cannot load either (a custom op, an LSTM with
  // layout=1) is not the quantizer's failure: it is written, for the runtime that has the op.
  it('a model onnxruntime cannot load, float original included (unknown op), is still written; nothing else is left', () => {
    const { dir, model } = editedResnet((m) => {
      m.graph.node.push({ op_type: 'NoSuchOp', input: ['logits'], output: ['extra'], name: 'bogus' });
      m.graph.output.push({ name: 'extra', type: { tensor_type: { elem_type: 1 } } });
    });
    const out = path.join(dir, 'out.onnx');
    fs.writeFileSync(out, 'previous');
    const r = qtool(['quantize', model, '--mode', 'dynamic', '-o', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(out).length).toBeGreaterThan(1000);
    expect(leftovers(dir, ['model.onnx', 'out.onnx'])).toEqual([]);
  });
});

describe('6. calibration data sanity', () => {
  for (const [what, value] of [['NaN', NaN], ['±Inf', Infinity]] as const) {
    it(`all-${what} calibration data is an error naming the input`, () => {
      const dir = tmpDir();
      const calib = path.join(dir, 'calib');
      fs.mkdirSync(calib);
      for (let k = 0; k < 4; k++) fs.writeFileSync(path.join(calib, `${k}.npy`), npy([1, 1, 28, 28], new Float32Array(784).fill(k % 2 ? value : -value)));
      const out = path.join(dir, 'out.onnx');
      expect(oneLine(qtool(['quantize', RESNET, '--data', calib, '-o', out, ...QUICK]))).toMatch(new RegExp(`calib: every value of input 'input' across the 4 calibration sample\\(s\\) is ${what === 'NaN' ? 'NaN' : '±Inf'}`));
      expect(fs.existsSync(out)).toBe(false);
    });
  }

  it('constant calibration data gives a warning, not an error', () => {
    const dir = tmpDir();
    const calib = path.join(dir, 'calib');
    fs.mkdirSync(calib);
    for (let k = 0; k < 4; k++) fs.writeFileSync(path.join(calib, `${k}.npy`), npy([1, 1, 28, 28], new Float32Array(784).fill(0.25)));
    const r = qtool(['quantize', RESNET, '--data', calib, '-o', path.join(dir, 'out.onnx'), '--calib-count', '4', '--no-verify']);
    expect(r.code).toBe(0);
    expect((r.stdout + r.stderr).replace(/\n\s+/g, ' ')).toMatch(/input 'input' is constant \(0\.25\) across all 4 calibration sample/);
  });
});

describe('7. no "internal error" for bad input', () => {
  it('raw data whose length is not a multiple of 4', () => {
    const { dir, model } = editedResnet((m) => {
      const t = m.graph.initializer.find((i: { name: string }) => i.name === 'stem.0.weight');
      t.raw_data = t.raw_data.subarray(0, 575);
    });
    expect(oneLine(qtool(['quantize', model, '--data', CALIB, '-o', path.join(dir, 'o.onnx'), ...QUICK]))).toMatch(/model\.onnx: tensor 'stem\.0\.weight' holds 575 bytes of raw data, but float32 \[16,1,3,3\] needs 576/);
    expect(leftovers(dir, ['model.onnx'])).toEqual([]);
  });

  it('an Inf weight', () => {
    const { dir, model } = editedResnet(setWeight('layer1.conv1.weight', 3, Infinity));
    expect(oneLine(qtool(['quantize', model, '--data', CALIB, '-o', path.join(dir, 'o.onnx'), ...QUICK]))).toMatch(/model\.onnx: .*Infinity.*(--exclude-nodes|check the data and the weights)/);
    expect(leftovers(dir, ['model.onnx'])).toEqual([]);
  });

  it('an Inf weight in --mode dynamic', () => {
    const dir = tmpDir();
    const m = readProto(path.resolve('fixtures/mnist/lenet_bn.onnx'));
    setWeight('fc1.weight', 0, Infinity)(m);
    const model = writeProto(m, path.join(dir, 'model.onnx'));
    expect(oneLine(qtool(['quantize', model, '--mode', 'dynamic', '-o', path.join(dir, 'o.onnx'), '--quiet']))).toMatch(/model\.onnx: weight 'fc1\.weight' of node '\/fc1\/Gemm' holds Infinity at index 0.*--exclude-nodes \/fc1\/Gemm/);
    expect(leftovers(dir, ['model.onnx'])).toEqual([]);
  });

  // As root the folder must be read-only for another user (root writes anywhere), and that user
  // must be able to reach the checkout: a clone below a 0700 folder (mktemp -d) is out of its reach.
  const asRoot = process.getuid?.() === 0;
  const nobodyReaches = !asRoot || spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(path.resolve('bin/qtool.js'))}, require('fs').constants.R_OK)`], { uid: 65534, gid: 65534 }).status === 0;
  it.skipIf(!nobodyReaches)('a read-only output folder (skipped when run as root from a checkout user nobody cannot read)', () => {
    const dir = tmpDir();
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(ro, 0o555);
    // root writes anywhere: run as nobody then (the model and data are world-readable).
    const asUser = asRoot ? { uid: 65534, gid: 65534 } : {};
    const r = qtool(['quantize', RESNET, '--data', CALIB, '-o', path.join(ro, 'out.onnx'), ...QUICK], asUser);
    expect(oneLine(r)).toMatch(/ro\/out\.onnx: cannot write: the folder .*ro is not writable \(permission denied\); choose a writable output path with -o/);
    expect(fs.readdirSync(ro)).toEqual([]);
  });
});

describe('8. temp files', () => {
  it('the temp of a run killed with SIGKILL is removed by the next run', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out.onnx');
    const child = spawn(process.execPath, [path.resolve('bin/qtool.js'), 'quantize', RESNET, '--data', CALIB, '-o', out, ...QUICK], { stdio: 'ignore' });
    const tmp = `.out.onnx.${child.pid}.tmp`;
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 6000 && !fs.existsSync(path.join(dir, tmp)); i++) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited;
    expect(fs.readdirSync(dir)).toEqual([tmp]);
    const r = qtool(['quantize', RESNET, '--data', CALIB, '-o', out, ...QUICK]);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['out.onnx']);
  });

  it('SIGTERM during the write removes the temp and leaves nothing at -o', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out.onnx');
    const child = spawn(process.execPath, [path.resolve('bin/qtool.js'), 'quantize', RESNET, '--data', CALIB, '-o', out, ...QUICK], { stdio: 'ignore' });
    const tmp = path.join(dir, `.out.onnx.${child.pid}.tmp`);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    for (let i = 0; i < 6000 && !fs.existsSync(tmp); i++) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('9. inputs onnxruntime cannot load either', () => {
  it('a model whose float original fails in onnxruntime too is written with a not-checked warning, not silently', () => {
    // Fuzz case 144801485: lstm_rows with a Transpose whose required input is the empty name.
    const src = path.resolve('test/robust/fuzz-cases/144801485');
    const dir = tmpDir();
    for (const f of ['model.onnx', 'w.bin']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const out = path.join(dir, 'out.onnx');
    const r = qtool(['quantize', path.join(dir, 'model.onnx'), '--data', path.join(src, 'calib'), '-o', out, '--calib-count', '2', '--no-verify', '--json']);
    expect(r.code).toBe(0);
    expect(fs.existsSync(out)).toBe(true);
    const notes: string[] = JSON.parse(r.stdout).notes;
    const warned = notes.filter((n) => n.includes('cannot load or run the input model either'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('model.onnx');
    // Without --json the same line reaches the terminal.
    const t = qtool(['quantize', path.join(dir, 'model.onnx'), '--data', path.join(src, 'calib'), '-o', path.join(dir, 'out2.onnx'), '--calib-count', '2', '--no-verify']);
    expect(t.code).toBe(0);
    expect(t.stdout + t.stderr).toContain('cannot load or run the input model either');
  });

  it('a model onnxruntime loads and runs gets no such warning', () => {
    const dir = tmpDir();
    const r = qtool(['quantize', RESNET, '--data', CALIB, '-o', path.join(dir, 'out.onnx'), '--calib-count', '4', '--no-verify', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('cannot load or run the input model either');
  });
});
