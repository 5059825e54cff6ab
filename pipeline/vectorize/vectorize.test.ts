import { describe, expect, it } from 'vitest';
import polygonClipping from 'polygon-clipping';
import { burnPolygon, type PixelPolygon } from '../geo/rasterize.js';
import {
  componentsToRaster,
  fromJsonPayload,
  labelTile,
  mergeTiles,
  pixelPolygonArea,
  ringSignedArea,
  toJsonPayload,
  traceComponent,
  type Component,
  type TileComponents,
} from './index.js';
import { rng, sparseMask, tilesOf } from './testutil.js';

/** Reference labelling: flood fill over the full mask, components as sorted runs. */
function reference(codes: Uint8Array, W: number, H: number, origin = { col: 0, row: 0 }): Array<{ code: number; runs: number[] }> {
  const label = new Int32Array(W * H).fill(-1);
  const out: Array<{ code: number; runs: number[] }> = [];
  const stack: number[] = [];
  for (let p = 0; p < W * H; p++) {
    if (!codes[p] || label[p] >= 0) continue;
    const id = out.length;
    const pixels: number[] = [];
    label[p] = id;
    stack.push(p);
    while (stack.length) {
      const q = stack.pop()!;
      pixels.push(q);
      const x = q % W;
      const y = (q - x) / W;
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
        if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
        const n = ny * W + nx;
        if (label[n] < 0 && codes[n] === codes[p]) {
          label[n] = id;
          stack.push(n);
        }
      }
    }
    pixels.sort((a, b) => a - b);
    const runs: number[] = [];
    for (const q of pixels) {
      const x = (q % W) + origin.col;
      const y = Math.floor(q / W) + origin.row;
      const n = runs.length;
      if (n && runs[n - 3] === y && runs[n - 1] === x) runs[n - 1] = x + 1;
      else runs.push(y, x, x + 1);
    }
    out.push({ code: codes[p], runs });
  }
  return out;
}

function vectorize(
  W: number,
  H: number,
  size: number,
  codes: Uint8Array,
  layers: Record<string, Uint8Array | Uint16Array | Uint32Array> = {},
  weights: Record<string, Float32Array> = {},
  origin = { col: 0, row: 0 },
): Component[] {
  // Tiles in a shuffled order: merging must not depend on it.
  const tiles = tilesOf(W, H, size, codes, layers, weights, origin).map(labelTile);
  const r = rng(size);
  for (let i = tiles.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [tiles[i], tiles[j]] = [tiles[j], tiles[i]];
  }
  return mergeTiles(tiles);
}

/** Ring and polygon validity for rectilinear pixel polygons: closed, simple, corners only, oriented. */
function checkPolygon(poly: PixelPolygon, c: Component): void {
  expect(poly.length).toBeGreaterThan(0);
  poly.forEach((ring, i) => {
    expect(ring.length).toBeGreaterThanOrEqual(5);
    expect(ring[0]).toEqual(ring[ring.length - 1]);
    const seen = new Set<string>();
    for (let k = 0; k < ring.length - 1; k++) {
      const key = `${ring[k][0]},${ring[k][1]}`;
      expect(seen.has(key), `ring ${i} of component ${c.id} revisits ${key}`).toBe(false);
      seen.add(key);
      const prev = ring[(k + ring.length - 2) % (ring.length - 1)];
      const next = ring[k + 1];
      // Axis-parallel edges that alternate: every vertex is a corner (no collinear vertices).
      const d1 = [ring[k][0] - prev[0], ring[k][1] - prev[1]];
      const d2 = [next[0] - ring[k][0], next[1] - ring[k][1]];
      expect(d1[0] === 0 || d1[1] === 0).toBe(true);
      expect(d1[0] * d2[0] + d1[1] * d2[1] === 0).toBe(true);
      expect(Math.abs(d1[0]) + Math.abs(d1[1])).toBeGreaterThan(0);
    }
    // Shell counter-clockwise as displayed (y down) = negative raw shoelace; holes positive.
    expect(Math.sign(ringSignedArea(ring))).toBe(i === 0 ? -1 : 1);
  });
  expect(pixelPolygonArea(poly)).toBe(c.pixelCount);
  // Burning the polygon back (pixel-centre rule) gives exactly the component.
  const win = { col: c.bbox.col - 1, row: c.bbox.row - 1, width: c.bbox.width + 2, height: c.bbox.height + 2 };
  const burnt = new Uint8Array(win.width * win.height);
  burnPolygon(poly, c.code, win, burnt);
  expect(Buffer.from(burnt).equals(Buffer.from(componentsToRaster([c], win)))).toBe(true);
}

