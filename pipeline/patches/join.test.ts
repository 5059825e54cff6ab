import { describe, expect, it } from 'vitest';
import { labelTile, mergeTiles, traceComponent, pixelPolygonArea } from '../vectorize/index.js';
import { joinTouching } from './join.js';

function comps(rows: string[]) {
  const h = rows.length;
  const w = rows[0].length;
  const codes = Uint8Array.from(rows.join(''), (ch) => (ch === '.' ? 0 : Number(ch)));
  const layer = Uint8Array.from(codes, (c) => c * 10);
  return mergeTiles([labelTile({ window: { col: 0, row: 0, width: w, height: h }, codes, layers: { after: layer } })]);
}

describe('joinTouching', () => {
  it('joins a soil ring to the pond it surrounds and keeps a lone soil patch', () => {
    const c = comps([
      '22222....',
      '21112..22',
      '21112..22',
      '22222....',
      '.........',
      '..4......',
    ]);
    expect(c.map((x) => x.code).sort()).toEqual([1, 2, 2, 4]);
    const joined = joinTouching(c, new Set([2]));
    expect(joined.map((x) => [x.code, x.pixelCount]).sort()).toEqual([[1, 20], [2, 4], [4, 1]]);
    const pond = joined.find((x) => x.code === 1)!;
    expect(pond.hist.after).toEqual([[10, 6], [20, 14]]);
    expect(pixelPolygonArea(traceComponent(pond))).toBe(20);
    expect(joined.map((x) => x.id)).toEqual([1, 2, 3]);
  });

  it('joins to the neighbour with the longest shared border', () => {
    const c = comps([
      '3332111',
      '3332111',
      '...2111',
    ]);
    const joined = joinTouching(c, new Set([2]));
    expect(joined.find((x) => x.code === 1)!.pixelCount).toBe(12);
    expect(joined.find((x) => x.code === 3)!.pixelCount).toBe(6);
  });
});

describe('joinTouching size limit', () => {
  it('does not let a speck swallow a much larger area', () => {
    const c = comps([
      '2222222',
      '2222222',
      '2222221',
    ]);
    expect(joinTouching(c, new Set([2]), 3).map((x) => [x.code, x.pixelCount]).sort()).toEqual([[1, 1], [2, 20]]);
    expect(joinTouching(c, new Set([2])).map((x) => [x.code, x.pixelCount])).toEqual([[1, 21]]);
  });
});

describe('joinTouching weak codes', () => {
  it('lets a weak earthwork (bare) join a touching earthwork site (fill), but not the other way', () => {
    const c = comps([
      '3333....',
      '3333222.',
      '....222.',
    ]);
    // 2 = fill (earthwork, a site), 3 = bare (earthwork, weak: no site of its own).
    expect(joinTouching(c, new Set([2, 3])).map((x) => [x.code, x.pixelCount]).sort()).toEqual([[2, 6], [3, 8]]);
    expect(joinTouching(c, new Set([2, 3]), Infinity, new Set([3])).map((x) => [x.code, x.pixelCount])).toEqual([[2, 14]]);
  });
});
