// Bounds checked before any allocation whose size comes from a number read from a file
// (dims, lengths, image sizes, archive entries). A file that asks for more is refused with one
// line instead of growing the process until the machine swaps or V8 throws.

/** Largest single tensor or array qtool allocates from a size read in a file: 4 GiB. */
export const MAX_ALLOC_BYTES = 2 ** 32;
/** Largest element count of one tensor (keeps products of dims exact in float64). */
export const MAX_ELEMENTS = 2 ** 40;
/** Pixels of one decoded image (width × height): 100 megapixels, 400 MB as RGBA. */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** Product of dims, or undefined when a dim is not a non-negative integer or the product passes MAX_ELEMENTS. */
export function checkedCount(dims: readonly number[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (n > MAX_ELEMENTS) return undefined;
  }
  return n;
}

export function mib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
