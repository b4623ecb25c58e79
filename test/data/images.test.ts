import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, it, expect } from 'vitest';
import { openDataFolder, parsePreprocess, type PreprocessSpec } from '../../src/data/index.js';
import { DataType, type ValueInfo } from '../../src/ir/index.js';
import { collect, errorOf, tmpDir } from './helpers.js';

type Pixel = (x: number, y: number) => [number, number, number];

function rgba(w: number, h: number, px: Pixel): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set([...px(x, y), 255], 4 * (y * w + x));
  }
  return data;
}
function writePng(file: string, w: number, h: number, px: Pixel): void {
  const png = new PNG({ width: w, height: h });
  rgba(w, h, px).copy(png.data);
  fs.writeFileSync(file, PNG.sync.write(png));
}
function input(shape: (number | string)[]): ValueInfo {
  return { name: 'img', elemType: DataType.FLOAT, shape };
}
async function sample(dir: string, inp: ValueInfo, preprocess?: PreprocessSpec) {
  const [batch, ...rest] = await collect(await openDataFolder(dir, { inputs: [inp], preprocess }));
  expect(rest).toHaveLength(0);
  return { dims: batch!.img!.dims, data: batch!.img!.data as Float32Array };
}

// Distinct per-channel values: R = 10x + y, G = 100 + 20y + x, B = 250 - 30x - y.
const PX: Pixel = (x, y) => [10 * x + y, 100 + 20 * y + x, 250 - 30 * x - y];

describe('parsePreprocess', () => {
  it('parses every key', () => {
    expect(parsePreprocess('resize=256, crop=224,mean=0.485;0.456;0.406,std=0.229;0.224;0.225,layout=nhwc,order=BGR,scale=255')).toEqual({
      resize: 256, crop: [224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'NHWC', order: 'BGR', scale: 255,
    });
    expect(parsePreprocess('resize=224x320,crop=200x300')).toEqual({ resize: [224, 320], crop: [200, 300] });
  });

  it('names the key of an invalid entry', () => {
    expect(() => parsePreprocess('resize=256,size=3')).toThrow("--preprocess: unknown key 'size'; known keys: resize, crop, mean, std, scale, layout, order");
    expect(() => parsePreprocess('crop=22.5')).toThrow("--preprocess: crop: '22.5' is not a positive whole number of pixels");
    expect(() => parsePreprocess('mean=0.5;x')).toThrow("--preprocess: mean: 'x' is not a number");
    expect(() => parsePreprocess('std=0.2;0')).toThrow('--preprocess: std: a standard deviation of 0 divides by zero');
    expect(() => parsePreprocess('layout=CHW')).toThrow("--preprocess: layout: 'CHW' is not one of NCHW, NHWC");
    expect(() => parsePreprocess('order=RGB,order=BGR')).toThrow('--preprocess: order: given twice');
    expect(() => parsePreprocess('scale')).toThrow('--preprocess: scale: no value');
    expect(() => parsePreprocess('scale=-1')).toThrow("--preprocess: scale: '-1' is not a positive number");
  });
});

describe('PNG images', () => {
  it('applies scale, mean and std per channel in NCHW', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 4, 2, PX);
    const mean = [0.5, 0.4, 0.3], std = [0.2, 0.25, 0.5];
    const { dims, data } = await sample(dir, input(['N', 3, 2, 4]), parsePreprocess('mean=0.5;0.4;0.3,std=0.2;0.25;0.5,layout=NCHW,scale=255'));
    expect(dims).toEqual([1, 3, 2, 4]);
    for (const [x, y] of [[0, 0], [3, 1], [2, 0]] as const) {
      for (let c = 0; c < 3; c++) {
        expect(data[c * 8 + y * 4 + x]).toBeCloseTo((PX(x, y)[c]! / 255 - mean[c]!) / std[c]!, 5);
      }
    }
  });

  it('puts channels last in NHWC and reverses them for BGR', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 4, 2, PX);
    const { dims, data } = await sample(dir, input(['N', 2, 4, 3]), parsePreprocess('order=BGR,scale=1,mean=1;2;3'));
    expect(dims).toEqual([1, 2, 4, 3]);
    const [r, g, b] = PX(3, 1);
    expect(Array.from(data.subarray((1 * 4 + 3) * 3, (1 * 4 + 3) * 3 + 3))).toEqual([b - 1, g - 2, r - 3]);
  });

  it('resizes the shorter side with bilinear filtering (2x down = 2x2 block means)', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 8, 4, PX);
    const { dims, data } = await sample(dir, input(['N', 3, 'h', 'w']), parsePreprocess('resize=2,scale=1'));
    expect(dims).toEqual([1, 3, 2, 4]);
    const block = (bx: number, by: number, c: number) =>
      [0, 1].flatMap((dy) => [0, 1].map((dx) => PX(2 * bx + dx, 2 * by + dy)[c]!)).reduce((a, b) => a + b) / 4;
    for (const [bx, by] of [[0, 0], [3, 1], [1, 1]] as const) {
      for (let c = 0; c < 3; c++) expect(data[c * 8 + by * 4 + bx]).toBeCloseTo(block(bx, by, c), 4);
    }
  });

  it('center-crops after resizing', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 6, 4, PX);
    const { dims, data } = await sample(dir, input(['N', 3, 2, 2]), parsePreprocess('crop=2,scale=1'));
    expect(dims).toEqual([1, 3, 2, 2]);
    // top = (4-2)/2 = 1, left = (6-2)/2 = 2
    expect(Array.from(data.subarray(0, 4))).toEqual([PX(2, 1)[0], PX(3, 1)[0], PX(2, 2)[0], PX(3, 2)[0]]);
  });

  it('converts to gray (ITU-R 601) for a 1-channel input', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 4, 4, PX);
    const { dims, data } = await sample(dir, input(['N', 1, 2, 2]), parsePreprocess('resize=2x2'));
    expect(dims).toEqual([1, 1, 2, 2]);
    const luma = (x: number, y: number) => {
      const [r, g, b] = PX(x, y);
      return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    };
    const block = (luma(2, 2) + luma(3, 2) + luma(2, 3) + luma(3, 3)) / 4;
    expect(data[3]).toBeCloseTo(block / 255, 6);
  });

  it('feeds a real-looking 8-bit gray digit at 56x56 to a 28x28 model with resize=28x28', async () => {
    const dir = tmpDir();
    const ink = (x: number, y: number): [number, number, number] => {
      const v = Math.abs(x - 28) < 6 ? 255 : (x * 3 + y) % 64;
      return [v, v, v];
    };
    writePng(path.join(dir, '7.png'), 56, 56, ink);
    const { dims, data } = await sample(dir, input(['N', 1, 28, 28]), parsePreprocess('resize=28x28'));
    expect(dims).toEqual([1, 1, 28, 28]);
    const expect2x2 = (x: number, y: number) => [0, 1].flatMap((dy) => [0, 1].map((dx) => ink(2 * x + dx, 2 * y + dy)[0])).reduce((a, b) => a + b) / 4 / 255;
    for (const [x, y] of [[14, 3], [0, 0], [27, 27], [5, 20]] as const) expect(data[y * 28 + x]).toBeCloseTo(expect2x2(x, y), 6);
  });

  it('reports images whose result does not fit the input, and inputs without a fixed size', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 32, 32, PX);
    expect(await errorOf(() => sample(dir, input(['N', 3, 28, 28]), parsePreprocess('resize=30')))).toBe(
      `${path.join(dir, 'a.png')}: input 'img' expects float32 [N,3,28,28], found float32 [3,30,30]`,
    );
    expect(await errorOf(() => sample(dir, input(['N', 3, 'h', 'w']), parsePreprocess('scale=255')))).toBe(
      "input 'img' [N,3,h,w] has no fixed height and width; add resize= and crop= to --preprocess",
    );
    expect(await errorOf(() => sample(dir, input(['N', 1, 28, 28]), parsePreprocess('mean=0.1;0.2;0.3')))).toBe(
      "--preprocess: mean: 3 values, but input 'img' takes 1 channel",
    );
    expect(await errorOf(() => sample(dir, input(['N', 5, 28, 28]), parsePreprocess('scale=255')))).toMatch(/cannot tell where the channel dim is; add layout=NCHW/);
    expect(await errorOf(() => sample(dir, input(['N', 3, 28, 28]), parsePreprocess('crop=40')))).toMatch(/a\.png: crop 40x40 is larger than the 32x32 image/);
  });
});

