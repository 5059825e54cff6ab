import { describe, expect, it } from 'vitest';
import { labelTile, mergeTiles, traceComponent, pixelPolygonArea } from '../vectorize/index.js';
import { assembleLinearSites, joinInterleaved, joinTouching, mergeSameType } from './join.js';

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

describe('mergeSameType', () => {
  it('makes one component of touching codes of one type, however they interleave, with the code of its largest non-weak part', () => {
    const c = comps([
      '3232....',
      '2323.11.',
      '3232.11.',
      '........',
      '33......',
    ]);
    // 2 = fill, 3 = bare, both dug ground (one type); 1 = a pond. 3 is weak (no site of its own).
    const typeOf = new Map([
      [1, 'pond'],
      [2, 'soil'],
      [3, 'soil'],
    ]);
    const merged = mergeSameType(c, typeOf, new Set([3]));
    expect(merged.map((x) => [x.code, x.pixelCount])).toEqual([[2, 12], [1, 4], [3, 2]]);
    expect(merged.map((x) => x.id)).toEqual([1, 2, 3]);
    expect(pixelPolygonArea(traceComponent(merged[0]))).toBe(12);
    // Without the weak flag the largest part decides (here the bare pixels, 6 of 12, tie broken by first).
    expect(mergeSameType(c, typeOf).map((x) => x.pixelCount)).toEqual([12, 4, 2]);
    // Codes of different types stay apart.
    expect(mergeSameType(c, new Map([[2, 'soil'], [3, 'yard']]))).toHaveLength(c.length);
  });
});

describe('assembleLinearSites', () => {
  // A "site is linear" test for these grids: at least 12 px long and at most 3 px tall.
  const linear = (c: { bbox: { width: number; height: number } }) => c.bbox.width >= 12 && c.bbox.height <= 3;

  it('makes one site of the pieces of a long thin cluster when enough of it is the linear code', () => {
    const c = comps([
      '..............',
      '11511155111311',
      '.3..........3.',
      '..............',
      '..........444.',
      '..........444.',
    ]);
    const out = assembleLinearSites(c, 1, 1 / 3, linear);
    const road = out.find((x) => x.code === 1)!;
    expect(road.pixelCount).toBe(16);
    expect(road.hist.after).toEqual([[10, 10], [30, 3], [50, 3]]);
    expect(out.map((x) => x.code).sort()).toEqual([1, 4]);
    expect(out.map((x) => x.id)).toEqual([1, 2]);
  });

  it('leaves a cluster alone when too little of it is the linear code, or when it is not linear', () => {
    const few = comps(['55515555355555']);
    expect(assembleLinearSites(few, 1, 1 / 3, linear)).toHaveLength(few.length);
    const blob = comps(['1155', '1155', '5511', '5511']);
    expect(assembleLinearSites(blob, 1, 1 / 3, linear)).toHaveLength(blob.length);
  });
});

describe('joinInterleaved', () => {
  it('joins pieces that interleave pixel by pixel into the larger, and leaves a compact block inside another alone', () => {
    // Film rows (8) read half as roof (7): the roof pieces are threaded through the film.
    const rows = ['8888888888', '8787878788', '8888888888', '8778877888', '8888888888'];
    const c = comps(rows);
    const joined = joinInterleaved(c, new Set([7, 8]), 0.5);
    expect(joined).toHaveLength(1);
    expect(joined[0].code).toBe(8);
    expect(joined[0].pixelCount).toBe(50);
    // A 9×9 house (code 7) inside film: 36 shared edges for 81 pixels (0.44 per pixel) stays a house.
    const big = Array.from({ length: 13 }, (_, r) => Array.from({ length: 13 }, (_, x) => (r >= 2 && r < 11 && x >= 2 && x < 11 ? '7' : '8')).join(''));
    const kept = joinInterleaved(comps(big), new Set([7, 8]), 0.5);
    expect(kept.map((x) => [x.code, x.pixelCount]).sort()).toEqual([[7, 81], [8, 88]]);
    // Codes outside the set are never joined.
    expect(joinInterleaved(c, new Set([8]), 0.5)).toHaveLength(c.length);
  });
});
