import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NormalizeSchema } from '../../config/pipeline.js';
import { ModelCardSchema } from '../../pipeline/classify/card.js';
import { classifyInThread, openSession } from '../../pipeline/classify/inference.js';
import { loadModel } from '../../pipeline/classify/load.js';
import { closeScene, openScene, readRawWindow, readWindow } from '../../pipeline/imagery/index.js';
import { LandCover, type RasterBlock } from '../../pipeline/types.js';
import ort from 'onnxruntime-node';
import { generateCounty, LANDCOVER_TRUTH_FILES } from '../../samples/index.js';
import { hasSharedData, repoRoot } from '../../test/helpers/paths.js';
import { baselineRows, dlbmTarget, openFeatureSession } from './data.js';
import { predictForest } from './forest.js';
import { predictMlp } from './mlp.js';
import { LEARNER_FEATURES, ruleDecidedClasses } from './graph.js';
import { DEFAULT_DLBM_TARGETS, TrainSpecSchema, loadTrainSpec } from './spec.js';
import { trainModel, type TrainResult } from './train.js';

const reference = NormalizeSchema.parse({}).reference;
const quiet = { info() {}, warn() {}, debug() {} };
let dir: string;
let county: string;
let result: TrainResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-train-'));
  county = join(dir, 'county');
  await generateCounty({ outDir: county, sizePx: 600, truthRasters: true });
  const spec = TrainSpecSchema.parse({
    id: 'county-test',
    version: '0.1.0',
    description: 'weak labels only',
    seed: 3,
    forest: { trees: 6, maxDepth: 10, minSamplesSplit: 10, samplesPerClass: 800 },
    sources: [{ kind: 'baseline', name: 'county', images: [join(county, 'before.tif')], baseline: join(county, 'landuse.geojson'), maxPerClass: 4000 }],
  });
  result = await trainModel(spec, join(dir, 'model'), { reference, log: quiet, command: 'test' });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A block's learner features as rows (pixel-major), through the training feature graph. */
async function featureRows(block: RasterBlock): Promise<Float32Array> {
  const { width, height } = block.window;
  const n = width * height;
  const input = new Float32Array(4 * n);
  block.data.forEach((d, c) => input.set(d, c * n));
  const features = await openFeatureSession();
  const planes = (await features.run({ reflectance: new ort.Tensor('float32', input, [1, 4, height, width]) })).features.data as Float32Array;
  await features.release();
  const F = LEARNER_FEATURES.length;
  const rows = new Float32Array(n * F);
  for (let p = 0; p < n; p++) for (let k = 0; k < F; k++) rows[p * F + k] = planes[k * n + p];
  return rows;
}

