/**
 * Rasters held in memory at an integer fraction of a source grid's resolution, and the sampling of
 * tile pixels from them. Pure functions over typed arrays.
 */
import type { RawArray } from '../../pipeline/imagery/index.js';
import type { RasterBlock } from '../../pipeline/types.js';
import type { PixelMap } from './warp.js';

/**
 * A piece of a source raster at 1/`factor` resolution: cell (i, j) covers source pixels
 * col0 + i·factor … + factor − 1, row0 + j·factor … (factor 1: the pixels themselves).
 */
export interface Level<T extends RawArray = Float32Array> {
  readonly col0: number;
  readonly row0: number;
  readonly factor: number;
  readonly width: number;
  readonly height: number;
  /** One array per band, row-major width × height. */
  readonly bands: readonly T[];
  /** 1 where the cell holds data. */
  readonly valid: Uint8Array;
}

/** A full-resolution reflectance block as a level. */
export function blockLevel(block: RasterBlock): Level {
  const w = block.window;
  return { col0: w.col, row0: w.row, factor: 1, width: w.width, height: w.height, bands: block.data, valid: block.valid };
}

/**
 * Box mean of the valid pixels of each k×k cell (a cell with any valid pixel is valid), so a
 * zoomed-out tile shows the average colour of what it covers instead of aliasing. The block's
 * window origin should be a multiple of k so neighbouring tiles use the same cells.
 */
export function meanDownsample(block: RasterBlock, k: number): Level {
  const { col, row, width: W, height: H } = block.window;
  if (k <= 1) return blockLevel(block);
  const w = Math.ceil(W / k);
  const h = Math.ceil(H / k);
  const counts = new Uint32Array(w * h);
  for (let y = 0; y < H; y++) {
    const o = Math.floor(y / k) * w;
    for (let x = 0; x < W; x++) if (block.valid[y * W + x]) counts[o + Math.floor(x / k)]++;
  }
  const bands = block.data.map((src) => {
    const sum = new Float32Array(w * h);
    for (let y = 0; y < H; y++) {
      const o = Math.floor(y / k) * w;
      const s = y * W;
      for (let x = 0; x < W; x++) if (block.valid[s + x]) sum[o + Math.floor(x / k)] += src[s + x];
    }
    for (let q = 0; q < sum.length; q++) if (counts[q]) sum[q] /= counts[q];
    return sum;
  });
  const valid = new Uint8Array(w * h);
  for (let q = 0; q < valid.length; q++) valid[q] = counts[q] ? 1 : 0;
  return { col0: col, row0: row, factor: k, width: w, height: h, bands, valid };
}

/**
 * Most frequent non-zero code of each k×k cell (0 when the cell has none), so small change
 * patches stay visible on zoomed-out class tiles rather than being skipped by a sample.
 */
export function modeDownsample(codes: RawArray, col: number, row: number, W: number, H: number, k: number): Level<Uint8Array> {
  const w = Math.ceil(W / k);
  const h = Math.ceil(H / k);
  const out = new Uint8Array(w * h);
  const hist = new Uint32Array(256);
  for (let j = 0; j < h; j++)
    for (let i = 0; i < w; i++) {
      let best = 0;
      let bestN = 0;
      const y1 = Math.min(H, (j + 1) * k);
      const x1 = Math.min(W, (i + 1) * k);
      const seen: number[] = [];
      for (let y = j * k; y < y1; y++)
        for (let x = i * k; x < x1; x++) {
          const v = codes[y * W + x];
          if (v <= 0 || v > 255) continue;
          if (hist[v]++ === 0) seen.push(v);
          if (hist[v] > bestN || (hist[v] === bestN && v < best)) {
            best = v;
            bestN = hist[v];
          }
        }
      for (const v of seen) hist[v] = 0;
      out[j * w + i] = best;
    }
  const valid = new Uint8Array(w * h).fill(1);
  return { col0: col, row0: row, factor: k, width: w, height: h, bands: [out], valid };
}

/**
 * Nearest-cell lookup of every tile pixel: the level cell index, or −1 outside the level, outside
 * `limit` (the source image) or on invalid cells.
 */
export function sampleIndex(level: Level<RawArray>, map: PixelMap, limit: { width: number; height: number }): Int32Array {
  const { cols, rows } = map;
  const out = new Int32Array(cols.length);
  const { col0, row0, factor, width, height, valid } = level;
  for (let p = 0; p < cols.length; p++) {
    const c = cols[p];
    const r = rows[p];
    // NaN fails every comparison: unprojectable pixels are outside.
    if (!(c >= 0 && r >= 0 && c < limit.width && r < limit.height)) {
      out[p] = -1;
      continue;
    }
    const i = Math.floor((c - col0) / factor);
    const j = Math.floor((r - row0) / factor);
    const q = j * width + i;
    out[p] = i >= 0 && j >= 0 && i < width && j < height && valid[q] ? q : -1;
  }
  return out;
}