/** polygon-clipping must see the same area in the union of the polygon with itself (a self-intersection would not survive). */
function clipArea(poly: PixelPolygon): number {
  const geom = poly.map((ring) => ring.map(([x, y]) => [x, y] as [number, number]));
  const u = polygonClipping.union(geom, geom);
  let a = 0;
  for (const p of u) p.forEach((ring, i) => (a += (i === 0 ? 1 : -1) * Math.abs(ringSignedArea(ring))));
  return a;
}

function asPlain(cs: Component[]) {
  return cs.map((c) => ({ ...c, runs: Array.from(c.runs) }));
}

describe('labelTile + mergeTiles', () => {
  const W = 203;
  const H = 157;
  const dense = (() => {
    const r = rng(42);
    return new Uint8Array(W * H).map(() => (r() < 0.55 ? 1 + Math.floor(r() * 2) : 0));
  })();
  const layers = (() => {
    const r = rng(5);
    const township = new Uint16Array(W * H).map((_, p) => ((p % W) >> 5) + 10 * ((p / W) >> 6));
    const before = new Uint8Array(W * H).map(() => Math.floor(r() * 11));
    const parcel = new Uint32Array(W * H).map((_, p) => 100_000 + ((p % W) >> 3) * 1000 + ((p / W) >> 3));
    return { township, before, parcel };
  })();
  const weights = (() => {
    const r = rng(9);
    // Confidence-like values plus awkward magnitudes, subnormals and NaN (skipped).
    const conf = new Float32Array(W * H).map(() => r());
    conf[17] = 1e-40;
    conf[W * 3 + 4] = NaN;
    conf[W * 9 + 100] = 3e30;
    conf[W * 9 + 101] = -3e30;
    return { conf };
  })();

  it('finds the same components as a flood fill, for every tile size', () => {
    const ref = reference(dense, W, H);
    ref.sort((a, b) => a.runs[0] - b.runs[0] || a.runs[1] - b.runs[1]);
    for (const size of [7, 64, 256]) {
      const comps = vectorize(W, H, size, dense);
      expect(comps.map((c) => ({ code: c.code, runs: Array.from(c.runs) }))).toEqual(ref);
      comps.forEach((c, i) => expect(c.id).toBe(i + 1));
    }
  });

  it('gives identical components, statistics and polygons for tile sizes 7, 64, 256', () => {
    const origin = { col: 1_000_003, row: 77 };
    const results = [7, 64, 256, 1000].map((s) => vectorize(W, H, s, dense, layers, weights, origin));
    for (const r of results.slice(1)) expect(asPlain(r)).toEqual(asPlain(results[0]));
    // Sums must be bit-identical, not just close.
    for (const r of results.slice(1)) r.forEach((c, i) => expect(Object.is(c.sums.conf, results[0][i].sums.conf)).toBe(true));
    const polys = results.map((r) => r.map(traceComponent));
    for (const p of polys.slice(1)) expect(p).toEqual(polys[0]);
    let holes = 0;
    results[0].forEach((c, i) => {
      checkPolygon(polys[0][i], c);
      holes += polys[0][i].length - 1;
    });
    expect(holes).toBeGreaterThan(5);
  });

  it('histograms and sums agree with direct per-pixel counting', () => {
    const comps = vectorize(W, H, 37, dense, layers, weights);
    const total = comps.reduce((a, c) => a + c.pixelCount, 0);
    expect(total).toBe(dense.reduce((a, v) => a + (v ? 1 : 0), 0));
    for (const c of comps.filter((_, i) => i % 50 === 0 || _.pixelCount > 100)) {
      const twp = new Map<number, number>();
      const par = new Map<number, number>();
      // Exact reference sum: every float32 is an integer multiple of 2^-149.
      let exact = 0n;
      for (let j = 0; j < c.runs.length; j += 3)
        for (let x = c.runs[j + 1]; x < c.runs[j + 2]; x++) {
          const p = c.runs[j] * W + x;
          twp.set(layers.township[p], (twp.get(layers.township[p]) ?? 0) + 1);
          par.set(layers.parcel[p], (par.get(layers.parcel[p]) ?? 0) + 1);
          const v = weights.conf[p];
          if (Number.isFinite(v)) exact += BigInt(v * 2 ** 149);
        }
      expect(c.hist.township).toEqual([...twp].sort((a, b) => a[0] - b[0]));
      expect(c.hist.parcel).toEqual([...par].sort((a, b) => a[0] - b[0]));
      const want = Number(exact) / 2 ** 149;
      expect(Math.abs(c.sums.conf - want)).toBeLessThanOrEqual(Math.abs(want) * 4e-16);
    }
  });

  it('realistic sparse masks: same result whole or tiled, polygons valid', () => {
    const SW = 700;
    const SH = 520;
    const m = sparseMask(SW, SH, 0.03, 3);
    const whole = vectorize(SW, SH, 10_000, m);
    const tiled = vectorize(SW, SH, 64, m);
    expect(asPlain(tiled)).toEqual(asPlain(whole));
    for (const c of whole) {
      const poly = traceComponent(c);
      checkPolygon(poly, c);
    }
    // Burning all components back reproduces the mask, window by window (ragged windows too).
    for (const win of [
      { col: 0, row: 0, width: SW, height: SH },
      { col: 123, row: 45, width: 77, height: 300 },
      { col: -5, row: SH - 10, width: 40, height: 30 },
    ]) {
      const got = componentsToRaster(whole, win);
      for (let y = 0; y < win.height; y++)
        for (let x = 0; x < win.width; x++) {
          const gx = win.col + x;
          const gy = win.row + y;
          const want = gx >= 0 && gy >= 0 && gx < SW && gy < SH ? m[gy * SW + gx] : 0;
          if (got[y * win.width + x] !== want) expect(`${gx},${gy}: ${got[y * win.width + x]}`).toBe(`${gx},${gy}: ${want}`);
        }
    }
  });

  it('polygon-clipping accepts every traced polygon unchanged', () => {
    const comps = vectorize(W, H, 64, dense);
    for (const c of comps.filter((c) => c.pixelCount > 3)) expect(clipArea(traceComponent(c))).toBe(c.pixelCount);
  });

  it('payloads survive structured clone and JSON', () => {
    const tiles = tilesOf(W, H, 64, dense, layers, weights).map(labelTile);
    const direct = mergeTiles(tiles);
    const cloned = mergeTiles(structuredClone(tiles));
    const json = JSON.parse(JSON.stringify(toJsonPayload(tiles)));
    const viaJson = mergeTiles(fromJsonPayload<TileComponents[]>(json));
    expect(asPlain(cloned)).toEqual(asPlain(direct));
    expect(asPlain(viaJson)).toEqual(asPlain(direct));
    const back = fromJsonPayload<Component[]>(JSON.parse(JSON.stringify(toJsonPayload(direct))));
    expect(back[0].runs).toBeInstanceOf(Int32Array);
    expect(asPlain(back)).toEqual(asPlain(direct));
  });

  it('rejects inconsistent inputs', () => {
    const win = { col: 0, row: 0, width: 4, height: 4 };
    expect(() => labelTile({ window: win, codes: new Uint8Array(15) })).toThrow(/codes has 15/);
    expect(() => labelTile({ window: win, codes: new Uint8Array(16), layers: { t: new Uint8Array(3) } })).toThrow(/layer t/);
    expect(() => labelTile({ window: win, codes: new Uint8Array(16), layers: { t: new Int16Array(16) as unknown as Uint16Array } })).toThrow(/Uint16Array/);
    const a = labelTile({ window: win, codes: new Uint8Array(16), layers: { t: new Uint8Array(16) } });
    const b = labelTile({ window: { ...win, col: 4 }, codes: new Uint8Array(16) });
    expect(() => mergeTiles([a, b])).toThrow(/tile 1 has layers/);
    expect(mergeTiles([])).toEqual([]);
    expect(mergeTiles([b])).toEqual([]);
  });
});

