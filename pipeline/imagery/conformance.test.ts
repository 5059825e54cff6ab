/**
 * GeoTIFF conformance: every raster of ../shared/data/geotiff-conformance is either decoded to
 * exactly GDAL 3.6.2's values (reference_stats.json) or refused with a clear ImageryError.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageryError } from '../errors.js';
import { closeScene, openScene, readRawWindow } from './index.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DIR = resolve(REPO, '../shared/data/geotiff-conformance');
const REF_PATH = join(DIR, 'reference_stats.json');
const present = existsSync(REF_PATH);
if (!present) console.log(`[conformance] skipped: ${REF_PATH} not found (the shared data folder is absent)`);

interface BandRef {
  band: number;
  min: number | null;
  max: number | null;
  sum_finite: number;
  nan_count: number;
  px_0_0: number | null;
  px_center: number | null;
}
interface FileRef {
  width: number;
  height: number;
  bands: number;
  dtype: string;
  compression: string;
  nodata: number | string | null;
  epsg: string | null;
  geotransform: number[] | null;
  band_stats?: BandRef[];
  error?: string;
}

/**
 * Files that must be refused, with the reason. Everything else in reference_stats.json must
 * decode to GDAL's values. (JPEG, YCbCr JPEG, JPEG+alpha and WebP decode exactly through sharp;
 * LERC, LERC_DEFLATE and LERC_ZSTD through geotiff.js; so the only refusal is the corrupt file.)
 */
const EXPECTED_REFUSED: Record<string, { code: string; message: RegExp; reason: string }> = {
  // Tile 1,1's offset was altered to point past the end of the file; GDAL fails with
  // "TIFFReadEncodedTile() failed". We refuse at open, naming the tile and the byte range.
  'rasterio/corrupt.tif': { code: 'CORRUPT_FILE', message: /tile 1,1 .*past the end of the file/, reason: 'tile offset past end of file (truncated/corrupt)' },
};

/** Not rasters: external overviews, external masks, archives. */
const NOT_RASTERS = /\.(ovr|msk|zip)$/i;

const refs: Record<string, FileRef> = present ? (JSON.parse(readFileSync(REF_PATH, 'utf8')) as Record<string, FileRef>) : {};
const GDAL_DTYPE: Record<string, string> = {
  uint8: 'Byte',
  int8: 'Int8',
  uint16: 'UInt16',
  int16: 'Int16',
  uint32: 'UInt32',
  int32: 'Int32',
  float16: 'Float32', // GDAL 3.6 promotes half floats to Float32
  float32: 'Float32',
  float64: 'Float64',
};

const decoded: string[] = [];
const refused: { file: string; code: string; message: string }[] = [];

