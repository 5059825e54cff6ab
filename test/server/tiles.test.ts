/**
 * Map tiles of a generated sample county and a real detection run on it: colours where the
 * county's true land cover is known, transparency, the change raster's codes pixel by pixel, the
 * land-use layer where a known parcel lies, the cache, and errors. Expected values are computed
 * here independently of the renderer (per pixel with proj4, from the raw files).
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import proj4 from 'proj4';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { crsFromEpsg } from '../../pipeline/geo/crs.js';
import { closeScene, openScene, readRawWindow, writeGeoTiff } from '../../pipeline/imagery/index.js';
import { runDetection } from '../../pipeline/run.js';
import { LandCover, type Grid } from '../../pipeline/types.js';
import { SAMPLE_CENTER_LONLAT, countyRunInput, generateCounty } from '../../samples/index.js';
import { storageStats, writeBytes } from '../../storage/index.js';
import { afterShiftOf } from '../../server/imagery.js';
import { startS3 } from '../distributed/helpers.js';
import {
  CHANGE_PALETTE,
  LANDUSE_STYLE,
  TileRenderer,
  closeImagery,
  openImagery,
  renderImageryTile,
  tileBoundsIntersect,
  tileBoundsLonLat,
} from '../../server/tiles/index.js';

const HALF = Math.PI * 6378137;
const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

let dir: string;
let county: string;
let changeTif: string;
let grid: Grid;
/** Map → Web Mercator, projected per point (the renderer interpolates a coarse grid instead). */
let toMerc: (x: number, y: number) => [number, number];
let fromMerc: (x: number, y: number) => [number, number];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-tiles-'));
  county = join(dir, 'county');
  const m = await generateCounty({ outDir: county, sizePx: 800, truthRasters: true });
  const config = parseDetectConfig({ ...countyRunInput(county, m), out: join(dir, 'run'), chips: { enabled: false }, overview: { enabled: false } });
  await runDetection(config, { log: quiet, now: Date.now });
  changeTif = join(dir, 'run', 'change.tif');
  const s = await openScene(join(county, 'before.tif'));
  grid = s.info.grid;
  await closeScene(s);
  const p = proj4(grid.crs.proj4!, crsFromEpsg(3857).proj4!);
  toMerc = (x, y) => p.forward([x, y]) as [number, number];
  fromMerc = (x, y) => p.inverse([x, y]) as [number, number];
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The z/x/y tile and the pixel in it that hold the centre of source pixel (col, row). */
function tilePixelOf(col: number, row: number, z: number) {
  const [X, Y] = toMerc(grid.transform[0] + (col + 0.5) * grid.transform[1], grid.transform[3] + (row + 0.5) * grid.transform[5]);
  const size = (2 * HALF) / 2 ** z;
  const fx = (X + HALF) / size;
  const fy = (HALF - Y) / size;
  const x = Math.floor(fx);
  const y = Math.floor(fy);
  return { z, x, y, px: Math.floor((fx - x) * 256), py: Math.floor((fy - y) * 256) };
}

/** Source pixel position (fractional, pixel-corner coordinates) of a tile pixel's centre. */
function sourceOf(z: number, x: number, y: number, px: number, py: number): [number, number] {
  const size = (2 * HALF) / 2 ** z;
  const [gx, gy] = fromMerc(-HALF + (x + (px + 0.5) / 256) * size, HALF - (y + (py + 0.5) / 256) * size);
  return [(gx - grid.transform[0]) / grid.transform[1], (gy - grid.transform[3]) / grid.transform[5]];
}

async function rgba(png: Buffer | null): Promise<Uint8Array> {
  expect(png).not.toBeNull();
  const { data, info } = await sharp(png!).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([256, 256, 4]);
  return new Uint8Array(data);
}

const px4 = (img: Uint8Array, px: number, py: number) => Array.from(img.subarray((py * 256 + px) * 4, (py * 256 + px) * 4 + 4));

async function readBand(path: string): Promise<{ codes: ArrayLike<number>; W: number; H: number }> {
  const s = await openScene(path);
  const { width: W, height: H } = s.info.grid;
  const r = await readRawWindow(s, { col: 0, row: 0, width: W, height: H }, ['b1']);
  await closeScene(s);
  return { codes: r.data[0], W, H };
}

