import type { ClassifyConfig } from '../config/classify.js';
import type { SceneOptions } from './imagery/index.js';
import { checkBands, createClassifier, loadModel, resolveModelDir } from './classify/index.js';
import { closeScene, createGeoTiffWriter, openScene, readWindow, type GeoTiffWriter } from './imagery/index.js';
import { applyNormalization, type Normalization } from './normalize/index.js';
import { percentileCalibrationFor, type CalibrationMode, type ReflectanceReference } from './normalize/calibrate.js';
import { cropToCore, planTiles, sampleWindows } from './tiling/index.js';
import { LAND_COVER_NAMES, LandCover, type Grid, type StageContext, type Window } from './types.js';

/**
 * Writes a core window (a multiple of the writer's tile size, except at the right and bottom
 * edges, and aligned to it) into a tiled writer, cutting it into the writer's tiles.
 */
export async function writeCore(writer: GeoTiffWriter, core: Window, data: Uint8Array): Promise<void> {
  const ts = writer.tileSize;
  for (let ty = 0; ty < core.height; ty += ts)
    for (let tx = 0; tx < core.width; tx += ts) {
      const t = new Uint8Array(ts * ts);
      const w = Math.min(ts, core.width - tx);
      for (let y = 0; y < ts && ty + y < core.height; y++) t.set(data.subarray((ty + y) * core.width + tx, (ty + y) * core.width + tx + w), y * ts);
      await writer.writeTile((core.col + tx) / ts, (core.row + ty) / ts, [t]);
    }
}

/** A land-cover GeoTIFF writer over a grid (uint8 class codes, 0 = no data). */
export function createLandCoverWriter(path: string, grid: Grid, model: string): Promise<GeoTiffWriter> {
  return createGeoTiffWriter(path, {
    width: grid.width,
    height: grid.height,
    bandCount: 1,
    dtype: 'uint8',
    tileSize: 256,
    transform: grid.transform,
    crs: grid.crs,
    nodata: 0,
    bandDescriptions: ['land cover'],
    metadata: { MODEL: model, CLASSES: LAND_COVER_NAMES.map((n) => `${LandCover[n]}=${n}`).join(',') },
  });
}

/** Counts of pixels per land-cover class of a classified scene. */
export type LandCoverCounts = Record<string, number>;

/** How `classifyScene` turns stored values into reflectance, and its tile size. */
export interface ClassifySceneOptions {
  /** As `normalize.calibration` of a detection run ('auto': 8-bit input is percentile-calibrated). */
  readonly calibration: CalibrationMode;
  /** Percentile anchors (`normalize.reference` of a detection run). */
  readonly reference: ReflectanceReference;
  /** Tiles sampled, spread over the scene, to fit the calibration (`normalize.sampleTiles`). */
  readonly sampleTiles: number;
  readonly tileSize?: number;
}

/**
 * Classifies a whole scene tile by tile and writes a georeferenced land-cover GeoTIFF (uint8 class
 * codes of the model card; 0 = no data), streaming: memory is a few tiles whatever the scene size.
 * A scene that is not reflectance is calibrated exactly as a detection run calibrates its dates
 * (fitted on a spread sample of tiles), so `classify` and `detect` see the same land cover.
 */
export async function classifyScene(
  uri: string,
  sceneOptions: SceneOptions,
  classify: ClassifyConfig,
  outPath: string,
  ctx: StageContext,
  opts: ClassifySceneOptions,
): Promise<LandCoverCounts> {
  const tileSize = opts.tileSize ?? 1024;
  const model = await loadModel(resolveModelDir(classify.model));
  const scene = await openScene(uri, sceneOptions);
  const classifier = await createClassifier(model, { workers: classify.workers, threadsPerWorker: classify.threadsPerWorker });
  const counts = new Float64Array(256);
  const grid = scene.info.grid;
  try {
    checkBands(model.card, scene.info.bands.map((b) => b.name));
    const bands = model.card.input.bands.map((b) => b.name);
    const size = Math.max(256, Math.round(tileSize / 256) * 256);
    const tiles = planTiles(grid, size, model.card.contextPx);
    let calibration: Normalization | null = null;
    if (opts.calibration !== 'reflectance') {
      const sample = [];
      for (const w of sampleWindows(grid, opts.sampleTiles)) sample.push(await readWindow(scene, w, bands, ctx.signal));
      calibration = percentileCalibrationFor(opts.calibration, scene.info.dtype, sample, opts.reference);
      if (calibration) ctx.log.warn('input is not surface reflectance: bands calibrated by percentile matching (approximate)', { why: calibration.note, bands: calibration.bands });
    }
    const writer = await createLandCoverWriter(outPath, grid, `${model.card.id}@${model.card.version}`);
    try {
      for (const tile of tiles) {
        ctx.signal?.throwIfAborted();
        const raw = await readWindow(scene, tile.read, bands, ctx.signal);
        const block = calibration ? applyNormalization(raw, calibration) : raw;
        const lc = await classifier.classify(block, ctx.signal);
        const classes = cropToCore(lc.classes, tile.read, tile.core);
        for (const c of classes) counts[c]++;
        await writeCore(writer, tile.core, classes);
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
