import { mkdir, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { DetectConfig } from '../config/index.js';
import { loadVectorLayer, burnLayer, type VectorLayer } from './baseline/vectors.js';
import { BaselineGroup, compileRules, detectChanges } from './change/index.js';
import { checkBands, createClassifier, loadModel, resolveModelDir, type Classifier } from './classify/index.js';
import { ImageryError } from './errors.js';
import { gridBBox, pixelArea } from './geo/grid.js';
import { closeScene, gridsOverlap, noOverlapError, openScene, readOnGrid, readWindow, type Scene } from './imagery/index.js';
import { applyNormalization, fitNormalization, identityNormalization, type Normalization } from './normalize/index.js';
import { fitPercentileCalibration } from './normalize/calibrate.js';
import { scorePatches, writeClueListXlsx, writeJsonAtomic, writePatchesGeoJSON, type Score } from './outputs/index.js';
import { countPatches, replaceDir, writeChangeRaster, writeChips, writeOverview } from './run-outputs.js';
import { buildPatches, type PatchLayers } from './patches/index.js';
import { joinTouching } from './patches/join.js';
import { cropToCore, planTiles, spreadSample, type Tile } from './tiling/index.js';
import { LandCover, type Grid, type LandCoverBlock, type Patch, type RasterBlock, type StageContext, type Window } from './types.js';
import { ChangeType, CHANGE_TYPE_NAMES } from './types.js';
import { labelTile, mergeTiles, pruneTileComponents, type TileComponents } from './vectorize/index.js';
import { loadTruth } from './truth.js';
import { createLandCoverWriter, writeCore } from './landcover.js';

/** Named stages, in order; timings in summary.json use these names. */
export const STAGES = ['open', 'layers', 'normalize', 'read', 'classify', 'rasterize', 'change', 'vectorize', 'patches', 'chips', 'outputs'] as const;
export type StageName = (typeof STAGES)[number];

export interface RunResult {
  readonly outDir: string;
  readonly patches: readonly Patch[];
  readonly summary: RunSummary;
}

export interface RunSummary {
  readonly farmwatch: string;
  readonly mode: 'baseline' | 'transitions';
  readonly inputs: Record<string, unknown>;
  readonly counts: { total: number; legal: number; byType: Record<string, { count: number; areaM2: number; areaMu: number; legal: number }>; byTownship: Record<string, { count: number; areaM2: number; areaMu: number }> };
  readonly dropped: Record<string, number>;
  readonly layers: Record<string, { read: number; kept: number; repaired: number; skipped: number; problems: unknown[] }>;
  readonly calibration: { before: Normalization | null; after: Normalization | null };
  readonly normalization: Normalization;
  readonly model: Record<string, unknown>;
  readonly timings: { totalMs: number; megapixels: number; stages: Record<string, { ms: number; mpxPerSec: number | null }> };
  readonly changeRasterCodes: Record<string, number | string>;
  readonly score?: Score;
  readonly config: DetectConfig;
}

class StageClock {
  readonly ms: Record<string, number> = {};
  async time<T>(stage: StageName, f: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.ms[stage] = (this.ms[stage] ?? 0) + performance.now() - t0;
    }
  }
}

const LAYER_NAMES = ['baseline', 'townships', 'pbf', 'approved', 'filings'] as const;

/**
 * Runs change detection for a pair of scenes end to end, in process, and writes the run folder:
 * patches.geojson, 线索清单 .xlsx, chips/, change.tif, summary.json. Everything is written to a
 * staging folder that replaces `config.out` only when the whole run succeeded.
 * @throws AppError subclasses for bad input (files, bands, CRS, overlap, model, config).
 */