/** Up to `n` pixels of `value` whose whole (2m+1)² neighbourhood holds it too, spread over the raster. */
function interiorPixels(b: { codes: ArrayLike<number>; W: number; H: number }, value: number, m: number, n: number): [number, number][] {
  const all: [number, number][] = [];
  for (let r = m; r < b.H - m; r += 3)
    for (let c = m; c < b.W - m; c += 3) {
      let ok = true;
      for (let dy = -m; dy <= m && ok; dy++) for (let dx = -m; dx <= m && ok; dx++) if (b.codes[(r + dy) * b.W + c + dx] !== value) ok = false;
      if (ok) all.push([c, r]);
    }
  return Array.from({ length: Math.min(n, all.length) }, (_, i) => all[Math.floor(((i + 0.5) * all.length) / Math.min(n, all.length))]);
}

/** The first change code (raster order) with a pixel 2 px inside it, and that pixel (a thin road has none). */
function firstInterior(b: { codes: ArrayLike<number>; W: number; H: number }): [number, [number, number]] {
  for (const code of new Set(Array.from(b.codes))) {
    const [p] = code > 0 ? interiorPixels(b, code, 2, 1) : [];
    if (p) return [code, p];
  }
  throw new Error('no change code with an interior pixel');
}

const hex = (h: string) => [1, 3, 5, 7].map((i) => (i < h.length ? parseInt(h.slice(i, i + 2), 16) : 255));

