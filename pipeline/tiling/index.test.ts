import { describe, expect, it } from 'vitest';
import { cropToCore, planTiles, spreadSample } from './index.js';

describe('planTiles', () => {
  it('partitions the grid with cores and pads reads by the halo', () => {
    const tiles = planTiles({ width: 1000, height: 700 }, 256, 8);
    expect(tiles.length).toBe(4 * 3);
    const covered = new Uint8Array(1000 * 700);
    for (const t of tiles) {
      expect(t.read.col).toBe(t.core.col - 8);
      expect(t.read.width).toBe(t.core.width + 16);
      for (let y = t.core.row; y < t.core.row + t.core.height; y++)
        for (let x = t.core.col; x < t.core.col + t.core.width; x++) covered[y * 1000 + x]++;
    }
    expect(covered.every((v) => v === 1)).toBe(true);
    expect(tiles.at(-1)!.core).toEqual({ col: 768, row: 512, width: 232, height: 188 });
  });

  it('crops a read window back to its core', () => {
    const read = { col: -2, row: -2, width: 6, height: 5 };
    const core = { col: 0, row: 0, width: 2, height: 1 };
    const data = Uint8Array.from({ length: 30 }, (_, i) => i);
    expect([...cropToCore(data, read, core)]).toEqual([14, 15]);
  });

  it('spreads samples over the list', () => {
    expect(spreadSample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([1, 5, 8]);
  });
});
