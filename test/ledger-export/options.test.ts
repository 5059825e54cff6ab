/** Options at the door, bad records, async input, degenerate geometries, atomic writes. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportClues, type ClueFeature, type ClueFormat } from '../../ledger/export/index.js';
import { CASES, makeCase, rect } from './fixtures.js';
import { featureCount, hasGdal, ogrinfoSummary, readWithGdal } from './gdal.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-ledger-opts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('exportClues input checks', () => {
  it('refuses a CRS other than CGCS2000 or its Gauss–Krüger zones, and unknown options', async () => {
    await expect(exportClues(CASES, 'shp', join(dir, 'x.zip'), { epsg: 4326 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('epsg') });
    await expect(exportClues(CASES, 'gpkg', join(dir, 'x.gpkg'), { epsg: 4512 })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(exportClues(CASES, 'csv', join(dir, 'x.csv'), { sheetPerTown: true } as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(exportClues(CASES, 'dxf' as ClueFormat, join(dir, 'x.dxf'))).rejects.toMatchObject({ code: 'OUTPUT_FAILED', message: expect.stringContaining('dxf') });
  });

  it.each(['shp', 'gpkg', 'xlsx', 'csv', 'kml', 'geojson'] as const)('%s: a bad date or coordinate names the case and leaves the previous file', async (format) => {
    const path = join(dir, `keep.${format}`);
    await writeFile(path, 'previous');
    const badDate = makeCase([[rect(120.1, 32.5, 30, 30)]], { JCBH: 'BAD1', QX: '下月底' });
    await expect(exportClues([CASES[0], badDate], format, path)).rejects.toMatchObject({ code: 'VECTOR_INVALID', message: expect.stringContaining('BAD1') });
    const badPt = makeCase([[rect(120.1, 32.5, 30, 30)]], { JCBH: 'BAD2' });
    badPt.geometryLonLat[0][0][1] = [NaN, 32.5];
    // xlsx and csv carry no geometry (csv only with wkt).
    if (format !== 'xlsx') await expect(exportClues([badPt], format, path, format === 'csv' ? { wkt: true } : {})).rejects.toMatchObject({ code: 'VECTOR_INVALID', message: expect.stringContaining('BAD2') });
    expect(await readFile(path, 'utf8')).toBe('previous');
    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it.skipIf(!hasGdal)('accepts an async iterable (a database cursor)', async () => {
    async function* cursor(): AsyncGenerator<ClueFeature> {
      for (const c of CASES) yield c;
    }
    const path = join(dir, 'async.gpkg');
    expect((await exportClues(cursor(), 'gpkg', path)).count).toBe(5);
    expect(featureCount(await ogrinfoSummary(path))).toBe(5);
  });

  it.skipIf(!hasGdal)('a case without a valid ring keeps its row with an empty geometry, with a warning', async () => {
    const p = [120.1, 32.5];
    const flat = makeCase([[rect(120.1, 32.5, 30, 30)]], { JCBH: 'FLAT1' });
    flat.geometryLonLat = [[[p, p, p, p]]];
    const shp = join(dir, 'flat.zip');
    const res = await exportClues([flat, CASES[0]], 'shp', shp);
    expect(res.warnings).toEqual(['FLAT1: no valid polygon, written as a null shape']);
    const back = await readWithGdal(`/vsizip/${shp}`);
    expect(back.map((f) => [f.properties.JCBH, f.geometry === null])).toEqual([
      ['FLAT1', true],
      ['3212042026Q10001', false],
    ]);
    const gpkg = join(dir, 'flat.gpkg');
    expect((await exportClues([flat], 'gpkg', gpkg)).warnings).toEqual(['FLAT1: no valid polygon, written with a NULL geometry']);
    expect((await readWithGdal(gpkg))[0].geometry).toBeNull();
  });
});