export async function runDetection(config: DetectConfig, ctx: StageContext): Promise<RunResult> {
  const clock = new StageClock();
  const t0 = performance.now();
  const outDir = resolve(config.out);
  const staging = `${outDir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'chips'), { recursive: true });
  let classifier: Classifier | null = null;
  const scenes: Scene[] = [];
  try {
    const { before, after, model } = await clock.time('open', async () => {
      const model = await loadModel(resolveModelDir(config.classify.model));
      const before = await openScene(config.before.uri, config.before);
      scenes.push(before);
      const after = await openScene(config.after.uri, config.after);
      scenes.push(after);
      // A mapping may name one band twice (e.g. green also read as blue for a sensor without blue).
      const names = (scene: Scene, mapping?: Record<string, number>) => [...scene.info.bands.map((b) => b.name), ...Object.keys(mapping ?? {})];
      checkBands(model.card, names(before, config.before.bands));
      checkBands(model.card, names(after, config.after.bands));
      if (!before.info.grid.crs.proj4) throw new ImageryError('UNSUPPORTED_CRS', `${config.before.uri}: CRS ${before.info.grid.crs.name} is not supported`, { file: config.before.uri });
      if (!gridsOverlap(before.info.grid, after.info.grid)) throw noOverlapError(before.info, after.info);
      return { before, after, model };
    });
    const grid = before.info.grid;
    const bands = model.card.input.bands.map((b) => b.name);
    const mode = config.layers.baseline ? 'baseline' : 'transitions';
    const pixelSizeM = groundPixelSize(grid);
    const rules = compileRules(config.rules, mode, pixelSizeM);
    const halo = model.card.contextPx + rules.haloPx;
    const tiles = planTiles(grid, config.tiling.tileSize, halo);
    ctx.log.info('run planned', { tiles: tiles.length, halo, mode, grid: `${grid.width}x${grid.height}`, crs: grid.crs.name, pixelSizeM });

    const layers: PatchLayers = await clock.time('layers', async () => {
      const out: Record<string, VectorLayer> = {};
      for (const name of LAYER_NAMES) {
        const file = config.layers[name];
        if (file) out[name] = await loadVectorLayer(name, file, grid);
      }
      return out;
    });

    const readRawPair = async (win: Window): Promise<{ b: RasterBlock; a: RasterBlock }> => {
      const [b, a] = await Promise.all([
        readWindow(before, win, bands, ctx.signal),
        readOnGrid(after, grid, win, bands, { resampling: 'bilinear', signal: ctx.signal }),
      ]);
      return { b, a };
    };

    const workers = Math.max(1, Math.min(config.classify.workers ?? 2, cpus().length));
    classifier = await createClassifier(model, { workers, threadsPerWorker: config.classify.threadsPerWorker });
    const invariant = new Set<number>(config.normalize.invariantClasses.map((n) => LandCover[n]));

    // Statistics come from a spread sample of tiles, read once: per-scene calibration of inputs that
    // are not reflectance, then the relative normalisation of the after date onto the before date.
    const { calibration, normalization } = await clock.time('normalize', async () => {
      const sample: { b: RasterBlock; a: RasterBlock }[] = [];
      // The centre (at most 512²) of each sampled tile: enough pixels for the fits, little memory.
      for (const t of spreadSample(tiles, config.normalize.sampleTiles)) sample.push(await readRawPair(centreWindow(t.core, 512)));
      const wantsPercentile = (dtype: string) =>
        config.normalize.calibration === 'percentile' || (config.normalize.calibration === 'auto' && dtype === 'uint8');
      const calibration = {
        before: wantsPercentile(before.info.dtype) ? fitPercentileCalibration(sample.map((x) => x.b), config.normalize.reference) : null,
        after: wantsPercentile(after.info.dtype) ? fitPercentileCalibration(sample.map((x) => x.a), config.normalize.reference) : null,
      };
      const pairs = sample.map(({ b, a }) => ({
        before: calibration.before ? applyNormalization(b, calibration.before) : b,
        after: calibration.after ? applyNormalization(a, calibration.after) : a,
      }));
      if (config.normalize.method === 'none') return { calibration, normalization: identityNormalization(bands, 'disabled in config') };
      // Pseudo-invariant candidates: pixels both dates call the same cover without phenology
      // (water, built). Crops ripen and fields are harvested between dates, so a fit over all
      // pixels would "correct" real seasonal change.
      const withCandidates = [];
      let candidates = 0;
      for (const pair of pairs) {
        const [cb, ca] = await Promise.all([classifier!.classify(pair.before, ctx.signal), classifier!.classify(pair.after, ctx.signal)]);
        const mask = Uint8Array.from(cb.classes, (c, p) => (c === ca.classes[p] && invariant.has(c) ? 1 : 0));
        for (const v of mask) candidates += v;
        withCandidates.push({ ...pair, candidates: mask });
      }
      // The anchors must span dark to bright, or the fitted gains are extrapolation (a scene whose
      // only invariant cover is water); then fall back to pseudo-invariant pixels of any cover.
      const span = brightnessSpan(withCandidates, true) / Math.max(1e-6, brightnessSpan(withCandidates, false));
      const normalization =
        candidates >= 1000 && span >= 0.25
          ? fitNormalization(withCandidates)
          : { ...fitNormalization(pairs), note: `invariant-class anchors too few (${candidates} px) or too narrow (${Math.round(span * 100)} % of the brightness range): fitted on all pixels` };
      return { calibration, normalization };
    });
    if (calibration.before || calibration.after)
      ctx.log.warn('input is not surface reflectance: bands calibrated by percentile matching (approximate)', { before: calibration.before?.bands, after: calibration.after?.bands });
    /** Reads a window of both dates as comparable reflectance: calibrated, the after date normalised. */
    const readPair = async (win: Window): Promise<{ b: RasterBlock; a: RasterBlock }> => {
      const { b, a } = await readRawPair(win);
      const bc = calibration.before ? applyNormalization(b, calibration.before) : b;
      const ac = calibration.after ? applyNormalization(a, calibration.after) : a;
      return { b: bc, a: applyNormalization(ac, normalization) };
    };
    ctx.log.info('normalisation fitted', { bands: normalization.bands, samples: normalization.samples });

    // Land cover given as maps (a user's own classification, or ground truth in tests) replaces the model.
    const givenCover = await Promise.all(
      [config.before.landcover, config.after.landcover].map(async (uri) => {
        if (!uri) return null;
        const s = await openScene(uri, { bands: { class: 1 }, scale: 1, offset: 0 });
        scenes.push(s);
        return s;
      }),
    );
    const readCover = async (s: Scene, win: Window): Promise<LandCoverBlock> => {
      const block = await readOnGrid(s, grid, win, ['class'], { resampling: 'nearest', signal: ctx.signal });
      const classes = Uint8Array.from(block.data[0], (v, p) => (block.valid[p] ? v : 0));
      return { window: win, classes, confidence: Float32Array.from(classes, (c) => (c ? 1 : 0)) };
    };
    const landCoverWriters = config.landcover
      ? await Promise.all(['before', 'after'].map((d) => createLandCoverWriter(join(staging, `landcover_${d}.tif`), grid, `${model.card.id}@${model.card.version}`)))
      : null;
    const parcelPixels = new Uint32Array((layers.baseline?.features.length ?? 0) + 1);
    // Pixels of each parcel that show soil (bare or disturbed) after: a parcel that is soil all
    // over was harvested or ploughed; digging leaves the rest of the parcel as it was.
    const parcelSoilPixels = new Uint32Array(parcelPixels.length);
    const tileResults: TileComponents[] = [];
    // Components that stay inside a tile and below the smallest mapping unit can never make a patch
    // (unless they are earthworks that join a site), so they are dropped per tile.
    const minMapped = Math.min(...Object.values(config.minArea).filter((v) => v > 0));
    const prunePixels = Number.isFinite(minMapped) ? Math.floor(minMapped / (pixelSizeM * pixelSizeM * 1.01)) : 0;
    const joiningCodes = new Set(mode === 'baseline' ? config.rules.transitions.flatMap((t, i) => (t.joinsNeighbours ? [i + 1] : [])) : []);
    const processTile = async (tile: Tile) => {
      ctx.signal?.throwIfAborted();
      const { b, a } = await clock.time('read', () => readPair(tile.read));
      const [lcB, lcA] = await clock.time('classify', () =>
        Promise.all([
          givenCover[0] ? readCover(givenCover[0], tile.read) : classifier!.classify(b, ctx.signal),
          givenCover[1] ? readCover(givenCover[1], tile.read) : classifier!.classify(a, ctx.signal),
        ]),
      );
      if (landCoverWriters)
        await Promise.all([lcB, lcA].map((lc, i) => writeCore(landCoverWriters[i], tile.core, cropToCore(lc.classes, tile.read, tile.core))));
      const burnt = await clock.time('rasterize', () => rasterizeLayers(layers, tile, mode, config.rules.groups.cropland));
      const codes = await clock.time('change', () =>
        detectChanges({ read: tile.read, core: tile.core, before: lcB, after: lcA, baselineGroup: burnt.group }, rules),
      );
      await clock.time('vectorize', () => {
        const conf = new Float32Array(tile.core.width * tile.core.height);
        const cb = cropToCore(lcB.confidence, tile.read, tile.core);
        const ca = cropToCore(lcA.confidence, tile.read, tile.core);
        for (let p = 0; p < conf.length; p++) conf[p] = Math.min(cb[p], ca[p]);
        const afterCore = cropToCore(lcA.classes, tile.read, tile.core);
        burnt.parcel.forEach((v, p) => {
          parcelPixels[v]++;
          if (afterCore[p] === LandCover.bare || afterCore[p] === LandCover.disturbed) parcelSoilPixels[v]++;
        });
        const labelled = labelTile({
          window: tile.core,
          codes,
          layers: {
            before: cropToCore(lcB.classes, tile.read, tile.core),
            after: afterCore,
            parcel: burnt.parcel,
            township: burnt.township,
            pbf: burnt.pbf,
            approved: burnt.approved,
            filings: burnt.filings,
          },
          weights: { conf },
        });
        tileResults[tile.index] = pruneTileComponents(labelled, prunePixels, joiningCodes);
      });
    };
    try {
      await runPool(tiles, workers + 1, processTile);
      await Promise.all(landCoverWriters?.map((w) => w.close()) ?? []);
    } catch (e) {
      await Promise.all(landCoverWriters?.map((w) => w.abort()) ?? []);
      throw e;
    }
    await classifier.close();
    classifier = null;

    const components = await clock.time('vectorize', () => {
      const merged = mergeTiles(tileResults);
      if (mode !== 'baseline') return merged;
      return joinTouching(merged, joiningCodes, config.rules.joinMaxRatio);
    });
    const built = await clock.time('patches', () =>
      buildPatches(components, layers, {
        grid,
        pixelSizeM,
        mode,
        rules: config.rules,
        minArea: config.minArea,
        legality: config.legality,
        parcelPixels,
        parcelSoilPixels,
        regionCode: config.regionCode,
        beforeDate: before.info.acquired,
        afterDate: after.info.acquired,
      }),
    );
    ctx.log.info('patches built', { components: components.length, patches: built.patches.length, dropped: built.dropped });

    await clock.time('chips', async () => {
      if (config.chips.enabled) await writeChips(built.patches, built.kept, staging, config, grid, readPair);
      if (config.overview.enabled) await writeOverview(built.patches, staging, grid, config.overview.maxPx, readPair);
    });

    const score = await clock.time('outputs', async () => {
      await writeChangeRaster(join(staging, 'change.tif'), grid, built.kept, built.codes, mode, before.info.acquired, after.info.acquired);
      await writePatchesGeoJSON(built.patches, join(staging, 'patches.geojson'), { mode, before: config.before.uri, after: config.after.uri });
      await writeClueListXlsx(built.patches, join(staging, '线索清单.xlsx'), {
        title: `卫片执法监测图斑线索清单 ${before.info.acquired ?? ''} → ${after.info.acquired ?? ''}`,
        sheetPerTownship: config.xlsx.sheetPerTownship,
        qsx: before.info.acquired ?? undefined,
        hsx: after.info.acquired ?? undefined,
      });
      if (!config.truth) return undefined;
      const truth = await loadTruth(config.truth, grid);
      return scorePatches(
        built.patches.map((p) => ({ id: p.attributes.JCBH, type: p.attributes.TBLX, legal: p.attributes.HF, approval: p.attributes.PZWH, polygon: p.geometry[0] })),
        truth,
        { iouThreshold: 0.3 },
      );
    });

    const megapixels = (grid.width * grid.height) / 1e6;
    const summary: RunSummary = {
      farmwatch: '0.1.0',
      mode,
      inputs: {
        before: { uri: config.before.uri, date: before.info.acquired, bands: before.info.bands, dtype: before.info.dtype, scale: before.info.scale },
        after: { uri: config.after.uri, date: after.info.acquired, bands: after.info.bands, dtype: after.info.dtype, scale: after.info.scale },
        grid: { width: grid.width, height: grid.height, crs: grid.crs.name, transform: grid.transform, pixelSizeM },
        tiles: tiles.length,
        haloPx: halo,
      },
      counts: countPatches(built.patches),
      dropped: built.dropped,
      layers: Object.fromEntries(Object.entries(layers).map(([k, l]) => [k, { ...(l as VectorLayer).stats, problems: [...(l as VectorLayer).stats.problems] }])),
      calibration,
      normalization,
      model: { id: model.card.id, version: model.card.version, sha256: model.card.sha256, kind: model.card.kind, workers },
      timings: {
        totalMs: Math.round(performance.now() - t0),
        megapixels,
        stages: Object.fromEntries(
          STAGES.filter((s) => clock.ms[s] !== undefined).map((s) => [
            s,
            { ms: Math.round(clock.ms[s]), mpxPerSec: ['read', 'classify', 'rasterize', 'change', 'vectorize'].includes(s) ? round2(megapixels / (clock.ms[s] / 1000)) : null },
          ]),
        ),
      },
      changeRasterCodes: mode === 'baseline' ? { 0: 'no change', ...Object.fromEntries(CHANGE_TYPE_NAMES.map((n) => [ChangeType[n], n])) } : { 0: 'no change', formula: '1 + (before − 1) × 8 + (after − 1), land-cover codes 1..8 (see model card)' },
      ...(score ? { score } : {}),
      config,
    };
    await writeJsonAtomic(join(staging, 'summary.json'), summary);
    await replaceDir(staging, outDir);
    return { outDir, patches: built.patches, summary };
  } catch (e) {
    await classifier?.close().catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
    throw e;
  } finally {
    await Promise.all(scenes.map((s) => closeScene(s).catch(() => undefined)));
  }
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** p90 − p10 of the before date's mean band value, over candidate pixels or over all valid pixels. */
function brightnessSpan(pairs: readonly { before: RasterBlock; after: RasterBlock; candidates: Uint8Array }[], onlyCandidates: boolean): number {
  const values: number[] = [];
  for (const { before, candidates } of pairs)
    for (let p = 0; p < before.valid.length; p += 7) {
      if (!before.valid[p] || (onlyCandidates && !candidates[p])) continue;
      let t = 0;
      for (const band of before.data) t += band[p];
      values.push(t / before.data.length);
    }
  if (values.length < 10) return 0;
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length * 0.9)] - values[Math.floor(values.length * 0.1)];
}

/** The centred sub-window of at most `size` × `size` pixels. */
function centreWindow(w: Window, size: number): Window {
  const width = Math.min(size, w.width);
  const height = Math.min(size, w.height);
  return { col: w.col + Math.floor((w.width - width) / 2), row: w.row + Math.floor((w.height - height) / 2), width, height };
}

/** Ground size of a pixel in metres: the transform's for projected CRSs, converted at the scene centre for geographic ones. */
function groundPixelSize(grid: Grid): number {
  const size = Math.sqrt(pixelArea(grid.transform));
  if (!grid.crs.proj4?.includes('+proj=longlat')) return size;
  const b = gridBBox(grid);
  const lat = ((b.minY + b.maxY) / 2) * (Math.PI / 180);
  return size * 111_320 * Math.sqrt(Math.cos(lat));
}

/** Per-pixel overlay rasters for a tile: baseline group over the read window, the rest over the core. */
function rasterizeLayers(layers: PatchLayers, tile: Tile, mode: string, croplandCodes: readonly string[]) {
  const n = tile.core.width * tile.core.height;
  const parcelRead = new Uint32Array(tile.read.width * tile.read.height);
  let group: Uint8Array | undefined;
  if (mode === 'baseline' && layers.baseline) {
    burnLayer(layers.baseline, tile.read, parcelRead);
    const cropland = new Set(croplandCodes);
    const isCrop = layers.baseline.features.map((f) => cropland.has(String(f.properties.DLBM ?? '')));
    group = new Uint8Array(parcelRead.length);
    for (let p = 0; p < group.length; p++) group[p] = parcelRead[p] && isCrop[parcelRead[p] - 1] ? BaselineGroup.cropland : BaselineGroup.none;
  }
  const core = (layer: VectorLayer | undefined, Arr: typeof Uint8Array | typeof Uint16Array | typeof Uint32Array, value?: (i: number) => number) => {
    const out = new Arr(n);
    if (layer) burnLayer(layer, tile.core, out, value);
    return out;
  };
  return {
    group,
    parcel: cropToCore(parcelRead, tile.read, tile.core),
    township: core(layers.townships, Uint16Array),
    pbf: core(layers.pbf, Uint8Array, () => 1),
    approved: core(layers.approved, Uint32Array),
    filings: core(layers.filings, Uint32Array),
  };
}

/** Runs `f` over items with at most `limit` in flight; the first failure stops new work and is rethrown. */
async function runPool<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const lane = async () => {
    while (next < items.length && failed === null) {
      const item = items[next++];
      try {
        await f(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed !== null) throw failed;
}
