import type { ColumnarHist, TileComponents } from './types.js';

/**
 * Drops the components of a tile that can never reach `minPixels`: those smaller than that which
 * do not touch the tile's edge (a component inside the core cannot grow when tiles merge), unless
 * their code is in `keepCodes` (components that may still join another). Keeps
 * memory proportional to the patches that matter, not to the specks of a large scene.
 */
export function pruneTileComponents(tc: TileComponents, minPixels: number, keepCodes: ReadonlySet<number> = new Set()): TileComponents {
  const { window: w } = tc;
  const keep: number[] = [];
  for (let k = 0; k < tc.count; k++) {
    if (tc.pixelCounts[k] >= minPixels || keepCodes.has(tc.codes[k])) {
      keep.push(k);
      continue;
    }
    let edge = false;
    for (let i = tc.runOffsets[k]; i < tc.runOffsets[k + 1] && !edge; i++) {
      const [row, c0, c1] = [tc.runs[3 * i], tc.runs[3 * i + 1], tc.runs[3 * i + 2]];
      edge = row === w.row || row === w.row + w.height - 1 || c0 === w.col || c1 === w.col + w.width;
    }
    if (edge) keep.push(k);
  }
  if (keep.length === tc.count) return tc;
  const runOffsets = new Int32Array(keep.length + 1);
  let nRuns = 0;
  keep.forEach((k, j) => {
    runOffsets[j] = nRuns;
    nRuns += tc.runOffsets[k + 1] - tc.runOffsets[k];
  });
  runOffsets[keep.length] = nRuns;
  const runs = new Int32Array(3 * nRuns);
  keep.forEach((k, j) => runs.set(tc.runs.subarray(3 * tc.runOffsets[k], 3 * tc.runOffsets[k + 1]), 3 * runOffsets[j]));
  const hist: Record<string, ColumnarHist> = {};
  for (const [name, h] of Object.entries(tc.hist)) {
    const offsets = new Int32Array(keep.length + 1);
    let n = 0;
    keep.forEach((k, j) => {
      offsets[j] = n;
      n += h.offsets[k + 1] - h.offsets[k];
    });
    offsets[keep.length] = n;
    const values = new Float64Array(n);
    const counts = new Float64Array(n);
    keep.forEach((k, j) => {
      values.set(h.values.subarray(h.offsets[k], h.offsets[k + 1]), offsets[j]);
      counts.set(h.counts.subarray(h.offsets[k], h.offsets[k + 1]), offsets[j]);
    });
    hist[name] = { offsets, values, counts };
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
