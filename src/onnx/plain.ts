// A decoded ModelProto as a plain JSON-like value, for field-by-field comparison in tests and the
// corpus sweep: int64 as decimal strings, bytes as hex, unknown fields as hex blobs, and floats as
// their exact bit patterns (so NaNs and -0 compare by bits).
import { ModelProtoType } from './schema.js';

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

export function decodeModelToPlainObject(bytes: Uint8Array): unknown {
  return plain(ModelProtoType.decode(bytes));
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'number') {
    f64[0] = v;
    return Number.isInteger(v) ? v : `f:${u64[0]!.toString(16)}`;
  }
  if (typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if ('low' in v && 'high' in v && 'unsigned' in v) return `l:${String(v)}`;
  const out: Record<string, unknown> = {};
  const src = v as Record<string, unknown>;
  for (const k of Object.keys(src).sort()) {
    const val = src[k];
    if (Array.isArray(val) && val.length === 0) continue; // repeated fields have no presence
    out[k] = plain(val);
  }
  if (Object.prototype.hasOwnProperty.call(src, '$unknowns')) out.$unknowns = plain(src.$unknowns);
  return out;
}
