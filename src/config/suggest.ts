// "Did you mean": the known names closest to a misspelt one (Damerau–Levenshtein distance, case
// folded), for unknown options, node names and op types.

function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Every character of `short` appears in `long`, in order (calibcount in calibrationcount). */
function isSubsequence(short: string, long: string): boolean {
  let i = 0;
  for (const c of long) if (c === short[i]) i++;
  return i === short.length;
}

/**
 * Up to `max` candidates nearest to `word` (case and punctuation folded): within a third of its
 * length (at least 2 edits), containing it, contained in it, or an abbreviation of it. Only the
 * nearest (and those one edit further) are returned; ties keep the candidates' order.
 */
export function closest(word: string, candidates: Iterable<string>, max = 3): string[] {
  const w = norm(word);
  const scored: { c: string; d: number }[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c)) continue;
    seen.add(c);
    const lc = norm(c);
    const d = lc === w ? 0 : distance(w, lc);
    const limit = Math.max(2, Math.floor(w.length / 3));
    const related = w.length >= 3 && lc.length >= 3 && (lc.includes(w) || w.includes(lc) || (lc.length >= 4 && isSubsequence(lc, w)));
    if (d <= limit || related) scored.push({ c, d });
  }
  if (scored.length === 0) return [];
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d <= best + 1).sort((x, y) => x.d - y.d).slice(0, max).map((s) => s.c);
}

/** `; did you mean 'a' or 'b'?`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const near = closest(word, candidates);
  return near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : '';
}
