import { describe, expect, it } from 'vitest';
import { crsFromEpsg } from '../geo/crs.js';
import { Rng } from '../../samples/rng.js';
import type { Grid, RasterBlock } from '../types.js';
import { estimateShift, shiftedGrid } from './coregister.js';

const N = 96;

/** Fields of random size and colour (a patchwork with edges), shifted by (sx, sy), colours remapped by `season`. */
function fields(seed: number, sx: number, sy: number, season: (v: number) => number, noise = 0.01): RasterBlock {
  const rng = new Rng(seed, 'fields');
  // Field boundaries every 7..19 px in each direction; one colour per cell.
  const cuts = (n: number) => {
    const out = [0];
    while (out[out.length - 1] < n + 20) out.push(out[out.length - 1] + 7 + Math.floor(rng.next() * 13));
    return out;
  };
  const xs = cuts(N);
  const ys = cuts(N);
  const colour = new Map<string, number>();
  const cell = (x: number, y: number) => {
    const key = `${xs.findIndex((c) => c > x)},${ys.findIndex((c) => c > y)}`;
    if (!colour.has(key)) colour.set(key, 0.05 + 0.3 * rng.next());
    return colour.get(key)!;
  };
  const cells = Array.from({ length: (N + 10) * (N + 10) }, (_, k) => cell(k % (N + 10), Math.floor(k / (N + 10))));
  const jitter = new Rng(seed + 1, 'noise');
  const data = [0, 1, 2, 3].map((band) =>
    Float32Array.from({ length: N * N }, (_, p) => {
      const x = (p % N) + 5 - sx;
      const y = Math.floor(p / N) + 5 - sy;
      return season(cells[y * (N + 10) + x]) * (1 + 0.3 * band) + noise * (jitter.next() - 0.5);
    }),
  );
  return { window: { col: 0, row: 0, width: N, height: N }, bandNames: ['blue', 'green', 'red', 'nir'], data, valid: new Uint8Array(N * N).fill(1) };
}

describe('estimateShift', () => {
  it('finds the whole-pixel shift of the after image despite a seasonal change of every colour', () => {
    const pairs = [1, 2, 3, 4].map((s) => ({ b: fields(s, 0, 0, (v) => v), a: fields(s, -2, 1, (v) => 0.4 - v * 0.8) }));
    const r = estimateShift(pairs, 3);
    // A feature at (x, y) before is at (x − 2, y + 1) after: read after at (col − 2, row + 1).
    expect([r.dx, r.dy]).toEqual([-2, 1]);
    expect(r.agreed).toBe(4);
    expect(r.correlation).toBeGreaterThan(r.correlationUnshifted + 0.2);
  });

  it('keeps an aligned pair as it is', () => {
    const pairs = [5, 6, 7].map((s) => ({ b: fields(s, 0, 0, (v) => v), a: fields(s, 0, 0, (v) => v * 1.3, 0.03) }));
    expect(estimateShift(pairs, 3)).toMatchObject({ dx: 0, dy: 0, agreed: 3, voting: 3 });
  });

  it('does not move the scene when the tiles disagree', () => {
    const pairs = [
      { b: fields(8, 0, 0, (v) => v), a: fields(8, 2, 0, (v) => v) },
      { b: fields(9, 0, 0, (v) => v), a: fields(9, 0, 2, (v) => v) },
      { b: fields(10, 0, 0, (v) => v), a: fields(10, -2, -2, (v) => v) },
    ];
    const r = estimateShift(pairs, 3);
    expect([r.dx, r.dy]).toEqual([0, 0]);
    expect(r.note).toMatch(/disagree/);
  });
});

describe('shiftedGrid', () => {
  it('moves the origin by whole pixels along the grid axes', () => {
    const grid: Grid = { width: 10, height: 10, transform: [500000, 2, 0, 3500000, 0, -2], crs: crsFromEpsg(4528) };
    expect(shiftedGrid(grid, { dx: -1, dy: 1 }).transform).toEqual([499998, 2, 0, 3499998, 0, -2]);
    expect(shiftedGrid(grid, { dx: 0, dy: 0 })).toBe(grid);
  });
});
