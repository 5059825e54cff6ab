import type { ClassifyConfig } from '../config/classify.js';
import type { SceneOptions } from './imagery/index.js';
import { checkBands, createClassifier, loadModel, resolveModelDir } from './classify/index.js';
import { closeScene, createGeoTiffWriter, openScene, readWindow } from './imagery/index.js';
import { cropToCore, planTiles } from './tiling/index.js';
import { LAND_COVER_NAMES, LandCover, type StageContext } from './types.js';

/** Counts of pixels per land-cover class of a classified scene. */
export type LandCoverCounts = Record<string, number>;

/**
 * Classifies a whole scene tile by tile and writes a georeferenced land-cover GeoTIFF (uint8 class
 * codes of the model card; 0 = no data), streaming: memory is a few tiles whatever the scene size.
 */
export async function classifyScene(
  uri: string,
  sceneOptions: SceneOptions,
  classify: ClassifyConfig,
  outPath: string,
  ctx: StageContext,
  tileSize = 1024,
): Promise<LandCoverCounts> {
  const model = await loadModel(resolveModelDir(classify.model));
  const scene = await openScene(uri, sceneOptions);
  const classifier = await createClassifier(model, { workers: classify.workers, threadsPerWorker: classify.threadsPerWorker });
  const counts = new Float64Array(256);
  const grid = scene.info.grid;
  try {
    checkBands(model.card, scene.info.bands.map((b) => b.name));
    const bands = model.card.input.bands.map((b) => b.name);
    const writerTile = 256;
    const size = Math.max(writerTile, Math.round(tileSize / writerTile) * writerTile);
    const writer = await createGeoTiffWriter(outPath, {
      width: grid.width,
      height: grid.height,
      bandCount: 1,
      dtype: 'uint8',
      tileSize: writerTile,
      transform: grid.transform,
      crs: grid.crs,
      nodata: 0,
      bandDescriptions: ['land cover'],
      metadata: { MODEL: `${model.card.id}@${model.card.version}`, CLASSES: LAND_COVER_NAMES.map((n) => `${LandCover[n]}=${n}`).join(',') },
    });
    try {
      for (const tile of planTiles(grid, size, model.card.contextPx)) {
        ctx.signal?.throwIfAborted();
        const block = await readWindow(scene, tile.read, bands, ctx.signal);
        const lc = await classifier.classify(block, ctx.signal);
        const classes = cropToCore(lc.classes, tile.read, tile.core);
        for (const c of classes) counts[c]++;
        // Cut the core into the writer's tiles (core sizes are multiples of the writer tile).
        for (let ty = 0; ty < tile.core.height; ty += writerTile)
          for (let tx = 0; tx < tile.core.width; tx += writerTile) {
            const t = new Uint8Array(writerTile * writerTile);
            for (let y = 0; y < writerTile && ty + y < tile.core.height; y++) {
              const w = Math.min(writerTile, tile.core.width - tx);
              t.set(classes.subarray((ty + y) * tile.core.width + tx, (ty + y) * tile.core.width + tx + w), y * writerTile);
            }
            await writer.writeTile((tile.core.col + tx) / writerTile, (tile.core.row + ty) / writerTile, [t]);
          }
      }
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw e;
    }
  } finally {
    await classifier.close();
    await closeScene(scene);
  }
  return Object.fromEntries(LAND_COVER_NAMES.map((n) => [n, counts[LandCover[n]]]));
}
