import protobuf from 'protobufjs';
import type { Int64 } from '../ir/index.js';

type LongLike = { low: number; high: number; unsigned: boolean; toString(): string };

/** int64 from the wire: a number when exact, a bigint otherwise. */
export function toInt64(v: unknown): Int64 {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v && typeof v === 'object' && 'low' in v) {
    const big = BigInt((v as LongLike).toString());
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }
  return 0;
}

export function toNumber(v: unknown): number {
  return Number(toInt64(v));
}

/** int64 for the wire. */
export function fromInt64(v: Int64): unknown {
  if (typeof v === 'number') return v;
  const Long = protobuf.util.Long as unknown as { fromString(s: string, unsigned?: boolean): unknown };
  return Long.fromString(v.toString(), v < 0n ? false : v > 0x7fffffffffffffffn);
}

export function int64Equal(a: unknown, b: Int64): boolean {
  return toInt64(a) === b;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A float32 value from its bits as read from a fixed32 field (schema.ts). */
export function floatFromBits(bits: unknown): number {
  u32[0] = Number(bits) >>> 0;
  return f32[0]!;
}

/** The bits of a number rounded to float32, for a fixed32 float field. */
export function floatToBits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** Low and high 32-bit words of a fixed64 field's value (a Long, a number or a bigint). */
export function u64Words(v: unknown): [number, number] {
  if (v && typeof v === 'object' && 'low' in v) return [(v as LongLike).low >>> 0, (v as LongLike).high >>> 0];
  const big = BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v ?? 0))));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}
