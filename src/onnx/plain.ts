// A decoded ModelProto as a plain JSON-like value, for field-by-field comparison in tests and the
// corpus sweep. It shows what is on the wire, with nothing converted away:
//   - int64/uint64 as 'l:<decimal>'; other integers as numbers;
//   - float and double fields as 'f32:<hex bits>' / 'f64:<hex bits>' (NaN payloads and -0 exact);
//   - bytes as 'b:<hex>'; string fields as the string, or { $notUtf8: '<hex>' } when the bytes are
//     not valid UTF-8 (read as bytes, so no replacement character can hide a difference);
//   - unknown fields as their raw bytes under $unknowns;
//   - keys sorted; empty repeated fields left out (they have no presence on the wire), every
//     present singular field kept, default value or not (onnx.proto is proto2).
import type protobuf from 'protobufjs';
import { u64Words } from './long.js';
import { schemaRoot } from './schema.js';

// Strings as bytes; floats already come as bits (schema.ts).
const plainRoot = schemaRoot((t) => (t === 'string' ? 'bytes' : t));
const textRoot = schemaRoot();
const PlainModelType = plainRoot.lookupType('onnx.ModelProto');
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeModelToPlainObject(bytes: Uint8Array): unknown {
  return message(PlainModelType.decode(bytes), PlainModelType);
}

function message(m: protobuf.Message, type: protobuf.Type): Record<string, unknown> {
  const src = m as unknown as Record<string, unknown>;
  const declared = textRoot.lookupType(type.fullName);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src).sort()) {
    const field = type.fields[k];
    const val = src[k];
    if (!field) {
      out[k] = scalar(val, 'unknown');
      continue;
    }
    if (Array.isArray(val) && val.length === 0) continue; // repeated fields have no presence
    const originalType = declared.fields[k]!.type;
    const one = (v: unknown): unknown => (field.resolvedType && 'fields' in field.resolvedType
      ? message(v as protobuf.Message, field.resolvedType as protobuf.Type)
      : scalar(v, originalType));
    out[k] = Array.isArray(val) ? val.map(one) : one(val);
  }
  if (Object.prototype.hasOwnProperty.call(src, '$unknowns')) {
    out.$unknowns = (src.$unknowns as Uint8Array[]).map((b) => `b:${hex(b)}`);
  }
  return out;
}

function scalar(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return v;
  switch (type) {
    case 'string': {
      const b = v as Uint8Array;
      try {
        return utf8.decode(b);
      } catch {
        return { $notUtf8: hex(b) };
      }
    }
    case 'bytes': return `b:${hex(v as Uint8Array)}`;
    case 'fixed32': return `f32:${(Number(v) >>> 0).toString(16).padStart(8, '0')}`;
    case 'fixed64': {
      const [lo, hi] = u64Words(v);
      return `f64:${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;
    }
    default:
      if (typeof v === 'object' && 'low' in (v as object)) return `l:${String(v)}`;
      if (typeof v === 'bigint') return `l:${v}`;
      if (v instanceof Uint8Array) return `b:${hex(v)}`;
      return v;
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
