import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { defaultModelDir } from '../../cli/paths.js';
import { readChangeRaster, readGrid } from '../helpers/change-raster.js';
import { runDetection } from '../../pipeline/run.js';
import { hasSharedData, shared } from '../helpers/paths.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

/** detect on real multi-date series of other sensors: 5 m NAIP in UTM, 8-bit Landsat composites in EPSG:4326. */
describe.skipIf(!hasSharedData)('detect on real imagery', () => {
  const cases = [
    {
      name: 'NAIP 2010 → 2020 (UTM 14N, 5 m, 8-bit RGBN, grids differ)',
      before: shared('naip-north-dakota-2009-2020', 'm_4709963_se_14_1_20100629.tif'),
      after: shared('naip-north-dakota-2009-2020', 'm_4709963_se_14_1_20200831.tif'),
      bands: { red: 1, green: 2, blue: 3, nir: 4 },
      // The quarter quad's footprint (47.0 N, 99.15 W), from the file's own georeferencing.
      lon: [-99.19, -99.12],
      lat: [47.0, 47.04],
      epsg: 26914,
    },
    {
      name: 'Landsat composites 1990 → 2020 (EPSG:4326, ~90 m, 4 unnamed 8-bit bands)',
      before: shared('landsat-pucallpa-peru-1985-2020', '1990.tif'),
      after: shared('landsat-pucallpa-peru-1985-2020', '2020.tif'),
      // No blue band: green is read as blue as well (documented in the README).
      bands: { blue: 4, green: 4, red: 3, nir: 2 },
      lon: [-74.73, -74.15],
      lat: [-8.59, -8.27],
      epsg: 4326,
    },
  ];

  for (const c of cases)
    it(`${c.name}: georeferenced outputs inside the scene`, async () => {
      const out = join(await mkdtemp(join(tmpdir(), 'fw-real-')), 'run');
      const config = parseDetectConfig({
        before: { uri: c.before, bands: c.bands },
        after: { uri: c.after, bands: c.bands },
        out,
        classify: { model: defaultModelDir() },
        chips: { enabled: false },
      });
      const result = await runDetection(config, { log: quiet, now: Date.now });
      expect(result.summary.mode).toBe('transitions');
      expect(result.summary.calibration.before?.method).toBe('percentile');
      expect(result.patches.length).toBeGreaterThan(0);
      // Most of what the classifier's boundaries cut out of fields that changed as a whole ends in
      // no edge of the after image and goes (NAIP: 1205 dropped, 151 kept; Pucallpa: 2695, 1170).
      expect(result.summary.dropped.soft_outline).toBeGreaterThan(result.patches.length);
      for (const p of result.patches) {
        expect(p.attributes.TBLX).toBe('transition');
        expect(p.attributes.QSDL).not.toBe(p.attributes.XZDL);
        expect(p.attributes.JD).toBeGreaterThan(c.lon[0]);
        expect(p.attributes.JD).toBeLessThan(c.lon[1]);
        expect(p.attributes.WD).toBeGreaterThan(c.lat[0]);
        expect(p.attributes.WD).toBeLessThan(c.lat[1]);
      }
      const change = await readChangeRaster(join(out, 'change.tif'));
      const before = await readGrid(c.before);
      expect(change.grid.crs.epsg).toBe(c.epsg);
      expect(change.grid.transform).toEqual(before.transform);
      expect([change.grid.width, change.grid.height]).toEqual([before.width, before.height]);
      expect(change.changed).toBe(result.patches.reduce((s, p) => s + p.attributes.pixelCount, 0));
      const geo = JSON.parse(await readFile(join(out, 'patches.geojson'), 'utf8'));
      expect(geo.features.length).toBe(result.patches.length);
    });
});
