/**
 * Issue 3 acceptance, end to end: a real detection run on the sample county goes into the ledger
 * (both backends); its clue list exported as Shapefile and GeoPackage is read back by GDAL with the
 * right CRS, feature count and fields, and GDAL's ellipsoidal areas agree with the ledger's to 0.1 %.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { exportClues } from '../../ledger/export/index.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';
import { featureCount, fieldTypes, gdal, hasGdal, layerEpsg, ogrinfoSummary } from '../ledger-export/gdal.js';
import { BACKENDS, dropServerSchemas, testLedger } from './helpers.js';

let dir: string;
let result: RunResult;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-ledger-export-'));
  const m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 800 });
  const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), m), out: join(dir, 'run'), chips: { enabled: false }, overview: { enabled: false } });
  result = await runDetection(config, { log: { info() {}, warn() {}, debug() {} }, now: Date.now });
}, 300_000);
afterAll(() => dropServerSchemas());

describe.runIf(hasGdal).each(BACKENDS)('ledger → export → GDAL (%s)', (backend) => {
  it('Shapefile and GeoPackage carry every case with the ledger areas to 0.1 %', async () => {
    expect(result.patches.length).toBeGreaterThan(3);
    const ledger = await testLedger(backend);
    try {
      await ledger.ingestResult(result);
      const cases = await ledger.clueFeatures();
      const listed = await ledger.listCases({}, { limit: 1000, offset: 0 });
      expect(cases.length).toBe(listed.total);
      const mj = new Map(cases.map((c) => [c.fields.JCBH, c.fields.MJ]));
      for (const [format, sql] of [
        ['shp', (p: string) => ['-ro', '-q', '-dialect', 'SQLite', '-sql', 'SELECT JCBH, ST_Area(geometry, 1) AS A FROM clues', `/vsizip/${p}`]],
        ['gpkg', (p: string) => ['-ro', '-q', '-dialect', 'SQLite', '-sql', 'SELECT JCBH, ST_Area(geom, 1) AS A FROM clues', p]],
      ] as const) {
        const path = join(dir, `${backend}-clues.${format === 'shp' ? 'zip' : 'gpkg'}`);
        await exportClues(cases, format, path, { layerName: 'clues' });
        const src = format === 'shp' ? `/vsizip/${path}` : path;
        const summary = await ogrinfoSummary(src);
        expect(layerEpsg(summary), format).toBe(4490);
        expect(featureCount(summary), format).toBe(cases.length);
        expect(fieldTypes(summary).map(([n]) => n), format).toEqual(expect.arrayContaining(['JCBH', 'TBLX', 'XZQDM', 'MJ', 'MJM', 'PZWH']));
        const out = await gdal('ogrinfo', sql(path));
        const rows = [...out.matchAll(/JCBH \(String\) = (\S+)\s+A \(Real\) = ([\d.]+)/g)].map((m) => [m[1], Number(m[2])] as const);
        expect(rows.length, format).toBe(cases.length);
        for (const [jcbh, area] of rows) expect(Math.abs(area / mj.get(jcbh)! - 1), `${format} ${jcbh}`).toBeLessThan(0.001);
      }
    } finally {
      await ledger.close();
    }
  }, 120_000);
});
