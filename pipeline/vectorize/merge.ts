import { VectorError } from '../errors.js';
import { LIMBS, addSparse, carry, limbsValue, sparseValue } from './exactsum.js';
import type { Component, TileComponents } from './types.js';
import { createUnionFind } from './union-find.js';

/**
 * Merges the components of tiles whose core windows partition (part of) a grid into
 * scene-wide components, and numbers them by first run (row, then column), ids from 1.
 *
 * Two tile components join when a pixel of one and a pixel of the other are 4-adjacent across a
 * shared window edge and carry the same code. Runs split by a vertical tile edge are joined again
 * and histograms and exact sums are added, so the output (runs, hist, sums, and hence traced
 * polygons) is the same for any tiling. Tiles may come in any order; they must not overlap.
 * Memory is proportional to the changed pixels' runs, never to the scene.
 */
export function mergeTiles(tiles: readonly TileComponents[]): Component[] {
  const layerNames = tiles.length > 0 ? Object.keys(tiles[0].hist).sort() : [];
  const weightNames = tiles.length > 0 ? Object.keys(tiles[0].sumLimbs).sort() : [];
  const base = new Int32Array(tiles.length + 1);
  tiles.forEach((t, i) => {
    const ln = Object.keys(t.hist).sort();
    const wn = Object.keys(t.sumLimbs).sort();
    if (ln.join('\u0000') !== layerNames.join('\u0000') || wn.join('\u0000') !== weightNames.join('\u0000'))
      throw new VectorError('VECTOR_INVALID', `tile ${i} has layers [${ln}] / weights [${wn}], tile 0 has [${layerNames}] / [${weightNames}]`, {
        stage: 'vectorize',
        tile: `${t.window.col},${t.window.row}`,
      });
    base[i + 1] = base[i] + t.count;
  });
  const total = base[tiles.length];
  const { find, union } = createUnionFind(total);

  // Runs on tile edges, keyed by the edge they lie against. Horizontal edge y separates row y-1
  // (bottom rows of the tiles above) from row y (top rows of the tiles below); vertical edge x
  // separates column x-1 from column x.
  type HRun = [c0: number, c1: number, code: number, gid: number];
  type VRun = [row: number, code: number, gid: number];
  const hEdges = new Map<number, { above: HRun[]; below: HRun[] }>();
  const vEdges = new Map<number, { left: VRun[]; right: VRun[] }>();
  const hEdge = (y: number) => {
    let e = hEdges.get(y);
    if (!e) hEdges.set(y, (e = { above: [], below: [] }));
    return e;
  };
  const vEdge = (x: number) => {
    let e = vEdges.get(x);
    if (!e) vEdges.set(x, (e = { left: [], right: [] }));
    return e;
  };
  tiles.forEach((t, ti) => {
    const { col, row, width, height } = t.window;
    const top = row;
    const bottom = row + height - 1;
    const left = col;
    const right = col + width;
    for (let c = 0; c < t.count; c++) {
      const gid = base[ti] + c;
      const code = t.codes[c];
      for (let j = t.runOffsets[c]; j < t.runOffsets[c + 1]; j++) {
        const r = t.runs[3 * j];
        const c0 = t.runs[3 * j + 1];
        const c1 = t.runs[3 * j + 2];
        if (r === top) hEdge(r).below.push([c0, c1, code, gid]);
        if (r === bottom) hEdge(r + 1).above.push([c0, c1, code, gid]);
        if (c0 === left) vEdge(c0).right.push([r, code, gid]);
        if (c1 === right) vEdge(c1).left.push([r, code, gid]);
      }
    }
  });
  for (const { above, below } of hEdges.values()) {
    if (above.length === 0 || below.length === 0) continue;
    above.sort((a, b) => a[0] - b[0]);
    below.sort((a, b) => a[0] - b[0]);
    let a = 0;
    let b = 0;
    while (a < above.length && b < below.length) {
      const A = above[a];
      const B = below[b];
      if (A[0] < B[1] && B[0] < A[1] && A[2] === B[2]) union(A[3], B[3]);
      if (A[1] <= B[1]) a++;
      else b++;
    }
  }
  for (const { left, right } of vEdges.values()) {
    if (left.length === 0 || right.length === 0) continue;
    left.sort((a, b) => a[0] - b[0]);
    right.sort((a, b) => a[0] - b[0]);
    let a = 0;
    let b = 0;
    while (a < left.length && b < right.length) {
      const A = left[a];
      const B = right[b];
      if (A[0] === B[0]) {
        if (A[1] === B[1]) union(A[2], B[2]);
        a++;
        b++;
      } else if (A[0] < B[0]) a++;
      else b++;
    }
  }

  // Groups of tile components, each ordered by its first run.
  const tileOf = new Int32Array(total);
  tiles.forEach((_, ti) => tileOf.fill(ti, base[ti], base[ti + 1]));
  const members = new Map<number, number[]>();
  for (let g = 0; g < total; g++) {
    const r = find(g);
    const m = members.get(r);
    if (m) m.push(g);
    else members.set(r, [g]);
  }
  const firstRun = (g: number): [number, number] => {
    const t = tiles[tileOf[g]];
    const j = t.runOffsets[g - base[tileOf[g]]];
    return [t.runs[3 * j], t.runs[3 * j + 1]];
  };
  const groups = [...members.values()].map((m) => {
    let best = firstRun(m[0]);
    for (let i = 1; i < m.length; i++) {
      const f = firstRun(m[i]);
      if (f[0] < best[0] || (f[0] === best[0] && f[1] < best[1])) best = f;
    }
    return { m, row: best[0], col: best[1] };
  });
  groups.sort((a, b) => a.row - b.row || a.col - b.col);

  const limbs = new Float64Array(LIMBS);
  return groups.map(({ m }, index): Component => {
    const local = (g: number) => g - base[tileOf[g]];
    const t0 = tiles[tileOf[m[0]]];
    const code = t0.codes[local(m[0])];
    let runs: Int32Array;
    let pixelCount = 0;
    for (const g of m) pixelCount += tiles[tileOf[g]].pixelCounts[local(g)];
    if (m.length === 1) {
      const c = local(m[0]);
      runs = t0.runs.slice(3 * t0.runOffsets[c], 3 * t0.runOffsets[c + 1]);
    } else runs = joinRuns(m.map((g) => {
      const t = tiles[tileOf[g]];
      const c = local(g);
      return t.runs.subarray(3 * t.runOffsets[c], 3 * t.runOffsets[c + 1]);
    }));
    let minC = Infinity;
    let maxC = -Infinity;
    for (let j = 0; j < runs.length; j += 3) {
      if (runs[j + 1] < minC) minC = runs[j + 1];
      if (runs[j + 2] > maxC) maxC = runs[j + 2];
    }
    const bbox = { col: minC, row: runs[0], width: maxC - minC, height: runs[runs.length - 3] - runs[0] + 1 };

    const hist: Record<string, Array<[number, number]>> = {};
    for (const name of layerNames) {
      const acc = new Map<number, number>();
      for (const g of m) {
        const h = tiles[tileOf[g]].hist[name];
        const c = local(g);
        for (let k = h.offsets[c]; k < h.offsets[c + 1]; k++) acc.set(h.values[k], (acc.get(h.values[k]) ?? 0) + h.counts[k]);
      }
      hist[name] = [...acc.entries()].sort((a, b) => a[0] - b[0]);
    }
    const sums: Record<string, number> = {};
    for (const name of weightNames) {
      if (m.length === 1) {
        // Already canonical: evaluates exactly as the dense path would.
        sums[name] = sparseValue(t0.sumLimbs[name][local(m[0])]);
        continue;
      }
      limbs.fill(0);
      for (const g of m) addSparse(limbs, tiles[tileOf[g]].sumLimbs[name][local(g)]);
      carry(limbs);
      sums[name] = limbsValue(limbs);
    }
    return { id: index + 1, code, runs, pixelCount, bbox, hist, sums };
  });
}

/** Sorts the runs of several tile parts by (row, col) and joins runs that a tile edge split. */
function joinRuns(parts: Int32Array[]): Int32Array {
  let n = 0;
  for (const p of parts) n += p.length / 3;
  const all = new Int32Array(3 * n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const idx = new Int32Array(n);
  for (let k = 0; k < n; k++) idx[k] = k;
  idx.sort((a, b) => all[3 * a] - all[3 * b] || all[3 * a + 1] - all[3 * b + 1]);
  const out = new Int32Array(3 * n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    const r = all[3 * k];
    const c0 = all[3 * k + 1];
    const c1 = all[3 * k + 2];
    if (m > 0 && out[3 * m - 3] === r && out[3 * m - 1] === c0) out[3 * m - 1] = c1;
    else {
      out[3 * m] = r;
      out[3 * m + 1] = c0;
      out[3 * m + 2] = c1;
      m++;
    }
  }
  return out.slice(0, 3 * m);
}
