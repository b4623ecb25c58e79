import type { Feeds, HostTensor } from '../ir/index.js';

/** Marks a tensor fed the same for every batch (fixed.ts): batch operations pass it through. */
const FIXED = new WeakSet<HostTensor>();
export function markFixed(t: HostTensor): HostTensor {
  FIXED.add(t);
  return t;
}
export const isFixed = (t: HostTensor): boolean => FIXED.has(t);

/** Samples in a batch of feeds (the leading dim of its first input). */
export function batchLength(feeds: Feeds): number {
  return Object.values(feeds).find((t) => !isFixed(t))?.dims[0] ?? 0;
}

/** The first sample of a batch (axis 0), e.g. to probe tensor sizes cheaply. */
export function firstSample(feeds: Feeds): Feeds {
  const out: Feeds = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (isFixed(t)) {
      out[name] = t;
      continue;
    }
    const per = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = Array.isArray(t.data) ? t.data.slice(0, per) : t.data.subarray(0, per);
    out[name] = { dtype: t.dtype, dims: [1, ...t.dims.slice(1)], data };
  }
  return out;
}
