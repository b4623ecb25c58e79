// StreamingHistogram's float32 binning pass in WebAssembly SIMD (histogram.ts holds the grid,
// the proof of order independence and the scalar loop this must match bit for bit).
//
// Why: observe() of the activations is the dominant cost of calibration, and in plain JS the
// binning loop costs ~4 ns a value on V8: each typed-array access re-checks its map, bounds and base
// pointer, and the loop spills registers (unrolling, int32 counters and interleaved counters only
// got it to ~3 ns). This kernel bins 4 values a step at ~1 ns a value, copying the data into wasm
// memory included (bench/histogram-kernel.mjs).
//
// It computes what the scalar loop computes, bit for bit (test/math/histogram-kernel.test.ts):
//  - t = |x|·2^-e in float32, with 2^-e applied as inv1·inv2, two powers of two that float32 holds
//    (inv1 = 2^64 once e < -126, where 2^-e nears the float32 limit; every value on the grid is
//    then below 2^-110, so |x|·2^64 is a normal float32: exact). A product by a power of two is
//    exact unless it underflows, and an underflowed product is below 1: bin 0 whatever its rounding.
//  - on the grid ⟺ t < bins, which NaN (compares false) and ±Infinity fail as well.
//  - the counter of x is 4·(floor(t) + (x < 0 ? bins : 0)) bytes from its lane's start: -0 < 0 is
//    false, so -0 goes to pos[0] as step 4 of the proof wants. That integer j < 2^21 is obtained
//    as bits(j + 2^21) - bits(2^21): the ulp of float32 at 2^21 is 1/4, so the bit pattern moves
//    by 4 per unit (cheaper than the saturating float→int conversion of wasm SIMD).
//  - a group of 4 holding NaN, ±Infinity or a value off the grid goes value by value (scalar code
//    below); the first value off the grid stops the kernel, JS grows the grid and resumes there.
// Counts go to 4 int32 sub-histograms ("lanes"), value i of a group to lane i: runs of values in
// one bin (exact zeros after ReLU, tiny values) then make 4 independent store→load chains instead
// of one. They are added into the float64 counts (exact: integers) at the end of each observe(),
// every 2^30 values (far from int32 overflow) and before any regrouping, so the proof in histogram.ts sees
// the same counts at every step.

import { assemble, uleb128, WASM_OPS } from './wasm-assembler.js';

/** Below this many values the scalar loop is as fast (a kernel call costs ~3 µs besides the values). */
export const SIMD_MIN_LENGTH = 2048;
/** Values copied into wasm memory per kernel call (64 KiB: stays in L2 with the counters). */
export const SIMD_CHUNK = 16384;
/**
 * Bins the SIMD kernel takes: a multiple of 4 (each half is whole v128s of counters) up to 2^16
 * (4 lanes of 2·bins int32 counters: 2 MiB; and j < 2^21 holds). Other sizes use the scalar loop.
 */
const SIMD_MAX_BINS = 1 << 16;
/** Counters are drained into the float64 counts at least this often (int32 lanes never overflow). */
export const SIMD_DRAIN_EVERY = 2 ** 30;

/** Byte offsets in the kernel's memory: v128 constants, stats, the 4 lanes, the data, float64 counts. */
const K_ABS = 0; // int32 0x7fffffff
const K_BINS = 16; // float32 bins
const K_INV1 = 32; // float32 inv1
const K_INV2 = 48; // float32 inv2
const K_MAGIC = 64; // float32 2^21
const K_MAGIC_BITS = 80; // int32 bits of 2^21
// Counters since the last drain (int32), and min / max since start() (float32). In memory rather
// than in wasm globals: JS reads typed arrays far faster than WebAssembly.Global values.
const K_ZEROS = 96;
const K_NAN = 100;
const K_POS_INF = 104;
const K_NEG_INF = 108;
const K_LO = 112;
const K_HI = 116;
const K_COUNTS = 128;

