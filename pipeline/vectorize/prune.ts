import { forEachTouchingPair } from './touching.js';
import type { ColumnarHist, TileComponents } from './types.js';
import { createUnionFind } from './union-find.js';

/**
 * Drops the components of a tile that can never reach `minPixels`: those smaller than that which
 * do not touch the tile's edge (inside the core a component cannot grow when tiles merge), unless
 * their code is in `keepCodes` (components that may still join another). With `clusters`, size
 * and edge contact are those of the component's cluster of touching components of any codes: the
 * pieces of one site that the classes split (a road's pavement, verges and texture; film rows
 * read half as roof) are kept whatever their size, to be assembled (patches/join.ts). Keeps memory proportional to the
 * patches that matter, not to the specks of a large scene.
 */
export function pruneTileComponents(tc: TileComponents, minPixels: number, keepCodes: ReadonlySet<number> = new Set(), clusters = false): TileComponents {
  const { window: w } = tc;
  const runsOf = (k: number) => tc.runs.subarray(3 * tc.runOffsets[k], 3 * tc.runOffsets[k + 1]);
  const uf = createUnionFind(tc.count);
  if (clusters) forEachTouchingPair(tc.count, runsOf, (k, j) => uf.union(k, j));
  const clusterPixels = new Float64Array(tc.count);
  const clusterAtEdge = new Uint8Array(tc.count);
  for (let k = 0; k < tc.count; k++) {
    const root = uf.find(k);
    clusterPixels[root] += tc.pixelCounts[k];
    if (clusterAtEdge[root]) continue;
    for (let i = tc.runOffsets[k]; i < tc.runOffsets[k + 1]; i++) {
      const [row, c0, c1] = [tc.runs[3 * i], tc.runs[3 * i + 1], tc.runs[3 * i + 2]];
      if (row === w.row || row === w.row + w.height - 1 || c0 === w.col || c1 === w.col + w.width) {
        clusterAtEdge[root] = 1;
        break;
      }
    }
  }
  const keep: number[] = [];
  for (let k = 0; k < tc.count; k++) {
    const root = uf.find(k);
    if (clusterPixels[root] >= minPixels || clusterAtEdge[root] || keepCodes.has(tc.codes[k])) keep.push(k);
  }
  if (keep.length === tc.count) return tc;
  const runOffsets = keptOffsets(tc.runOffsets, keep);
  const runs = gather(tc.runs, tc.runOffsets, runOffsets, keep, 3, Int32Array);
  const hist: Record<string, ColumnarHist> = {};
  for (const [name, h] of Object.entries(tc.hist)) {
    const offsets = keptOffsets(h.offsets, keep);
    hist[name] = {
      offsets,
      values: gather(h.values, h.offsets, offsets, keep, 1, Float64Array),
      counts: gather(h.counts, h.offsets, offsets, keep, 1, Float64Array),
    };
  }
  return {
    window: tc.window,
    count: keep.length,
    codes: Uint8Array.from(keep, (k) => tc.codes[k]),
    runOffsets,
    runs,
    pixelCounts: Float64Array.from(keep, (k) => tc.pixelCounts[k]),
    hist,
    sumLimbs: Object.fromEntries(Object.entries(tc.sumLimbs).map(([name, limbs]) => [name, keep.map((k) => limbs[k])])),
  };
}

/** Offsets of the kept components' slices once the others are removed from a columnar array. */
function keptOffsets(offsets: Int32Array, keep: readonly number[]): Int32Array {
  const out = new Int32Array(keep.length + 1);
  keep.forEach((k, j) => (out[j + 1] = out[j] + offsets[k + 1] - offsets[k]));
  return out;
}

/** Copies the kept components' slices (`stride` values per entry) into a new columnar array. */
function gather<T extends Int32Array | Float64Array>(
  src: T,
  offsets: Int32Array,
  newOffsets: Int32Array,
  keep: readonly number[],
  stride: number,
  Arr: new (n: number) => T,
): T {
  const out = new Arr(stride * newOffsets[keep.length]);
  keep.forEach((k, j) => out.set(src.subarray(stride * offsets[k], stride * offsets[k + 1]) as never, stride * newOffsets[j]));
  return out;
}