function listFiles(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base)).flatMap((n) => {
    const rel = base ? `${base}/${n}` : n;
    return statSync(join(dir, rel)).isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

const close = (a: number, e: number, rel = 1e-6) => a === e || Math.abs(a - e) <= rel * Math.max(1, Math.abs(e));

describe.skipIf(!present)('GeoTIFF conformance corpus', () => {
  it('lists 124 rasters; non-raster files are skipped explicitly', () => {
    expect(Object.keys(refs)).toHaveLength(124);
    const others = listFiles(DIR).filter((f) => !(f in refs) && !/\.(json|md)$/.test(f));
    for (const f of others) expect(f, `${f} is neither in reference_stats.json nor a known non-raster`).toMatch(NOT_RASTERS);
    console.log(`[conformance] skipped (not rasters): ${others.join(', ')}`);
  });

  for (const [rel, ref] of Object.entries(refs)) {
    const refusal = EXPECTED_REFUSED[rel];
    if (refusal) {
      it(`refuses ${rel} (${refusal.reason})`, async () => {
        const file = join(DIR, rel);
        const err = await (async () => {
          const scene = await openScene(file);
          try {
            await readRawWindow(scene, { col: 0, row: 0, width: scene.info.grid.width, height: scene.info.grid.height });
          } finally {
            await closeScene(scene);
          }
        })().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, `${rel} was decoded but must be refused`).toBeInstanceOf(ImageryError);
        const e = err as ImageryError;
        expect(e.code).toBe(refusal.code);
        expect(e.message).toContain(file);
        expect(e.message).toMatch(refusal.message);
        refused.push({ file: rel, code: e.code, message: e.message });
      });
      continue;
    }

    it(`decodes ${rel} (${ref.dtype}, ${ref.compression}) like GDAL`, async () => {
      const scene = await openScene(join(DIR, rel));
      try {
        const { info } = scene;
        const { width, height } = info.grid;
        expect([width, height, info.bands.length]).toEqual([ref.width, ref.height, ref.bands]);
        expect(GDAL_DTYPE[info.dtype]).toBe(ref.dtype);
        if (ref.epsg) expect(info.grid.crs.epsg).toBe(Number(ref.epsg));
        if (ref.geotransform) {
          expect(info.georeferenced).toBe(true);
          info.grid.transform.forEach((v, i) => expect(close(v, ref.geotransform![i], 1e-9), `geotransform[${i}] ${v} vs ${ref.geotransform![i]}`).toBe(true));
        } else {
          expect(info.georeferenced).toBe(false);
          expect(info.grid.crs.name).toBe('none');
        }
        const rn = ref.nodata === null ? null : Number(ref.nodata);
        if (rn === null) expect(info.nodata).toBeNull();
        else if (Number.isNaN(rn)) expect(info.nodata).toBeNaN();
        else expect(info.dtype.startsWith('float') && info.dtype !== 'float64' ? Math.fround(info.nodata!) : info.nodata).toBe(info.dtype.startsWith('float') && info.dtype !== 'float64' ? Math.fround(rn) : rn);

        // Stats over the whole image, read in row bands of ≤ 4 Mpx to keep memory modest.
        const nb = info.bands.length;
        const st = Array.from({ length: nb }, () => ({ min: Infinity, max: -Infinity, sum: 0, nan: 0, p00: NaN, pc: NaN }));
        const rows = Math.max(1, Math.floor(4_000_000 / width));
        const cy = Math.floor(height / 2);
        const cx = Math.floor(width / 2);
        for (let y = 0; y < height; y += rows) {
          const h = Math.min(rows, height - y);
          const blk = await readRawWindow(scene, { col: 0, row: y, width, height: h });
          blk.data.forEach((a, b) => {
            const s = st[b];
            for (let i = 0; i < a.length; i++) {
              const v = a[i];
              if (v !== v) s.nan++;
              else if (v !== Infinity && v !== -Infinity) {
                if (v < s.min) s.min = v;
                if (v > s.max) s.max = v;
                s.sum += v;
              }
            }
            if (y === 0) s.p00 = a[0];
            if (cy >= y && cy < y + h) s.pc = a[(cy - y) * width + cx];
          });
        }
        const isInt = !info.dtype.startsWith('float');
        ref.band_stats!.forEach((rb, b) => {
          const s = st[b];
          const tag = `${rel} band ${b + 1}`;
          expect(s.nan, `${tag} NaN count`).toBe(rb.nan_count);
          if (rb.min !== null) {
            if (isInt) expect([s.min, s.max], `${tag} min/max`).toEqual([rb.min, rb.max]);
            else expect(close(s.min, rb.min) && close(s.max, rb.max!), `${tag} min/max ${s.min}/${s.max} vs ${rb.min}/${rb.max}`).toBe(true);
          }
          expect(close(s.sum, rb.sum_finite), `${tag} sum ${s.sum} vs ${rb.sum_finite}`).toBe(true);
          for (const [got, want, what] of [
            [s.p00, rb.px_0_0, 'pixel (0,0)'],
            [s.pc, rb.px_center, 'centre pixel'],
          ] as const) {
            if (want === null) expect(got, `${tag} ${what}`).toBeNaN();
            else if (isInt) expect(got, `${tag} ${what}`).toBe(want);
            else expect(close(got, want), `${tag} ${what} ${got} vs ${want}`).toBe(true);
          }
        });
        decoded.push(rel);
      } finally {
        await closeScene(scene);
      }
    });
  }

  afterAll(() => {
    const expectedDecoded = Object.keys(refs).length - Object.keys(EXPECTED_REFUSED).length;
    const lines = [
      `[conformance] decoded and matching GDAL: ${decoded.length} / ${expectedDecoded} expected`,
      `[conformance] refused with a clear error: ${refused.length} / ${Object.keys(EXPECTED_REFUSED).length} expected`,
      ...[...new Set(decoded.map((f) => f.split('/')[0]))].map(
        (dir) => `  ${dir}/: ${decoded.filter((f) => f.startsWith(`${dir}/`)).map((f) => f.slice(dir.length + 1)).join(', ')}`,
      ),
      ...refused.map((r) => `  refused ${r.file}: ${r.code}: ${r.message}`),
    ];
    console.log(lines.join('\n'));
  });
});
