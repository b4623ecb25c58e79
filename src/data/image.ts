// PNG/JPEG → one float32 sample, following an ImagePlan (preprocess.ts).
// Pipeline: decode to 8-bit RGB (alpha dropped) → gray if 1 channel → bilinear resize →
// center crop → x/scale → (x − mean)/std → channel order → layout. Resizing uses half-pixel
// centres without antialiasing (OpenCV INTER_LINEAR, onnx Resize linear/half_pixel), on float
// values without rounding back to 8 bits, so results can differ slightly from PIL's.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserInputError } from '../errors.js';
import type { ImagePlan } from './preprocess.js';
import { readRegularFile } from './read.js';
import { MAX_IMAGE_PIXELS } from '../limits.js';

/** Channel planes of equal size, values 0..255. */
interface Planes {
  width: number;
  height: number;
  planes: Float32Array[];
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/** Width × height from a PNG's IHDR (the first chunk, bytes 16..23), checked before decoding allocates. */
function checkPngSize(bytes: Uint8Array, file: string): void {
  if (bytes.byteLength < 24) throw new UserInputError(`${file}: truncated PNG (no image header)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = v.getUint32(16), h = v.getUint32(20);
  if (w * h > MAX_IMAGE_PIXELS) {
    throw new UserInputError(`${file}: the PNG declares ${w}x${h} pixels, over the limit of ${MAX_IMAGE_PIXELS / 1e6} megapixels; resize the image before calibrating`);
  }
}

function decodeRgba(bytes: Uint8Array, file: string): { width: number; height: number; data: Uint8Array } {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) checkPngSize(bytes, file);
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
  } catch (e) {
    throw new UserInputError(`${file}: cannot decode the image (${(e as Error).message})`, 1, { cause: e });
  }
  throw new UserInputError(`${file}: not a PNG or JPEG image`);
}

/** RGB planes, or one luma plane (ITU-R 601 in PIL's fixed-point form, exact for gray images). */
function toPlanes(img: { width: number; height: number; data: Uint8Array }, channels: 1 | 3): Planes {
  const n = img.width * img.height;
  const d = img.data;
  const planes = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const r = d[4 * i]!, g = d[4 * i + 1]!, b = d[4 * i + 2]!;
    if (channels === 1) {
      planes[0]![i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    } else {
      planes[0]![i] = r;
      planes[1]![i] = g;
      planes[2]![i] = b;
    }
  }
  return { width: img.width, height: img.height, planes };
}

/** Source coordinate taps for half-pixel bilinear sampling along one axis. */
function taps(outSize: number, inSize: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize), f = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const s = Math.min(Math.max((o + 0.5) * (inSize / outSize) - 0.5, 0), inSize - 1);
    i0[o] = Math.floor(s);
    i1[o] = Math.min(i0[o]! + 1, inSize - 1);
    f[o] = s - i0[o]!;
  }
  return { i0, i1, f };
}

function resize(p: Planes, outH: number, outW: number): Planes {
  if (outH === p.height && outW === p.width) return p;
  const ys = taps(outH, p.height), xs = taps(outW, p.width);
  const planes = p.planes.map((src) => {
    const out = new Float32Array(outH * outW);
    for (let y = 0; y < outH; y++) {
      const r0 = ys.i0[y]! * p.width, r1 = ys.i1[y]! * p.width, fy = ys.f[y]!;
      for (let x = 0; x < outW; x++) {
        const a = xs.i0[x]!, b = xs.i1[x]!, fx = xs.f[x]!;
        const top = src[r0 + a]! + (src[r0 + b]! - src[r0 + a]!) * fx;
        const bot = src[r1 + a]! + (src[r1 + b]! - src[r1 + a]!) * fx;
        out[y * outW + x] = top + (bot - top) * fy;
      }
    }
    return out;
  });
  return { width: outW, height: outH, planes };
}

/** Target [height, width] of a resize: exact, or the shorter side (torchvision's int(s·long/short)). */
function resizeTarget(r: number | readonly [number, number], h: number, w: number): [number, number] {
  if (typeof r !== 'number') return [r[0], r[1]];
  return h <= w ? [r, Math.floor((r * w) / h)] : [Math.floor((r * h) / w), r];
}

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop offsets). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

function crop(p: Planes, ch: number, cw: number, file: string): Planes {
  if (ch > p.height || cw > p.width) {
    throw new UserInputError(`${file}: crop ${ch}x${cw} is larger than the ${p.height}x${p.width} image (after resize); resize it larger or crop smaller`);
  }
  const top = roundHalfEven((p.height - ch) / 2), left = roundHalfEven((p.width - cw) / 2);
  const planes = p.planes.map((src) => {
    const out = new Float32Array(ch * cw);
    for (let y = 0; y < ch; y++) out.set(src.subarray((top + y) * p.width + left, (top + y) * p.width + left + cw), y * cw);
    return out;
  });
  return { width: cw, height: ch, planes };
}

/** Normalises, orders and lays out planes into one sample; dims exclude the batch dim. */
function pack(p: Planes, plan: ImagePlan): { dims: number[]; data: Float32Array } {
  const planes = plan.order === 'BGR' && p.planes.length === 3 ? [...p.planes].reverse() : p.planes;
  const n = p.width * p.height, c = planes.length;
  const data = new Float32Array(n * c);
  const nchw = plan.layout === 'NCHW';
  planes.forEach((src, k) => {
    const mean = plan.mean[k]!, std = plan.std[k]!;
    for (let i = 0; i < n; i++) data[nchw ? k * n + i : i * c + k] = (src[i]! / plan.scale - mean) / std;
  });
  return { dims: nchw ? [c, p.height, p.width] : [p.height, p.width, c], data };
}

/** One preprocessed sample from an image file. */
export async function loadImage(file: string, plan: ImagePlan): Promise<{ dims: number[]; data: Float32Array }> {
  const bytes = readRegularFile(file);
  let p = toPlanes(decodeRgba(bytes, file), plan.channels);
  if (plan.resize !== undefined) p = resize(p, ...resizeTarget(plan.resize, p.height, p.width));
  if (plan.crop) p = crop(p, plan.crop[0], plan.crop[1], file);
  return pack(p, plan);
}