/** The kernel module: bin(p, end) and move(from, to, out), on one memory of `pages` pages. */
function simdModuleBytes(bins: number, pages: number): Uint8Array<ArrayBuffer> {
  const lane = (j: number): number => K_COUNTS + j * 8 * bins;
  // bin's locals: p, end (params); x, t, idx, zacc, mn, mx (v128); ret, b, q (i32); f, ft (f32).
  const binLocals = {
    $p: 0, $end: 1, $x: 2, $t: 3, $idx: 4, $zacc: 5, $mn: 6, $mx: 7, $ret: 8, $b: 9, $q: 10, $f: 11, $ft: 12,
  };
  const names: Record<string, number> = {
    ABS: K_ABS, BINS: K_BINS, INV1: K_INV1, INV2: K_INV2, MAGIC: K_MAGIC, MAGIC_BITS: K_MAGIC_BITS,
    NEG_BYTES: 4 * bins, LANE0: lane(0), LANE1: lane(1), LANE2: lane(2), LANE3: lane(3),
    ZEROS: K_ZEROS, NAN: K_NAN, POS_INF: K_POS_INF, NEG_INF: K_NEG_INF, LO: K_LO, HI: K_HI,
  };
  const bump = (counter: string): string =>
    `i32.const 0 i32.const 0 i32.load ${counter} i32.const 1 i32.add i32.store ${counter}`;
  const lo = 'i32.const 0 f32.load LO';
  const hi = 'i32.const 0 f32.load HI';
  const increment = (address: string, at: string): string =>
    `${address} local.tee $q local.get $q i32.load ${at} i32.const 1 i32.add i32.store ${at}`;
  // The value at $p + 4·k, alone. When the grid must grow it sets $ret to the value's address and
  // leaves bin's outermost block: `br exit`, which one()'s own if / else adds 2 levels to, hence
  // OUT + (levels between where one() is placed and that block).
  const OUT = 2;
  const one = (k: number, exit: number): string => `
    local.get $p i32.load ${4 * k} local.tee $b f32.reinterpret_i32 local.tee $f
    f32.abs i32.const 0 f32.load INV1 f32.mul i32.const 0 f32.load INV2 f32.mul local.set $ft
    local.get $b i32.const 0x7fffffff i32.and i32.const 0x7f800000 i32.ge_u
    if ;; NaN or ±Infinity: counted, never binned
      local.get $b i32.const 0x7fffffff i32.and i32.const 0x7f800000 i32.gt_u
      if ${bump('NAN')}
      else local.get $b i32.const 0 i32.lt_s if ${bump('NEG_INF')} else ${bump('POS_INF')} end
      end
    else
      local.get $ft i32.const 0 f32.load BINS f32.lt i32.eqz
      if local.get $p i32.const ${4 * k} i32.add local.set $ret br ${exit} end
      ${increment(`local.get $ft i32.trunc_f32_s i32.const 2 i32.shl
        i32.const NEG_BYTES i32.const 0 local.get $f f32.const 0 f32.lt select i32.add`, 'LANE0')}
      local.get $f f32.const 0 f32.eq if ${bump('ZEROS')} end
      local.get $f ${lo} f32.lt if i32.const 0 local.get $f f32.store LO end
      local.get $f ${hi} f32.gt if i32.const 0 local.get $f f32.store HI end
    end`;
  const bin = `
    local.get $end local.set $ret
    ${lo} f32x4.splat local.set $mn
    ${hi} f32x4.splat local.set $mx
    block
      block
        loop ;; 4 values a step
          local.get $p i32.const 16 i32.add local.get $end i32.gt_u br_if 1
          local.get $p v128.load 0 local.tee $x
          i32.const 0 v128.load ABS v128.and
          i32.const 0 v128.load INV1 f32x4.mul i32.const 0 v128.load INV2 f32x4.mul local.tee $t
          i32.const 0 v128.load BINS f32x4.lt i32x4.bitmask i32.const 15 i32.ne
          if ;; not all 4 on the grid
            ${one(0, OUT + 3)} ${one(1, OUT + 3)} ${one(2, OUT + 3)} ${one(3, OUT + 3)}
          else
            ;; idx = bits(floor(t) + (x < 0 ? bins : 0) + 2^21) - bits(2^21)
            local.get $t f32x4.floor
            local.get $x v128.const f32x4.lt i32.const 0 v128.load BINS v128.and f32x4.add
            i32.const 0 v128.load MAGIC f32x4.add
            i32.const 0 v128.load MAGIC_BITS i32x4.sub local.set $idx
            local.get $zacc local.get $x v128.const f32x4.eq i32x4.sub local.set $zacc ;; -1 per zero
            local.get $mn local.get $x f32x4.pmin local.set $mn ;; no NaN here: pmin is exact
            local.get $mx local.get $x f32x4.pmax local.set $mx
            ${increment('local.get $idx i32x4.extract_lane 0', 'LANE0')}
            ${increment('local.get $idx i32x4.extract_lane 1', 'LANE1')}
            ${increment('local.get $idx i32x4.extract_lane 2', 'LANE2')}
            ${increment('local.get $idx i32x4.extract_lane 3', 'LANE3')}
          end
          local.get $p i32.const 16 i32.add local.set $p
          br 0
        end
      end
      block
        loop ;; the last n mod 4 values
          local.get $p local.get $end i32.ge_u br_if 1
          ${one(0, OUT + 2)}
          local.get $p i32.const 4 i32.add local.set $p
          br 0
        end
      end
    end
    i32.const 0 i32.const 0 i32.load ZEROS
    local.get $zacc i32x4.extract_lane 0 i32.add local.get $zacc i32x4.extract_lane 1 i32.add
    local.get $zacc i32x4.extract_lane 2 i32.add local.get $zacc i32x4.extract_lane 3 i32.add
    i32.store ZEROS
    ${[0, 1, 2, 3].map((k) => `
      local.get $mn f32x4.extract_lane ${k} local.tee $f ${lo} f32.lt
      if i32.const 0 local.get $f f32.store LO end
      local.get $mx f32x4.extract_lane ${k} local.tee $f ${hi} f32.gt
      if i32.const 0 local.get $f f32.store HI end`).join('')}
    local.get $ret`;
  // Moves the counters at bytes [$i, $to) of the lanes (a multiple of 16 bytes) into the float64
  // counts at $out (the one of counter j at $out + 8j) and clears them; returns their sum.
  const move = `
    block
      loop
        local.get $i local.get $to i32.ge_u br_if 1
        local.get $i v128.load LANE0 local.get $i v128.load LANE1 i32x4.add
        local.get $i v128.load LANE2 i32x4.add local.get $i v128.load LANE3 i32x4.add local.set $v
        local.get $i v128.const v128.store LANE0
        local.get $i v128.const v128.store LANE1
        local.get $i v128.const v128.store LANE2
        local.get $i v128.const v128.store LANE3
        local.get $acc local.get $v i32x4.add local.set $acc
        local.get $out local.get $i i32.const 1 i32.shl i32.add local.tee $a
        local.get $a v128.load 0 local.get $v f64x2.convert_low_i32x4_s f64x2.add v128.store 0
        local.get $a
        local.get $a v128.load 16 local.get $v local.get $v i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
        f64x2.convert_low_i32x4_s f64x2.add v128.store 16
        local.get $i i32.const 16 i32.add local.set $i
        br 0
      end
    end
    local.get $acc i32x4.extract_lane 0 local.get $acc i32x4.extract_lane 1 i32.add
    local.get $acc i32x4.extract_lane 2 i32.add local.get $acc i32x4.extract_lane 3 i32.add`;
  const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
  const vec = (items: number[][]): number[] => [...uleb128(items.length), ...items.flat()];
  const section = (id: number, body: number[]): number[] => [id, ...uleb128(body.length), ...body];
  const name = (s: string): number[] => [...uleb128(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const func = (locals: number[][], text: string, localNames: Record<string, number>): number[] => {
    const body = [...vec(locals), ...assemble(text, { ...names, ...localNames }), WASM_OPS.end!];
    return [...uleb128(body.length), ...body];
  };
  const funcType = (params: number[], results: number[]): number[] =>
    [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vec([funcType([I32, I32], [I32]), funcType([I32, I32, I32], [I32])])), // types
    ...section(3, vec([[0], [1]])), // functions
    ...section(5, vec([[0x00, ...uleb128(pages)]])), // memory (fixed: the JS views stay valid)
    ...section(7, vec([[...name('bin'), 0, 0], [...name('move'), 0, 1], [...name('memory'), 2, 0]])), // exports
    ...section(10, vec([ // code
      func([[6, V128], [3, I32], [2, F32]], bin, binLocals),
      func([[2, V128], [1, I32]], move, { $i: 0, $to: 1, $out: 2, $v: 3, $acc: 4, $a: 5 }),
    ])),
  ]);
}

