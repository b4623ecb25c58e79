// A tiny assembler for the WebAssembly (SIMD) kernels of src/math (histogram-simd.ts,
// quant-error-simd.ts): WebAssembly text format instructions, each followed by its immediates, in,
// function bodies and a module out. The kernels stay readable source and need no build step or
// shipped .wasm (modules are built at run time, with per-instance offsets as immediates); it covers
// only the instructions the kernels use and rejects anything else.

export const WASM_OPS: Readonly<Record<string, number>> = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, br_if: 0x0d, select: 0x1b,
  'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22,
  'i32.load': 0x28, 'f32.load': 0x2a, 'f64.load': 0x2b, 'i32.store': 0x36, 'f32.store': 0x38, 'f64.store': 0x39,
  'i32.const': 0x41, 'f32.const': 0x43,
  'i32.eqz': 0x45, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.gt_u': 0x4b, 'i32.ge_u': 0x4f,
  'f32.eq': 0x5b, 'f32.lt': 0x5d, 'f32.gt': 0x5e,
  'i32.add': 0x6a, 'i32.and': 0x71, 'i32.shl': 0x74,
  'f32.abs': 0x8b, 'f32.mul': 0x94, 'i32.trunc_f32_s': 0xa8, 'f32.reinterpret_i32': 0xbe,
};
export const WASM_SIMD_OPS: Readonly<Record<string, number>> = {
  'v128.load': 0x00, 'v128.load8x8_s': 0x01, 'v128.load8x8_u': 0x02, 'v128.load16x4_s': 0x03, 'v128.load16x4_u': 0x04,
  'v128.store': 0x0b, 'v128.const': 0x0c, 'i8x16.shuffle': 0x0d, 'f32x4.splat': 0x13,
  'i32x4.extract_lane': 0x1b, 'f32x4.extract_lane': 0x1f, 'f64x2.extract_lane': 0x21,
  'f32x4.eq': 0x41, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44,
  'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.bitselect': 0x52,
  'v128.load32_zero': 0x5c, 'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.floor': 0x68, 'f32x4.nearest': 0x6a,
  'i16x8.extend_low_i8x16_s': 0x87, 'i16x8.extend_low_i8x16_u': 0x89,
  'i32x4.bitmask': 0xa4, 'i32x4.extend_low_i16x8_s': 0xa7, 'i32x4.extend_low_i16x8_u': 0xa9,
  'i32x4.add': 0xae, 'i32x4.sub': 0xb1, 'i64x2.extend_low_i32x4_s': 0xc7, 'i64x2.extend_high_i32x4_s': 0xc8,
  'f32x4.add': 0xe4, 'f32x4.mul': 0xe6, 'f32x4.div': 0xe7, 'f32x4.pmin': 0xea, 'f32x4.pmax': 0xeb,
  'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2,
  'f32x4.convert_i32x4_s': 0xfa, 'f64x2.convert_low_i32x4_s': 0xfe,
};
/** Memory instructions and the alignment (log2 bytes) their memarg declares: at most the natural one. */
const WASM_MEMARG: Readonly<Record<string, number>> = {
  'i32.load': 2, 'f32.load': 2, 'f64.load': 3, 'i32.store': 2, 'f32.store': 2, 'f64.store': 3,
  'v128.load': 4, 'v128.store': 4, 'v128.load8x8_s': 3, 'v128.load8x8_u': 3, 'v128.load16x4_s': 3, 'v128.load16x4_u': 3,
  'v128.load32_zero': 2,
};

export function uleb128(n: number): number[] {
  const out: number[] = [];
  do {
    const b = n & 0x7f;
    n >>>= 7;
    out.push(n === 0 ? b : b | 0x80);
  } while (n !== 0);
  return out;
}

function sleb128(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

/**
 * Assembles stack-machine text (WebAssembly text format instructions, each followed by its
 * immediates, `;;` comments) into a function body. Names ($local, CONSTANT) are looked up in
 * `names`; `v128.const` takes no immediate and means zero; blocks have no result.
 */
export function assemble(text: string, names: Readonly<Record<string, number>>): number[] {
  const tokens = text.replace(/;;[^\n]*/g, ' ').trim().split(/\s+/);
  const out: number[] = [];
  const value = (t: string | undefined): number => {
    const v = t !== undefined && t in names ? names[t]! : Number(t);
    if (!Number.isFinite(v)) throw new Error(`wasm assembler: bad immediate ${t}`);
    return v;
  };
  for (let i = 0; i < tokens.length; i++) {
    const op = tokens[i]!;
    const simd = WASM_SIMD_OPS[op];
    const core = WASM_OPS[op];
    const align = WASM_MEMARG[op];
    if (simd !== undefined) {
      out.push(0xfd, ...uleb128(simd));
      if (align !== undefined) out.push(align, ...uleb128(value(tokens[++i])));
      else if (op === 'v128.const') out.push(...new Array<number>(16).fill(0));
      else if (op === 'i8x16.shuffle') for (let k = 0; k < 16; k++) out.push(value(tokens[++i]));
      else if (op.endsWith('_lane')) out.push(value(tokens[++i]));
    } else if (core !== undefined) {
      out.push(core);
      if (align !== undefined) out.push(align, ...uleb128(value(tokens[++i])));
      else if (op === 'i32.const') out.push(...sleb128(value(tokens[++i]) | 0));
      else if (op === 'f32.const') out.push(...new Uint8Array(new Float32Array([value(tokens[++i])]).buffer));
      else if (op === 'block' || op === 'loop' || op === 'if') out.push(0x40); // no result
      else if (op.startsWith('local.') || op.startsWith('br')) {
        out.push(...uleb128(value(tokens[++i])));
      }
    } else {
      throw new Error(`wasm assembler: unknown instruction ${op}`);
    }
  }
  return out;
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Locals after the params, as [count, type] runs. */
  locals: [number, number][];
  text: string;
  /** $names of params and locals → their index. */
  localNames: Readonly<Record<string, number>>;
}

/** A module of exported functions (one type each) on one exported, fixed memory of `pages` pages. */
export function wasmModule(pages: number, functions: readonly WasmFunction[], names: Readonly<Record<string, number>>): Uint8Array<ArrayBuffer> {
  const vec = (items: number[][]): number[] => [...uleb128(items.length), ...items.flat()];
  const section = (id: number, body: number[]): number[] => [id, ...uleb128(body.length), ...body];
  const name = (s: string): number[] => [...uleb128(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const code = functions.map((f) => {
    const body = [...vec(f.locals.map(([n, t]) => [...uleb128(n), t])), ...assemble(f.text, { ...names, ...f.localNames }), WASM_OPS.end!];
    return [...uleb128(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vec(functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]))),
    ...section(3, vec(functions.map((_f, i) => uleb128(i)))),
    ...section(5, vec([[0x00, ...uleb128(pages)]])), // memory (fixed: the JS views stay valid)
    ...section(7, vec([...functions.map((f, i) => [...name(f.name), 0, ...uleb128(i)]), [...name('memory'), 2, 0]])),
    ...section(10, vec(code)),
  ]);
}
