import type { Grid, Window } from '../types.js';

/** One tile: the core window it owns and the larger window it reads (core + halo, clipped to nothing: may leave the grid). */
export interface Tile {
  /** Stable id "r{row}c{col}" in tile units. */
  readonly id: string;
  readonly index: number;
  readonly core: Window;
  readonly read: Window;
}

/**
 * Cuts a grid into core windows that partition it, each with a halo of `halo` pixels on every side.
 * Every pixel's result depends only on pixels within the halo radius, so results stitched from
 * cores are identical to a whole-scene computation (seam-free) as long as the halo covers the
 * widest neighbourhood the stages use.
 */
export function planTiles(grid: Pick<Grid, 'width' | 'height'>, tileSize: number, halo: number): Tile[] {
  const tiles: Tile[] = [];
  for (let row = 0, r = 0; row < grid.height; row += tileSize, r++) {
    for (let col = 0, c = 0; col < grid.width; col += tileSize, c++) {
      const core = { col, row, width: Math.min(tileSize, grid.width - col), height: Math.min(tileSize, grid.height - row) };
      tiles.push({
        id: `r${r}c${c}`,
        index: tiles.length,
        core,
        read: { col: col - halo, row: row - halo, width: core.width + 2 * halo, height: core.height + 2 * halo },
      });
    }
  }
  return tiles;
}

/** Copies the core part of a halo-padded array (read window) into a core-sized array. */
export function cropToCore<T extends Uint8Array | Uint16Array | Uint32Array | Float32Array>(data: T, read: Window, core: Window): T {
  const out = new (data.constructor as new (n: number) => T)(core.width * core.height);
  const dx = core.col - read.col;
  const dy = core.row - read.row;
  for (let y = 0; y < core.height; y++) {
    const start = (y + dy) * read.width + dx;
    out.set(data.subarray(start, start + core.width) as never, y * core.width);
  }
  return out;
}

/** The centred sub-window of at most `size` × `size` pixels. */
export function centreWindow(w: Window, size: number): Window {
  const width = Math.min(size, w.width);
  const height = Math.min(size, w.height);
  return { col: w.col + Math.floor((w.width - width) / 2), row: w.row + Math.floor((w.height - height) / 2), width, height };
}

/** Cells of the fixed grid the statistics sample is drawn from (see sampleWindows). */
const SAMPLE_CELL = 1024;
/** Largest sample window, centred in its cell. */
const SAMPLE_WINDOW = 512;

/**
 * Windows a run fits its scene statistics on (calibration, co-registration, normalisation): at
 * most `n`, each the centre (≤ 512²) of one of an even spread of the cells of a fixed 1024 px
 * grid. The grid is not the run's tiling, so the statistics, and so the patches, are the same
 * whatever tile size a run uses.
 */
export function sampleWindows(grid: Pick<Grid, 'width' | 'height'>, n: number): Window[] {
  return spreadSample(planTiles(grid, SAMPLE_CELL, 0), n).map((t) => centreWindow(t.core, SAMPLE_WINDOW));
}

/** Evenly spread subset of tiles (for sampling statistics before the main pass). */
export function spreadSample<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor(((i + 0.5) * items.length) / n)]);
  return out;
}