interface SimdExports {
  readonly memory: WebAssembly.Memory;
  readonly bin: (p: number, end: number) => number;
  readonly move: (from: number, to: number, out: number) => number;
}

/**
 * One instance of the kernel for a number of bins (shared by every histogram of that size in this
 * thread; observe() is synchronous, so they never interleave). Totals are kept from start() on.
 */
export class SimdBinner {
  readonly #x: SimdExports;
  readonly #bins: number;
  readonly #data: Float32Array;
  readonly #floats: Float64Array; // where move() adds counters into a copy of the float64 counts
  readonly #i32: Int32Array;
  readonly #f32: Float32Array;
  zeros = 0;
  negatives = 0;
  nan = 0;
  posInf = 0;
  negInf = 0;

  constructor(bins: number) {
    const dataAt = K_COUNTS + 4 * 8 * bins; // after 4 lanes of 2·bins int32
    const floatsAt = dataAt + 4 * SIMD_CHUNK;
    const pages = Math.ceil((floatsAt + 8 * 2 * bins) / 65536);
    const bytes = simdModuleBytes(bins, pages);
    this.#x = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as SimdExports;
    const buffer = this.#x.memory.buffer;
    this.#bins = bins;
    this.#data = new Float32Array(buffer, dataAt, SIMD_CHUNK);
    this.#floats = new Float64Array(buffer, floatsAt, 2 * bins);
    this.#i32 = new Int32Array(buffer, 0, K_COUNTS / 4);
    this.#f32 = new Float32Array(buffer, 0, K_COUNTS / 4);
    for (let k = 0; k < 4; k++) {
      this.#i32[K_ABS / 4 + k] = 0x7fffffff;
      this.#f32[K_BINS / 4 + k] = bins;
      this.#f32[K_MAGIC / 4 + k] = 2 ** 21;
      this.#i32[K_MAGIC_BITS / 4 + k] = 0x4a000000;
    }
  }