describe('JPEG images', () => {
  it('decodes, normalises and lays out as the spec says', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'a.jpg');
    fs.writeFileSync(file, jpeg.encode({ width: 8, height: 8, data: rgba(8, 8, (x, y) => [16 * x, 16 * y, 200]) }, 95).data);
    // The reference pixels are the decoder's own (JPEG is lossy); the maths on them is ours.
    const ref = jpeg.decode(fs.readFileSync(file), { useTArray: true });
    const { dims, data } = await sample(dir, input(['N', 8, 8, 3]), parsePreprocess('layout=NHWC,order=BGR,mean=0.4;0.5;0.6,std=0.1;0.2;0.3'));
    expect(dims).toEqual([1, 8, 8, 3]);
    const mean = [0.4, 0.5, 0.6], std = [0.1, 0.2, 0.3];
    for (const [x, y] of [[0, 0], [5, 2], [7, 7]] as const) {
      const p = 4 * (y * 8 + x);
      const bgr = [ref.data[p + 2]!, ref.data[p + 1]!, ref.data[p]!];
      for (let k = 0; k < 3; k++) expect(data[(y * 8 + x) * 3 + k]).toBeCloseTo((bgr[k]! / 255 - mean[k]!) / std[k]!, 5);
    }
    expect(Math.abs(ref.data[4 * (2 * 8 + 5)]! - 80)).toBeLessThan(8);
  });

  it('counts images without decoding them and mixes .png with .jpg', async () => {
    const dir = tmpDir();
    writePng(path.join(dir, 'a.png'), 4, 4, PX);
    fs.writeFileSync(path.join(dir, 'b.JPG'), jpeg.encode({ width: 4, height: 4, data: rgba(4, 4, PX) }, 90).data);
    const src = await openDataFolder(dir, { inputs: [input(['N', 3, 4, 4])], batchSize: 2, preprocess: parsePreprocess('scale=255') });
    expect(src.sampleCount).toBe(2);
    const [batch] = await collect(src);
    expect(batch!.img!.dims).toEqual([2, 3, 4, 4]);
  });
});
