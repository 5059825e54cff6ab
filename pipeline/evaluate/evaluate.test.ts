import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { crsFromEpsg, makeTransform } from '../geo/crs.js';
import { mapToPixel } from '../geo/grid.js';
import { burnPolygon } from '../geo/rasterize.js';
import { writeGeoTiff } from '../imagery/index.js';
import { loadTruth } from '../truth.js';
import { ChangeType, type Grid } from '../types.js';
import { generateCounty } from '../../samples/index.js';
import { evaluateChange, evaluateLandCover, parseClassMap } from './index.js';
import { confusionMatrixPng } from './plot.js';

const grid: Grid = { width: 40, height: 30, transform: [40500000, 2, 0, 3550000, 0, -2], crs: crsFromEpsg(4528) };

describe('land-cover accuracy', () => {
  it('counts the confusion matrix and derives OA, kappa and F1 exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-eval-'));
    const n = grid.width * grid.height;
    // Reference: left half class 1, right half class 2; value 9 = unlabelled.
    const truth = Uint8Array.from({ length: n }, (_, p) => (p % 40 < 20 ? 1 : 2));
    truth[0] = 9;
    // Prediction (our codes: 1 water, 4 herbaceous): right except the first 3 rows of the left half.
    const pred = Uint8Array.from({ length: n }, (_, p) => (p % 40 < 20 ? (Math.floor(p / 40) < 3 ? 4 : 1) : 4));
    await writeGeoTiff(join(dir, 't.tif'), grid, [truth], { dtype: 'uint8' });
    await writeGeoTiff(join(dir, 'p.tif'), grid, [pred], { dtype: 'uint8' });
    const acc = await evaluateLandCover(join(dir, 'p.tif'), join(dir, 't.tif'), { pred: parseClassMap('1=water,4=herbaceous', 'p'), truth: parseClassMap('1=water,2=herbaceous', 't') });
    // 599 water reference pixels (one unlabelled), 59 of them predicted herbaceous; 600 herbaceous all right.
    expect(acc.pixels).toBe(1199);
    expect(acc.confusion).toEqual({ water: { herbaceous: 59, water: 540 }, herbaceous: { herbaceous: 600 } });
    expect(acc.overallAccuracy).toBeCloseTo(1140 / 1199, 4);
    const pe = (599 * 540 + 600 * 659) / 1199 ** 2;
    expect(acc.kappa).toBeCloseTo((1140 / 1199 - pe) / (1 - pe), 4);
    expect(acc.perClass.water).toMatchObject({ recall: 0.9015, precision: 1, support: 599 });
    expect(acc.perClass.herbaceous.f1).toBeCloseTo((2 * (600 / 659)) / (600 / 659 + 1), 4);
    await confusionMatrixPng(acc, 'test', join(dir, 'c.png'));
    const meta = await sharp(join(dir, 'c.png')).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(200);
  });

  it('refuses rasters on different grids and bad class maps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-eval-'));
    await writeGeoTiff(join(dir, 'a.tif'), grid, [new Uint8Array(1200)], { dtype: 'uint8' });
    await writeGeoTiff(join(dir, 'b.tif'), { ...grid, width: 30, height: 40 }, [new Uint8Array(1200)], { dtype: 'uint8' });
    const m = parseClassMap('1=water', 'x');
    await expect(evaluateLandCover(join(dir, 'a.tif'), join(dir, 'b.tif'), { pred: m, truth: m })).rejects.toThrow(/same grid/);
    expect(() => parseClassMap('1:water', '--truth-map')).toThrow(/--truth-map: "1:water" is not value=class/);
  });
});

describe('change accuracy', () => {
  let county: string;
  let g: Grid;
  beforeAll(async () => {
    county = await mkdtemp(join(tmpdir(), 'fw-evalc-'));
    const m = await generateCounty({ outDir: county, sizePx: 600 });
    g = { width: 600, height: 600, transform: m.transform as unknown as Grid['transform'], crs: crsFromEpsg(m.crs.epsg) };
  }, 120_000);

  /** A run folder whose patches are the planted changes, minus `drop` of them. */
  async function fakeRun(name: string, drop: number): Promise<{ dir: string; planted: number }> {
    const dir = join(county, name);
    const truth = (await loadTruth(join(county, 'truth.geojson'), g)).filter((t) => t.kind === 'change');
    const kept = truth.slice(drop);
    const codes = new Uint8Array(g.width * g.height);
    const toLonLat = makeTransform(g.crs, crsFromEpsg(4490));
    for (const t of kept) burnPolygon(t.polygon.map((r) => r.map(([x, y]) => mapToPixel(g.transform, x, y))), ChangeType[t.type as keyof typeof ChangeType], { col: 0, row: 0, width: g.width, height: g.height }, codes);
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeGeoTiff(join(dir, 'change.tif'), g, [codes], { dtype: 'uint8' });
    const features = kept.map((t, i) => ({ type: 'Feature', properties: { JCBH: `P${i}`, TBLX: t.type, HF: Boolean(t.legal), PZWH: t.approval ?? null }, geometry: { type: 'Polygon', coordinates: t.polygon.map((r) => r.map(([x, y]) => toLonLat(x, y))) } }));
    await writeFile(join(dir, 'patches.geojson'), JSON.stringify({ type: 'FeatureCollection', features }));
    return { dir, planted: truth.length };
  }

  it('gives a run that reports exactly the planted changes precision = recall = 1', async () => {
    const { dir, planted } = await fakeRun('perfect', 0);
    const r = await evaluateChange(dir, join(county, 'truth.geojson'));
    expect(planted).toBeGreaterThan(20);
    expect(r.patch).toMatchObject({ planted, detected: planted, matched: planted, precision: 1, recall: 1, f1: 1 });
    expect(r.pixel.precision).toBe(1);
    expect(r.pixel.recall).toBe(1);
  });

  it('counts missed changes in recall at patch and pixel level', async () => {
    const { dir, planted } = await fakeRun('missing3', 3);
    const r = await evaluateChange(dir, join(county, 'truth.geojson'));
    expect(r.patch.matched).toBe(planted - 3);
    expect(r.patch.recall).toBeCloseTo((planted - 3) / planted, 4);
    expect(r.patch.precision).toBe(1);
    expect(r.pixel.recall).toBeLessThan(1);
    expect(r.pixel.precision).toBe(1);
    const json = JSON.parse(await readFile(join(dir, 'patches.geojson'), 'utf8'));
    expect(json.features).toHaveLength(planted - 3);
  });
});
