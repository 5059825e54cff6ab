/**
 * The small convolutional model: its ONNX graph (a k×k Conv over the in-graph features, then 1×1
 * layers) computes what the JS network it was trained as computes, and fixed tiles that overlap by
 * its receptive field leave no seams.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NormalizeSchema } from '../../config/pipeline.js';
import { classifyInThread, openSession } from '../../pipeline/classify/inference.js';
import { loadModel } from '../../pipeline/classify/load.js';
import { closeScene, openScene, readWindow } from '../../pipeline/imagery/index.js';
import { LandCover, type RasterBlock } from '../../pipeline/types.js';
import { generateCounty } from '../../samples/index.js';
import { cnnLogits } from './cnn.js';
import { neighbourhood, openFeatureSession } from './data.js';
import { CONTEXT_PX, LEARNER_FEATURES } from './graph.js';
import { TrainSpecSchema } from './spec.js';
import { trainModel, type TrainResult } from './train.js';

const reference = NormalizeSchema.parse({}).reference;
const quiet = { info() {}, warn() {}, debug() {} };
let dir: string;
let county: string;
let result: TrainResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-cnn-'));
  county = join(dir, 'county');
  await generateCounty({ outDir: county, sizePx: 500 });
  const spec = TrainSpecSchema.parse({
    id: 'county-cnn-test',
    version: '0.1.0',
    description: 'weak labels, convolutional network',
    seed: 7,
    learner: 'cnn',
    cnn: { kernel: 3, hidden: [12, 8], epochs: 3, samplesPerClass: 400, tile: 64 },
    sources: [{ kind: 'baseline', name: 'county', images: [join(county, 'before.tif')], baseline: join(county, 'landuse.geojson'), maxPerClass: 2000 }],
  });
  result = await trainModel(spec, join(dir, 'cnn'), { reference, log: quiet, command: 'test' });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readBlock(col: number, row: number, width: number, height: number): Promise<RasterBlock> {
  const scene = await openScene(join(county, 'after.tif'));
  try {
    return await readWindow(scene, { col, row, width, height }, ['blue', 'green', 'red', 'nir']);
  } finally {
    await closeScene(scene);
  }
}

function nchw(block: RasterBlock): Float32Array {
  const n = block.window.width * block.window.height;
  const input = new Float32Array(4 * n);
  block.data.forEach((d, c) => input.set(d.subarray(0, n), c * n));
  return input;
}

describe('farmwatch train with the small convolutional model', () => {
  it('writes a fixed-tile NCHW card whose overlap covers the receptive field', async () => {
    const model = await loadModel(join(dir, 'cnn'));
    expect(result.model.kind).toBe('cnn');
    expect(model.card.contextPx).toBe(CONTEXT_PX + 1);
    expect(model.card.input.tile).toEqual({ size: 64, overlap: CONTEXT_PX + 1 });
    expect('scores' in model.card.outputs).toBe(true);
    expect(model.card.provenance?.learner).toMatch(/3×3 convolution 24→12/);
  });

  it('the ONNX Conv graph computes the logits of the JS network on neighbourhoods, borders included', async () => {
    if (result.model.kind !== 'cnn') throw new Error('expected a convolutional model');
    const cnn = result.model.cnn;
    const model = await loadModel(join(dir, 'cnn'));
    const block = await readBlock(150, 120, 90, 70);
    const { width, height } = block.window;
    const n = width * height;
    const input = nchw(block);
    const session = await ort.InferenceSession.create(model.modelPath);
    const scores = (await session.run({ reflectance: new ort.Tensor('float32', input, [1, 4, height, width]) })).scores;
    await session.release();
    const features = await openFeatureSession();
    const planes = (await features.run({ reflectance: new ort.Tensor('float32', input, [1, 4, height, width]) })).features.data as Float32Array;
    await features.release();
    const K = result.classCodes.length;
    expect(scores.dims).toEqual([1, K + (scores.dims[1] - K), height, width]);
    const s = scores.data as Float32Array;
    let checked = 0;
    let worst = 0;
    // Corners and edges (zero padding) and the interior.
    const pixels = [0, width - 1, n - width, n - 1, 5 * width, 33 * width + 47];
    for (let p = 0; p < n; p += 97) pixels.push(p);
    for (const p of pixels) {
      const row = neighbourhood(planes, n, width, height, p % width, Math.floor(p / width), LEARNER_FEATURES.length, 1);
      const js = cnnLogits(cnn, row);
      for (let k = 0; k < K; k++) {
        const diff = Math.abs(js[k] - s[k * n + p]);
        worst = Math.max(worst, diff / Math.max(1, Math.abs(js[k])));
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(60);
    expect(worst).toBeLessThan(1e-4);
  });

  it('tiles overlapping by the receptive field leave no seams; narrower overlaps do', async () => {
    const model = await loadModel(join(dir, 'cnn'));
    const block = await readBlock(0, 0, 300, 260);
    const { width, height } = block.window;
    const session = await openSession(model.modelPath, 1);
    const untiled = await classifyInThread(session, { ...model.card, input: { ...model.card.input, tile: undefined } }, block);
    const margin = model.card.contextPx;
    const differing: number[] = [];
    for (let overlap = 0; overlap <= model.card.contextPx; overlap++) {
      const tiled = await classifyInThread(session, { ...model.card, input: { ...model.card.input, tile: { size: 64, overlap } } }, block);
      let d = 0;
      // The block's own edges are zero-padded differently whole and tiled: compare the interior.
      for (let y = margin; y < height - margin; y++) for (let x = margin; x < width - margin; x++) if (tiled.classes[y * width + x] !== untiled.classes[y * width + x]) d++;
      differing.push(d);
    }
    await session.release();
    expect(differing.at(-1)).toBe(0);
    expect(differing[0]).toBeGreaterThan(0);
    expect(untiled.classes.filter((c) => c !== LandCover.nodata).length).toBeGreaterThan(width * height * 0.9);
  }, 120_000);
});
