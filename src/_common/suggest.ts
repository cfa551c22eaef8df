/**
 * "Did you mean …?" for every unknown name the host reports (manifest keys, capabilities, config keys): one
 * rule, so a typo gets the same hint wherever it is made.
 *
 * @module
 */

/** The candidate closest to `word` when it is close enough to be a likely typo: case, `_` and `-` ignored. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = fold(word);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(w.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(w, fold(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

const fold = (s: string): string => s.toLowerCase().replace(/[_-]/g, "");

/** Levenshtein distance with a single rolling row. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
