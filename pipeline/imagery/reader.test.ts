/**
 * Reader behaviour on real files from ../shared/data: band naming, windows beyond the edges,
 * NoData/alpha/mask validity, reflectance scaling, resampling onto another grid, failures.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import proj4 from 'proj4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ImageryError } from '../errors.js';
import { mapToPixel, pixelToMap } from '../geo/grid.js';
import type { Grid } from '../types.js';
import { SceneOptionsSchema, parseBandMapping } from '../../config/imagery.js';
import {
  assertScenesOverlap,
  closeScene,
  gridsOverlap,
  noOverlapError,
  openScene,
  readOnGrid,
  readRawWindow,
  readWindow,
  sameGridSpace,
  useNativeDeflate,
  type Scene,
} from './index.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DATA = resolve(REPO, '../shared/data');
const present = existsSync(join(DATA, 'geotiff-conformance/reference_stats.json'));
if (!present) console.log(`[reader] data tests skipped: ${DATA} not found`);
const C = (f: string) => join(DATA, 'geotiff-conformance', f);
const NAIP = (d: string) => join(DATA, 'naip-north-dakota-2009-2020', `m_4709963_se_14_1_${d}.tif`);

let tmp = '';
const opened: Scene[] = [];
async function open(path: string, opts?: Parameters<typeof openScene>[1]): Promise<Scene> {
  const s = await openScene(path, opts);
  opened.push(s);
  return s;
}
async function rejection(p: Promise<unknown>): Promise<ImageryError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ImageryError);
  return e as ImageryError;
}
const count = (a: Uint8Array, v: number) => a.reduce((n, x) => n + (x === v ? 1 : 0), 0);

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'farmwatch-imagery-'));
});
afterAll(async () => {
  await Promise.all(opened.map((s) => closeScene(s)));
  rmSync(tmp, { recursive: true, force: true });
});

describe('config: scene options', () => {
  it('parses band mappings and names the bad item', () => {
    expect(parseBandMapping('blue=1,green=2, red=3 ,NIR=4')).toEqual({ blue: 1, green: 2, red: 3, nir: 4 });
    const bad = (s: string) => {
      try {
        parseBandMapping(s);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).code).toBe('CONFIG_INVALID');
        return (e as Error).message;
      }
      throw new Error(`"${s}" was accepted`);
    };
    expect(bad('blue=1,nir=x')).toBe('--bands: "nir=x" is not name=number (expected e.g. "nir=4")');
    expect(bad('red=0')).toContain('"red=0"');
    expect(bad('red=1,red=2')).toContain('"red" is given twice');
    expect(bad('')).toContain('empty band mapping');
  });

  it('validates scene options with described fields', () => {
    expect(SceneOptionsSchema.parse({ bands: { nir: 4 }, scale: 0.0001, nodata: null, date: '2024-05-01' })).toEqual({
      bands: { nir: 4 },
      scale: 0.0001,
      nodata: null,
      date: '2024-05-01',
    });
    expect(SceneOptionsSchema.safeParse({ bands: { nir: 0 } }).success).toBe(false);
    expect(SceneOptionsSchema.safeParse({ date: '2024/05/01' }).success).toBe(false);
    for (const [k, f] of Object.entries(SceneOptionsSchema.shape)) expect(f.description, `${k} has a description`).toBeTruthy();
  });
});

describe.skipIf(!present)('openScene', () => {
  it('describes a GeoTIFF: grid, bands, dtype, scale, date, layout', async () => {
    const s = await open(C('generated/u16_6b_gdal_metadata_tags.tif'));
    const i = s.info;
    expect(i.grid).toEqual({
      width: 256,
      height: 256,
      transform: [461475, 30, 0, 3399045, 0, -30],
      crs: { epsg: 32616, proj4: '+proj=utm +zone=16 +datum=WGS84 +units=m +no_defs', name: 'EPSG:32616' },
    });
    expect(i.georeferenced).toBe(true);
    expect(i.bands.map((b) => b.name)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6']);
    expect([i.dtype, i.bitsPerSample, i.nodata, i.scale, i.offset, i.scaleSource]).toEqual(['uint16', 16, null, 1e-4, 0, 'default']);
    expect([i.acquired, i.acquiredSource]).toEqual(['2015-08-04', 'metadata']);
    expect(i.sizeBytes).toBe(787742);
    expect(i.layout).toMatchObject({ tiled: false, interleave: 'pixel', bigTiff: false });
  });

  it('takes band names from the mapping, from band descriptions, else b1..bn', async () => {
    const mapped = await open(C('generated/u16_6b_deflate.tif'), { bands: { blue: 1, green: 2, red: 3, nir: 4 } });
    expect(mapped.info.bands.map((b) => b.name)).toEqual(['blue', 'green', 'red', 'nir', 'b5', 'b6']);
    const raw = await readRawWindow(mapped, { col: 10, row: 20, width: 4, height: 3 }, ['b4', 'b3']);
    const blk = await readWindow(mapped, { col: 10, row: 20, width: 4, height: 3 }, ['nir', 'RED']);
    expect(blk.bandNames).toEqual(['nir', 'RED']);
    for (let p = 0; p < 12; p++) {
      expect(blk.data[0][p]).toBeCloseTo(raw.data[0][p] * 1e-4, 6);
      expect(blk.data[1][p]).toBeCloseTo(raw.data[1][p] * 1e-4, 6);
    }
    // Descriptions "Red", "Green", "Blue", "NearInfrared" (no georeferencing in these patches).
    const ches = await open(join(DATA, 'chesapeake-landcover-geobench-samples/id_000181_naip_rgbn.tif'));
    expect(ches.info.bands.map((b) => [b.name, b.description])).toEqual([
      ['red', 'Red'],
      ['green', 'Green'],
      ['blue', 'Blue'],
      ['nir', 'NearInfrared'],
    ]);
    // Band 4 is flagged as alpha by ExtraSamples but described as NIR: it is data, not a mask.
    expect(ches.info.alphaBand).toBeNull();
    expect(ches.info.georeferenced).toBe(false);
    expect(ches.info.grid.crs.name).toBe('none');
    expect(ches.info.grid.transform).toEqual([0, 1, 0, 0, 0, 1]);
    const s2 = await open(join(DATA, 'eolearn-slovenia-s2-lulc/s2_l1c_reference_scene_0.tif'));
    expect(s2.info.bands.slice(0, 9).map((b) => b.name)).toEqual(['b01', 'b02', 'b03', 'b04', 'b05', 'b06', 'b07', 'b08', 'b8a']);
    const naip = await open(NAIP('20120731'));
    expect(naip.info.bands.map((b) => b.name)).toEqual(['b1', 'b2', 'b3', 'b4']);
  });

  it('rejects a mapping beyond the band count with MISSING_BAND naming file, band and count', async () => {
    const file = NAIP('20120731');
    const e = await rejection(openScene(file, { bands: { red: 1, green: 2, blue: 3, nir: 5 } }));
    expect(e.code).toBe('MISSING_BAND');
    expect(e.message).toBe(`${file}: band mapping nir=5 refers to band 5, but the file has 4 bands`);
    expect(e.context).toMatchObject({ file, band: 'nir' });
  });

  it('finds acquisition dates in metadata, file names, then TIFF DateTime', async () => {
    expect((await open(NAIP('20090818'))).info).toMatchObject({ acquired: '2009-08-18', acquiredSource: 'filename' });
    // The DateTime tag says 2024-06-18 (processing); the file name holds the acquisition day.
    expect((await open(C('geotiff-test-data/gpm_1d.20240617.tif'))).info).toMatchObject({ acquired: '2024-06-17', acquiredSource: 'filename' });
    expect((await open(C('rio-tiler/cog_nodata_nan.tif'))).info).toMatchObject({ acquired: '2020-01-06', acquiredSource: 'metadata' });
    expect((await open(C('rio-tiler/cog_gcps.tif'))).info).toMatchObject({ acquired: '2018-07-16', acquiredSource: 'tiff-datetime' });
    expect((await open(C('generated/u16_6b_deflate.tif'))).info).toMatchObject({ acquired: null, acquiredSource: null });
    expect((await open(NAIP('20090818'), { date: '2009-08-19' })).info).toMatchObject({ acquired: '2009-08-19', acquiredSource: 'options' });
  });

  it('reads georeferencing: GCP-only, ModelTransformation, custom CRS', async () => {
    const gcps = await open(C('rio-tiler/cog_gcps.tif'));
    expect(gcps.info).toMatchObject({ georeferenced: false, gcpCount: 210 });
    expect(gcps.info.grid.crs).toEqual({ epsg: null, proj4: null, name: 'none' });
    expect(gcps.info.grid.transform).toEqual([0, 1, 0, 0, 0, 1]);
    const mt = await open(C('geotiff-test-data/no_pixelscale_or_tiepoints.tiff'));
    expect(mt.info.grid.crs.epsg).toBe(4326);
    expect(mt.info.grid.transform[1]).toBeCloseTo(0.010005529647693282, 12);
    const custom = await open(C('rasterio/goes.tif'));
    expect(custom.info.grid.crs.epsg).toBeNull();
    expect(custom.info.grid.crs.proj4).toBeNull();
    expect(custom.info.grid.crs.name).toMatch(/^custom /);
  });
});

describe.skipIf(!present)('readWindow', () => {
  it('fills a window extending beyond the image with invalid zeros', async () => {
    const s = await open(C('generated/u16_6b_tiled_none.tif'));
    const w = { col: -10, row: 250, width: 30, height: 20 }; // left and bottom halo
    const blk = await readWindow(s, w, ['b1', 'b6']);
    const raw = await readRawWindow(s, { col: 0, row: 250, width: 20, height: 6 }, ['b1', 'b6']);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 30; x++) {
        const p = y * 30 + x;
        const inside = x >= 10 && y < 6;
        expect(blk.valid[p]).toBe(inside ? 1 : 0);
        if (!inside) expect([blk.data[0][p], blk.data[1][p]]).toEqual([0, 0]);
        else {
          const q = y * 20 + (x - 10);
          expect(blk.data[0][p]).toBeCloseTo(raw.data[0][q] / 10000, 6);
          expect(blk.data[1][p]).toBeCloseTo(raw.data[1][q] / 10000, 6);
        }
      }
    }
    const outside = await readWindow(s, { col: 300, row: -50, width: 8, height: 8 }, ['b1']);
    expect(count(outside.valid, 0)).toBe(64);
  });

  it('marks NoData, NaN, sparse tiles, alpha 0 and internal-mask 0 pixels invalid (counts as GDAL masks)', async () => {
    const all = async (path: string, names?: string[]) => {
      const s = await open(path);
      const { width, height } = s.info.grid;
      return { s, blk: await readWindow(s, { col: 0, row: 0, width, height }, names ?? s.info.bands.map((b) => b.name)) };
    };
    // NoData -9999 block: rows 100–139 × cols 60–119.
    const nd = await all(C('generated/f32_6b_nodata-9999_deflate.tif'));
    expect(count(nd.blk.valid, 0)).toBe(2400);
    expect(nd.blk.valid[120 * 256 + 80]).toBe(0);
    expect(nd.blk.data[0][120 * 256 + 80]).toBe(0);
    // NaN without a NoData tag, and NaN with NoData "nan".
    expect(count((await all(C('generated/f32_6b_nan_deflate.tif'))).blk.valid, 0)).toBe(2400);
    const nn = await all(C('generated/f32_6b_nodata_nan.tif'));
    expect(nn.s.info.nodata).toBeNaN();
    expect(count(nn.blk.valid, 0)).toBe(2400);
    // Sparse (empty) tiles with NoData 0: top-left 96×96.
    expect(count((await all(C('generated/u8_rgb_sparse_tiles_nodata0.tif'))).blk.valid, 0)).toBe(96 * 96);
    // NoData 0 in any band (GDAL's per-band masks' union: 185533 pixels).
    expect(count((await all(C('rasterio/RGB.byte.tif'))).blk.valid, 0)).toBe(185533);
    // Alpha band (GDAL mask: 184861 pixels).
    const rgba = await all(C('rasterio/RGBA.byte.tif'), ['b1', 'b2', 'b3']);
    expect(rgba.s.info.alphaBand).toBe(3);
    expect(count(rgba.blk.valid, 0)).toBe(184861);
    // Internal per-dataset masks (GDAL: 4096 and 2739 masked pixels).
    const im = await all(C('generated/u8_rgb_internal_mask.tif'));
    expect(im.s.info.internalMask).toBe(true);
    expect(count(im.blk.valid, 0)).toBe(4096);
    expect(im.blk.valid[63 * 256 + 63]).toBe(0);
    expect(im.blk.valid[64 * 256 + 64]).toBe(1);
    expect(count((await all(C('rio-tiler/cog_rgb_mask.tif'))).blk.valid, 0)).toBe(2739);
  });

  it('scales to reflectance by dtype, by the file\'s SCALE/OFFSET, or by options', async () => {
    const px = async (s: Scene, band = 'b1') => (await readWindow(s, { col: 0, row: 0, width: 1, height: 1 }, [band])).data[0][0];
    const u8 = await open(C('generated/u8_rgb_none.tif'));
    expect(u8.info.scale).toBeCloseTo(1 / 255, 12);
    expect(await px(u8)).toBeCloseTo(73 / 255, 6);
    const f32 = await open(C('generated/f32_6b_none.tif'));
    expect(f32.info.scale).toBe(1);
    const i16 = await open(C('generated/i16_6b.tif'));
    expect(await px(i16)).toBeCloseTo(0.931, 6); // raw 9310
    const opt = await open(C('generated/u16_6b_deflate.tif'), { scale: 2.75e-5, offset: -0.2 });
    expect(opt.info.scaleSource).toBe('options');
    expect(await px(opt)).toBeCloseTo(9310 * 2.75e-5 - 0.2, 6);
    const file = await open(C('rio-tiler/cog_scale.tif'));
    expect(file.info.scaleSource).toBe('file');
    expect(file.info.bands.map((b) => [b.scale, b.offset])).toEqual([
      [0.0001, 1000],
      [0.001, 2000],
    ]);
    expect(await px(file, 'b2')).toBeCloseTo(500 * 0.001 + 2000, 3); // raw 500
  });

  it('fails on an unknown band with MISSING_BAND listing the available names', async () => {
    const file = C('generated/u16_6b_deflate.tif');
    const s = await open(file, { bands: { blue: 1, green: 2, red: 3, nir: 4 } });
    const e = await rejection(readWindow(s, { col: 0, row: 0, width: 8, height: 8 }, ['red', 'swir1']));
    expect(e.code).toBe('MISSING_BAND');
    expect(e.message).toContain(file);
    expect(e.message).toContain('no band named "swir1"; available: blue, green, red, nir, b5, b6');
    expect(e.context).toMatchObject({ band: 'swir1' });
  });

  it('aborts between blocks', async () => {
    const s = await open(C('rio-tiler/nocog.tif'));
    const ac = new AbortController();
    ac.abort();
    expect((await rejection(readWindow(s, { col: 0, row: 0, width: 500, height: 500 }, ['b1'], ac.signal))).code).toBe('ABORTED');
  });

  it('decodes DEFLATE with predictors identically with native zlib and geotiff.js inflate', async () => {
    for (const f of ['generated/u16_6b_deflate_pred2.tif', 'generated/f32_6b_deflate_pred3.tif']) {
      const read = async (native: boolean) => {
        await useNativeDeflate(native);
        const s = await openScene(C(f));
        try {
          return await readRawWindow(s, { col: 0, row: 0, width: 256, height: 256 });
        } finally {
          await closeScene(s);
        }
      };
      const js = await read(false);
      const nat = await read(true);
      nat.data.forEach((a, b) => expect(Buffer.from(a.buffer).equals(Buffer.from(js.data[b].buffer)), `${f} band ${b + 1}`).toBe(true));
    }
  });
});

describe.runIf(present && process.env.FARMWATCH_BENCH)('decode throughput (opt-in: FARMWATCH_BENCH=1)', () => {
  it('reads whole DEFLATE images with native zlib and with geotiff.js inflate', async () => {
    for (const f of [C('rio-tiler/nocog.tif'), NAIP('20120731')]) {
      const best: Record<string, number> = {};
      let mb = 0;
      for (let it = 0; it < 6; it++) {
        for (const native of [true, false]) {
          await useNativeDeflate(native);
          const s = await openScene(f, { cacheBytes: 0 });
          const { width, height } = s.info.grid;
          const t0 = performance.now();
          const blk = await readRawWindow(s, { col: 0, row: 0, width, height });
          const dt = (performance.now() - t0) / 1000;
          await closeScene(s);
          mb = blk.data.reduce((n, a) => n + a.byteLength, 0) / 1e6;
          const k = native ? 'native zlib' : 'geotiff.js inflate';
          if (it > 0) best[k] = Math.min(best[k] ?? Infinity, dt);
        }
      }
      await useNativeDeflate(true);
      console.log(`[bench] ${f}: ${Object.entries(best).map(([k, t]) => `${k} ${(mb / t).toFixed(0)} MB/s`).join(', ')} (best of 5, decoded bytes)`);
      expect(best['native zlib']).toBeLessThan(best['geotiff.js inflate']);
    }
  });
});

describe.skipIf(!present)('readOnGrid', () => {
  it('reads identical grids directly, even when sizes differ, and resamples sub-pixel shifts (NAIP dates)', async () => {
    const a = await open(NAIP('20100629')); // 934×723
    const b = await open(NAIP('20120731')); // 934×723, same transform
    expect(sameGridSpace(a.info.grid, b.info.grid)).toBe(true);
    // Target grid of the same transform but one row taller (as a 724-row date would be).
    const tall: Grid = { ...a.info.grid, height: 724 };
    const w = { col: 900, row: 700, width: 34, height: 24 };
    const direct = await readWindow(b, w, ['b1', 'b4']);
    const onGrid = await readOnGrid(b, tall, w, ['b1', 'b4'], { resampling: 'bilinear' });
    expect(onGrid.data).toEqual(direct.data);
    expect(onGrid.valid).toEqual(direct.valid);
    expect(count(onGrid.valid, 0)).toBe(34); // row 723 is beyond the 723-row image
    // The 724-row 2009 date is NOT the same grid: its origin is 2 m (0.4 px) further north.
    const y2009 = await open(NAIP('20090818'));
    expect(y2009.info.grid.height).toBe(724);
    expect(y2009.info.grid.transform[3] - a.info.grid.transform[3]).toBe(2);
    expect(sameGridSpace(y2009.info.grid, a.info.grid)).toBe(false);
    const res = await readOnGrid(a, y2009.info.grid, { col: 0, row: 0, width: 934, height: 724 }, ['b1'], { resampling: 'nearest' });
    // Target row r lies at source row r + 0.1: row 723 falls outside the 723-row image.
    expect(count(res.valid.subarray(723 * 934), 0)).toBe(934);
    const src = await readWindow(a, { col: 0, row: 0, width: 934, height: 723 }, ['b1']);
    const same = Buffer.from(res.data[0].buffer, 0, 723 * 934 * 4).equals(Buffer.from(src.data[0].buffer));
    expect(same, 'rows 0–722 equal the 2010 image (nearest picks source row r for target row r)').toBe(true);
  });

  it('uses a shifted direct read for grids offset by whole pixels', async () => {
    const s = await open(C('generated/u16_6b_deflate.tif'));
    const t = s.info.grid.transform;
    const shifted: Grid = { ...s.info.grid, transform: [t[0] + 10 * t[1], t[1], 0, t[3] + 5 * t[5], 0, t[5]] };
    const blk = await readOnGrid(s, shifted, { col: 0, row: 0, width: 16, height: 16 }, ['b2'], { resampling: 'bilinear' });
    const ref = await readWindow(s, { col: 10, row: 5, width: 16, height: 16 }, ['b2']);
    expect(blk.window).toEqual({ col: 0, row: 0, width: 16, height: 16 });
    expect(blk.data[0]).toEqual(ref.data[0]);
  });

  it('resamples a reprojected date (EPSG:4326 ↔ UTM 16N) to within the resampling error', async () => {
    const utm = await open(C('generated/u16_6b_deflate.tif'));
    const geo = await open(C('generated/u16_6b_epsg4326_deflate.tif')); // gdalwarp (nearest) of the UTM file
    const G = utm.info.grid;
    const win = { col: 0, row: 0, width: G.width, height: G.height };
    const ref = await readWindow(utm, win, ['b1']);
    const stats = (blk: { valid: Uint8Array; data: readonly Float32Array[] }, base: Float32Array) => {
      let n = 0;
      let exact = 0;
      let abs = 0;
      for (let p = 0; p < blk.valid.length; p++) {
        if (!blk.valid[p]) continue;
        n++;
        const d = Math.abs(blk.data[0][p] - base[p]);
        if (d === 0) exact++;
        abs += d;
      }
      return { n, exact: exact / n, mae: abs / n };
    };
    const near = stats(await readOnGrid(geo, G, win, ['b1'], { resampling: 'nearest' }), ref.data[0]);
    const bil = stats(await readOnGrid(geo, G, win, ['b1'], { resampling: 'bilinear' }), ref.data[0]);
    console.log(`[readOnGrid] 4326 → UTM: nearest exact ${(near.exact * 100).toFixed(1)}%, MAE ${near.mae.toFixed(4)}; bilinear MAE ${bil.mae.toFixed(4)} (reflectance; pixels 0.06–0.25)`);
    expect(near.n).toBe(G.width * G.height);
    expect(near.exact).toBeGreaterThan(0.9); // measured 92.5%: round trip of two nearest-neighbour warps
    expect(near.mae).toBeLessThan(0.004); // measured 0.0021
    expect(bil.mae).toBeLessThan(0.015); // measured 0.0103

    // Reverse: UTM onto the 4326 grid reproduces gdalwarp's nearest-neighbour choice.
    const GG = geo.info.grid;
    const wg = { col: 0, row: 0, width: GG.width, height: GG.height };
    const gdal = await readWindow(geo, wg, ['b1']);
    const back = await readOnGrid(utm, GG, wg, ['b1'], { resampling: 'nearest' });
    let both = 0;
    let same = 0;
    for (let p = 0; p < back.valid.length; p++) {
      if (back.valid[p] && gdal.data[0][p] > 0) {
        both++;
        if (back.data[0][p] === gdal.data[0][p]) same++;
      }
    }
    expect(both).toBeGreaterThan(60000);
    expect(same / both).toBeGreaterThan(0.97); // measured 98.5% (gdalwarp's approximate transformer differs at ties)
    // Pixels of the 4326 grid outside the UTM footprint are invalid: they are the warp's
    // zero-filled corners (389 pixels per GDAL).
    let zeros = 0;
    let mismatch = 0;
    for (let p = 0; p < back.valid.length; p++) {
      const z = gdal.data[0][p] === 0;
      if (z) zeros++;
      if (z === (back.valid[p] === 1)) mismatch++;
    }
    expect(zeros).toBe(389);
    expect(mismatch).toBeLessThanOrEqual(10);

    // The 16-px lattice matches exact per-pixel transformation (nearest, proj4 for every pixel).
    const conv = proj4(GG.crs.proj4!, G.crs.proj4!);
    const raw = await readRawWindow(utm, win, ['b1']);
    let agree = 0;
    let total = 0;
    for (let y = 0; y < GG.height; y += 3) {
      for (let x = 0; x < GG.width; x += 3) {
        const [lon, lat] = pixelToMap(GG.transform, x + 0.5, y + 0.5);
        const [e, n] = conv.forward([lon, lat]);
        const [c, r] = mapToPixel(G.transform, e, n);
        const ci = Math.floor(c);
        const ri = Math.floor(r);
        const p = y * GG.width + x;
        const inside = ci >= 0 && ri >= 0 && ci < G.width && ri < G.height;
        total++;
        if (inside === (back.valid[p] === 1) && (!inside || Math.abs(back.data[0][p] - raw.data[0][ri * G.width + ci] / 10000) < 1e-7)) agree++;
      }
    }
    expect(agree / total).toBeGreaterThan(0.999);
  });

  it('tests overlap and explains non-overlapping scenes', async () => {
    const utm = await open(C('generated/u16_6b_deflate.tif')); // Alabama/Florida, EPSG:32616
    const geo = await open(C('generated/u16_6b_epsg4326_deflate.tif'));
    const naip = await open(NAIP('20100629')); // North Dakota, EPSG:26914
    expect(gridsOverlap(utm.info.grid, geo.info.grid)).toBe(true);
    expect(gridsOverlap(naip.info.grid, utm.info.grid)).toBe(false);
    expect(() => assertScenesOverlap(utm, geo)).not.toThrow();
    const e = noOverlapError(naip.info, utm.info);
    expect(e).toBeInstanceOf(ImageryError);
    expect(e.code).toBe('NO_OVERLAP');
    expect(e.message).toBe(
      `${NAIP('20100629')} (bbox [485900.0, 5205630.0, 490570.0, 5209245.0] in EPSG:26914) and ${C('generated/u16_6b_deflate.tif')} (bbox [461475.0, 3391365.0, 469155.0, 3399045.0] in EPSG:32616) do not overlap`,
    );
    expect(() => assertScenesOverlap(naip, utm)).toThrow(ImageryError);
  });

  it('refuses to relate a georeferenced grid to an ungeoreferenced scene', async () => {
    const ches = await open(join(DATA, 'chesapeake-landcover-geobench-samples/id_000181_naip_rgbn.tif'));
    const utm = await open(C('generated/u16_6b_deflate.tif'));
    const e = await rejection(readOnGrid(ches, utm.info.grid, { col: 0, row: 0, width: 8, height: 8 }, ['red'], { resampling: 'nearest' }));
    expect(e.code).toBe('NO_GEOREFERENCE');
  });
});

describe.skipIf(!present)('failures', () => {
  it('fails on a truncated copy with CORRUPT_FILE, fast', async () => {
    const src = C('generated/u16_6b_cog.tif');
    const file = join(tmp, 'truncated_cog.tif');
    const bytes = readFileSync(src);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const t0 = Date.now();
    const e = await rejection(
      (async () => {
        const s = await open(file);
        await readWindow(s, { col: 0, row: 0, width: 256, height: 256 }, ['b1']);
      })(),
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(e.code).toBe('CORRUPT_FILE');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/past the end of the file \(\d+ bytes\): the file is truncated or corrupt/);
  });

  it('fails a read with CORRUPT_FILE when the file is truncated after opening', async () => {
    const file = join(tmp, 'shrinking.tif');
    copyFileSync(C('generated/u16_6b_deflate.tif'), file);
    const s = await open(file);
    truncateSync(file, 300_000);
    const e = await rejection(readWindow(s, { col: 0, row: 200, width: 256, height: 50 }, ['b1']));
    expect(e.code).toBe('CORRUPT_FILE');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/strips? .*of the image .* while reading window col 0, row 200, 256×50: unexpected end of file/);
  });

  it('fails on a garbled block with CORRUPT_FILE naming the block and the window', async () => {
    const file = join(tmp, 'garbled.tif');
    const bytes = Buffer.from(readFileSync(C('generated/u16_6b_deflate.tif')));
    const probe = await open(C('generated/u16_6b_deflate.tif'));
    expect(probe.info.layout.blockHeight).toBe(2);
    // Overwrite the middle of the file (inside strips ~60–70) with noise.
    for (let i = 360_000; i < 362_000; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(file, bytes);
    const s = await open(file);
    const e = await rejection(readWindow(s, { col: 0, row: 0, width: 256, height: 256 }, ['b1']));
    expect(e.code).toBe('CORRUPT_FILE');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/cannot decode strip \d+ of the image \(bytes \d+–\d+, DEFLATE \(8\)\) while reading window col 0, row 0, 256×256|strip \d+ .*decoded \d+ samples/);
  });

  it('fails clearly on missing files, non-TIFF files, empty files and directories', async () => {
    const missing = join(tmp, 'nope.tif');
    let e = await rejection(openScene(missing));
    expect([e.code, e.message]).toEqual(['FILE_NOT_FOUND', `${missing}: image file not found`]);
    const png = join(tmp, 'image.tif');
    writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    e = await rejection(openScene(png));
    expect([e.code, e.message]).toEqual(['UNSUPPORTED_FORMAT', `${png} is not a TIFF/GeoTIFF file (starts with bytes 89 50 4e 47: looks like a PNG image)`]);
    const zip = C('geotiff-test-data/spam2005v3r2_harvested-area_wheat_total.tiff.zip');
    e = await rejection(openScene(zip));
    expect(e.code).toBe('UNSUPPORTED_FORMAT');
    expect(e.message).toContain('looks like a ZIP archive');
    const empty = join(tmp, 'empty.tif');
    writeFileSync(empty, '');
    e = await rejection(openScene(empty));
    expect([e.code, e.message]).toEqual(['CORRUPT_FILE', `${empty}: the file is empty (0 bytes)`]);
    e = await rejection(openScene(tmp));
    expect(e.code).toBe('FILE_NOT_FOUND');
    // s3:// is read with ranged GETs (storage/, tested in test/distributed); other schemes are refused.
    e = await rejection(openScene('gs://bucket/scene.tif'));
    expect(e.code).toBe('UNSUPPORTED_FORMAT');
  });
});
