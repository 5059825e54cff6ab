import type { Component } from '../vectorize/index.js';

/**
 * Joins components of the `from` codes to a touching component of another code: the earthworks
 * around a new pond, road or building belong to that site and are one clue, not two. A `from`
 * component touching several others joins the one it shares the longest border with, unless it is
 * more than `maxRatio` times that one's size; otherwise, or touching none, it stays as it is. A
 * component of a `weak` code (no site of its own) may also join a touching non-weak `from`
 * component. Touching is 4-adjacency. Ids are renumbered 1..n in first-run order.
 */
export function joinTouching(components: readonly Component[], from: ReadonlySet<number>, maxRatio = Infinity, weak: ReadonlySet<number> = new Set()): Component[] {
  if (from.size === 0) return [...components];
  // Row index of runs: row → [colStart, colEnd, component index][].
  const rows = new Map<number, [number, number, number][]>();
  components.forEach((c, k) => {
    for (let i = 0; i < c.runs.length; i += 3) {
      const r = c.runs[i];
      let list = rows.get(r);
      if (!list) rows.set(r, (list = []));
      list.push([c.runs[i + 1], c.runs[i + 2], k]);
    }
  });
  for (const list of rows.values()) list.sort((a, b) => a[0] - b[0]);
  // Border length between pairs (from-component k, other j).
  const border = new Map<number, Map<number, number>>();
  const touch = (k: number, j: number, n: number) => {
    if (k === j || components[k].code === components[j].code) return;
    for (const [a, b] of [[k, j], [j, k]]) {
      // Earthworks join a site of another kind; a weak code (no site of its own, e.g. bare soil)
      // also joins earthworks that are a site (fresh bright fill beside moist dug ground).
      const ca = components[a].code;
      const cb = components[b].code;
      if (!from.has(ca) || (from.has(cb) && !(weak.has(ca) && !weak.has(cb)))) continue;
      const m = border.get(a) ?? new Map<number, number>();
      m.set(b, (m.get(b) ?? 0) + n);
      border.set(a, m);
    }
  };
  for (const [r, list] of rows) {
    for (let i = 1; i < list.length; i++) if (list[i - 1][1] === list[i][0]) touch(list[i - 1][2], list[i][2], 1);
    const below = rows.get(r + 1);
    if (!below) continue;
    // Overlap of intervals between consecutive rows (two-pointer sweep).
    let j = 0;
    for (const [s, e, k] of list) {
      while (j < below.length && below[j][1] <= s) j++;
      for (let q = j; q < below.length && below[q][0] < e; q++) touch(k, below[q][2], Math.min(e, below[q][1]) - Math.max(s, below[q][0]));
    }
  }
  if (border.size === 0) return [...components];
  const target = components.map((_, k) => k);
  for (const [k, m] of border) {
    let best = -1;
    let len = -1;
    for (const [j, n] of m) if (n > len || (n === len && j < best)) [best, len] = [j, n];
    if (components[k].pixelCount <= maxRatio * components[best].pixelCount) target[k] = best;
  }
  const groups = new Map<number, Component[]>();
  components.forEach((c, k) => {
    const t = target[k];
    const g = groups.get(t) ?? [];
    g.push(c);
    groups.set(t, g);
  });
  const merged = [...groups.entries()].map(([t, g]) => (g.length === 1 ? g[0] : mergeInto(components[t], g)));
  merged.sort((a, b) => a.runs[0] - b.runs[0] || a.runs[1] - b.runs[1]);
  return merged.map((c, i) => ({ ...c, id: i + 1 }));
}

/** One component from several: runs sorted and coalesced, histograms and sums added, code of `main`. */
function mergeInto(main: Component, parts: readonly Component[]): Component {
  const triples: [number, number, number][] = [];
  for (const c of parts) for (let i = 0; i < c.runs.length; i += 3) triples.push([c.runs[i], c.runs[i + 1], c.runs[i + 2]]);
  triples.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const runs: number[] = [];
  for (const [r, s, e] of triples) {
    const n = runs.length;
    if (n && runs[n - 3] === r && runs[n - 1] === s) runs[n - 1] = e;
    else runs.push(r, s, e);
  }
  const hist: Record<string, Map<number, number>> = {};
  const sums: Record<string, number> = {};
  let [c0, r0, c1, r1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const c of parts) {
    for (const [name, pairs] of Object.entries(c.hist)) {
      const m = (hist[name] ??= new Map());
      for (const [v, n] of pairs) m.set(v, (m.get(v) ?? 0) + n);
    }
    for (const [name, v] of Object.entries(c.sums)) sums[name] = (sums[name] ?? 0) + v;
    c0 = Math.min(c0, c.bbox.col);
    r0 = Math.min(r0, c.bbox.row);
    c1 = Math.max(c1, c.bbox.col + c.bbox.width);
    r1 = Math.max(r1, c.bbox.row + c.bbox.height);
  }
  return {
    id: main.id,
    code: main.code,
    runs: Int32Array.from(runs),
    pixelCount: parts.reduce((s, c) => s + c.pixelCount, 0),
    bbox: { col: c0, row: r0, width: c1 - c0, height: r1 - r0 },
    hist: Object.fromEntries(Object.entries(hist).map(([k, m]) => [k, [...m.entries()].sort((a, b) => a[0] - b[0])])),
    sums,
  };
}
