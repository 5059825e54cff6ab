import type { BBox, GeoTransform, Grid, Window } from '../types.js';

/** Map coordinates of a pixel-corner position (col, row may be fractional). */
export function pixelToMap(t: GeoTransform, col: number, row: number): [number, number] {
  return [t[0] + col * t[1] + row * t[2], t[3] + col * t[4] + row * t[5]];
}

/** Fractional pixel position of a map coordinate (inverse of pixelToMap). */
export function mapToPixel(t: GeoTransform, x: number, y: number): [number, number] {
  const det = t[1] * t[5] - t[2] * t[4];
  const dx = x - t[0];
  const dy = y - t[3];
  return [(dx * t[5] - dy * t[2]) / det, (dy * t[1] - dx * t[4]) / det];
}

/** The transform of a sub-window of a grid. */
export function windowTransform(t: GeoTransform, w: Window): GeoTransform {
  const [x, y] = pixelToMap(t, w.col, w.row);
  return [x, t[1], t[2], y, t[4], t[5]];
}

export function gridBBox(grid: Grid): BBox {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [c, r] of [[0, 0], [grid.width, 0], [0, grid.height], [grid.width, grid.height]] as const) {
    const [x, y] = pixelToMap(grid.transform, c, r);
    xs.push(x);
    ys.push(y);
  }
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys), crs: grid.crs };
}

/** Area of one pixel in CRS units squared (absolute determinant of the transform). */
export const pixelArea = (t: GeoTransform): number => Math.abs(t[1] * t[5] - t[2] * t[4]);

/** Intersection of two windows, or null when they do not overlap. */
export function intersectWindows(a: Window, b: Window): Window | null {
  const col = Math.max(a.col, b.col);
  const row = Math.max(a.row, b.row);
  const right = Math.min(a.col + a.width, b.col + b.width);
  const bottom = Math.min(a.row + a.height, b.row + b.height);
  if (right <= col || bottom <= row) return null;
  return { col, row, width: right - col, height: bottom - row };
}

export const windowKey = (w: Window): string => `${w.col},${w.row},${w.width}x${w.height}`;
