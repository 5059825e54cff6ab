import type { Window } from '../types.js';

/** Per-pixel id layers whose values are histogrammed per component. */
export type IdLayer = Uint8Array | Uint16Array | Uint32Array;

/** One tile's change codes and the per-pixel layers to summarise per component. */
export interface TileMaskInput {
  /** Core window in global pixel coordinates (halos already cropped away). */
  window: Window;
  /** Change codes, row-major, `window.width * window.height`: 0 = no change, 1..255 = change code. */
  codes: Uint8Array;
  /** Per-pixel ids to histogram per component (township index, baseline DLBM index, PBF flag, ...). */
  layers?: Record<string, IdLayer>;
  /** Per-pixel values to sum per component (e.g. confidence). NaN and ±Infinity are skipped. */
  weights?: Record<string, Float32Array>;
}

/** Per-component histograms of one id layer, columnar (component k owns entries offsets[k]..offsets[k+1]). */
export interface ColumnarHist {
  offsets: Int32Array;
  /** Layer values, ascending within a component. */
  values: Float64Array;
  counts: Float64Array;
}

/**
 * Components of one tile: plain, structured-cloneable data (typed arrays and records only), so it
 * can travel between workers. Produced by `labelTile`, consumed by `mergeTiles`.
 * Columnar: component k's runs are `runs[3*runOffsets[k] .. 3*runOffsets[k+1])`.
 */
export interface TileComponents {
  window: Window;
  count: number;
  /** Change code per component. */
  codes: Uint8Array;
  /** Run index (in triples) where each component starts; `count + 1` entries. */
  runOffsets: Int32Array;
  /** Triples (row, colStart, colEndExclusive) in global coordinates, sorted by row then col per component. */
  runs: Int32Array;
  pixelCounts: Float64Array;
  /** Per-layer histograms. */
  hist: Record<string, ColumnarHist>;
  /**
   * Per-weight exact partial sums, one sparse canonical limb list per component
   * (see exactsum.ts): `[limbIndex, limbValue, ...]`.
   */
  sumLimbs: Record<string, number[][]>;
}

/**
 * A 4-connected set of pixels of one change code, after merging across tiles. Plain data.
 * `components[k].id === k + 1` in mergeTiles' output, so ids can be burnt into label rasters with 0
 * as background; ids follow the first run (row, then column).
 */
export interface Component {
  id: number;
  code: number;
  /** Triples (row, colStart, colEndExclusive), global pixel coordinates, sorted by row then col; runs are maximal. */
  runs: Int32Array;
  pixelCount: number;
  /** Bounding window of the pixels. */
  bbox: Window;
  /** Per layer: [value, pixel count] pairs, ascending by value. */
  hist: Record<string, Array<[value: number, count: number]>>;
  /** Per weight: sum over the component's pixels (exact sum rounded once: independent of tiling). */
  sums: Record<string, number>;
}
