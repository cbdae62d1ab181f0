/**
 * "Did you mean" suggestions: for misspelt fields (Slime's docs write `conditon`), module settings, and
 * unknown metric keys (Slime silently rendered nothing for `{{.base.cpu.sum}}`; Governor names the key it
 * probably meant: `_base.cpu.sum`). The one edit distance of the project.
 */

/** Edit distance with adjacent transpositions (optimal string alignment), or `Infinity` beyond `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return Infinity;
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(
        (prev[j] ?? Infinity) + 1,
        (cur[j - 1] ?? Infinity) + 1,
        (prev[j - 1] ?? Infinity) + cost,
      );
      if (
        i > 1 &&
        j > 1 &&
        a.charCodeAt(i - 1) === b.charCodeAt(j - 2) &&
        a.charCodeAt(i - 2) === b.charCodeAt(j - 1)
      ) {
        d = Math.min(d, (prev2[j - 2] ?? Infinity) + 1);
      }
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return Infinity;
    prev2 = prev;
    prev = cur;
  }
  const d = prev[b.length] ?? Infinity;
  return d > limit ? Infinity : d;
}

/**
 * Up to `max` known keys close to `key`, best first: same key in another case, small edit distance
 * (`base.cpu.sum` → `_base.cpu.sum`), or a key ending with `.<key>` (`pod` → `_base.pod`).
 */
export function closeKeys(key: string, known: readonly string[], max: number): string[] {
  const limit = Math.max(1, Math.min(3, Math.floor(key.length / 4)));
  const lower = key.toLowerCase();
  const scored: { key: string; score: number }[] = [];
  for (const k of known) {
    let score = k.toLowerCase() === lower ? 0 : editDistance(key, k, limit);
    if (score === Infinity && k.endsWith(`.${key}`)) score = limit + 1;
    if (score !== Infinity) scored.push({ key: k, score });
  }
  scored.sort((x, y) => x.score - y.score || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return scored.slice(0, max).map((s) => s.key);
}