  /** Resets the totals and min / max. */
  start(): void {
    this.zeros = this.negatives = this.nan = this.posInf = this.negInf = 0;
    this.#f32[K_LO / 4] = Infinity;
    this.#f32[K_HI / 4] = -Infinity;
  }

  /** Grid width 2^exp from now on. */
  setWidthExp(exp: number): void {
    const inv1 = exp < -126 ? 2 ** 64 : 1;
    const inv2 = 2 ** -exp / inv1;
    for (let k = 0; k < 4; k++) {
      this.#f32[K_INV1 / 4 + k] = inv1;
      this.#f32[K_INV2 / 4 + k] = inv2;
    }
  }

  /** Copies data[from, from + len) (len ≤ SIMD_CHUNK) into the kernel's memory. */
  load(data: Float32Array, from: number, len: number): void {
    this.#data.set(len === data.length ? data : data.subarray(from, from + len));
  }

  /** Bins loaded values [i, len); returns len, or the index of the first value off the grid. */
  bin(i: number, len: number): number {
    const at = this.#data.byteOffset;
    return (this.#x.bin(at + 4 * i, at + 4 * len) - at) / 4;
  }

  /** The loaded value at i. */
  value(i: number): number {
    return this.#data[i]!;
  }

  /**
   * Adds the int32 counters into `counts` ([pos | neg]) and the stats into the totals, and clears
   * them. Only bins up to max|x|·2^-exp can hold counts (lo / hi bound every value binned since
   * start()): small arrays then move a fraction of the 2·bins counters.
   */
  drain(counts: Float64Array, exp: number): void {
    const bins = this.#bins;
    const inv = 2 ** -exp;
    const lo = this.lo;
    const hi = this.hi;
    const posEnd = hi >= 0 ? Math.min(bins, Math.floor(hi * inv) + 1) : 0;
    const negEnd = lo < 0 ? bins + Math.min(bins, Math.floor(-lo * inv) + 1) : bins;
    this.#move(counts, 0, posEnd);
    this.negatives += this.#move(counts, bins, negEnd);
    const stats = this.#i32;
    this.zeros += stats[K_ZEROS / 4]!;
    this.nan += stats[K_NAN / 4]!;
    this.posInf += stats[K_POS_INF / 4]!;
    this.negInf += stats[K_NEG_INF / 4]!;
    stats[K_ZEROS / 4] = stats[K_NAN / 4] = stats[K_POS_INF / 4] = stats[K_NEG_INF / 4] = 0;
  }

  /**
   * Moves counters [from, to) into counts; returns their sum. The kernel adds them into a copy of
   * that slice (a JS loop over typed arrays costs ~1.5 ns a counter, the copies ~0.1).
   */
  #move(counts: Float64Array, from: number, to: number): number {
    if (to <= from) return 0;
    const end = Math.min(from + this.#bins, (to + 3) & ~3); // whole v128s, within the half
    const floats = this.#floats;
    floats.set(counts.subarray(from, end), from);
    const sum = this.#x.move(4 * from, 4 * end, floats.byteOffset);
    counts.set(floats.subarray(from, end), from);
    return sum;
  }

  get lo(): number {
    return this.#f32[K_LO / 4]!;
  }
  get hi(): number {
    return this.#f32[K_HI / 4]!;
  }
}

/** Kernels by bins; null where WebAssembly SIMD is unavailable (the scalar loop is used then). */
const simdBinners = new Map<number, SimdBinner | null>();

export function simdBinner(bins: number): SimdBinner | null {
  let k = simdBinners.get(bins);
  if (k === undefined) {
    try {
      const fits = bins % 4 === 0 && bins <= SIMD_MAX_BINS;
      k = fits && typeof WebAssembly === 'object' ? new SimdBinner(bins) : null;
    } catch {
      k = null; // no SIMD (or no WebAssembly) in this runtime
    }
    simdBinners.set(bins, k);
  }
  return k;
}
