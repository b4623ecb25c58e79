// Seeded pseudo-random numbers for --stochastic-rounding: deterministic across runs, machines and
// Node versions (32-bit integer arithmetic only), so the same seed writes the same bytes.

/** mulberry32: a small 32-bit PRNG (period 2^32) returning floats in [0, 1) with 32 random bits. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 code units of `s`, finished with murmur3's fmix32. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * One independent stream per (seed, tensor name): a tensor's rounding does not depend on which
 * other tensors are quantized, or in which order, so an excluded layer changes no other weight.
 */
export function streamFor(seed: number, name: string): () => number {
  return mulberry32(hash32(`${seed}\u0000${name}`));
}
