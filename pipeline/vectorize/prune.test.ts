import { describe, expect, it } from 'vitest';
import { labelTile, mergeTiles, pruneTileComponents } from './index.js';

describe('pruneTileComponents', () => {
  it('drops small interior components only, and merging the rest gives the same large components', () => {
    // 8×6 mask in two tiles of 4 columns: a 2-px speck inside tile A (pruned); 2 px on tile A's
    // edge that continue into tile B (3 px in all: kept); a 4-px and a 5-px component in tile B.
    const rows = ['........', '.11..111', '.......1', '..111...', '.....22.', '.....222'];
    const tile = (col: number) => {
      const codes = new Uint8Array(4 * 6);
      const layer = new Uint16Array(4 * 6);
      for (let r = 0; r < 6; r++)
        for (let c = 0; c < 4; c++) {
          const ch = rows[r][col + c];
          codes[r * 4 + c] = ch === '.' ? 0 : Number(ch);
          layer[r * 4 + c] = r;
        }
      return labelTile({ window: { col, row: 0, width: 4, height: 6 }, codes, layers: { row: layer }, weights: { w: new Float32Array(24).fill(0.5) } });
    };
    const [a, b] = [tile(0), tile(4)];
    const pa = pruneTileComponents(a, 3);
    const pb = pruneTileComponents(b, 3);
    expect(a.count).toBe(2);
    expect(pa.count).toBe(1);
    expect(pa.pixelCounts[0]).toBe(2);
    const full = mergeTiles([a, b]).filter((c) => c.pixelCount >= 3);
    const pruned = mergeTiles([pa, pb]);
    expect(full.map((c) => c.pixelCount).sort()).toEqual([3, 4, 5]);
    expect(pruned.map((c) => [c.code, c.pixelCount, c.hist.row, c.sums.w])).toEqual(full.map((c) => [c.code, c.pixelCount, c.hist.row, c.sums.w]));
  });
});