describe('imagery tiles', () => {
  it('true colour: water darker than bare soil; false colour: vegetation red (NIR brightest)', async () => {
    const truth = await readBand(join(county, 'landcover_truth_before.tif'));
    const r = new TileRenderer();
    const uri = join(county, 'before.tif');
    const sample = async (value: number, style: 'true' | 'false') => {
      const out: number[][] = [];
      for (const [c, row] of interiorPixels(truth, value, 3, 12)) {
        const t = tilePixelOf(c, row, 17);
        out.push(px4(await rgba(await r.imagery(uri, t.z, t.x, t.y, style)), t.px, t.py));
      }
      expect(out.length, `class ${value}`).toBeGreaterThanOrEqual(5);
      return out;
    };
    const brightness = (v: number[][]) => v.reduce((s, p) => s + p[0] + p[1] + p[2], 0) / v.length;
    const water = await sample(LandCover.water, 'true');
    const bare = await sample(LandCover.bare, 'true');
    for (const p of [...water, ...bare]) expect(p[3]).toBe(255);
    expect(brightness(water)).toBeLessThan(brightness(bare) - 60);
    // Green crops: NIR (shown red) above red (shown green) and green (shown blue), pixel by pixel.
    const veg = await sample(LandCover.herbaceous, 'false');
    for (const p of veg) {
      expect(p[0]).toBeGreaterThan(p[1] + 40);
      expect(p[0]).toBeGreaterThan(p[2] + 40);
    }
    // …and in true colour, green above red.
    const vegTrue = await sample(LandCover.herbaceous, 'true');
    expect(vegTrue.filter((p) => p[1] > p[0]).length).toBeGreaterThanOrEqual(vegTrue.length - 1);
    await r.close();
  });

  it('pixels outside the scene and no-data pixels are transparent; tiles wholly outside are null', async () => {
    const r = new TileRenderer();
    const before = join(county, 'before.tif');
    // The tile holding the scene's north-west corner: inside pixels opaque, outside transparent.
    const t = tilePixelOf(0, 0, 16);
    const img = await rgba(await r.imagery(before, t.z, t.x, t.y, 'true'));
    let inside = 0;
    let outside = 0;
    for (let py = 0; py < 256; py += 5)
      for (let px = 0; px < 256; px += 5) {
        const [c, row] = sourceOf(t.z, t.x, t.y, px, py);
        if (Math.min(Math.abs(c), Math.abs(row)) < 0.05) continue; // on the edge
        const a = px4(img, px, py)[3];
        if (c >= 0 && row >= 0) {
          expect(a, `inside ${px},${py}`).toBe(255);
          inside++;
        } else {
          expect(a, `outside ${px},${py}`).toBe(0);
          outside++;
        }
      }
    expect(inside).toBeGreaterThan(100);
    expect(outside).toBeGreaterThan(100);
    // No-data in after.tif (the planted no-data edge): transparent though inside the scene.
    const after = await readBand(join(county, 'landcover_truth_after.tif'));
    const [nd] = interiorPixels(after, 0, 2, 1);
    expect(nd).toBeDefined();
    const tn = tilePixelOf(nd[0], nd[1], 17);
    expect(px4(await rgba(await r.imagery(join(county, 'after.tif'), tn.z, tn.x, tn.y, 'true')), tn.px, tn.py)[3]).toBe(0);
    // Wholly outside: the neighbour west of the corner tile at z17 when it ends before the scene, and a tile far away.
    const corner = tilePixelOf(0, 0, 17);
    expect(await r.imagery(before, 17, corner.x - 1, corner.y, 'true')).toBeNull();
    expect(await r.imagery(before, 10, 100, 100, 'false')).toBeNull();
    expect(await r.classes(changeTif, 10, 100, 100)).toBeNull();
    expect(await r.vector(join(county, 'landuse.geojson'), 10, 100, 100)).toBeNull();
    await r.close();
  });

  it('uses the band mapping the run uses: a float32 copy with bands in another order renders the same tile', async () => {
    const src = await openScene(join(county, 'before.tif'));
    const { width: W, height: H } = src.info.grid;
    const raw = await readRawWindow(src, { col: 0, row: 0, width: W, height: H }, ['nir', 'red', 'green', 'blue']);
    await closeScene(src);
    const copy = join(dir, 'nrgb-float.tif');
    await writeGeoTiff(copy, grid, raw.data.map((a) => Float32Array.from(a, (v) => (v === 0 ? 0 : v * 1e-4))), { dtype: 'float32', nodata: 0 });
    const r = new TileRenderer();
    const t = tilePixelOf(400, 400, 16);
    for (const style of ['true', 'false'] as const) {
      const a = await rgba(await r.imagery(join(county, 'before.tif'), t.z, t.x, t.y, style));
      const b = await rgba(await r.imagery({ uri: copy, options: { bands: { nir: 1, red: 2, green: 3, blue: 4 } } }, t.z, t.x, t.y, style));
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      expect(maxDiff, style).toBeLessThanOrEqual(1);
    }
    // Without the mapping the copy's bands are b1..b4: a clear error naming the file.
    await expect(r.imagery(copy, t.z, t.x, t.y, 'true')).rejects.toThrow(/nrgb-float\.tif.*no band named "red"/);
    await r.close();
  });

  it('draws an after scene the run co-registered where the run saw it', async () => {
    // A copy of the before scene whose georeference is off by (2, 1) pixels, as if the after date
    // were mis-registered: the run finds (dx, dy) = (2, 1) and reads it shifted.
    const src = await openScene(join(county, 'before.tif'));
    const { width: W, height: H } = src.info.grid;
    const raw = await readRawWindow(src, { col: 0, row: 0, width: W, height: H });
    await closeScene(src);
    const [x0, a, b, y0, d, e] = grid.transform;
    const off = join(dir, 'misregistered.tif');
    await writeGeoTiff(off, { ...grid, transform: [x0 + 2 * a + b, a, b, y0 + 2 * d + e, d, e] }, [...raw.data], { dtype: 'uint16', nodata: 0, bandDescriptions: [...raw.bandNames] });
    const shift = afterShiftOf({ coregistration: { dx: 2, dy: 1 }, inputs: { grid: { crs: grid.crs.name, transform: grid.transform } } });
    expect(shift).toEqual({ crs: grid.crs.name, x: -2 * a - b, y: -2 * d - e });
    expect(afterShiftOf({ coregistration: { dx: 0, dy: 0 }, inputs: { grid: { crs: grid.crs.name, transform: grid.transform } } })).toBeUndefined();
    const r = new TileRenderer();
    const t = tilePixelOf(400, 400, 17);
    const original = await rgba(await r.imagery(join(county, 'before.tif'), t.z, t.x, t.y, 'true'));
    const drawn = await rgba(await r.imagery({ uri: off, shift }, t.z, t.x, t.y, 'true'));
    const unshifted = await rgba(await r.imagery(off, t.z, t.x, t.y, 'true'));
    const maxDiff = (x: Uint8Array, y: Uint8Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    expect(maxDiff(drawn, original)).toBeLessThanOrEqual(1);
    expect(maxDiff(unshifted, original)).toBeGreaterThan(20);
    // A shift measured in another CRS is not applied (the run read that scene through a reprojection).
    const elsewhere = await rgba(await r.imagery({ uri: off, shift: { ...shift!, crs: 'EPSG:32651' } }, t.z, t.x, t.y, 'true'));
    expect(maxDiff(elsewhere, unshifted)).toBe(0);
    await r.close();
  });

  it('a zoomed-out tile reads the scene once into an overview, not per tile', async () => {
    const s = await openImagery(join(county, 'before.tif'));
    const t = tilePixelOf(400, 400, 12);
    const png = await renderImageryTile(s, t.z, t.x, t.y, 'true');
    const img = await rgba(png);
    expect(px4(img, t.px, t.py)[3]).toBe(255);
    const reads = s.reads;
    const t2 = tilePixelOf(10, 10, 13);
    await renderImageryTile(s, t2.z, t2.x, t2.y, 'false');
    expect(s.reads).toBe(reads); // same overview, stretch already known
    await closeImagery(s);
  });
});

describe('change raster tiles', () => {
  it('every pixel has the palette colour of change.tif’s code at its centre (transparent where no change)', async () => {
    const change = await readBand(changeTif);
    const r = new TileRenderer();
    const codes = [...new Set(Array.from(change.codes))].filter((v) => v > 0);
    expect(codes.length).toBeGreaterThanOrEqual(3);
    let coloured = 0;
    let clear = 0;
    for (const code of codes.slice(0, 4)) {
      const [p] = interiorPixels(change, code, 2, 1);
      if (!p) continue;
      for (const z of [17, 15]) {
        const t = tilePixelOf(p[0], p[1], z);
        const img = await rgba(await r.classes(changeTif, t.z, t.x, t.y));
        for (let py = 0; py < 256; py += 3)
          for (let px = 0; px < 256; px += 3) {
            const [c, row] = sourceOf(t.z, t.x, t.y, px, py);
            // Skip centres within 0.02 px of a pixel edge, where the interpolated mapping may round the other way.
            const fc = c - Math.floor(c);
            const fr = row - Math.floor(row);
            if (fc < 0.02 || fc > 0.98 || fr < 0.02 || fr > 0.98) continue;
            const inside = c >= 0 && row >= 0 && c < change.W && row < change.H;
            const v = inside ? change.codes[Math.floor(row) * change.W + Math.floor(c)] : 0;
            const want = v ? hex(CHANGE_PALETTE[v]) : [0, 0, 0, 0];
            expect(px4(img, px, py), `${t.z}/${t.x}/${t.y} @${px},${py} code ${v}`).toEqual(want);
            if (v) coloured++;
            else clear++;
          }
      }
    }
    expect(coloured).toBeGreaterThan(100);
    expect(clear).toBeGreaterThan(100);
    await r.close();
  });

  it('a custom palette colours only the codes it names', async () => {
    const change = await readBand(changeTif);
    const [code, p] = firstInterior(change);
    const t = tilePixelOf(p[0], p[1], 17);
    const r = new TileRenderer();
    expect(px4(await rgba(await r.classes(changeTif, t.z, t.x, t.y, { [code]: '#102030' })), t.px, t.py)).toEqual([0x10, 0x20, 0x30, 255]);
    expect(px4(await rgba(await r.classes(changeTif, t.z, t.x, t.y, { [code + 1]: '#102030' })), t.px, t.py)).toEqual([0, 0, 0, 0]);
    await r.close();
  });
});

describe('land-use tiles', () => {
  it('colours a known parcel with its land-use group, semi-transparent, and draws boundaries', async () => {
    const doc = JSON.parse(await readFile(join(county, 'landuse.geojson'), 'utf8')) as { features: { properties: { DLBM: string }; geometry: { coordinates: number[][][] } }[] };
    // The largest pond/river parcel and the largest cropland parcel (GB/T 21010: 11xx water, 01xx cropland).
    const area = (ring: number[][]) => Math.abs(ring.reduce((s, p, i) => s + p[0] * ring[(i + 1) % ring.length][1] - ring[(i + 1) % ring.length][0] * p[1], 0)) / 2;
    const largest = (prefix: string) =>
      doc.features.filter((f) => f.properties.DLBM.startsWith(prefix)).sort((a, b) => area(b.geometry.coordinates[0]) - area(a.geometry.coordinates[0]))[0];
    const r = new TileRenderer();
    r.addLayer('landuse', join(county, 'landuse.geojson'));
    for (const [prefix, colour] of [['11', LANDUSE_STYLE.colours.water], ['01', LANDUSE_STYLE.colours.cropland]] as const) {
      const f = largest(prefix);
      const ring = f.geometry.coordinates[0];
      // A point well inside: the vertex mean of a convex-ish parcel, checked by ray casting and ≥ 6 m from every edge.
      const cx = ring.slice(0, -1).reduce((s, p) => s + p[0], 0) / (ring.length - 1);
      const cy = ring.slice(0, -1).reduce((s, p) => s + p[1], 0) / (ring.length - 1);
      let inside = false;
      let dmin = Infinity;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [x1, y1] = ring[j];
        const [x2, y2] = ring[i];
        if (y1 > cy !== y2 > cy && cx < x1 + ((cy - y1) * (x2 - x1)) / (y2 - y1)) inside = !inside;
        const L2 = (x2 - x1) ** 2 + (y2 - y1) ** 2;
        const u = L2 ? Math.max(0, Math.min(1, ((cx - x1) * (x2 - x1) + (cy - y1) * (y2 - y1)) / L2)) : 0;
        dmin = Math.min(dmin, Math.hypot(cx - x1 - u * (x2 - x1), cy - y1 - u * (y2 - y1)));
      }
      expect(inside, prefix).toBe(true);
      expect(dmin, prefix).toBeGreaterThan(6);
      const col = (cx - grid.transform[0]) / grid.transform[1] - 0.5;
      const row = (cy - grid.transform[3]) / grid.transform[5] - 0.5;
      const t = tilePixelOf(col, row, 17);
      const img = await rgba(await r.vector('landuse', t.z, t.x, t.y));
      const [R, G, B] = hex(colour);
      expect(px4(img, t.px, t.py), prefix).toEqual([R, G, B, Math.round(255 * LANDUSE_STYLE.fillOpacity)]);
      // Boundary pixels exist (opaque-ish, darker).
      let edges = 0;
      for (let i = 3; i < img.length; i += 4) if (img[i] === Math.round(255 * LANDUSE_STYLE.outlineOpacity)) edges++;
      expect(edges, prefix).toBeGreaterThan(50);
    }
    await r.close();
  });
});

