/**
 * Our own small convolutional model (models/landcover-cnn-v1: a 3×3 Conv over the in-graph
 * features, fixed 256×256 tiles) through `detect` from its card alone: the NCHW path of item 7 of
 * the land-cover issue, with a network we trained ourselves.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { loadModel } from '../../pipeline/classify/load.js';
import { closeScene, openScene, readRawWindow } from '../../pipeline/imagery/index.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { LandCover } from '../../pipeline/types.js';
import { countyRunInput, generateCounty, LANDCOVER_TRUTH_FILES, type CountyManifest } from '../../samples/index.js';
import { loadTrainSpec } from '../../models/train/spec.js';
import { repoRoot } from '../helpers/paths.js';
import { scoreTotals } from '../helpers/score.js';

const modelDir = join(repoRoot, 'models', 'landcover-cnn-v1');
const quiet = { info() {}, warn() {}, debug() {} };

describe('our convolutional model (landcover-cnn-v1) from its card alone', () => {
  let dir: string;
  let m: CountyManifest;
  let result: RunResult;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-cnn-e2e-'));
    m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 600, truthRasters: true });
    const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), m), out: join(dir, 'run'), classify: { model: modelDir }, landcover: true });
    result = await runDetection(config, { log: quiet, now: Date.now });
  }, 600_000);

  it('ships a fixed-tile NCHW card whose overlap covers the receptive field, with held-out metrics per dataset', async () => {
    const { card, modelPath } = await loadModel(modelDir);
    expect(card.sha256).toBe(createHash('sha256').update(readFileSync(modelPath)).digest('hex'));
    expect(card.input.layout).toBe('nchw');
    expect(card.input.tile?.size).toBe(256);
    // 5×5 texture features (2 px) + the 3×3 convolution (1 px).
    expect(card.contextPx).toBe(3);
    expect(card.input.tile!.overlap).toBeGreaterThanOrEqual(card.contextPx);
    expect('scores' in card.outputs).toBe(true);
    const spec = loadTrainSpec(join(modelDir, 'train.json'), '/nonexistent');
    expect(spec.learner).toBe('cnn');
    expect(card.metrics.map((x) => x.dataset).sort()).toEqual([...spec.evaluate].sort());
    for (const x of card.metrics) {
      expect(x.overallAccuracy, x.dataset).toBeGreaterThanOrEqual(0.8);
      expect(Object.keys(x.perClassF1 ?? {}).length).toBeGreaterThan(2);
    }
  });

  it('runs through detect: georeferenced land cover in the card\'s classes, agreeing with the county\'s true land cover', async () => {
    const { card } = await loadModel(modelDir);
    expect(result.summary.model).toMatchObject({ id: 'landcover-cnn-v1' });
    const lc = await openScene(join(result.outDir, 'landcover_after.tif'));
    expect(lc.info.grid.crs.epsg).toBe(4528);
    expect(lc.info.grid.transform).toEqual(m.transform);
    const map = (await readRawWindow(lc, { col: 0, row: 0, width: 600, height: 600 })).data[0];
    await closeScene(lc);
    const allowed = new Set([...card.classes.map((c) => c.code), LandCover.nodata]);
    const seen = new Set(map);
    for (const c of seen) expect(allowed.has(c), `class ${c}`).toBe(true);
    expect([...seen].filter((c) => c !== LandCover.nodata).length).toBeGreaterThanOrEqual(4);
    const truthScene = await openScene(join(dir, 'county', LANDCOVER_TRUTH_FILES.after));
    const truth = (await readRawWindow(truthScene, { col: 0, row: 0, width: 600, height: 600 })).data[0];
    await closeScene(truthScene);
    let agree = 0;
    for (let p = 0; p < map.length; p++) if (map[p] === truth[p]) agree++;
    // Measured 0.593 (landcover-rf-v1: 0.632): trained on NAIP and Sentinel-2 only, the generic
    // models do not transfer well to the synthetic county's spectra (README, "Land-cover models").
    expect(agree / map.length).toBeGreaterThanOrEqual(0.55);
  });

  // Measured: 22 patches, 1 of 35 planted changes matched (a road) until the patch tests of
  // 2026-11-26 (sharp outlines, field edges) dropped that one too. As poor as the generic forest
  // (change F1 0.011): the generic models misread the county's crops; calibration to the county's
  // survey is what makes a trained model usable there. This checks the path, not the quality.
  it('writes typed patches of at least their minimum mapping unit, counted in the summary', async () => {
    const patches = JSON.parse(await readFile(join(result.outDir, 'patches.geojson'), 'utf8'));
    expect(patches.type).toBe('FeatureCollection');
    expect(patches.features.length).toBeGreaterThan(0);
    const score = result.summary.score!;
    const { planted, matched, detected } = scoreTotals(score);
    expect(planted).toBeGreaterThan(0);
    expect(detected).toBe(patches.features.length);
    expect(matched).toBeLessThanOrEqual(detected);
    const minArea = result.summary.config.minArea as Record<string, number>;
    for (const f of patches.features) {
      expect(Object.keys(score.byType)).toContain(f.properties.TBLX);
      expect(f.properties.MJ).toBeGreaterThanOrEqual(minArea[f.properties.TBLX]);
    }
  });
});
