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