describe('cache and renderer', () => {
  it('a cached tile is the same bytes without reading the file again; concurrent requests render once; the disk cache serves a new renderer', async () => {
    const cacheDir = join(dir, 'tile-cache');
    const r = new TileRenderer({ cacheDir });
    const before = join(county, 'before.tif');
    const t = tilePixelOf(300, 300, 17);
    const first = await r.imagery(before, t.z, t.x, t.y, 'true');
    const s1 = r.stats();
    expect(s1.renders).toBe(1);
    expect(s1.reads).toBeGreaterThan(0);
    const again = await r.imagery(before, t.z, t.x, t.y, 'true');
    const s2 = r.stats();
    expect(Buffer.compare(again!, first!)).toBe(0);
    expect(s2.reads).toBe(s1.reads);
    expect(s2.renders).toBe(1);
    expect(s2.memoryHits).toBe(1);
    // The other style is another tile.
    const fc = await r.imagery(before, t.z, t.x, t.y, 'false');
    expect(Buffer.compare(fc!, first!)).not.toBe(0);
    // Five requests at once for a new tile: one render.
    const n = tilePixelOf(500, 500, 17);
    const many = await Promise.all(Array.from({ length: 5 }, () => r.classes(changeTif, n.z, n.x, n.y)));
    expect(r.stats().renders).toBe(3);
    for (const m of many) expect(Buffer.compare(m!, many[0]!)).toBe(0);
    expect(r.stats().opens).toBe(2); // the scene and the change raster, once each
    await r.close();

    const r2 = new TileRenderer({ cacheDir });
    const fromDisk = await r2.imagery(before, t.z, t.x, t.y, 'true');
    expect(Buffer.compare(fromDisk!, first!)).toBe(0);
    expect(r2.stats()).toMatchObject({ diskHits: 1, renders: 0, reads: 0, opens: 0 });
    await r2.close();
  });

  it('keeps at most maxOpenSources open: idle ones are closed and reopened when needed, busy ones never', async () => {
    const r = new TileRenderer({ maxOpenSources: 1 });
    const before = join(county, 'before.tif');
    const t = tilePixelOf(300, 300, 17);
    const a = await r.imagery(before, t.z, t.x, t.y, 'true');
    await r.classes(changeTif, t.z, t.x, t.y);
    await r.imagery(before, t.z, t.x, t.y, 'false');
    expect(r.stats().opens).toBe(3);
    // Three sources at once with room for one: all render.
    const u = tilePixelOf(600, 200, 17);
    const [b, c, v] = await Promise.all([r.imagery(join(county, 'after.tif'), u.z, u.x, u.y, 'true'), r.classes(changeTif, u.z, u.x, u.y), r.vector(join(county, 'landuse.geojson'), u.z, u.x, u.y)]);
    for (const png of [a, b, c, v]) expect(png).toBeInstanceOf(Buffer);
    await r.close();
  });

  it('a replaced file is re-read: the cache key carries its identity', async () => {
    const path = join(dir, 'replaced.tif');
    await copyFile(changeTif, path);
    const r = new TileRenderer({ revalidateMs: 0 });
    const change = await readBand(changeTif);
    const [code, p] = firstInterior(change);
    const t = tilePixelOf(p[0], p[1], 17);
    expect(px4(await rgba(await r.classes(path, t.z, t.x, t.y)), t.px, t.py)).toEqual(hex(CHANGE_PALETTE[code]));
    // A re-run that found nothing there: all zeros.
    await writeGeoTiff(`${path}.new`, grid, [new Uint8Array(grid.width * grid.height)], { dtype: 'uint8' });
    await copyFile(`${path}.new`, path);
    expect(px4(await rgba(await r.classes(path, t.z, t.x, t.y)), t.px, t.py)).toEqual([0, 0, 0, 0]);
    await r.close();
  });

  it('missing and corrupt files fail with an error naming the file; bad tile addresses are refused', async () => {
    const r = new TileRenderer();
    const t = tilePixelOf(300, 300, 17);
    const missing = join(dir, 'nope', 'before.tif');
    await expect(r.imagery(missing, t.z, t.x, t.y, 'true')).rejects.toThrow(missing);
    const corrupt = join(dir, 'corrupt.tif');
    const bytes = await readFile(join(county, 'before.tif'));
    await writeFile(corrupt, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(r.imagery(corrupt, t.z, t.x, t.y, 'true')).rejects.toThrow(/corrupt\.tif.*(truncated|corrupt)/);
    const garbage = join(dir, 'garbage.tif');
    await writeFile(garbage, 'not a tiff at all');
    await expect(r.classes(garbage, t.z, t.x, t.y)).rejects.toThrow(garbage);
    const badJson = join(dir, 'landuse-bad.geojson');
    await writeFile(badJson, '{"type": "FeatureCollection", "features": [');
    await expect(r.vector(badJson, t.z, t.x, t.y)).rejects.toThrow(/landuse-bad\.geojson.*not valid JSON/);
    await expect(r.vector(join(dir, 'none.geojson'), t.z, t.x, t.y)).rejects.toThrow(/none\.geojson/);
    await expect(r.imagery(join(county, 'before.tif'), 17, -1, 0, 'true')).rejects.toThrow(/tile 17\/-1\/0/);
    await expect(r.imagery(join(county, 'before.tif'), 3, 8, 0, 'true')).rejects.toThrow(/0\.\.7/);
    await expect(r.imagery(join(county, 'before.tif'), 17, t.x, t.y, 'infrared' as never)).rejects.toThrow(/style/);
    // A failed open is not kept: once the file exists, the same renderer serves it.
    await copyFile(join(county, 'before.tif'), join(dir, 'late.tif'));
    await expect(r.imagery(join(dir, 'late.tif'), t.z, t.x, t.y, 'true')).resolves.toBeInstanceOf(Buffer);
    await r.close();
  });

  it('scene bounds and tileBoundsIntersect limit tiles to an area', async () => {
    const r = new TileRenderer();
    const b = await r.sceneBounds(join(county, 'before.tif'));
    const [lon, lat] = SAMPLE_CENTER_LONLAT;
    expect(b[0]).toBeLessThan(lon);
    expect(b[2]).toBeGreaterThan(lon);
    expect(b[1]).toBeLessThan(lat);
    expect(b[3]).toBeGreaterThan(lat);
    // 800 px × 2 m = 1.6 km: about 0.017° of longitude and 0.0144° of latitude at 32° N.
    expect(b[2] - b[0]).toBeCloseTo(1600 / (111_320 * Math.cos((lat * Math.PI) / 180)), 3);
    expect(b[3] - b[1]).toBeCloseTo(1600 / 110_900, 3);
    const c = tilePixelOf(400, 400, 17);
    expect(tileBoundsIntersect(b, c.z, c.x, c.y)).toBe(true);
    expect(tileBoundsIntersect(b, 17, c.x + 50, c.y)).toBe(false);
    const [w, s, e, n] = tileBoundsLonLat(c.z, c.x, c.y);
    expect(w).toBeLessThan(lon + 0.01);
    expect(e - w).toBeCloseTo(360 / 2 ** 17, 9);
    expect(n).toBeGreaterThan(s);
    await r.close();
  });
});

describe('tiles from S3', () => {
  it('renders the same tiles from s3:// objects with ranged reads', async () => {
    const s3 = await startS3('tiles');
    try {
      const files = { before: join(county, 'before.tif'), change: changeTif, landuse: join(county, 'landuse.geojson') };
      for (const [k, f] of Object.entries(files)) await writeBytes(`s3://tiles/run/${k}`, await readFile(f));
      const local = new TileRenderer();
      const remote = new TileRenderer();
      const t = tilePixelOf(400, 400, 17);
      // Ranged GETs only (the stretch samples every block of this small scene; the block cache serves the rest).
      const before = { all: storageStats.s3BytesRead, ranged: storageStats.s3RangeBytesRead };
      const t0 = tilePixelOf(100, 100, 17);
      expect(Buffer.compare((await remote.imagery('s3://tiles/run/before', t0.z, t0.x, t0.y, 'true'))!, (await local.imagery(files.before, t0.z, t0.x, t0.y, 'true'))!)).toBe(0);
      const a = await remote.imagery('s3://tiles/run/before', t.z, t.x, t.y, 'false');
      const ranged = storageStats.s3RangeBytesRead - before.ranged;
      expect(storageStats.s3BytesRead - before.all).toBe(ranged);
      expect(ranged).toBeGreaterThan(0);
      expect(ranged).toBeLessThan((await readFile(files.before)).length * 1.05); // each block once, plus header pages
      expect(Buffer.compare(a!, (await local.imagery(files.before, t.z, t.x, t.y, 'false'))!)).toBe(0);
      expect(Buffer.compare((await remote.classes('s3://tiles/run/change', t.z, t.x, t.y))!, (await local.classes(files.change, t.z, t.x, t.y))!)).toBe(0);
      expect(Buffer.compare((await remote.vector('s3://tiles/run/landuse', t.z, t.x, t.y))!, (await local.vector(files.landuse, t.z, t.x, t.y))!)).toBe(0);
      await expect(remote.imagery('s3://tiles/run/missing.tif', t.z, t.x, t.y, 'true')).rejects.toThrow('s3://tiles/run/missing.tif');
      await local.close();
      await remote.close();
    } finally {
      await s3.close();
    }
  });
});
