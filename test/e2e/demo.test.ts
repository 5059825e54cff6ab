import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { parseDetectConfig } from '../../config/index.js';
import { defaultModelDir } from '../../cli/paths.js';
import { readChangeRaster, readGrid } from '../helpers/change-raster.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { CHANGE_TYPE_NAMES } from '../../pipeline/types.js';
import { countyRunInput, generateCounty, type CountyManifest } from '../../samples/index.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

/**
 * The acceptance run of the pipeline issue: the demo county (2000 × 2000 px at 2 m, the README's
 * demo) through the in-process runner, scored against the planted ground truth.
 */
describe('demo county end to end', () => {
  let dir: string;
  let manifest: CountyManifest;
  let result: RunResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-demo-'));
    manifest = await generateCounty({ outDir: join(dir, 'county'), sizePx: 2000 });
    const config = parseDetectConfig({
      ...countyRunInput(join(dir, 'county'), manifest),
      out: join(dir, 'run'),
      classify: { model: defaultModelDir() },
    });
    result = await runDetection(config, { log: quiet, now: Date.now });
  }, 600_000);

  // Floors the default model holds today (seed 20261123); they guard against regressions beyond
  // the acceptance (next test).
  it('finds every planted change with the default model (regression floor)', () => {
    const score = result.summary.score!;
    for (const type of CHANGE_TYPE_NAMES.filter((t) => t !== 'outflow_grass')) {
      const s = score.byType[type];
      expect(s, type).toBeDefined();
      expect(s.planted, type).toBeGreaterThanOrEqual(4);
      expect(s.recall, `${type} recall`).toBeGreaterThanOrEqual(0.95);
      expect(s.precision, `${type} precision`).toBeGreaterThanOrEqual(0.9);
      // Mixed boundary pixels are counted (change/edges.ts): matched areas are no longer a ring short.
      expect(s.meanAreaRatio!, `${type} area`).toBeGreaterThanOrEqual(0.82);
      expect(s.meanAreaRatio!, `${type} area`).toBeLessThanOrEqual(1.1);
    }
    // Matched areas more than 10 % off: 7 before the outline refinement (change/refine.ts), 3 with
    // it, 2 since moist dug soil joins its dry part (refine.ts, CONTINUITY and families), 1 since
    // texture covers are compared on their change and a mixed pixel is unmixed against its own old
    // surface (edges.ts), none since a texture read in a thin strip has an interior to grow from.
    // The mean error guards what the acceptance's 10 % bound does not see.
    const matches = Object.values(score.byType).flatMap((s) => s.matches);
    const meanError = matches.reduce((sum, m) => sum + Math.abs(m.areaRatio - 1), 0) / matches.length;
    expect(meanError).toBeLessThanOrEqual(0.035);
    expect(score.hardCaseFalsePatches).toBe(0);
    expect(score.legalReportedAsLegal.correct).toBe(score.legalReportedAsLegal.planted);
  });

  it('meets the pipeline issue acceptance with the default model', () => {
    const score = result.summary.score!;
    for (const type of CHANGE_TYPE_NAMES.filter((t) => t !== 'outflow_grass')) {
      expect(score.byType[type].recall, `${type} recall`).toBeGreaterThanOrEqual(0.95);
      expect(score.byType[type].precision, `${type} precision`).toBeGreaterThanOrEqual(0.9);
      expect(score.byType[type].maxAreaError!, `${type} area`).toBeLessThanOrEqual(0.1);
    }
    expect(score.hardCaseFalsePatches).toBeLessThanOrEqual(1);
    expect(score.legalReportedAsLegal.correct).toBe(score.legalReportedAsLegal.planted);
  });

  it('writes the run folder: patches, clue list, chips, change raster, summary', async () => {
    const files = await readdir(result.outDir);
    expect(files.sort()).toEqual(['change.tif', 'chips', 'overview_after.png', 'overview_before.png', 'patches.geojson', 'summary.json', '线索清单.xlsx'].sort());
    const geo = JSON.parse(await readFile(join(result.outDir, 'patches.geojson'), 'utf8'));
    expect(geo.features.length).toBe(result.patches.length);
    const p = geo.features[0].properties;
    for (const k of ['JCBH', 'XZQDM', 'XZQMC', 'QSX', 'HSX', 'TBLX', 'DLBM', 'DLMC', 'XZDL', 'MJ', 'MJM', 'GDMJ', 'YJJBNTMJ', 'ZXX', 'ZXY', 'JD', 'WD', 'PZWH', 'ZXD'])
      expect(p, k).toHaveProperty(k);
    expect(p.JCBH.startsWith(manifest.regionCode)).toBe(true);
    // Longitude/latitude near the sample's centre (120.3 E, 32.0 N).
    expect(Math.abs(p.JD - 120.3)).toBeLessThan(0.1);
    expect(Math.abs(p.WD - 32.0)).toBeLessThan(0.1);
    expect(p.MJM).toBeCloseTo(p.MJ * 0.0015, 1);
    const chips = await readdir(join(result.outDir, 'chips'));
    expect(chips.length).toBe(2 * result.patches.length);
    expect((await stat(join(result.outDir, 'chips', chips[0]))).size).toBeGreaterThan(1000);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(join(result.outDir, '线索清单.xlsx'));
    const sheet = wb.worksheets[0];
    const headerRow = [1, 2].map((r) => sheet.getRow(r)).find((r) => r.values && (r.values as unknown[]).includes('监测图斑编号'))!;
    expect(headerRow).toBeDefined();

    // change.tif: georeferenced like the input, and its changed pixels equal the patches' pixels.
    const change = await readChangeRaster(join(result.outDir, 'change.tif'));
    const before = await readGrid(join(dir, 'county', manifest.files.before));
    expect(change.grid.transform).toEqual(before.transform);
    expect(change.grid.crs.epsg).toBe(4528);
    expect(change.changed).toBe(result.patches.reduce((s, x) => s + x.attributes.pixelCount, 0));
  });

  it('records timings, the model and the config in summary.json', async () => {
    const s = JSON.parse(await readFile(join(result.outDir, 'summary.json'), 'utf8'));
    expect(s.model.id).toBe('spectral-v1');
    expect(s.timings.stages.classify.ms).toBeGreaterThan(0);
    expect(s.config.regionCode).toBe(manifest.regionCode);
    expect(s.counts.total).toBe(result.patches.length);
  });
});
