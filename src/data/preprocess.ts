// The --preprocess spec for image folders, and the plan it resolves to for one model input.
//
//   resize=256        shorter side to 256, aspect kept (torchvision Resize(256))
//   resize=224x320    exactly height 224, width 320
//   crop=224 | 224x224  center crop, height x width
//   scale=255         divide pixel values (0..255) by this first (default 255)
//   mean=0.485;0.456;0.406, std=0.229;0.224;0.225
//                     then (x - mean) / std per channel, listed in the model's channel order
//                     (after order= is applied); one value applies to every channel
//   layout=NCHW|NHWC  where the channel dim sits (default: inferred from the input shape)
//   order=RGB|BGR     channel order (default RGB)
// Grayscale (ITU-R 601 luma, as PIL's convert('L')) is used when the input has 1 channel.
import { UserInputError } from '../errors.js';
import type { ValueInfo } from '../ir/index.js';
import { formatDims } from './arrays.js';

export type ImageLayout = 'NCHW' | 'NHWC';
export type ChannelOrder = 'RGB' | 'BGR';

export interface PreprocessSpec {
  /** A number: the shorter side, aspect kept; a pair: exact [height, width]. */
  readonly resize?: number | readonly [number, number];
  /** Center crop [height, width]. */
  readonly crop?: readonly [number, number];
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  readonly scale?: number;
  readonly layout?: ImageLayout;
  readonly order?: ChannelOrder;
}

/** A spec resolved against one model input: every choice made. */
export interface ImagePlan {
  readonly resize?: number | readonly [number, number];
  readonly crop?: readonly [number, number];
  readonly channels: 1 | 3;
  /** Per output channel, in output order. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly scale: number;
  readonly layout: ImageLayout;
  readonly order: ChannelOrder;
}

const KEYS = ['resize', 'crop', 'mean', 'std', 'scale', 'layout', 'order'] as const;
type Key = (typeof KEYS)[number];

function bad(key: string, why: string): UserInputError {
  return new UserInputError(`--preprocess: ${key}: ${why}`);
}

function positiveInt(key: string, s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n <= 0) throw bad(key, `'${s}' is not a positive whole number of pixels`);
  return n;
}

function size(key: string, s: string): [number, number] {
  const parts = s.split('x');
  if (parts.length === 1) return [positiveInt(key, s), positiveInt(key, s)];
  if (parts.length !== 2) throw bad(key, `'${s}' is neither N nor HEIGHTxWIDTH`);
  return [positiveInt(key, parts[0]!), positiveInt(key, parts[1]!)];
}

function numbers(key: string, s: string): number[] {
  return s.split(';').map((v) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n)) throw bad(key, `'${v}' is not a number (separate values with ';')`);
    if (key === 'std' && n === 0) throw bad(key, 'a standard deviation of 0 divides by zero');
    return n;
  });
}

function oneOf<T extends string>(key: string, s: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a === s.toUpperCase());
  if (!hit) throw bad(key, `'${s}' is not one of ${allowed.join(', ')}`);
  return hit;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function assign(spec: Mutable<PreprocessSpec>, key: Key, v: string): void {
  switch (key) {
    case 'resize': spec.resize = v.includes('x') ? size(key, v) : positiveInt(key, v); break;
    case 'crop': spec.crop = size(key, v); break;
    case 'mean': spec.mean = numbers(key, v); break;
    case 'std': spec.std = numbers(key, v); break;
    case 'scale': {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw bad(key, `'${v}' is not a positive number`);
      spec.scale = n;
      break;
    }
    case 'layout': spec.layout = oneOf(key, v, ['NCHW', 'NHWC'] as const); break;
    case 'order': spec.order = oneOf(key, v, ['RGB', 'BGR'] as const); break;
  }
}

function isKey(s: string): s is Key {
  return (KEYS as readonly string[]).includes(s);
}

/** Parses `"resize=256,crop=224,mean=0.485;0.456;0.406,std=…,layout=NCHW,order=RGB,scale=255"`. */
export function parsePreprocess(text: string): PreprocessSpec {
  const spec: Mutable<PreprocessSpec> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!isKey(key)) throw new UserInputError(`--preprocess: unknown key '${key}'; known keys: ${KEYS.join(', ')}`);
    if (value === '') throw bad(key, `no value; write ${key}=…`);
    if (spec[key] !== undefined) throw bad(key, 'given twice');
    assign(spec, key, value);
  }
  return spec;
}

