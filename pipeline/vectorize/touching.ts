/**
 * Calls `touch(k, j, n)` for every pair of components k ≠ j that touch (4-adjacency), with n the
 * length of each stretch of border they share (called once per stretch, so sum n for the total).
 * `runsOf(k)` gives component k's runs as triples (row, colStart, colEndExclusive).
 */
export function forEachTouchingPair(count: number, runsOf: (k: number) => ArrayLike<number>, touch: (k: number, j: number, n: number) => void): void {
  // Row index of runs: row → [colStart, colEnd, component index][].
  const rows = new Map<number, [number, number, number][]>();
  for (let k = 0; k < count; k++) {
    const runs = runsOf(k);
    for (let i = 0; i < runs.length; i += 3) {
      const r = runs[i];
      let list = rows.get(r);
      if (!list) rows.set(r, (list = []));
      list.push([runs[i + 1], runs[i + 2], k]);
    }
  }
  for (const list of rows.values()) list.sort((a, b) => a[0] - b[0]);
  for (const [r, list] of rows) {
    for (let i = 1; i < list.length; i++) if (list[i - 1][1] === list[i][0] && list[i - 1][2] !== list[i][2]) touch(list[i - 1][2], list[i][2], 1);
    const below = rows.get(r + 1);
    if (!below) continue;
    // Overlap of intervals between consecutive rows (two-pointer sweep).
    let j = 0;
    for (const [s, e, k] of list) {
      while (j < below.length && below[j][1] <= s) j++;
      for (let q = j; q < below.length && below[q][0] < e; q++) if (below[q][2] !== k) touch(k, below[q][2], Math.min(e, below[q][1]) - Math.max(s, below[q][0]));
    }
  }
}
