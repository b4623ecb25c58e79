// The per-layer error sums of verification, in one pass over a float tensor T and the quantized
// model's counterpart of T: how much error T's own quantization adds (float T against fake-quantized
// T, split into clipping and rounding), and how far the quantized model's T is from float T.
//
//   signal     Σ x²
//   clipNoise  Σ (x − fq(x))²  over values whose integer was clamped (clipped counts them)
//   roundNoise Σ (x − fq(x))²  over the others
//   accNoise   Σ (x − x̂)²      x̂ the quantized model's T: floats, or integers dequantized here as
//                               DequantizeLinear does ((q − z)·s in float32)
//
// fq is ONNX QuantizeLinear then DequantizeLinear (ALGORITHMS.md §1; math/qparams quantizeValue is
// the reference): x/s in float32, round half to even, clamp to [qmin, qmax], (r − z)·s in float32.
// Errors and sums are float64, as the scalar loop computes them.
//
// The WebAssembly SIMD kernel (4 values a step; ~8× the scalar loop, bench/quant-error-kernel.mjs)
// computes the same value for every element, bit for bit: for a float32 scale s and float32 x,
// float32 division and multiplication round the exact result once, as Math.fround of the float64
// result does (float64 holds the exact product, and double rounding of a quotient through float64
// is innocuous for float32 operands); nearest rounds half to even as the scalar loop does; errors
// are taken in float64 after promoting the float32 values. Only the order of the float64 additions
// differs (per-lane partial sums), so sums agree to rounding (≤ 1e-12 relative in practice;
// test/math/quant-error.test.ts). A scale that float32 does not hold, a non-integer zero point,
// float64 counterparts, short arrays and the n mod 4 tail go through the scalar loop.
import { I32, V128, wasmModule } from './wasm-assembler.js';