const isChannelDim = (d: number | string | null | undefined) => d === 1 || d === 3;

function inferLayout(input: ValueInfo, shape: readonly (number | string | null)[]): ImageLayout {
  if (isChannelDim(shape[1])) return 'NCHW';
  if (isChannelDim(shape[3])) return 'NHWC';
  throw new UserInputError(
    `input '${input.name}' ${formatDims(shape)}: cannot tell where the channel dim is; add layout=NCHW or layout=NHWC to --preprocess`,
  );
}

function perChannel(key: string, values: readonly number[] | undefined, fill: number, channels: number, input: string): number[] {
  if (!values) return new Array<number>(channels).fill(fill);
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  if (values.length !== channels) {
    throw bad(key, `${values.length} values, but input '${input}' takes ${channels} channel${channels === 1 ? '' : 's'}`);
  }
  return [...values];
}

/** The ImageNet-style spec (torchvision's Resize(256)/CenterCrop(224)/Normalize), scaled to `crop`. */
export function imagenetSpec(crop = 224): string {
  return `resize=${Math.round((crop * 256) / 224)},crop=${crop},mean=0.485;0.456;0.406,std=0.229;0.224;0.225`;
}

/**
 * Images need an explicit spec: any default (stretch, divide by 255, no mean/std) would be right
 * for some models and silently wrong for the rest, and verification would share the mistake.
 */
function specRequired(where: string, input: ValueInfo): UserInputError {
  const shape = input.shape ?? [];
  const hw = shape.length === 4 ? (isChannelDim(shape[1]) ? shape[2] : shape[1]) : undefined;
  const crop = typeof hw === 'number' ? hw : 224;
  return new UserInputError(
    `${where}: image data needs --preprocess (how pixels become input '${input.name}' ${formatDims(input.shape)}); ` +
      `for ImageNet-style models: --preprocess "${imagenetSpec(crop)}"`,
  );
}

/** --preprocess applies to images only: with tensor files it would be silently ignored. */
export function checkPreprocessUse(where: string, kind: string, spec: PreprocessSpec | undefined): void {
  if (spec && kind !== 'image') {
    throw new UserInputError(`${where}: --preprocess applies to image folders, but this data is ${kind} tensors, fed as they are; drop --preprocess`);
  }
}

/** Resolves the spec for one 4-D image input; `where` (the data folder) names the error without a spec. */
export function resolveImagePlan(spec: PreprocessSpec | undefined, input: ValueInfo, where = 'image data'): ImagePlan {
  if (!spec) throw specRequired(where, input);
  const shape = input.shape;
  if (!shape || shape.length !== 4) {
    throw new UserInputError(`input '${input.name}' has shape ${formatDims(shape)}; images need a 4-D input [N,C,H,W] or [N,H,W,C]`);
  }
  const layout = spec.layout ?? inferLayout(input, shape);
  const [c, h, w] = layout === 'NCHW' ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  if (typeof c === 'number' && !isChannelDim(c)) {
    throw new UserInputError(`input '${input.name}' ${formatDims(shape)} has ${c} channels in ${layout} layout; images give 1 (gray) or 3 (color)`);
  }
  const channels = c === 1 ? 1 : 3;
  if (!spec.resize && !spec.crop && (typeof h !== 'number' || typeof w !== 'number')) {
    throw new UserInputError(`input '${input.name}' ${formatDims(shape)} has no fixed height and width; add resize= and crop= to --preprocess`);
  }
  return {
    resize: spec.resize, crop: spec.crop, channels, layout,
    mean: perChannel('mean', spec.mean, 0, channels, input.name),
    std: perChannel('std', spec.std, 1, channels, input.name),
    scale: spec.scale ?? 255,
    order: spec.order ?? 'RGB',
  };
}