/** Draws an ASCII picture ('.' = 0, digits = codes) into a mask. */
function picture(rows: string[]): { W: number; H: number; codes: Uint8Array } {
  const H = rows.length;
  const W = rows[0].length;
  const codes = new Uint8Array(W * H);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (codes[y * W + x] = ch === '.' ? 0 : Number(ch))));
  return { W, H, codes };
}

describe('traceComponent', () => {
  it('a ring of pixels is one shell and one hole', () => {
    const { W, H, codes } = picture(['.....', '.111.', '.1.1.', '.111.', '.....']);
    const [c, ...rest] = vectorize(W, H, 2, codes);
    expect(rest).toHaveLength(0);
    const poly = traceComponent(c);
    expect(poly).toEqual([
      [[1, 1], [1, 4], [4, 4], [4, 1], [1, 1]],
      [[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]],
    ]);
    checkPolygon(poly, c);
  });

  it('a U closing into an O across tile borders gives one component with a hole', () => {
    // Tiles of 3: the arms are in different tiles and meet only in the tile row below.
    const { W, H, codes } = picture(['........', '.11..11.', '.11..11.', '.11..11.', '.111111.', '.111111.', '........']);
    const u = vectorize(W, H, 3, codes);
    expect(u).toHaveLength(1);
    expect(traceComponent(u[0])).toHaveLength(1); // U: no hole
    const o = picture(['........', '.111111.', '.11..11.', '.11..11.', '.11..11.', '.111111.', '........']);
    const comps = vectorize(o.W, o.H, 3, o.codes);
    expect(comps).toHaveLength(1);
    const poly = traceComponent(comps[0]);
    expect(poly).toHaveLength(2);
    checkPolygon(poly, comps[0]);
    expect(Math.abs(ringSignedArea(poly[1]))).toBe(6);
  });

  it('a hole touching the shell at a corner is a separate ring meeting it at one vertex', () => {
    const { W, H, codes } = picture(['....', '.111', '.1.1', '.11.']);
    const [c] = vectorize(W, H, 2, codes);
    const poly = traceComponent(c);
    expect(poly).toHaveLength(2);
    checkPolygon(poly, c);
    const shell = new Set(poly[0].map(([x, y]) => `${x},${y}`));
    const shared = poly[1].slice(0, -1).filter(([x, y]) => shell.has(`${x},${y}`));
    expect(shared).toEqual([[3, 3]]);
    expect(clipArea(poly)).toBe(c.pixelCount);
  });

  it('two holes touching at a corner are two rings', () => {
    const { W, H, codes } = picture(['11111', '1.111', '11.11', '11111']);
    const [c] = vectorize(W, H, 3, codes);
    const poly = traceComponent(c);
    expect(poly).toHaveLength(3);
    checkPolygon(poly, c);
    expect(clipArea(poly)).toBe(c.pixelCount);
  });

  it('pixels touching only at a corner are separate components, each a simple square', () => {
    const { W, H, codes } = picture(['1.1', '.1.', '1.1']);
    const comps = vectorize(W, H, 2, codes);
    expect(comps).toHaveLength(5);
    for (const c of comps) expect(traceComponent(c)).toEqual([[[c.bbox.col, c.bbox.row], [c.bbox.col, c.bbox.row + 1], [c.bbox.col + 1, c.bbox.row + 1], [c.bbox.col + 1, c.bbox.row], [c.bbox.col, c.bbox.row]]]);
  });

  it('different codes side by side are different components whose rings share edges', () => {
    const { W, H, codes } = picture(['1122', '1122']);
    const comps = vectorize(W, H, 3, codes);
    expect(comps.map((c) => [c.code, c.pixelCount])).toEqual([
      [1, 4],
      [2, 4],
    ]);
  });

  it('a checkerboard-like staircase with many saddles stays valid', () => {
    const { W, H, codes } = picture([
      '1111111',
      '1.1.1.1',
      '11.1.11',
      '1.1.1.1',
      '1111111',
    ]);
    const comps = vectorize(W, H, 2, codes).filter((c) => c.pixelCount > 1);
    expect(comps).toHaveLength(1);
    const poly = traceComponent(comps[0]);
    checkPolygon(poly, comps[0]);
    expect(clipArea(poly)).toBe(comps[0].pixelCount);
  });
});