export interface QuantErrorParams {
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

/** Running sums; add() of a batch adds into them. */
export interface QuantErrorSums {
  signal: number;
  clipNoise: number;
  roundNoise: number;
  accNoise: number;
  clipped: number;
}

export type Counterpart = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array;

export const emptySums = (): QuantErrorSums => ({ signal: 0, clipNoise: 0, roundNoise: 0, accNoise: 0, clipped: 0 });

/** Below this many values the scalar loop is as fast as a kernel call (copies included). */
export const QE_SIMD_MIN_LENGTH = 256;
/** Values per kernel call (x and its counterpart copied into the kernel's memory). */
const CHUNK = 16384;

/**
 * The scalar loop over [from, to): the definition the kernel matches. `q` holds floats (compared as
 * they are) or integers (dequantized with the scale and zero point).
 */
export function quantErrorSumsScalar(x: Float32Array, q: Counterpart, p: QuantErrorParams, into: QuantErrorSums, from = 0, to = x.length): void {
  const { scale: s, zeroPoint: z, qmin, qmax } = p;
  const integer = !(q instanceof Float32Array || q instanceof Float64Array);
  const qs = integer ? s : 1;
  const qz = integer ? z : 0;
  let signal = 0, clipNoise = 0, roundNoise = 0, accNoise = 0, clipped = 0;
  const lo = qmin - z;
  const hi = qmax - z;
  for (let i = from; i < to; i++) {
    const x0 = x[i]!;
    // x/s in float32, round half to even, clamp; r is the integer minus the zero point.
    const t = Math.fround(x0 / s);
    let r = Math.floor(t + 0.5);
    if (r - t === 0.5 && (r & 1) !== 0) r -= 1;
    let e: number;
    if (r < lo) {
      e = x0 - Math.fround(lo * s);
      clipNoise += e * e;
      clipped++;
    } else if (r > hi) {
      e = x0 - Math.fround(hi * s);
      clipNoise += e * e;
      clipped++;
    } else {
      e = x0 - Math.fround(r * s);
      roundNoise += e * e;
    }
    signal += x0 * x0;
    const d = x0 - (integer ? Math.fround((q[i]! - qz) * qs) : q[i]!);
    accNoise += d * d;
  }
  into.signal += signal;
  into.clipNoise += clipNoise;
  into.roundNoise += roundNoise;
  into.accNoise += accNoise;
  into.clipped += clipped;
}

type Kind = 'f32' | 'u8' | 'i8' | 'u16' | 'i16';

function kindOf(q: Counterpart): Kind | undefined {
  if (q instanceof Float32Array) return 'f32';
  if (q instanceof Uint8Array) return 'u8';
  if (q instanceof Int8Array) return 'i8';
  if (q instanceof Uint16Array) return 'u16';
  if (q instanceof Int16Array) return 'i16';
  return undefined;
}

// Memory: v128 constants, the sums, then x and its counterpart.
const K_S = 0; // float32 s
const K_LO = 16; // float32 qmin − z
const K_HI = 32; // float32 qmax − z
const K_CLO = 48; // float32 fround((qmin − z)·s)
const K_CHI = 64; // float32 fround((qmax − z)·s)
const K_Z = 80; // int32 z
const R_SIGNAL = 96; // f64x2 each
const R_CLIP = 112;
const R_ROUND = 128;
const R_ACC = 144;
const R_CLIPPED = 160; // i32x4
const X_AT = 256;
const Q_AT = X_AT + 4 * CHUNK;
const PAGES = Math.ceil((Q_AT + 4 * CHUNK) / 65536);

/** Bytes per counterpart value, and the text that leaves 4 of them, dequantized, as f32x4 on the stack. */
const LOADS: Record<Kind, [number, string]> = {
  f32: [4, 'local.get $q v128.load 0'],
  u8: [1, 'local.get $q v128.load32_zero 0 i16x8.extend_low_i8x16_u i32x4.extend_low_i16x8_u'],
  i8: [1, 'local.get $q v128.load32_zero 0 i16x8.extend_low_i8x16_s i32x4.extend_low_i16x8_s'],
  u16: [2, 'local.get $q v128.load16x4_u 0'],
  i16: [2, 'local.get $q v128.load16x4_s 0'],
};
const DEQUANTIZE = 'i32.const 0 v128.load Z i32x4.sub f32x4.convert_i32x4_s i32.const 0 v128.load S f32x4.mul';

/** sums($x, $end, $q): adds the sums over x[$x, $end) (4 values a step) into R_*. */
function kernelBytes(kind: Kind): Uint8Array<ArrayBuffer> {
  const [qBytes, load] = LOADS[kind];
  // Lanes 0-1 of a v128 local, or lanes 2-3 moved down, promoted to float64.
  const low = (v: string): string => `local.get ${v} f64x2.promote_low_f32x4`;
  const high = (v: string): string => `local.get ${v} local.get ${v} i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 f64x2.promote_low_f32x4`;
  // One half in float64: signal, own error split by the clip mask, accumulated error.
  const half = (get: (v: string) => string, extend: string): string => `
    ${get('$x')} local.tee $xd
    local.get $xd f64x2.mul local.get $sig f64x2.add local.set $sig
    local.get $xd ${get('$fq')} f64x2.sub local.tee $e local.get $e f64x2.mul local.set $e
    local.get $m ${extend} local.set $m2
    local.get $cn local.get $e local.get $m2 v128.and f64x2.add local.set $cn
    local.get $rn local.get $e local.get $m2 v128.andnot f64x2.add local.set $rn
    local.get $xd ${get('$dq')} f64x2.sub local.tee $e
    local.get $e f64x2.mul local.get $an f64x2.add local.set $an`;
  const dequantize = kind === 'f32' ? '' : DEQUANTIZE;
  const text = `
    block
      loop
        local.get $p local.get $end i32.ge_u br_if 1
        local.get $p v128.load 0 local.tee $x
        i32.const 0 v128.load S f32x4.div f32x4.nearest local.tee $r
        i32.const 0 v128.load LO f32x4.lt local.set $mlo
        local.get $r i32.const 0 v128.load HI f32x4.gt local.set $mhi
        ;; fq = r < lo ? fround(lo·s) : r > hi ? fround(hi·s) : fround(r·s)
        i32.const 0 v128.load CLO
        i32.const 0 v128.load CHI
        local.get $r i32.const 0 v128.load S f32x4.mul
        local.get $mhi v128.bitselect
        local.get $mlo v128.bitselect local.set $fq
        local.get $mlo local.get $mhi v128.or local.set $m
        local.get $cnt local.get $m i32x4.sub local.set $cnt ;; -1 per clipped value
        ${load} ${dequantize} local.set $dq
        ${half(low, 'i64x2.extend_low_i32x4_s')}
        ${half(high, 'i64x2.extend_high_i32x4_s')}
        local.get $p i32.const 16 i32.add local.set $p
        local.get $q i32.const ${qBytes * 4} i32.add local.set $q
        br 0
      end
    end
    i32.const 0 i32.const 0 v128.load SIGNAL local.get $sig f64x2.add v128.store SIGNAL
    i32.const 0 i32.const 0 v128.load CLIP local.get $cn f64x2.add v128.store CLIP
    i32.const 0 i32.const 0 v128.load ROUND local.get $rn f64x2.add v128.store ROUND
    i32.const 0 i32.const 0 v128.load ACC local.get $an f64x2.add v128.store ACC
    i32.const 0 i32.const 0 v128.load CLIPPED local.get $cnt i32x4.add v128.store CLIPPED`;
  const names = {
    S: K_S, LO: K_LO, HI: K_HI, CLO: K_CLO, CHI: K_CHI, Z: K_Z,
    SIGNAL: R_SIGNAL, CLIP: R_CLIP, ROUND: R_ROUND, ACC: R_ACC, CLIPPED: R_CLIPPED,
  };
  const locals = {
    $p: 0, $end: 1, $q: 2,
    $x: 3, $r: 4, $mlo: 5, $mhi: 6, $fq: 7, $m: 8, $m2: 9, $dq: 10, $xd: 11, $e: 12,
    $sig: 13, $cn: 14, $rn: 15, $an: 16, $cnt: 17,
  };
  return wasmModule(PAGES, [{ name: 'sums', params: [I32, I32, I32], results: [], locals: [[15, V128]], text, localNames: locals }], names);
}

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly sums: (x: number, end: number, q: number) => void;
}

