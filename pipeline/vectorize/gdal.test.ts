import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelTile, mergeTiles, ringSignedArea, traceComponent } from './index.js';
import { rng, sparseMask, tilesOf } from './testutil.js';

/** GDAL is a reference tool on the development machines (gdal-bin), not a dependency: skip without it. */
const hasGdal = spawnSync('gdal_polygonize.py', ['--help'], { stdio: 'ignore' }).status !== null &&
  spawnSync('ogrinfo', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasGdal) console.warn('gdal_polygonize.py / ogrinfo not found (apt-get install gdal-bin): skipping the GDAL comparison');

const dir = mkdtempSync(join(tmpdir(), 'fw-vectorize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Polygonizes a mask with GDAL (4-connected, zeros masked out) and returns (code, area, rings) per polygon. */
function gdalPolygons(codes: Uint8Array, W: number, H: number, name: string): Array<[number, number, number]> {
  const bin = join(dir, `${name}.bin`);
  writeFileSync(bin, codes);
  // ENVI header, no georeferencing: GDAL then uses pixel coordinates (x = col, y = row).
  writeFileSync(
    join(dir, `${name}.hdr`),
    `ENVI\nsamples = ${W}\nlines = ${H}\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\ndata type = 1\ninterleave = bsq\nbyte order = 0\n`,
  );
  const out = join(dir, `${name}.geojson`);
  execFileSync('gdal_polygonize.py', ['-q', bin, '-mask', bin, '-f', 'GeoJSON', out, 'out', 'DN'], { stdio: 'pipe' });
  const fc = JSON.parse(readFileSync(out, 'utf8')) as { features: Array<{ properties: { DN: number }; geometry: { type: string; coordinates: number[][][] } }> };
  return fc.features.map((f) => {
    expect(f.geometry.type).toBe('Polygon');
    const rings = f.geometry.coordinates;
    // GDAL writes y as -row for rasters without a geotransform in some versions; areas are unsigned anyway.
    const area = rings.reduce((a, r, i) => a + (i === 0 ? 1 : -1) * Math.abs(ringSignedArea(r)), 0);
    return [f.properties.DN, area, rings.length] as [number, number, number];
  });
}

describe.skipIf(!hasGdal)('agreement with GDAL polygonize', () => {
  const cases = [
    { name: 'sparse', W: 400, H: 300, codes: sparseMask(400, 300, 0.04, 11) },
    (() => {
      const r = rng(3);
      return { name: 'dense', W: 120, H: 90, codes: new Uint8Array(120 * 90).map(() => (r() < 0.5 ? 1 + Math.floor(r() * 3) : 0)) };
    })(),
  ];
  for (const { name, W, H, codes } of cases)
    it(`${name}: same polygon count, per-polygon areas, ring counts and total area`, () => {
      const gdal = gdalPolygons(codes, W, H, name);
      const ours = mergeTiles(tilesOf(W, H, 64, codes).map(labelTile)).map((c) => {
        const poly = traceComponent(c);
        const area = poly.reduce((a, r, i) => a + (i === 0 ? 1 : -1) * Math.abs(ringSignedArea(r)), 0);
        return [c.code, area, poly.length] as [number, number, number];
      });
      expect(ours.length).toBe(gdal.length);
      // GDAL also splits holes that touch the shell or each other at a corner into separate rings,
      // so even the ring counts agree.
      const key = (a: [number, number, number]) => `${a[0]}:${a[1]}:${a[2]}`;
      expect(ours.map(key).sort()).toEqual(gdal.map(key).sort());
      const total = (xs: Array<[number, number, number]>) => xs.reduce((a, x) => a + x[1], 0);
      expect(total(ours)).toBe(total(gdal));
      expect(total(ours)).toBe(codes.reduce((a, v) => a + (v ? 1 : 0), 0));
    });
});
