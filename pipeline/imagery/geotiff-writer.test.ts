import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, stat, readdir, readFile } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { createGeoTiffWriter, writeGeoTiff } from './geotiff-writer.js';
import { crsFromEpsg } from '../geo/crs.js';
import { OutputError } from '../errors.js';
import type { Grid } from '../types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-gtw-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hasGdal = spawnSync('gdalinfo', ['--version'], { encoding: 'utf8' }).status === 0;

/** A deterministic test pattern with a value per (band, x, y). */
const pattern = (b: number, x: number, y: number) => (b * 1000 + x * 7 + y * 13) % 60000;

describe('GeoTIFF writer', () => {
  const grid: Grid = {
    width: 100,
    height: 70,
    transform: [40_520_000, 2, 0, 3_545_000, 0, -2],
    crs: crsFromEpsg(4528),
  };

  it('round-trips a 4-band uint16 image written tile by tile in any order', async () => {
    const path = join(dir, 'rt.tif');
    const w = await createGeoTiffWriter(path, {
      width: grid.width,
      height: grid.height,
      bandCount: 4,
      dtype: 'uint16',
      tileSize: 32,
      transform: grid.transform,
      crs: grid.crs,
      nodata: 0,
      bandDescriptions: ['blue', 'green', 'red', 'nir'],
      metadata: { ACQUISITION_DATE: '2026-04-15', NOTE: 'a<b & c' },
    });
    expect([w.tilesAcross, w.tilesDown]).toEqual([4, 3]);
    const order: [number, number][] = [];
    for (let r = 0; r < w.tilesDown; r++) for (let c = 0; c < w.tilesAcross; c++) order.push([c, r]);
    order.reverse();
    // Concurrently, reversed: offsets must not depend on order.
    await Promise.all(
      order.map(([tc, tr]) => {
        const bands = [0, 1, 2, 3].map((b) => {
          const a = new Uint16Array(32 * 32);
          for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) a[y * 32 + x] = pattern(b, tc * 32 + x, tr * 32 + y);
          return a;
        });
        return w.writeTile(tc, tr, bands);
      }),
    );
    expect((await readdir(dir)).includes('rt.tif')).toBe(false);
    await w.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('rt.tif'))).toEqual(['rt.tif']);

    const tiff = await fromFile(path);
    const img = await tiff.getImage();
    expect(img.getWidth()).toBe(100);
    expect(img.getHeight()).toBe(70);
    expect(img.getSamplesPerPixel()).toBe(4);
    expect(img.getTileWidth()).toBe(32);
    expect(img.getTileHeight()).toBe(32);
    expect(img.getGDALNoData()).toBe(0);
    expect(img.getOrigin()).toEqual([40_520_000, 3_545_000, 0]);
    expect(img.getResolution()).toEqual([2, -2, 0]);
    const keys = img.getGeoKeys()!;
    expect(keys.ProjectedCSTypeGeoKey).toBe(4528);
    expect(keys.GTModelTypeGeoKey).toBe(1);
    expect(keys.GTRasterTypeGeoKey).toBe(1);
    expect(await img.getGDALMetadata()).toEqual({ ACQUISITION_DATE: '2026-04-15', NOTE: 'a&lt;b &amp; c' });
    expect((await img.getGDALMetadata(0))!.DESCRIPTION).toBe('blue');
    expect((await img.getGDALMetadata(3))!.DESCRIPTION).toBe('nir');
    const ras = (await img.readRasters()) as unknown as Uint16Array[];
    for (let b = 0; b < 4; b++) {
      expect(ras[b]).toBeInstanceOf(Uint16Array);
      let bad = 0;
      for (let y = 0; y < 70; y++) for (let x = 0; x < 100; x++) if (ras[b][y * 100 + x] !== pattern(b, x, y)) bad++;
      expect(bad).toBe(0);
    }
    // A window crossing tile borders.
    const win = (await img.readRasters({ window: [30, 30, 70, 66], samples: [2] })) as unknown as Uint16Array[];
    expect(win[0][0]).toBe(pattern(2, 30, 30));
    expect(win[0][40 * 36 - 1]).toBe(pattern(2, 69, 65));

    if (!hasGdal) {
      console.warn('gdalinfo not on PATH: skipping the GDAL check');
      return;
    }
    const info = JSON.parse(execFileSync('gdalinfo', ['-json', '-stats', path], { encoding: 'utf8' }));
    expect(info.size).toEqual([100, 70]);
    expect(String(info.coordinateSystem.wkt)).toMatch(/ID\["EPSG",4528\]\]$/);
    expect(info.bands.map((b: { description: string }) => b.description)).toEqual(['blue', 'green', 'red', 'nir']);
    expect(info.bands.every((b: { noDataValue: number; type: string }) => b.noDataValue === 0 && b.type === 'UInt16')).toBe(true);
    expect(info.metadata[''].ACQUISITION_DATE).toBe('2026-04-15');
    expect(info.metadata.IMAGE_STRUCTURE).toMatchObject({ COMPRESSION: 'DEFLATE', INTERLEAVE: 'PIXEL' });
    expect(info.geoTransform).toEqual([40_520_000, 2, 0, 3_545_000, 0, -2]);
    // GDAL's checksum-free value check: its max of band 2 equals ours.
    let max = 0;
    for (let y = 0; y < 70; y++) for (let x = 0; x < 100; x++) max = Math.max(max, pattern(1, x, y));
    expect(info.bands[1].maximum).toBe(max);
  });

  it('writes int16, uint8 and float32 (geographic CRS, NaN nodata) through writeGeoTiff', async () => {
    const geo: Grid = { width: 37, height: 21, transform: [120.3, 0.0001, 0, 32.0, 0, -0.0001], crs: crsFromEpsg(4490) };
    const n = geo.width * geo.height;
    const i16 = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * i * 40); // clamps beyond ±32767
    const u8 = Array.from({ length: n }, (_, i) => (i * 3.4) % 300);
    const f32 = Float32Array.from({ length: n }, (_, i) => (i === 5 ? NaN : i / 7));
    await writeGeoTiff(join(dir, 'i16.tif'), geo, [i16], { dtype: 'int16', tileSize: 16 });
    await writeGeoTiff(join(dir, 'u8.tif'), geo, [u8, u8], { dtype: 'uint8', tileSize: 16, nodata: 255 });
    await writeGeoTiff(join(dir, 'f32.tif'), geo, [f32], { dtype: 'float32', tileSize: 16, nodata: NaN });

    const a = await (await fromFile(join(dir, 'i16.tif'))).getImage();
    const ai = (await a.readRasters())[0] as Int16Array;
    expect(Array.from(ai)).toEqual(i16.map((v) => Math.max(-32768, Math.min(32767, v))));
    expect(a.getGeoKeys()!.GeographicTypeGeoKey).toBe(4490);
    expect(a.getGeoKeys()!.GTModelTypeGeoKey).toBe(2);
    expect(a.getGDALNoData()).toBeNull();

    const b = await (await fromFile(join(dir, 'u8.tif'))).getImage();
    const bi = (await b.readRasters())[1] as Uint8Array;
    expect(Array.from(bi)).toEqual(u8.map((v) => Math.min(255, Math.round(v))));
    expect(b.getGDALNoData()).toBe(255);

    const c = await (await fromFile(join(dir, 'f32.tif'))).getImage();
    const ci = (await c.readRasters())[0] as Float32Array;
    expect(Number.isNaN(ci[5])).toBe(true);
    expect(ci[100]).toBeCloseTo(100 / 7, 5);
    expect(Number.isNaN(c.getGDALNoData())).toBe(true);
    if (hasGdal) {
      const info = JSON.parse(execFileSync('gdalinfo', ['-json', join(dir, 'f32.tif')], { encoding: 'utf8' }));
      expect(String(info.coordinateSystem.wkt)).toMatch(/ID\["EPSG",4490\]\]$/);
      expect(info.bands[0].noDataValue).toBe('NaN');
    }
  });

  it('gives identical bytes for the same call sequence, however compression interleaves', async () => {
    const write = async (name: string) => {
      const w = await createGeoTiffWriter(join(dir, name), { ...grid, width: 96, height: 96, bandCount: 2, dtype: 'uint16', tileSize: 16, transform: grid.transform, crs: grid.crs });
      const calls: Promise<void>[] = [];
      for (let r = 0; r < 6; r++)
        for (let c = 0; c < 6; c++) {
          // Tiles of very different compressibility finish deflating in a different order than called.
          const a = new Uint16Array(256).map((_, i) => ((r + c) % 2 ? (i * 7919 * (r + 1)) % 65536 : 5));
          calls.push(w.writeTile(c, r, [a, a]));
        }
      await Promise.all(calls);
      await w.close();
      return readFile(join(dir, name));
    };
    const [a, b] = await Promise.all([write('same-a.tif'), write('same-b.tif')]);
    expect(a.equals(b)).toBe(true);
  });

  it('rejects missing tiles at close and leaves no file; rejects bad options', async () => {
    const path = join(dir, 'missing.tif');
    const w = await createGeoTiffWriter(path, {
      width: 40,
      height: 40,
      bandCount: 1,
      dtype: 'uint8',
      tileSize: 16,
      transform: [0, 1, 0, 0, 0, -1],
      crs: crsFromEpsg(32650),
    });
    await w.writeTile(0, 0, [new Uint8Array(256)]);
    await expect(w.writeTile(0, 0, [new Uint8Array(256)])).rejects.toBeInstanceOf(OutputError);
    await expect(w.writeTile(3, 0, [new Uint8Array(256)])).rejects.toBeInstanceOf(OutputError);
    await expect(w.writeTile(1, 0, [new Uint8Array(10)])).rejects.toBeInstanceOf(OutputError);
    await expect(w.close()).rejects.toThrow(/tiles never written/);
    await expect(stat(path)).rejects.toThrow();
    await expect(stat(path + '.partial')).rejects.toThrow();

    const base = { width: 10, height: 10, bandCount: 1, dtype: 'uint8' as const, crs: crsFromEpsg(4528) };
    await expect(createGeoTiffWriter(join(dir, 'rot.tif'), { ...base, transform: [0, 1, 0.1, 0, 0, -1] })).rejects.toBeInstanceOf(OutputError);
    await expect(createGeoTiffWriter(join(dir, 'ts.tif'), { ...base, tileSize: 20, transform: [0, 1, 0, 0, 0, -1] })).rejects.toBeInstanceOf(OutputError);
    await expect(
      createGeoTiffWriter(join(dir, 'noepsg.tif'), { ...base, crs: { epsg: null, proj4: null, name: 'x' }, transform: [0, 1, 0, 0, 0, -1] }),
    ).rejects.toBeInstanceOf(OutputError);

    const ab = await createGeoTiffWriter(join(dir, 'ab.tif'), { ...base, transform: [0, 1, 0, 0, 0, -1], tileSize: 16 });
    await ab.abort();
    await expect(stat(join(dir, 'ab.tif.partial'))).rejects.toThrow();
  });
});