describe('farmwatch train', () => {
  it('maps land-use codes by longest prefix and leaves mixed classes out', () => {
    expect(dlbmTarget(DEFAULT_DLBM_TARGETS, '0101')).toBe('green-or-bare');
    expect(dlbmTarget(DEFAULT_DLBM_TARGETS, '0601')).toBe('built');
    expect(dlbmTarget(DEFAULT_DLBM_TARGETS, '0602')).toBeNull();
    expect(dlbmTarget(DEFAULT_DLBM_TARGETS, '1006')).toBeNull();
    expect(dlbmTarget(DEFAULT_DLBM_TARGETS, '1104')).toBe('water');
  });

  it('writes a model whose card validates and whose sha256 is the file', () => {
    const card = ModelCardSchema.parse(JSON.parse(readFileSync(join(dir, 'model', 'card.json'), 'utf8')));
    expect(card.kind).toBe('trained');
    expect(card.sha256).toBe(createHash('sha256').update(readFileSync(join(dir, 'model', 'model.onnx'))).digest('hex'));
    expect(card.classes.map((c) => c.name)).toEqual(expect.arrayContaining(['water', 'tree', 'orchard', 'herbaceous', 'built', 'greenhouse', 'cloud', 'shadow']));
    expect(card.provenance?.trainedOn[0].rows).toBe(result.rows);
  });

  it('the ONNX graph decides exactly as the forest it was built from', async () => {
    const model = await loadModel(join(dir, 'model'));
    const scene = await openScene(join(county, 'after.tif'));
    const block = await readWindow(scene, { col: 100, row: 100, width: 160, height: 120 }, ['blue', 'green', 'red', 'nir']);
    await closeScene(scene);
    const session = await openSession(model.modelPath, 1);
    const onnx = await classifyInThread(session, model.card, block);
    await session.release();
    const n = 160 * 120;
    const rows = await featureRows(block);
    if (result.model.kind !== 'forest') throw new Error('expected a forest');
    const js = predictForest(result.model.forest, rows);
    const ruled = ruleDecidedClasses(result.classCodes);
    // The survey has no dug soil: the rules keep deciding it, with cloud and shadow.
    expect([...ruled].sort((a, b) => a - b)).toEqual([LandCover.disturbed, LandCover.cloud, LandCover.shadow]);
    let compared = 0;
    for (let p = 0; p < n; p++) {
      const c = onnx.classes[p];
      if (c === LandCover.nodata || ruled.includes(c)) continue;
      compared++;
      expect(c, `pixel ${p}`).toBe(result.classCodes[js[p]]);
    }
    expect(compared).toBeGreaterThan(n * 0.5);
  });

  it('weak labels from the baseline agree with the true land cover of the scene', async () => {
    const session = await openFeatureSession();
    const rows = await baselineRows(session, { kind: 'baseline', name: 'c', images: [join(county, 'before.tif')], baseline: join(county, 'landuse.geojson'), read: { calibration: 'auto', calibrateOver: 'image' }, field: 'DLBM', dlbm: DEFAULT_DLBM_TARGETS, erodePx: 1, consistency: true, maxPerClass: 1e9, tileSize: 256 }, reference, 1);
    await session.release();
    expect(rows.count).toBeGreaterThan(100_000);
    // Rows carry no position, so compare class shares with the truth raster's shares instead.
    const truth = await openScene(join(county, LANDCOVER_TRUTH_FILES.before));
    const t = (await readRawWindow(truth, { col: 0, row: 0, width: 600, height: 600 })).data[0];
    await closeScene(truth);
    const share = (codes: ArrayLike<number>, code: number) => Array.from(codes).filter((c) => c === code).length / codes.length;
    const rowShare = (code: number) => rows.target.filter((c) => c === code).length / rows.count;
    for (const cls of [LandCover.water, LandCover.tree, LandCover.built]) expect(Math.abs(rowShare(cls) - share(t, cls)), `class ${cls}`).toBeLessThan(0.05);
  });

  it.runIf(hasSharedData).each(['landcover-rf-v1', 'landcover-mlp-v1'])('the shipped model %s holds ≥ 0.80 on held-out real pixels of each dataset', (id) => {
    const card = ModelCardSchema.parse(JSON.parse(readFileSync(join(repoRoot, 'models', id, 'card.json'), 'utf8')));
    expect(card.sha256).toBe(createHash('sha256').update(readFileSync(join(repoRoot, 'models', id, 'model.onnx'))).digest('hex'));
    const spec = loadTrainSpec(join(repoRoot, 'models', id, 'train.json'), '/nonexistent');
    expect(card.metrics.map((m) => m.dataset).sort()).toEqual([...spec.evaluate].sort());
    for (const m of card.metrics) {
      expect(m.overallAccuracy, m.dataset).toBeGreaterThanOrEqual(0.8);
      expect(Object.keys(m.perClassF1 ?? {}).length).toBeGreaterThan(2);
    }
  });

  it('refuses a spec with a clear message naming the field', () => {
    expect(() => TrainSpecSchema.parse({ id: 'Bad Id', version: '1', description: 'x', sources: [] })).toThrow(/id/);
  });
});

describe('farmwatch train with the small network', () => {
  it('exports 1×1 convolutions whose class scores, through the card, decide as the network does', async () => {
    const spec = TrainSpecSchema.parse({
      id: 'county-mlp-test',
      version: '0.1.0',
      description: 'weak labels, network',
      seed: 5,
      learner: 'mlp',
      mlp: { hidden: [16], epochs: 3, samplesPerClass: 500 },
      sources: [{ kind: 'baseline', name: 'county', images: [join(county, 'before.tif')], baseline: join(county, 'landuse.geojson'), maxPerClass: 3000 }],
    });
    const out = join(dir, 'mlp');
    const r = await trainModel(spec, out, { reference, log: quiet, command: 'test' });
    if (r.model.kind !== 'mlp') throw new Error('expected a network');
    const model = await loadModel(out);
    expect('scores' in model.card.outputs).toBe(true);
    const scene = await openScene(join(county, 'after.tif'));
    const block = await readWindow(scene, { col: 200, row: 150, width: 120, height: 100 }, ['blue', 'green', 'red', 'nir']);
    await closeScene(scene);
    const session = await openSession(model.modelPath, 1);
    const onnx = await classifyInThread(session, model.card, block);
    await session.release();
    const n = 120 * 100;
    const rows = await featureRows(block);
    const js = predictMlp(r.model.mlp, rows);
    const ruled = ruleDecidedClasses(r.classCodes);
    let compared = 0;
    let same = 0;
    for (let p = 0; p < n; p++) {
      const c = onnx.classes[p];
      if (c === LandCover.nodata || ruled.includes(c)) continue;
      compared++;
      if (c === r.classCodes[js[p]]) same++;
    }
    // Float32 convolutions vs float64 sums in JS: a near-tie may flip, nothing more.
    expect(compared).toBeGreaterThan(n * 0.5);
    expect(same / compared).toBeGreaterThan(0.999);
  }, 120_000);
});
