import type { Component } from '../vectorize/index.js';
import { forEachTouchingPair as touchingRuns } from '../vectorize/touching.js';
import { createUnionFind } from '../vectorize/union-find.js';

const forEachTouchingPair = (components: readonly Component[], touch: (k: number, j: number, n: number) => void) =>
  touchingRuns(components.length, (k) => components[k].runs, touch);

/**
 * Border length (pixel edges) from each component k to each touching component j, for the ordered
 * pairs (k, j) that `counts` accepts.
 */
function sharedBorders(components: readonly Component[], counts: (from: Component, to: Component) => boolean): Map<number, Map<number, number>> {
  const border = new Map<number, Map<number, number>>();
  forEachTouchingPair(components, (k, j, n) => {
    for (const [a, b] of [[k, j], [j, k]]) {
      if (!counts(components[a], components[b])) continue;
      const m = border.get(a) ?? new Map<number, number>();
      m.set(b, (m.get(b) ?? 0) + n);
      border.set(a, m);
    }
  });
  return border;
}

/** The neighbour `eligible` accepts that shares the longest border (ties: the lower index), and that length; -1 if none. */
function longestBorder(borders: ReadonlyMap<number, number>, eligible: (j: number) => boolean = () => true): [index: number, length: number] {
  let best = -1;
  let len = -1;
  for (const [j, n] of borders) if (eligible(j) && (n > len || (n === len && j < best))) [best, len] = [j, n];
  return [best, len];
}

/** Merges groups of components (lists of indices) into one each, keeping `main`'s code; ids renumbered 1..n in first-run order. */
function mergeGroups(components: readonly Component[], groups: Iterable<{ main: number; members: number[] }>): Component[] {
  const merged = [...groups].map(({ main, members }) => (members.length === 1 ? components[members[0]] : mergeInto(components[main], members.map((k) => components[k]))));
  merged.sort((a, b) => a.runs[0] - b.runs[0] || a.runs[1] - b.runs[1]);
  return merged.map((c, i) => ({ ...c, id: i + 1 }));
}

/**
 * Merges touching components whose codes map to the same type: one site of one type whose pixels
 * the rules split between codes (dug ground: moist and dark reads bare, fresh and bright reads
 * disturbed) is one patch however finely the codes interleave. A merged component takes the code
 * of its largest part whose code is not `weak` (no site of its own), else of its largest part.
 * Codes without a type are left alone. Ids are renumbered 1..n in first-run order.
 */
export function mergeSameType(components: readonly Component[], typeOf: ReadonlyMap<number, string>, weak: ReadonlySet<number> = new Set()): Component[] {
  const uf = createUnionFind(components.length);
  let any = false;
  forEachTouchingPair(components, (k, j) => {
    const t = typeOf.get(components[k].code);
    if (t !== undefined && t === typeOf.get(components[j].code)) {
      uf.union(k, j);
      any = true;
    }
  });
  if (!any) return [...components];
  const groups = new Map<number, { main: number; members: number[] }>();
  const rank = (k: number) => [weak.has(components[k].code) ? 0 : 1, components[k].pixelCount];
  components.forEach((_, k) => {
    const root = uf.find(k);
    const g = groups.get(root);
    if (!g) return void groups.set(root, { main: k, members: [k] });
    g.members.push(k);
    const [a, b] = [rank(k), rank(g.main)];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) g.main = k;
  });
  return mergeGroups(components, groups.values());
}

/**
 * Joins components of the `from` codes to a touching component of another, non-`from` code: the
 * earthworks around a new pond, road or building belong to that site and are one clue, not two. A
 * `from` component touching several others joins the one it shares the longest border with, unless
 * it is more than `maxRatio` times that one's size; otherwise, or touching none, it stays as it
 * is. Touching is 4-adjacency. Ids are renumbered 1..n in first-run order.
 */
