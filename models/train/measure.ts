/**
 * Compares the trained land-cover models on the sample county: inference speed (Mpx/s through the
 * pipeline's classify path, 1 and 2 threads), pixel agreement with the county's true land cover,
 * and, for fixed-tile models, how many pixels change with the tile overlap (seams) against an
 * untiled run. Run: `npx tsx models/train/measure.ts [model ids…]`; prints JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { classifyInThread, openSession } from '../../pipeline/classify/inference.js';
import { loadModel } from '../../pipeline/classify/load.js';
import { closeScene, openScene, readRawWindow, readWindow } from '../../pipeline/imagery/index.js';
import { generateCounty, LANDCOVER_TRUTH_FILES } from '../../samples/index.js';

/** A pipeline block: the default 1024 px core tile with a 3 px halo each side. */
const SIZE = 1030;
/** County to cut the block from (the generator's smallest sizes that work: 500–800, 2000). */
const COUNTY = 2000;
const ids = process.argv.slice(2).length ? process.argv.slice(2) : ['landcover-rf-v1', 'landcover-mlp-v1', 'landcover-cnn-v1'];
const dir = await mkdtemp(join(tmpdir(), 'fw-measure-'));
try {
  const county = join(dir, 'county');
  await generateCounty({ outDir: county, sizePx: COUNTY, truthRasters: true });
  const scene = await openScene(join(county, 'after.tif'));
  const block = await readWindow(scene, { col: 0, row: 0, width: SIZE, height: SIZE }, ['blue', 'green', 'red', 'nir']);
  await closeScene(scene);
  const truthScene = await openScene(join(county, LANDCOVER_TRUTH_FILES.after));
  const truth = (await readRawWindow(truthScene, { col: 0, row: 0, width: SIZE, height: SIZE })).data[0];
  await closeScene(truthScene);
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const model = await loadModel(resolve('models', id));
    const speed: Record<string, number> = {};
    let classes: Uint8Array | null = null;
    for (const threads of [1, 2]) {
      const session = await openSession(model.modelPath, threads);
      await classifyInThread(session, model.card, block);
      const times: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const r = await classifyInThread(session, model.card, block);
        times.push(performance.now() - t0);
        classes = r.classes;
      }
      await session.release();
      speed[`mpxPerS_${threads}thread`] = +((SIZE * SIZE) / 1e6 / (Math.min(...times) / 1000)).toFixed(2);
    }
    let agree = 0;
    for (let p = 0; p < truth.length; p++) if (classes![p] === truth[p]) agree++;
    const entry: Record<string, unknown> = { ...speed, truthAgreement: +(agree / truth.length).toFixed(4) };
    const tile = model.card.input.tile;
    if (tile) {
      const session = await openSession(model.modelPath, 2);
      const whole = await classifyInThread(session, { ...model.card, input: { ...model.card.input, tile: undefined } }, block);
      const m = model.card.contextPx;
      const seams: Record<string, number> = {};
      for (let overlap = 0; overlap <= m + 1; overlap++) {
        const tiled = await classifyInThread(session, { ...model.card, input: { ...model.card.input, tile: { size: tile.size, overlap } } }, block);
        let d = 0;
        for (let y = m; y < SIZE - m; y++) for (let x = m; x < SIZE - m; x++) if (tiled.classes[y * SIZE + x] !== whole.classes[y * SIZE + x]) d++;
        seams[`overlap_${overlap}`] = d;
      }
      await session.release();
      const one = await openSession(model.modelPath, 1);
      const t0 = performance.now();
      await classifyInThread(one, { ...model.card, input: { ...model.card.input, tile: undefined } }, block);
      entry.mpxPerS_1thread_untiled = +((SIZE * SIZE) / 1e6 / ((performance.now() - t0) / 1000)).toFixed(2);
      await one.release();
      entry.pixelsDifferingFromUntiled = seams;
    }
    out[id] = entry;
  }
  console.log(JSON.stringify({ block: `${SIZE}×${SIZE} px (a pipeline block: 1024 + 2×3 halo) of the ${COUNTY} px sample county (after.tif)`, models: out }, null, 2));
} finally {
  await rm(dir, { recursive: true, force: true });
}
