import { describe, expect, it } from 'vitest';
import { neighbours8 } from './neighbours.js';

describe('neighbours8', () => {
  const out = new Int32Array(8);
  const of = (p: number, w: number, h: number) => Array.from(out.subarray(0, neighbours8(p, w, h, out)));

  it('lists the eight neighbours of an inner pixel row by row, without the pixel', () => {
    // 4 × 3 raster, pixel (1, 1) = index 5.
    expect(of(5, 4, 3)).toEqual([0, 1, 2, 4, 6, 8, 9, 10]);
  });

  it('keeps to the raster at corners and edges', () => {
    expect(of(0, 4, 3)).toEqual([1, 4, 5]);
    expect(of(11, 4, 3)).toEqual([6, 7, 10]);
    expect(of(4, 4, 3)).toEqual([0, 1, 5, 8, 9]);
    expect(of(0, 1, 1)).toEqual([]);
    expect(of(1, 3, 1)).toEqual([0, 2]);
  });
});
