/**
 * A user's NCHW segmentation model, given only its card: the QGIS Deepness dummy network
 * (`dummy_model.onnx`: output = input⁸ per channel, fixed 1×3×512×512 input), whose output is known,
 * so every pixel's class can be checked.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { classifyInThread, openSession } from '../../pipeline/classify/inference.js';
import { loadModel } from '../../pipeline/classify/load.js';
import { runDetection } from '../../pipeline/run.js';
import { closeScene, openScene, readRawWindow } from '../../pipeline/imagery/index.js';
import { LandCover, type RasterBlock } from '../../pipeline/types.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';
import { hasSharedData, shared } from '../helpers/paths.js';

const onnxFile = shared('onnx-test-models-deepness-dummy', 'dummy_segmentation_models', 'dummy_model.onnx');
const CHANNEL_CLASS = ['bare', 'herbaceous', 'water'] as const;

describe.runIf(hasSharedData && existsSync(onnxFile))('third-party NCHW model from its card alone', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-3p-'));
    const card = {
      id: 'deepness-dummy',
      version: '0.0.1',
      description: 'QGIS Deepness test network: output = input^8 per RGB channel (a "dominant colour" segmenter)',
      kind: 'trained',
      file: onnxFile,
      input: { name: 'input_rgb_512x512', layout: 'nchw', dtype: 'float32', bands: [{ name: 'red', scale: 4 }, { name: 'green', scale: 4 }, { name: 'blue', scale: 4 }], tile: { size: 512, overlap: 16 } },
      outputs: { scores: { name: 'output', activation: 'sigmoid', classes: CHANNEL_CLASS.map((c, index) => ({ index, class: c })) } },
      contextPx: 0,
      classes: CHANNEL_CLASS.map((name) => ({ code: LandCover[name], name, feedsChangeTypes: [] })),
      sha256: createHash('sha256').update(readFileSync(onnxFile)).digest('hex'),
      metrics: [],
      licence: 'Apache-2.0 (PUTvision/qgis-plugin-deepness test data)',
    };
    await writeFile(join(dir, 'card.json'), JSON.stringify(card));
  });

  it('tiles a block that is not a multiple of the model size and gives every pixel its dominant channel', async () => {
    const model = await loadModel(dir);
    const width = 700;
    const height = 530;
    const n = width * height;
    // Smoothly varying colours: each channel dominates somewhere, ties are measure-zero.
    const band = (f: (x: number, y: number) => number) => Float32Array.from({ length: n }, (_, p) => f(p % width, Math.floor(p / width)));
    const red = band((x, y) => 0.05 + 0.15 * (0.5 + 0.5 * Math.sin(x / 37 + y / 91)));
    const green = band((x, y) => 0.05 + 0.15 * (0.5 + 0.5 * Math.sin(y / 29 - x / 113 + 1)));
    const blue = band((x, y) => 0.05 + 0.15 * (0.5 + 0.5 * Math.cos((x + y) / 53)));
    const block: RasterBlock = { window: { col: 0, row: 0, width, height }, bandNames: ['blue', 'green', 'red'], data: [blue, green, red], valid: new Uint8Array(n).fill(1) };
    const session = await openSession(model.modelPath, 1);
    const out = await classifyInThread(session, model.card, block);
    await session.release();
    let checked = 0;
    for (let p = 0; p < n; p += 7) {
      const v = [red[p] * 4, green[p] * 4, blue[p] * 4];
      const best = v.indexOf(Math.max(...v));
      expect(out.classes[p], `pixel ${p}`).toBe(LandCover[CHANNEL_CLASS[best]]);
      expect(out.confidence[p]).toBeCloseTo(Math.fround(v[best]) ** 8, 4);
      checked++;
    }
    expect(checked).toBeGreaterThan(50_000);
  });

  it('runs through detect end to end and writes georeferenced outputs', async () => {
    const county = join(dir, 'county');
    const m = await generateCounty({ outDir: county, sizePx: 600 });
    const config = parseDetectConfig({ ...countyRunInput(county, m), out: join(dir, 'run'), classify: { model: dir }, landcover: true });
    const quiet = { info() {}, warn() {}, debug() {} };
    const result = await runDetection(config, { log: quiet, now: Date.now });
    expect(result.summary.model).toMatchObject({ id: 'deepness-dummy' });
    const patches = JSON.parse(await readFile(join(result.outDir, 'patches.geojson'), 'utf8'));
    expect(patches.type).toBe('FeatureCollection');
    const lc = await openScene(join(result.outDir, 'landcover_after.tif'));
    expect(lc.info.grid.crs.epsg).toBe(4528);
    expect(lc.info.grid.transform).toEqual(m.transform);
    // The dummy labels each pixel by its dominant colour channel: a real map holds several.
    const classes = new Set((await readRawWindow(lc, { col: 0, row: 0, width: 600, height: 600 })).data[0]);
    await closeScene(lc);
    expect([...classes].filter((c) => c !== LandCover.nodata).length).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('refuses a card whose scores name a class we do not have', async () => {
    const bad = join(dir, 'bad');
    const card = JSON.parse(await readFile(join(dir, 'card.json'), 'utf8'));
    card.outputs.scores.classes[0].class = 'cropland';
    await import('node:fs/promises').then((fs) => fs.mkdir(bad)).then(() => writeFile(join(bad, 'card.json'), JSON.stringify(card)));
    await expect(loadModel(bad)).rejects.toThrow(/outputs/);
  });
});
