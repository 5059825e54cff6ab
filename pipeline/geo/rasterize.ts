import type { Window } from '../types.js';

/** A polygon in pixel coordinates of some grid (x = col, y = row, corners at integers): outer ring then holes. */
export type PixelPolygon = ReadonlyArray<ReadonlyArray<readonly [number, number]>>;

/**
 * Burns polygons into `out` (row-major, `win.width * win.height`), pixel-centre rule: a pixel is
 * inside when its centre (col + 0.5, row + 0.5) is inside by the even–odd rule, so holes and
 * multi-ring polygons need no orientation. Later polygons overwrite earlier ones.
 * Cost is O(edges × rows spanned) per polygon; callers pass only polygons near the window.
 */
export function burnPolygon(
  polygon: PixelPolygon,
  value: number,
  win: Window,
  out: { [i: number]: number; length: number },
): void {
  let minY = Infinity;
  let maxY = -Infinity;
  for (const ring of polygon)
    for (const [, y] of ring) {
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  const rowStart = Math.max(win.row, Math.ceil(minY - 0.5));
  const rowEnd = Math.min(win.row + win.height - 1, Math.floor(maxY - 0.5));
  const xs: number[] = [];
  for (let row = rowStart; row <= rowEnd; row++) {
    const cy = row + 0.5;
    xs.length = 0;
    for (const ring of polygon) {
      const n = ring.length;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const [x1, y1] = ring[j];
        const [x2, y2] = ring[i];
        // Half-open in y so a vertex on the scanline is counted once.
        if (y1 <= cy !== y2 <= cy) xs.push(x1 + ((cy - y1) * (x2 - x1)) / (y2 - y1));
      }
    }
    if (xs.length < 2) continue;
    xs.sort((a, b) => a - b);
    const base = (row - win.row) * win.width;
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixel centres col + 0.5 in [xs[k], xs[k+1]).
      const c0 = Math.max(win.col, Math.ceil(xs[k] - 0.5));
      const c1 = Math.min(win.col + win.width - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
      for (let c = c0; c <= c1; c++) out[base + c - win.col] = value;
    }
  }
}
