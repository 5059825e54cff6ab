import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { generateCounty, readManifest, type CountyManifest } from './index.js';
import { burnPolygon, type PixelPolygon } from '../pipeline/geo/rasterize.js';
import { CGCS2000, crsFromEpsg, makeTransform } from '../pipeline/geo/crs.js';
import { CHANGE_TYPE_NAMES, LandCover } from '../pipeline/types.js';
import { ConfigError } from '../pipeline/errors.js';
import { HARD_CASE_NAMES } from './layout.js';
import { pointInPoly, pointInRing, ringDistance, type Pt, type Ring } from './geom.js';

const SIZE = 600;
const PX = 2;
const CROP = new Set(['0101', '0102', '0103']);

interface Feature {
  properties: Record<string, any>;
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: any };
}
interface FC {
  crs: { properties: { name: string } };
  features: Feature[];
}

let root: string;
let A: string;
let m: CountyManifest;
let layers: Record<string, FC>;
let before: Uint16Array[];
let after: Uint16Array[];
let X0: number;
let Y0: number;

const readFc = async (dir: string, name: string): Promise<FC> => JSON.parse(await readFile(join(dir, `${name}.geojson`), 'utf8'));
const readBands = async (path: string): Promise<Uint16Array[]> => {
  const img = await (await fromFile(path)).getImage();
  return (await img.readRasters()) as unknown as Uint16Array[];
};
const polys = (f: Feature): number[][][][] => (f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates);
const toPx = (p: number[][][]): PixelPolygon => p.map((r) => r.map(([x, y]) => [(x - X0) / PX, (Y0 - y) / PX] as [number, number]));
const toLocal = (r: number[][]): Ring => r.slice(0, -1).map(([x, y]) => [x - X0, Y0 - y] as Pt);
/** Pixel indices whose centre lies in the polygon (GK coordinates), optionally shifted (after-image misregistration). */
function pixelsOf(p: number[][][], dx = 0, dy = 0, erode = 0): number[] {
  const px = toPx(p);
  const xs = px[0].map((q) => q[0]);
  const ys = px[0].map((q) => q[1]);
  const c0 = Math.max(0, Math.floor(Math.min(...xs)) - 1);
  const r0 = Math.max(0, Math.floor(Math.min(...ys)) - 1);
  const w = Math.min(SIZE, Math.ceil(Math.max(...xs)) + 2) - c0;
  const h = Math.min(SIZE, Math.ceil(Math.max(...ys)) + 2) - r0;
  if (w <= 0 || h <= 0) return [];
  const mask = new Uint8Array(w * h);
  burnPolygon(px, 1, { col: c0, row: r0, width: w, height: h }, mask);
  const out: number[] = [];
  for (let r = erode; r < h - erode; r++)
    for (let c = erode; c < w - erode; c++) {
      if (!mask[r * w + c]) continue;
      let ok = true;
      for (let k = -erode; k <= erode && ok; k++) for (let l = -erode; l <= erode && ok; l++) ok = mask[(r + k) * w + c + l] === 1;
      if (!ok) continue;
      const rr = r0 + r + dy;
      const cc = c0 + c + dx;
      if (rr >= 0 && cc >= 0 && rr < SIZE && cc < SIZE) out.push(rr * SIZE + cc);
    }
  return out;
}
const mean = (bands: Uint16Array[], idx: number[]) => bands.map((b) => idx.reduce((s, i) => s + b[i], 0) / idx.length / 10000);
const ndvi = (v: number[]) => (v[3] - v[2]) / (v[3] + v[2]);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fw-county-'));
  A = join(root, 'a');
  m = await generateCounty({ outDir: A, sizePx: SIZE });
  layers = {};
  for (const n of ['landuse', 'townships', 'pbf', 'approved', 'filings', 'projects', 'truth']) layers[n] = await readFc(A, n);
  before = await readBands(join(A, 'before.tif'));
  after = await readBands(join(A, 'after.tif'));
  X0 = m.transform[0];
  Y0 = m.transform[3];
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sample county generator', () => {
  it('is deterministic: same seed → same bytes; another tile size → same pixels', async () => {
    const B = join(root, 'b');
    await generateCounty({ outDir: B, sizePx: SIZE });
    for (const f of ['before.tif', 'after.tif', 'landuse.geojson', 'truth.geojson', 'townships.geojson', 'county.json'])
      expect((await readFile(join(A, f))).equals(await readFile(join(B, f))), f).toBe(true);
    const C = join(root, 'c');
    // Truth rasters on: the images must not change.
    const mc = await generateCounty({ outDir: C, sizePx: SIZE, tileSize: 128, vectors: false, truthRasters: true });
    expect(mc.vectors).toBe(false);
    expect(mc.files.landcoverTruth).toEqual({ before: 'landcover_truth_before.tif', after: 'landcover_truth_after.tif' });
    expect(m.files.landcoverTruth).toBeUndefined();
    expect(mc.files.layers).toEqual({});
    const c0 = await readBands(join(C, 'before.tif'));
    const c1 = await readBands(join(C, 'after.tif'));
    for (let b = 0; b < 4; b++) {
      expect(Buffer.from(c0[b].buffer).equals(Buffer.from(before[b].buffer))).toBe(true);
      expect(Buffer.from(c1[b].buffer).equals(Buffer.from(after[b].buffer))).toBe(true);
    }
    // The true land cover, by the same pixel-centre rules whatever the tile size.
    const E = join(root, 'e');
    await generateCounty({ outDir: E, sizePx: SIZE, vectors: false, truthRasters: true });
    for (const f of ['landcover_truth_before.tif', 'landcover_truth_after.tif']) {
      const [tc] = (await readBands(join(C, f))) as unknown as Uint8Array[];
      const [te] = (await readBands(join(E, f))) as unknown as Uint8Array[];
      expect(Buffer.from(tc.buffer).equals(Buffer.from(te.buffer)), f).toBe(true);
    }
    const D = join(root, 'd');
    await generateCounty({ outDir: D, sizePx: SIZE, seed: 7, vectors: false });
    expect((await readFile(join(D, 'after.tif'))).equals(await readFile(join(A, 'after.tif')))).toBe(false);
  });

  it('writes a manifest that readManifest validates, and rejects bad options', async () => {
    expect(await readManifest(A)).toEqual(m);
    expect(m.crs.epsg).toBe(4528);
    expect(m.transform[0]).toBeGreaterThan(40_000_000); // zone-prefixed easting
    const [lon, lat] = makeTransform(crsFromEpsg(4528), CGCS2000)(X0 + SIZE, Y0 - SIZE);
    expect(lon).toBeCloseTo(120.3, 1);
    expect(lat).toBeCloseTo(32.0, 1);
    expect(m.files).toMatchObject({ before: 'before.tif', after: 'after.tif', truth: 'truth.geojson' });
    expect(m.files.layers.baseline).toBe('landuse.geojson');
    expect(m.notPlanted.map((n) => n.type)).toEqual(['outflow_grass']);
    expect(m.images.before.date < m.images.after.date).toBe(true);
    await expect(generateCounty({ outDir: join(root, 'x'), tileSize: 100 })).rejects.toBeInstanceOf(ConfigError);
    await expect(generateCounty({ outDir: join(root, 'x'), sizePx: 10 })).rejects.toThrow(/sizePx/);
    await expect(readManifest(join(root, 'nope'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const img = await (await fromFile(join(A, 'after.tif'))).getImage();
    expect(img.getGeoKeys()!.ProjectedCSTypeGeoKey).toBe(4528);
    expect((await img.getGDALMetadata())!.ACQUISITION_DATE).toBe(m.images.after.date);
    expect((await img.getGDALMetadata(3))!.DESCRIPTION).toBe('nir');
    expect(img.getGDALNoData()).toBe(0);
    if (spawnSync('gdalinfo', ['--version']).status === 0) {
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', join(A, 'before.tif')], { encoding: 'utf8' }));
      expect(String(info.coordinateSystem.wkt)).toMatch(/ID\["EPSG",4528\]\]$/);
      expect(info.bands.map((b: { description: string }) => b.description)).toEqual(['blue', 'green', 'red', 'nir']);
    } else console.warn('gdalinfo not on PATH: skipping the GDAL check');
  });

  it('generates every size: townships are unions of cells whose shared edges meet only to float noise', async () => {
    // 1000 px once failed in polygon-clipping ("Unable to complete output ring").
    const m1000 = await generateCounty({ outDir: join(root, 'size1000'), sizePx: 1000, compensation: false });
    const towns = JSON.parse(await readFile(join(root, 'size1000', m1000.files.layers.townships), 'utf8')) as { features: unknown[] };
    expect(towns.features.length).toBeGreaterThanOrEqual(3);
  });

  it('baseline is a partition of the scene with survey attributes, each polygon inside one township', () => {
    const lu = layers.landuse;
    expect(lu.crs.properties.name).toBe('urn:ogc:def:crs:EPSG::4528');
    const sceneArea = (SIZE * PX) ** 2;
    const tbmj = lu.features.reduce((s, f) => s + f.properties.TBMJ, 0);
    expect(Math.abs(tbmj - sceneArea) / sceneArea).toBeLessThan(0.005);
    // No gaps, no overlaps: every 1 m cell centre covered exactly once.
    const n = SIZE * PX;
    const count = new Uint8Array(n * n);
    for (const f of lu.features) {
      const p = polys(f)[0].map((r) => r.map(([x, y]) => [x - X0, Y0 - y] as [number, number]));
      const xs = p[0].map((q) => q[0]);
      const ys = p[0].map((q) => q[1]);
      const win = { col: Math.floor(Math.min(...xs)), row: Math.floor(Math.min(...ys)), width: 0, height: 0 };
      win.width = Math.ceil(Math.max(...xs)) - win.col + 1;
      win.height = Math.ceil(Math.max(...ys)) - win.row + 1;
      const mask = new Uint8Array(win.width * win.height);
      burnPolygon(p, 1, win, mask);
      for (let r = 0; r < win.height; r++)
        for (let c = 0; c < win.width; c++) if (mask[r * win.width + c]) count[(win.row + r) * n + win.col + c]++;
    }
    let bad = 0;
    for (let i = 0; i < count.length; i++) if (count[i] !== 1) bad++;
    expect(bad).toBe(0);

    const codes = new Set(lu.features.map((f) => f.properties.DLBM));
    for (const c of ['0101', '0102', '0103', '0201', '0301', '0601', '0702', '1003', '1006', '1101', '1104', '1107', '1202']) expect(codes.has(c), c).toBe(true);
    const bsm = new Set<string>();
    for (const f of lu.features) {
      const p = f.properties;
      expect(p.DLMC).toMatch(/^[\u4e00-\u9fa5]+$/);
      expect(p.XZQDM).toMatch(/^321282\d{3}$/);
      expect(p.ZLDWMC).toMatch(/村$/);
      expect(p.TBMJ).toBeGreaterThan(0);
      bsm.add(p.BSM);
    }
    expect(bsm.size).toBe(lu.features.length);

    const tw = layers.townships;
    expect(tw.crs.properties.name).toBe('urn:ogc:def:crs:EPSG::4490');
    expect(tw.features.length).toBeGreaterThanOrEqual(3);
    for (const f of tw.features) expect(f.properties.XZQMC).toMatch(/镇$/);
    const toLL = makeTransform(crsFromEpsg(4528), CGCS2000);
    for (const f of lu.features) {
      // Convex polygons: the vertex mean is interior.
      const ring = polys(f)[0][0].slice(0, -1);
      const cx = ring.reduce((s, q) => s + q[0], 0) / ring.length;
      const cy = ring.reduce((s, q) => s + q[1], 0) / ring.length;
      const [lon, lat] = toLL(cx, cy);
      const inside = tw.features.filter((t) => polys(t).some((pp) => pointInPoly(lon, lat, pp.map((r) => r.map(([a, b]) => [a, b] as Pt)))));
      expect(inside.map((t) => t.properties.XZQDM)).toEqual([f.properties.XZQDM]);
    }
    // Permanent basic farmland covers a majority of the cropland.
    const cropArea = lu.features.filter((f) => CROP.has(f.properties.DLBM)).reduce((s, f) => s + f.properties.TBMJ, 0);
    const pbfArea = layers.pbf.features.reduce((s, f) => s + f.properties.MJ, 0);
    expect(pbfArea / cropArea).toBeGreaterThan(0.5);
    expect(layers.pbf.features.every((f) => /^\d{14}$/.test(f.properties.JBNTTBBH))).toBe(true);
    expect(layers.projects.features.length).toBeGreaterThanOrEqual(3);
    expect(layers.projects.features.every((f) => f.properties.XMBH && f.properties.YSRQ && f.properties.XZGDMJ > 0)).toBe(true);
  });

  it('plants every change type except grass on cropland, apart, with each hard case', () => {
    const truth = layers.truth;
    const changes = truth.features.filter((f) => f.properties.kind === 'change');
    const hard = truth.features.filter((f) => f.properties.kind === 'hard_case');
    for (const t of CHANGE_TYPE_NAMES) {
      const n = changes.filter((f) => f.properties.type === t).length;
      if (t === 'outflow_grass') expect(n).toBe(0);
      else expect(n, t).toBeGreaterThanOrEqual(4);
    }
    for (const h of HARD_CASE_NAMES) expect(hard.filter((f) => f.properties.hardCase === h).length, h).toBeGreaterThanOrEqual(1);
    expect(hard.filter((f) => f.properties.hardCase === 'harvest').length).toBeGreaterThanOrEqual(4);
    expect(hard.filter((f) => f.properties.hardCase === 'cloud').length).toBeGreaterThanOrEqual(2);
    expect(hard.filter((f) => f.properties.hardCase === 'non_cropland_change').length).toBeGreaterThanOrEqual(2);
    expect(m.planted.changes.outflow_pond).toBe(changes.filter((f) => f.properties.type === 'outflow_pond').length);

    // Cropland mask at pixel resolution; every change pixel must be on cropland.
    const crop = new Uint8Array(SIZE * SIZE);
    const win = { col: 0, row: 0, width: SIZE, height: SIZE };
    for (const f of layers.landuse.features) if (CROP.has(f.properties.DLBM)) burnPolygon(toPx(polys(f)[0]), 1, win, crop);
    for (const f of changes) {
      const idx = pixelsOf(polys(f)[0]);
      expect(idx.length, f.properties.id).toBeGreaterThan(50);
      expect(idx.every((i) => crop[i] === 1), f.properties.id).toBe(true);
      for (const r of polys(f)[0]) for (const [x, y] of r) expect(x > X0 && x < X0 + SIZE * PX && y < Y0 && y > Y0 - SIZE * PX).toBe(true);
    }
    // Non-cropland changes are not on cropland.
    for (const f of hard.filter((h) => h.properties.hardCase === 'non_cropland_change')) expect(pixelsOf(polys(f)[0]).some((i) => crop[i] === 1)).toBe(false);

    // ≥ 10 px from each other and from clouds and shadows.
    const rings = changes.map((f) => toLocal(polys(f)[0][0]));
    for (let i = 0; i < rings.length; i++) for (let j = i + 1; j < rings.length; j++) expect(ringDistance(rings[i], rings[j])).toBeGreaterThanOrEqual(10 * PX - 1e-6);
    const clouds = hard.filter((f) => f.properties.hardCase === 'cloud' || f.properties.hardCase === 'shadow').map((f) => toLocal(polys(f)[0][0]));
    for (const r of rings) for (const c of clouds) expect(ringDistance(r, c)).toBeGreaterThanOrEqual(10 * PX);
    // At least one cloud over cropland.
    expect(hard.filter((f) => f.properties.hardCase === 'cloud').some((f) => pixelsOf(polys(f)[0]).filter((i) => crop[i]).length > 100)).toBe(true);

    const areas = changes.map((f) => f.properties.area as number);
    expect(Math.min(...areas)).toBeLessThan(700);
    expect(Math.max(...areas)).toBeGreaterThan(7000);
    expect(changes.some((f) => polys(f)[0].length === 2)).toBe(true); // courtyard with a hole
    expect(changes.some((f) => f.properties.onPbf) && changes.some((f) => !f.properties.onPbf)).toBe(true);
    const roads = changes.filter((f) => f.properties.type === 'occupation_road');
    for (const f of roads) expect(f.properties.area / 10).toBeGreaterThan(90); // ≥150 m × 6–10 m
  });

  it('true land-cover rasters: the planted changes, clouds and the no-data wedge carry their classes', async () => {
    const T = join(root, 't');
    await generateCounty({ outDir: T, sizePx: SIZE, vectors: false, truthRasters: true });
    const [tb] = (await readBands(join(T, 'landcover_truth_before.tif'))) as unknown as Uint8Array[];
    const [ta] = (await readBands(join(T, 'landcover_truth_after.tif'))) as unknown as Uint8Array[];
    const { dx, dy } = m.afterMisregistration;
    // No data exactly where the after image has none; the before image has no gaps.
    for (let i = 0; i < ta.length; i++) expect(ta[i] === 0).toBe(after[0][i] === 0);
    expect(tb.every((v) => v > 0 && v <= 10)).toBe(true);
    // Clouds exist only in the after image.
    expect(tb.includes(LandCover.cloud)).toBe(false);
    const hard = layers.truth.features.filter((f) => f.properties.kind === 'hard_case');
    for (const f of hard.filter((h) => h.properties.hardCase === 'cloud')) {
      const core = pixelsOf(polys(f)[0], 0, 0, 6);
      expect(core.filter((i) => ta[i] === LandCover.cloud).length / core.length).toBeGreaterThan(0.9);
    }
    // Each planted change shows its class after (displaced by the misregistration), not before
    // (greenhouses keep ≈ 20–30 % grassy paths between film rows).
    const want: Record<string, number[]> = {
      occupation_building: [LandCover.built, LandCover.shadow],
      occupation_road: [LandCover.built, LandCover.disturbed],
      occupation_soil: [LandCover.disturbed],
      outflow_orchard: [LandCover.orchard],
      outflow_forest: [LandCover.tree],
      outflow_pond: [LandCover.water, LandCover.disturbed],
      outflow_greenhouse: [LandCover.greenhouse],
    };
    for (const f of layers.truth.features.filter((c) => c.properties.kind === 'change')) {
      const ok = want[f.properties.type];
      const idx = pixelsOf(polys(f)[0], dx, dy, 1).filter((i) => ta[i] !== 0);
      const hist: Record<number, number> = {};
      for (const i of idx) hist[ta[i]] = (hist[ta[i]] ?? 0) + 1;
      expect(idx.filter((i) => ok.includes(ta[i])).length / idx.length, `${f.properties.id} ${f.properties.type} ${JSON.stringify(hist)}`).toBeGreaterThan(0.65);
      const was = pixelsOf(polys(f)[0], 0, 0, 1);
      expect(was.filter((i) => ok.includes(tb[i])).length / was.length, f.properties.id).toBeLessThan(0.2);
    }
  });

  it('legal changes lie inside an approval or filing carrying their number', () => {
    const toLL = makeTransform(crsFromEpsg(4528), CGCS2000);
    const changes = layers.truth.features.filter((f) => f.properties.kind === 'change');
    for (const t of ['occupation_building', 'occupation_road', 'occupation_soil', 'outflow_greenhouse'])
      expect(changes.some((f) => f.properties.type === t && f.properties.legal), t).toBe(true);
    for (const f of changes) {
      const p = f.properties;
      if (!p.legal) {
        expect(p.approval).toBeNull();
        continue;
      }
      const greenhouse = p.type === 'outflow_greenhouse';
      const layer = greenhouse ? layers.filings : layers.approved;
      const field = greenhouse ? 'BABH' : 'PZWH';
      const hits = layer.features.filter((a) => a.properties[field] === p.approval);
      expect(hits.length, p.approval).toBe(1);
      const ring = polys(hits[0])[0][0] as Pt[];
      for (const [x, y] of polys(f)[0][0]) {
        const q = greenhouse ? [x, y] : toLL(x, y);
        expect(pointInRing(q[0], q[1], ring)).toBe(true);
      }
      expect(p.approval).toMatch(greenhouse ? /^靖设农备〔\d{4}〕\d+号$/ : /^苏政地〔\d{4}〕\d+号$/);
    }
    expect(layers.approved.crs.properties.name).toBe('urn:ogc:def:crs:EPSG::4490');
  });

  it('after image has the no-data wedge, clouds and shadows; reflectances are plausible per material', () => {
    const hard = layers.truth.features.filter((f) => f.properties.kind === 'hard_case');
    const changes = layers.truth.features.filter((f) => f.properties.kind === 'change');
    const { dx, dy } = m.afterMisregistration;
    expect(Math.abs(dx) + Math.abs(dy)).toBeGreaterThan(0);
    const wedge = pixelsOf(polys(hard.find((f) => f.properties.hardCase === 'nodata_edge')!)[0]);
    expect(wedge.length).toBeGreaterThan(500);
    expect(wedge.filter((i) => after.some((b) => b[i] !== 0)).length).toBe(0);
    let zeros = 0;
    for (let b = 0; b < 4; b++) for (const v of before[b]) if (v === 0) zeros++;
    expect(zeros).toBe(0);
    // Every valid value is a plausible reflectance.
    let high = 0;
    for (const img of [before, after]) for (let b = 0; b < 4; b++) for (const v of img[b]) if (v >= 8000) high++;
    expect(high).toBe(0);

    for (const f of hard.filter((h) => h.properties.hardCase === 'cloud')) {
      const core = pixelsOf(polys(f)[0], 0, 0, 6);
      const v = mean(after, core);
      expect(Math.min(...v), 'cloud core bright in all bands').toBeGreaterThan(f.properties.detail.includes('0.60') ? 0.25 : 0.38);
    }
    for (const f of hard.filter((h) => h.properties.hardCase === 'shadow')) {
      const core = pixelsOf(polys(f)[0], 0, 0, 6);
      const shifted = core.map((i) => i - dy * SIZE - dx).filter((i) => i >= 0 && i < SIZE * SIZE);
      expect(mean(after, core)[3]).toBeLessThan(0.6 * mean(before, shifted)[3]);
    }
    // Material checks on eroded interiors (the after image is displaced by the misregistration).
    const byType = (t: string) => changes.filter((f) => f.properties.type === t);
    for (const f of byType('outflow_pond')) expect(mean(after, pixelsOf(polys(f)[0], dx, dy, 4))[3]).toBeLessThan(0.12);
    for (const f of byType('outflow_forest')) expect(ndvi(mean(after, pixelsOf(polys(f)[0], dx, dy, 2)))).toBeGreaterThan(0.45);
    for (const f of byType('outflow_greenhouse')) expect(mean(after, pixelsOf(polys(f)[0], dx, dy, 2))[0]).toBeGreaterThan(0.12);
    for (const f of byType('occupation_soil')) {
      const v = mean(after, pixelsOf(polys(f)[0], dx, dy, 2));
      expect(ndvi(v)).toBeLessThan(0.25);
      expect(v[2] / v[0]).toBeGreaterThan(1.3); // yellowish subsoil: red ≫ blue even with haze
    }
    // Nothing of a change is drawn before: its pixels look like the rest of its host parcel.
    const byBsm = new Map(layers.landuse.features.map((f) => [f.properties.BSM as string, f]));
    for (const f of changes) {
      const host = byBsm.get(f.properties.parcelBSM)!;
      expect(CROP.has(host.properties.DLBM)).toBe(true);
      const v = ndvi(mean(before, pixelsOf(polys(f)[0], 0, 0, 1)));
      expect(Math.abs(v - ndvi(mean(before, pixelsOf(polys(host)[0], 0, 0, 2)))), `${f.properties.id} before`).toBeLessThan(0.15);
    }
    for (const f of hard.filter((h) => h.properties.hardCase === 'harvest')) {
      const idx = pixelsOf(polys(f)[0], 0, 0, 1);
      if (idx.length >= 50) expect(ndvi(mean(before, idx)), 'harvested field green before').toBeGreaterThan(0.45);
    }
    for (const f of hard.filter((h) => h.properties.hardCase === 'harvest')) {
      const idx = pixelsOf(polys(f)[0], dx, dy, 1).filter((i) => after[0][i] !== 0);
      if (idx.length < 50) continue;
      expect(ndvi(mean(after, idx)), 'harvested field bare after').toBeLessThan(0.35);
    }
    const water = layers.landuse.features.filter((f) => f.properties.DLBM === '1101');
    const wv = mean(before, water.flatMap((f) => pixelsOf(polys(f)[0], 0, 0, 5)));
    expect(wv[3]).toBeLessThan(0.08);
    // Realistic overlap, not a single-threshold world: some cropland is as dark in NIR as some built-up land.
    const cropNir = layers.landuse.features
      .filter((f) => CROP.has(f.properties.DLBM))
      .map((f) => pixelsOf(polys(f)[0], dx, dy, 1).filter((i) => after[0][i] !== 0))
      .filter((idx) => idx.length >= 50)
      .map((idx) => mean(after, idx)[3]);
    const builtNir = byType('occupation_building').map((f) => mean(after, pixelsOf(polys(f)[0], dx, dy, 1))[3]);
    expect(Math.min(...cropNir)).toBeLessThan(Math.max(...builtNir));
  });
});
