/**
 * spectral-v1 on real labelled pixels from ../shared/data, through the worker pool.
 *
 * A sanity check, not an evaluation protocol (see models/eval/real-data.ts and card.md): it
 * asserts floors the model meets today, and that card.json reports what the model really does.
 * Skips when the shared data folder is absent.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHESAPEAKE, SLOVENIA, evaluate, hasDataset, loadChesapeake, loadSlovenia, type Metric } from '../../models/eval/real-data.js';
import { PROTOCOL } from '../../models/spectral-v1/build.js';
import { createClassifier, loadModel, type Classifier, type LoadedModel } from './index.js';

const DATA = join(import.meta.dirname, '../../../shared/data');
const MODEL_DIR = join(import.meta.dirname, '../../models/spectral-v1');
const haveSlovenia = hasDataset(DATA, SLOVENIA);
const haveChesapeake = hasDataset(DATA, CHESAPEAKE);

let model: LoadedModel;
let classifier: Classifier;
beforeAll(async () => {
  model = await loadModel(MODEL_DIR);
  classifier = await createClassifier(model, { workers: 1, threadsPerWorker: 1 });
});
afterAll(async () => classifier?.close());

const classify = (b: Parameters<Classifier['classify']>[0]) => classifier.classify(b);

/** The card must state what was measured (to rounding), so nobody reads stale numbers. */
function expectCardToMatch(measured: Metric) {
  const inCard = model.card.metrics.find((m) => m.dataset === measured.dataset);
  expect(inCard, `card.json has no metrics for "${measured.dataset}": rerun models/spectral-v1/build.ts`).toBeDefined();
  expect(inCard!.pixels).toBe(measured.pixels);
  expect(inCard!.overallAccuracy).toBeCloseTo(measured.overallAccuracy, 3);
  for (const [ref, r] of Object.entries(measured.perReference)) expect(inCard!.perReference[ref]?.recall, ref).toBeCloseTo(r.recall, 3);
}

describe.skipIf(!haveSlovenia)(`${SLOVENIA} (Sentinel-2 L1C, 10 m)`, () => {
  it('clear scenes 2–4 after dark-object subtraction: OA ≥ 0.88, forest and grassland separated', async () => {
    const scenes = (await loadSlovenia(DATA, 'dos')).slice(2);
    const m = await evaluate(scenes, classify, `${SLOVENIA} scenes 2-4 (DOS)`, PROTOCOL.sloveniaClear);
    expect(m.pixels).toBe(3 * (100 * 101 - 155));
    expect(m.overallAccuracy).toBeGreaterThanOrEqual(0.88);
    expect(m.perReference.forest.recall).toBeGreaterThanOrEqual(0.95);
    expect(m.perReference.grassland.recall).toBeGreaterThanOrEqual(0.65);
    expect(m.perReference.shrubland.recall).toBeGreaterThanOrEqual(0.65);
    expect(m.perPredicted.tree.precision).toBeGreaterThanOrEqual(0.9);
    expect(m.perPredicted.herbaceous.precision).toBeGreaterThanOrEqual(0.7);
    // Nothing in a clear, vegetated summer scene may come out as cloud, greenhouse or disturbed.
    for (const cls of ['cloud', 'greenhouse', 'disturbed', 'water']) expect(m.perPredicted[cls], cls).toBeUndefined();
    // Known and documented: "artificial" polygons are vegetated at 10 m (median NDVI ≈ 0.67).
    expect(m.perReference.artificial.recall).toBeLessThan(0.1);
    expectCardToMatch(m);
  });

  it('all five scenes, hazy ones included: OA ≥ 0.55', async () => {
    const m = await evaluate(await loadSlovenia(DATA, 'dos'), classify, `${SLOVENIA} scenes 0-4 (DOS)`, PROTOCOL.sloveniaAll);
    expect(m.overallAccuracy).toBeGreaterThanOrEqual(0.55);
    expectCardToMatch(m);
  });

  it('uncorrected TOA input breaks the brightness rules (documented sensitivity)', async () => {
    const toa = await evaluate((await loadSlovenia(DATA, 'toa')).slice(2), classify, `${SLOVENIA} scenes 2-4 (TOA)`, PROTOCOL.sloveniaToa);
    // Path radiance lifts forest's visible brightness above the crown-shade threshold.
    expect(toa.perReference.forest.recall).toBeLessThan(0.2);
    expectCardToMatch(toa);
  });
});

describe.skipIf(!haveChesapeake)(`${CHESAPEAKE} (NAIP, 1 m, DN/255)`, () => {
  it('finds the water; DN/255 is far too bright for the other brightness rules (documented)', async () => {
    const m = await evaluate(await loadChesapeake(DATA), classify, `${CHESAPEAKE} (DN/255)`, PROTOCOL.chesapeake);
    expect(m.pixels).toBe(3 * 256 * 256);
    expect(m.overallAccuracy).toBeGreaterThanOrEqual(0.3);
    expect(m.perReference.water.recall).toBeGreaterThanOrEqual(0.9);
    expect(m.perPredicted.water.precision).toBeGreaterThanOrEqual(0.99);
    expectCardToMatch(m);
  });
});
