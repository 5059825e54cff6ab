import type { Window } from '../types.js';
import type { Component } from './types.js';

/**
 * Burns component codes into a new Uint8Array for one window (row-major, `width * height`,
 * 0 elsewhere): used to write the final change raster tile by tile from the kept patches.
 * Cost is O(components) bbox tests plus O(log runs + runs in the window) per overlapping component.
 * Components do not overlap, so order does not matter.
 */
export function componentsToRaster(components: readonly Component[], window: Window): Uint8Array {
  const { col, row, width, height } = window;
  const out = new Uint8Array(width * height);
  const rowEnd = row + height;
  const colEnd = col + width;
  for (const c of components) {
    const b = c.bbox;
    if (b.row >= rowEnd || b.row + b.height <= row || b.col >= colEnd || b.col + b.width <= col) continue;
    const runs = c.runs;
    // First run at or below the window's top row.
    let lo = 0;
    let hi = runs.length / 3;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[3 * mid] < row) lo = mid + 1;
      else hi = mid;
    }
    for (let j = 3 * lo; j < runs.length && runs[j] < rowEnd; j += 3) {
      const c0 = Math.max(runs[j + 1], col);
      const c1 = Math.min(runs[j + 2], colEnd);
      if (c0 < c1) {
        const o = (runs[j] - row) * width - col;
        out.fill(c.code, o + c0, o + c1);
      }
    }
  }
  return out;
}
