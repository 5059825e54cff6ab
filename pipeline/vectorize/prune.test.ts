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

  it('with clusters, keeps the small pieces of a cluster of touching components that is large enough', () => {
    // A road split into codes 1 (pavement) and 3 (verge): five pieces of 1–2 px, 8 px together;
    // and a lone 2-px speck of code 1 below it.
    const rows = ['......', '113311', '.3.1..', '.....1', '.....1'];
    const w = 6;
    const h = rows.length;
    const codes = new Uint8Array(w * h);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) codes[r * w + c] = rows[r][c] === '.' ? 0 : Number(rows[r][c]);
    const tc = labelTile({ window: { col: 10, row: 10, width: w, height: h }, codes, layers: {}, weights: {} });
    // Not at the tile's edge: shift the window so that no run touches it.
    const inner = { ...tc, window: { col: 9, row: 9, width: w + 2, height: h + 2 } };
    expect(pruneTileComponents(inner, 8).count).toBe(0);
    const kept = pruneTileComponents(inner, 8, new Set(), true);
    expect([...kept.pixelCounts].reduce((a, b) => a + b, 0)).toBe(8);
    expect(kept.count).toBe(tc.count - 1);
  });
});