class QuantErrorKernel {
  readonly #x: KernelExports;
  readonly #qBytes: number;
  readonly #xs: Float32Array;
  readonly #qs: Uint8Array;
  readonly #f32: Float32Array;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;

  constructor(kind: Kind) {
    this.#x = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes(kind))).exports as unknown as KernelExports;
    const buffer = this.#x.memory.buffer;
    this.#qBytes = LOADS[kind][0];
    this.#xs = new Float32Array(buffer, X_AT, CHUNK);
    this.#qs = new Uint8Array(buffer, Q_AT, 4 * CHUNK);
    this.#f32 = new Float32Array(buffer, 0, X_AT / 4);
    this.#i32 = new Int32Array(buffer, 0, X_AT / 4);
    this.#f64 = new Float64Array(buffer, 0, X_AT / 8);
  }

  /** Sums over x[0, n) with n a multiple of 4; s must be a float32 and z an integer. */
  run(x: Float32Array, q: Exclude<Counterpart, Float64Array>, n: number, p: QuantErrorParams, into: QuantErrorSums): void {
    const { scale: s, zeroPoint: z } = p;
    const lo = p.qmin - z;
    const hi = p.qmax - z;
    const f32 = this.#f32;
    const i32 = this.#i32;
    for (let k = 0; k < 4; k++) {
      f32[K_S / 4 + k] = s;
      f32[K_LO / 4 + k] = lo;
      f32[K_HI / 4 + k] = hi;
      f32[K_CLO / 4 + k] = lo * s;
      f32[K_CHI / 4 + k] = hi * s;
      i32[K_Z / 4 + k] = z;
    }
    const f64 = this.#f64;
    f64.fill(0, R_SIGNAL / 8, R_CLIPPED / 8);
    i32.fill(0, R_CLIPPED / 4, R_CLIPPED / 4 + 4);
    const qBytes = this.#qBytes;
    const qb = new Uint8Array(q.buffer, q.byteOffset, q.byteLength);
    for (let at = 0; at < n; at += CHUNK) {
      const len = Math.min(CHUNK, n - at);
      this.#xs.set(x.subarray(at, at + len));
      this.#qs.set(qb.subarray(at * qBytes, (at + len) * qBytes));
      this.#x.sums(X_AT, X_AT + 4 * len, Q_AT);
    }
    into.signal += f64[R_SIGNAL / 8]! + f64[R_SIGNAL / 8 + 1]!;
    into.clipNoise += f64[R_CLIP / 8]! + f64[R_CLIP / 8 + 1]!;
    into.roundNoise += f64[R_ROUND / 8]! + f64[R_ROUND / 8 + 1]!;
    into.accNoise += f64[R_ACC / 8]! + f64[R_ACC / 8 + 1]!;
    into.clipped += i32[R_CLIPPED / 4]! + i32[R_CLIPPED / 4 + 1]! + i32[R_CLIPPED / 4 + 2]! + i32[R_CLIPPED / 4 + 3]!;
  }
}

/** Kernels by counterpart kind; null where WebAssembly SIMD is unavailable (the scalar loop is used then). */
const kernels = new Map<Kind, QuantErrorKernel | null>();

function kernel(kind: Kind): QuantErrorKernel | null {
  let k = kernels.get(kind);
  if (k === undefined) {
    try {
      k = typeof WebAssembly === 'object' ? new QuantErrorKernel(kind) : null;
    } catch {
      k = null; // no SIMD (or no WebAssembly) in this runtime
    }
    kernels.set(kind, k);
  }
  return k;
}

/** Whether the SIMD kernel runs here (for tests: a silent fallback would hide a broken kernel). */
export function quantErrorSimdAvailable(): boolean {
  return kernel('f32') !== null && kernel('u8') !== null && kernel('i8') !== null && kernel('u16') !== null && kernel('i16') !== null;
}

/**
 * Adds the sums over x (float T) and q (the quantized model's T: floats, or integers dequantized
 * with p's scale and zero point) into `into`. `q` has x's length.
 */
export function quantErrorSums(x: Float32Array, q: Counterpart, p: QuantErrorParams, into: QuantErrorSums, opts: { simd?: boolean } = {}): void {
  const n = x.length;
  const kind = kindOf(q);
  const k = opts.simd !== false && kind && n >= QE_SIMD_MIN_LENGTH && Math.fround(p.scale) === p.scale && Number.isInteger(p.zeroPoint)
    && Math.abs(p.zeroPoint) < 2 ** 24 ? kernel(kind) : null;
  if (!k) {
    quantErrorSumsScalar(x, q, p, into);
    return;
  }
  const body = n & ~3;
  k.run(x, q as Exclude<Counterpart, Float64Array>, body, p, into);
  if (body < n) quantErrorSumsScalar(x, q, p, into, body, n);
}