export function joinTouching(components: readonly Component[], from: ReadonlySet<number>, maxRatio = Infinity): Component[] {
  if (from.size === 0) return [...components];
  // Border length between pairs (from-component k, site j).
  const border = sharedBorders(components, (a, b) => from.has(a.code) && !from.has(b.code));
  if (border.size === 0) return [...components];
  const target = components.map((_, k) => k);
  for (const [k, m] of border) {
    const [best] = longestBorder(m);
    if (components[k].pixelCount <= maxRatio * components[best].pixelCount) target[k] = best;
  }
  const groups = new Map<number, { main: number; members: number[] }>();
  components.forEach((_, k) => {
    const t = target[k];
    const g = groups.get(t) ?? { main: t, members: [] };
    g.members.push(k);
    groups.set(t, g);
  });
  return mergeGroups(components, groups.values());
}

/**
 * Assembles a long thin site that the classes split into touching pieces: a new road reads as
 * pavement (built), verges and fill (bare soil) and, where the strip is one or two pixels wide,
 * crowns (a dark line through crops makes the window textured). A cluster of touching components
 * of any codes that, as one, `isLinearSite` accepts (called with the cluster as a component of
 * `code`) and of which at least `minShare` of the pixels are `code`'s becomes one component of
 * `code`; other clusters are left as they are. Ids are renumbered 1..n in first-run order.
 */
export function assembleLinearSites(components: readonly Component[], code: number, minShare: number, isLinearSite: (c: Component) => boolean): Component[] {
  const uf = createUnionFind(components.length);
  forEachTouchingPair(components, (k, j) => uf.union(k, j));
  const clusters = new Map<number, number[]>();
  components.forEach((_, k) => {
    const root = uf.find(k);
    const members = clusters.get(root);
    if (members) members.push(k);
    else clusters.set(root, [k]);
  });
  const groups: { main: number; members: number[] }[] = [];
  for (const members of clusters.values()) {
    const own = members.filter((k) => components[k].code === code);
    const total = members.reduce((s, k) => s + components[k].pixelCount, 0);
    const ownPixels = own.reduce((s, k) => s + components[k].pixelCount, 0);
    if (members.length > 1 && own.length > 0 && ownPixels >= minShare * total) {
      const main = own.reduce((a, k) => (components[k].pixelCount > components[a].pixelCount ? k : a), own[0]);
      if (isLinearSite(mergeInto(components[main], members.map((k) => components[k])))) {
        groups.push({ main, members });
        continue;
      }
    }
    for (const k of members) groups.push({ main: k, members: [k] });
  }
  return mergeGroups(components, groups);
}

/**
 * Joins a component of one of the `codes` to the touching component of another of them with which
 * it shares the longest border, when that border is at least `minBorderPerPixel` pixel edges per
 * pixel of it: pieces that interleave pixel by pixel are one object read two ways (film rows read
 * half as roof). A compact building beside or inside a greenhouse shares only its sides (a 7×7
 * block 28 edges for 49 pixels) and stays a patch of its own. Joins are applied to the pieces in
 * ascending size, each into a larger one. Ids are renumbered 1..n in first-run order.
 */
export function joinInterleaved(components: readonly Component[], codes: ReadonlySet<number>, minBorderPerPixel: number): Component[] {
  if (codes.size < 2) return [...components];
  const border = sharedBorders(components, (a, b) => codes.has(a.code) && codes.has(b.code) && a.code !== b.code);
  if (border.size === 0) return [...components];
  const uf = createUnionFind(components.length);
  const order = [...border.keys()].sort((a, b) => components[a].pixelCount - components[b].pixelCount || a - b);
  for (const k of order) {
    const [best, len] = longestBorder(border.get(k)!, (j) => components[j].pixelCount >= components[k].pixelCount);
    if (best >= 0 && len >= minBorderPerPixel * components[k].pixelCount) uf.union(k, best);
  }
  const groups = new Map<number, { main: number; members: number[] }>();
  components.forEach((c, k) => {
    const root = uf.find(k);
    const g = groups.get(root);
    if (!g) return void groups.set(root, { main: k, members: [k] });
    g.members.push(k);
    if (c.pixelCount > components[g.main].pixelCount) g.main = k;
  });
  return mergeGroups(components, groups.values());
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
