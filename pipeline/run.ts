import { mkdir, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { DetectConfig } from '../config/index.js';
import { loadVectorLayer, burnLayer, type VectorLayer } from './baseline/vectors.js';
import { BaselineGroup, compileRules, decodeTransition, detectChangesInWindow, isLandClass, joiningRuleCodes, weakRuleCodes } from './change/index.js';
import { outlineEdges } from './change/outline-edges.js';
import { estimateShift, NO_SHIFT, shiftedGrid, type Coregistration } from './normalize/coregister.js';
import { checkBands, createClassifier, loadModel, resolveModelDir, type Classifier, type LoadedModel } from './classify/index.js';
import { ImageryError, ModelError, OutputError } from './errors.js';
import { gridBBox, pixelArea } from './geo/grid.js';
import { closeScene, gridsOverlap, noOverlapError, openScene, readOnGrid, readWindow, type Scene } from './imagery/index.js';
import { applyNormalization, fitNormalization, identityNormalization, type Normalization } from './normalize/index.js';
import { percentileCalibrationFor } from './normalize/calibrate.js';
import { scorePatches, writeClueListXlsx, writeJsonAtomic, writePatchesGeoJSON, type Score } from './outputs/index.js';
import { countPatches, replaceDir, writeChangeRaster, writeChips, writeOverview } from './run-outputs.js';
import { buildPatches, isLinear, type PatchLayers } from './patches/index.js';
import { assembleLinearSites, joinInterleaved, joinTouching, mergeSameType } from './patches/join.js';
import { cropToCore, planTiles, sampleWindows, type Tile } from './tiling/index.js';
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
  readonly coregistration: Coregistration;
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
 * Everything tile jobs need to know about a run, fixed once before the first tile: the grid and
 * its tiles, the rules' derived numbers and the fitted radiometry. Plain JSON data, so one planner
 * can hand it to any number of worker processes and every tile sees the same normalisation.
 */
export interface RunPlan {
  readonly version: 1;
  readonly config: DetectConfig;
  readonly mode: 'baseline' | 'transitions';
  readonly grid: Grid;
  readonly bands: readonly string[];
  readonly pixelSizeM: number;
  readonly halo: number;
  readonly tiles: readonly Tile[];
  readonly calibration: { before: Normalization | null; after: Normalization | null };
  /** Whole-pixel shift the after scene is read with, to line up with the before scene. */
  readonly coregistration: Coregistration;
  readonly normalization: Normalization;
  /** Components below this many pixels that stay inside a tile are dropped per tile. */
  readonly prunePixels: number;
  /** Change codes whose patches join the site they touch (kept through pruning). */
  readonly joiningCodes: readonly number[];
  /** Classifier worker threads of the run (summary). */
  readonly workers: number;
  readonly model: { id: string; version: string; sha256?: string; kind: string };
  readonly scenes: Record<'before' | 'after', { date: string | null; bands: unknown; dtype: string; scale: number }>;
  /** When planning started (ms since epoch) and what planning cost, per stage. */
  readonly startedAt: number;
  readonly ms: Partial<Record<StageName, number>>;
}

/** One tile's share of the run: plain data (typed arrays; `toJsonPayload` for queues). */
export interface TileResult {
  readonly tile: string;
  readonly index: number;
  readonly components: TileComponents;
  /** Baseline parcel index (0 = none) → pixels of the tile core in it, and those that show soil after. */
  readonly parcels: { ids: Uint32Array; pixels: Uint32Array; soil: Uint32Array };
  readonly ms: Partial<Record<StageName, number>>;
}

/** Open handles of a run in one process: scenes, vector layers, the model and its classifier. Not data. */
export interface RunResources {
  readonly before: Scene;
  readonly after: Scene;
  /** Given land-cover maps of either date (replace the model). */
  readonly cover: readonly [Scene | null, Scene | null];
  readonly layers: PatchLayers;
  readonly model: LoadedModel;
  readonly workers: number;
  classifier: Classifier | null;
  readonly ms: Partial<Record<StageName, number>>;
  close(): Promise<void>;
}

export interface ResourceOptions {
  /** Classifier threads; default `config.classify.workers` (at most the cores). */
  workers?: number;
  /** ONNX threads inside each classifier thread; default `config.classify.threadsPerWorker`, else cores / workers. */
  threadsPerWorker?: number;
  /** Turns a layer or truth URI into a local file (object stores); default: used as given. */
  resolveFile?: (uri: string) => Promise<string>;
  /** Skip the classifier (a finishing step reads imagery for chips only). */
  noClassifier?: boolean;
}

/**
 * Opens what a run reads: both scenes (checked against the model's bands and each other), the
 * vector layers on the before grid, given land-cover maps and the classifier.
 * @throws AppError subclasses for bad input (files, bands, CRS, overlap, model).
 */
export async function openRunResources(config: DetectConfig, ctx: StageContext, opts: ResourceOptions = {}): Promise<RunResources> {
  const clock = new StageClock();
  const scenes: Scene[] = [];
  let classifier: Classifier | null = null;
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
    const layers: PatchLayers = await clock.time('layers', async () => {
      const out: Record<string, VectorLayer> = {};
      for (const name of LAYER_NAMES) {
        const file = config.layers[name];
        if (file) out[name] = await loadVectorLayer(name, opts.resolveFile ? await opts.resolveFile(file) : file, grid);
      }
      return out;
    });
    // Land cover given as maps (a user's own classification, or ground truth in tests) replaces the model.
    const cover = (await Promise.all(
      [config.before.landcover, config.after.landcover].map(async (uri) => {
        if (!uri) return null;
        const s = await openScene(uri, { bands: { class: 1 }, scale: 1, offset: 0 });
        scenes.push(s);
        return s;
      }),
    )) as [Scene | null, Scene | null];
    const workers = opts.workers ?? Math.max(1, Math.min(config.classify.workers ?? 2, cpus().length));
    if (!opts.noClassifier) classifier = await createClassifier(model, { workers, threadsPerWorker: opts.threadsPerWorker ?? config.classify.threadsPerWorker });
    const res: RunResources = {
      before,
      after,
      cover,
      layers,
      model,
      workers,
      classifier,
      ms: clock.ms,
      async close() {
        const c = res.classifier;
        res.classifier = null;
        await c?.close().catch(() => undefined);
        await Promise.all(scenes.map((s) => closeScene(s).catch(() => undefined)));
      },
    };
    return res;
  } catch (e) {
    await classifier?.close().catch(() => undefined);
    await Promise.all(scenes.map((s) => closeScene(s).catch(() => undefined)));
    throw e;
  }
}

/** Reads a window of both dates as comparable reflectance: calibrated, the after date normalised. */
function pairReader(plan: RunPlan, res: RunResources, signal?: AbortSignal) {
  const raw = rawPairReader(plan.grid, plan.bands, res, signal, plan.coregistration);
  const { calibration, normalization } = plan;
  return async (win: Window): Promise<{ b: RasterBlock; a: RasterBlock }> => {
    const { b, a } = await raw(win);
    const bc = calibration.before ? applyNormalization(b, calibration.before) : b;
    const ac = calibration.after ? applyNormalization(a, calibration.after) : a;
    return { b: bc, a: applyNormalization(ac, normalization) };
  };
}

function rawPairReader(grid: Grid, bands: readonly string[], res: RunResources, signal?: AbortSignal, shift: Pick<Coregistration, 'dx' | 'dy'> = NO_SHIFT) {
  const afterGrid = shiftedGrid(grid, shift);
  return async (win: Window): Promise<{ b: RasterBlock; a: RasterBlock }> => {
    const [b, a] = await Promise.all([readWindow(res.before, win, bands, signal), readOnGrid(res.after, afterGrid, win, bands, { resampling: 'bilinear', signal })]);
    return { b, a: { ...a, window: win } };
  };
}

/**
 * Plans a run: tiles of the before grid with the halo the model and rules need, and the
 * radiometry fitted once on a spread sample of tiles (so every tile, wherever it runs, is
 * normalised the same way).
 */
export async function planRun(config: DetectConfig, res: RunResources, ctx: StageContext, startedAt = ctx.now()): Promise<RunPlan> {
  const clock = new StageClock();
  const { before, after, model } = res;
  const grid = before.info.grid;
  const bands = model.card.input.bands.map((b) => b.name);
  const mode = config.layers.baseline ? 'baseline' : 'transitions';
  const pixelSizeM = groundPixelSize(grid);
  const rules = compileRules(config.rules, mode, pixelSizeM, config.minArea);
  const halo = model.card.contextPx + rules.haloPx;
  const tiles = planTiles(grid, config.tiling.tileSize, halo);
  ctx.log.info('run planned', { tiles: tiles.length, halo, mode, grid: `${grid.width}x${grid.height}`, crs: grid.crs.name, pixelSizeM });
  const invariant = new Set<number>(config.normalize.invariantClasses.map((n) => LandCover[n]));
  const classifier = res.classifier;
  if (!classifier) throw new ModelError('CONFIG_INVALID', 'planning a run needs the classifier (openRunResources without noClassifier)', { stage: 'normalize' });

  // Statistics come from a spread sample of windows, read once: per-scene calibration of inputs that
  // are not reflectance, then the relative normalisation of the after date onto the before date.
  const { calibration, coregistration, normalization } = await clock.time('normalize', async () => {
    // Up to 512² each: enough pixels for the fits, little memory; not tied to the tile size.
    const windows = sampleWindows(grid, config.normalize.sampleTiles);
    const readSample = async (shift?: Coregistration) => {
      const read = rawPairReader(grid, bands, res, ctx.signal, shift);
      const out: { b: RasterBlock; a: RasterBlock }[] = [];
      for (const w of windows) out.push(await read(w));
      return out;
    };
    let sample = await readSample();
    const { coregister } = config.normalize;
    const coregistration = coregister.enabled ? estimateShift(sample, coregister.maxShiftPx) : NO_SHIFT;
    if (coregistration.dx || coregistration.dy) sample = await readSample(coregistration);
    const { calibration: mode, reference } = config.normalize;
    const calibration = {
      before: percentileCalibrationFor(mode, before.info.dtype, sample.map((x) => x.b), reference),
      after: percentileCalibrationFor(mode, after.info.dtype, sample.map((x) => x.a), reference),
    };
    const pairs = sample.map(({ b, a }) => ({
      before: calibration.before ? applyNormalization(b, calibration.before) : b,
      after: calibration.after ? applyNormalization(a, calibration.after) : a,
    }));
    if (config.normalize.method === 'none') return { calibration, coregistration, normalization: identityNormalization(bands, 'disabled in config') };
    // Pseudo-invariant candidates: pixels both dates call the same cover without phenology
    // (water, built). Crops ripen and fields are harvested between dates, so a fit over all
    // pixels would "correct" real seasonal change.
    const withCandidates = [];
    let candidates = 0;
    for (const pair of pairs) {
      const [cb, ca] = await Promise.all([classifier.classify(pair.before, ctx.signal), classifier.classify(pair.after, ctx.signal)]);
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
    return { calibration, coregistration, normalization };
  });
  ctx.log.info('after scene co-registered', { ...coregistration });
  if (calibration.before || calibration.after)
    ctx.log.warn('input is not surface reflectance: bands calibrated by percentile matching (approximate)', { before: calibration.before?.note, after: calibration.after?.note });
  ctx.log.info('normalisation fitted', { bands: normalization.bands, samples: normalization.samples });

  const minMapped = Math.min(...Object.values(config.minArea).filter((v) => v > 0));
  const prunePixels = Math.max(config.minPixels, Number.isFinite(minMapped) ? Math.floor(minMapped / (pixelSizeM * pixelSizeM * 1.01)) : 0);
  const joiningCodes = mode === 'baseline' ? joiningRuleCodes(config.rules) : [];
  const sceneInfo = (s: Scene) => ({ date: s.info.acquired, bands: s.info.bands, dtype: s.info.dtype, scale: s.info.scale });
  return {
    version: 1,
    config,
    mode,
    grid,
    bands,
    pixelSizeM,
    halo,
    tiles,
    calibration,
    coregistration,
    normalization,
    prunePixels,
    joiningCodes,
    workers: res.workers,
    model: { id: model.card.id, version: model.card.version, sha256: model.card.sha256, kind: model.card.kind },
    scenes: { before: sceneInfo(before), after: sceneInfo(after) },
    startedAt,
    ms: { ...res.ms, ...clock.ms },
  };
}

export interface TileOptions {
  /** Receives the land cover of the tile core as the run saw it (the in-process `--landcover` maps). */
  onLandCover?: (tile: Tile, before: Uint8Array, after: Uint8Array) => Promise<void>;
}

/**
 * One tile: read both dates (halo included), classify, burn the layers, apply the change rules,
 * label the core's change pixels as components. The result depends only on the plan and the
 * tile, so a retried or duplicated tile gives the same bytes.
 */
export async function processTile(plan: RunPlan, res: RunResources, tile: Tile, ctx: StageContext, opts: TileOptions = {}): Promise<TileResult> {
  ctx.signal?.throwIfAborted();
  const clock = new StageClock();
  const { config, mode } = plan;
  const rules = compileRules(config.rules, mode, plan.pixelSizeM, config.minArea);
  const readPair = pairReader(plan, res, ctx.signal);
  const classifier = res.classifier;
  // A given land-cover map of a date lies on that date's pixels, so the after one moves with the after scene.
  const readCover = async (s: Scene, win: Window, grid: Grid): Promise<LandCoverBlock> => {
    const block = await readOnGrid(s, grid, win, ['class'], { resampling: 'nearest', signal: ctx.signal });
    const classes = Uint8Array.from(block.data[0], (v, p) => (block.valid[p] ? v : 0));
    return { window: win, classes, confidence: Float32Array.from(classes, (c) => (c ? 1 : 0)) };
  };
  const classify = (s: Scene | null, block: RasterBlock, grid: Grid) => {
    if (s) return readCover(s, tile.read, grid);
    if (!classifier) throw new ModelError('CONFIG_INVALID', 'processing a tile needs the classifier', { stage: 'classify', tile: tile.id });
    return classifier.classify(block, ctx.signal);
  };
  const { b, a } = await clock.time('read', () => readPair(tile.read));
  const [lcB, lcA] = await clock.time('classify', () => Promise.all([classify(res.cover[0], b, plan.grid), classify(res.cover[1], a, shiftedGrid(plan.grid, plan.coregistration))]));
  if (opts.onLandCover) await opts.onLandCover(tile, cropToCore(lcB.classes, tile.read, tile.core), cropToCore(lcA.classes, tile.read, tile.core));
  const burnt = await clock.time('rasterize', () => rasterizeLayers(res.layers, tile, mode, config.rules.groups.cropland));
  const { codes, outline } = await clock.time('change', () => {
    const found = detectChangesInWindow({ read: tile.read, core: tile.core, before: lcB, after: lcA, baselineGroup: burnt.group, reflectance: { before: b, after: a } }, rules);
    return { codes: cropToCore(found.codes, tile.read, tile.core), outline: outlineEdges(found.codes, found.clear, tile.read, tile.core, { before: b, after: a }, rules.outlineEdges) };
  });
  // Pixels of each parcel that show soil (bare or disturbed) after: a parcel that is soil all
  // over was harvested or ploughed; digging leaves the rest of the parcel as it was.
  const counts = new Map<number, [number, number]>();
  const components = await clock.time('vectorize', () => {
    const conf = new Float32Array(tile.core.width * tile.core.height);
    const cb = cropToCore(lcB.confidence, tile.read, tile.core);
    const ca = cropToCore(lcA.confidence, tile.read, tile.core);
    for (let p = 0; p < conf.length; p++) conf[p] = Math.min(cb[p], ca[p]);
    const afterCore = cropToCore(lcA.classes, tile.read, tile.core);
    const beforeCore = cropToCore(lcB.classes, tile.read, tile.core);
    burnt.parcel.forEach((v, p) => {
      // Only pixels seen as land on both dates count: a parcel half under cloud or past the
      // scene's no-data edge is judged on the part that can be seen.
      if (!isLandClass(afterCore[p]) || !isLandClass(beforeCore[p])) return;
      let c = counts.get(v);
      if (!c) counts.set(v, (c = [0, 0]));
      c[0]++;
      if (afterCore[p] === LandCover.bare || afterCore[p] === LandCover.disturbed) c[1]++;
    });
    const labelled = labelTile({
      window: tile.core,
      codes,
      layers: {
        before: beforeCore,
        after: afterCore,
        parcel: burnt.parcel,
        township: burnt.township,
        pbf: burnt.pbf,
        approved: burnt.approved,
        filings: burnt.filings,
      },
      weights: { conf, outlineSteps: outline.steps, outlinePriorEdges: outline.priorEdges, outlineSharpEdges: outline.sharpEdges, outlineSharpEdgesThin: outline.sharpEdgesThin },
    });
    // Components that stay inside a tile and below the smallest mapping unit can never make a
    // patch (unless they are earthworks that join a site, or pieces of a larger cluster that may
    // be assembled into one site), so they are dropped per tile.
    return pruneTileComponents(labelled, plan.prunePixels, new Set(plan.joiningCodes), true);
  });
  const ids = [...counts.keys()].sort((x, y) => x - y);
  return {
    tile: tile.id,
    index: tile.index,
    components,
    parcels: { ids: Uint32Array.from(ids), pixels: Uint32Array.from(ids, (i) => counts.get(i)![0]), soil: Uint32Array.from(ids, (i) => counts.get(i)![1]) },
    ms: clock.ms,
  };
}

export interface FinishOptions {
  /** Final run folder (local); replaced atomically. */
  outDir: string;
  /** Staging folder already holding part of the run (land-cover maps); default `<outDir>.partial-<pid>`. */
  staging?: string;
}

/**
 * Merges the tiles' components across tile edges, builds and types the patches, writes chips,
 * overviews, the change raster, the clue list and summary.json into a staging folder that
 * replaces `outDir` only when all of it succeeded.
 * @throws OutputError OUTPUT_FAILED naming the tiles when a tile of the plan has no result (a run never finishes with a hole).
 */
export async function finishRun(plan: RunPlan, res: RunResources, tileResults: readonly TileResult[], ctx: StageContext, opts: FinishOptions): Promise<RunResult> {
  const clock = new StageClock();
  const { config, grid, mode } = plan;
  const { before, after, layers } = res;
  const outDir = resolve(opts.outDir);
  const byIndex = new Map(tileResults.map((t) => [t.index, t]));
  const missing = plan.tiles.filter((t) => !byIndex.has(t.index));
  if (missing.length || byIndex.size !== tileResults.length)
    throw new OutputError('OUTPUT_FAILED', `run cannot finish: ${missing.length} of ${plan.tiles.length} tiles have no result (${missing.slice(0, 10).map((t) => t.id).join(', ')}${missing.length > 10 ? ', …' : ''})${byIndex.size !== tileResults.length ? '; some tiles came twice' : ''}`, { stage: 'finish', tiles: missing.map((t) => t.id) });
  const staging = opts.staging ?? `${outDir}.partial-${process.pid}`;
  if (!opts.staging) {
    await rm(staging, { recursive: true, force: true });
    await mkdir(join(staging, 'chips'), { recursive: true });
  }
  try {
    const ordered = plan.tiles.map((t) => byIndex.get(t.index)!);
    const parcelPixels = new Uint32Array((layers.baseline?.features.length ?? 0) + 1);
    const parcelSoilPixels = new Uint32Array(parcelPixels.length);
    const stageMs: Record<string, number> = { ...plan.ms };
    for (const r of ordered) {
      r.parcels.ids.forEach((id, k) => {
        parcelPixels[id] += r.parcels.pixels[k];
        parcelSoilPixels[id] += r.parcels.soil[k];
      });
      for (const [s, v] of Object.entries(r.ms)) stageMs[s] = (stageMs[s] ?? 0) + (v ?? 0);
    }
    const joiningCodes = new Set(plan.joiningCodes);
    const components = await clock.time('vectorize', () => {
      const merged = mergeTiles(ordered.map((r) => r.components));
      if (mode !== 'baseline') {
        // One new cover is one site whatever it replaced: film laid on a field part green, part
        // ploughed is two transitions pixel by pixel, and neither half alone is the greenhouse.
        const sites = mergeSameType(merged, new Map(merged.map((c) => [c.code, String(decodeTransition(c.code).after)])));
        return sites.filter((c) => c.pixelCount >= plan.prunePixels).map((c, i) => ({ ...c, id: i + 1 }));
      }
      const rules = config.rules.transitions;
      const assembled = rules.reduce(
        (cs, t, i) => (t.linear && t.linear.minShare < 1 ? assembleLinearSites(cs, i + 1, t.linear.minShare, (c) => isLinear(c, config.rules, plan.pixelSizeM)) : cs),
        merged,
      );
      const interleaving = new Set(rules.flatMap((t, i) => (t.interleaves ? [i + 1] : [])));
      const read2ways = config.rules.interleavedBorder > 0 ? joinInterleaved(assembled, interleaving, config.rules.interleavedBorder) : assembled;
      // Tiles kept the small pieces of larger clusters for these joins; what they did not take is
      // what every tile drops (pieces below the smallest unit that are not earthworks).
      const sites = read2ways.filter((c) => c.pixelCount >= plan.prunePixels || joiningCodes.has(c.code)).map((c, i) => ({ ...c, id: i + 1 }));
      const oneSite = mergeSameType(sites, new Map(rules.map((t, i) => [i + 1, t.type])), weakRuleCodes(config.rules));
      return joinTouching(oneSite, joiningCodes, config.rules.joinMaxRatio);
    });
    const built = await clock.time('patches', () =>
      buildPatches(components, layers, {
        grid,
        pixelSizeM: plan.pixelSizeM,
        mode,
        rules: config.rules,
        minArea: config.minArea,
        minPixels: config.minPixels,
        legality: config.legality,
        parcelPixels,
        parcelSoilPixels,
        regionCode: config.regionCode,
        beforeDate: before.info.acquired,
        afterDate: after.info.acquired,
      }),
    );
    ctx.log.info('patches built', { components: components.length, patches: built.patches.length, dropped: built.dropped });
    const readPair = pairReader(plan, res, ctx.signal);

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
    for (const [s, v] of Object.entries(clock.ms)) stageMs[s] = (stageMs[s] ?? 0) + v;

    const megapixels = (grid.width * grid.height) / 1e6;
    const summary: RunSummary = {
      farmwatch: '0.1.0',
      mode,
      inputs: {
        before: { uri: config.before.uri, date: before.info.acquired, bands: before.info.bands, dtype: before.info.dtype, scale: before.info.scale },
        after: { uri: config.after.uri, date: after.info.acquired, bands: after.info.bands, dtype: after.info.dtype, scale: after.info.scale },
        grid: { width: grid.width, height: grid.height, crs: grid.crs.name, transform: grid.transform, pixelSizeM: plan.pixelSizeM },
        tiles: plan.tiles.length,
        haloPx: plan.halo,
      },
      counts: countPatches(built.patches),
      dropped: built.dropped,
      layers: Object.fromEntries(Object.entries(layers).map(([k, l]) => [k, { ...(l as VectorLayer).stats, problems: [...(l as VectorLayer).stats.problems] }])),
      calibration: plan.calibration,
      coregistration: plan.coregistration,
      normalization: plan.normalization,
      model: { ...plan.model, workers: plan.workers },
      timings: {
        totalMs: Math.round(ctx.now() - plan.startedAt),
        megapixels,
        stages: Object.fromEntries(
          STAGES.filter((s) => stageMs[s] !== undefined).map((s) => [
            s,
            { ms: Math.round(stageMs[s]), mpxPerSec: ['read', 'classify', 'rasterize', 'change', 'vectorize'].includes(s) ? round2(megapixels / (stageMs[s] / 1000)) : null },
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
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Runs change detection for a pair of scenes end to end, in process, and writes the run folder:
 * patches.geojson, 线索清单 .xlsx, chips/, change.tif, summary.json. Everything is written to a
 * staging folder that replaces `config.out` only when the whole run succeeded. The same stage
 * functions (plan, tiles, finish) run on BullMQ workers (workers/).
 * @throws AppError subclasses for bad input (files, bands, CRS, overlap, model, config).
 */
export async function runDetection(config: DetectConfig, ctx: StageContext): Promise<RunResult> {
  const startedAt = ctx.now();
  const outDir = resolve(config.out);
  const staging = `${outDir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'chips'), { recursive: true });
  let res: RunResources | null = null;
  try {
    res = await openRunResources(config, ctx);
    const plan = await planRun(config, res, ctx, startedAt);
    const landCoverWriters = config.landcover
      ? await Promise.all(['before', 'after'].map((d) => createLandCoverWriter(join(staging, `landcover_${d}.tif`), plan.grid, `${plan.model.id}@${plan.model.version}`)))
      : null;
    const onLandCover = landCoverWriters
      ? (tile: Tile, b: Uint8Array, a: Uint8Array) => Promise.all([b, a].map((lc, i) => writeCore(landCoverWriters[i], tile.core, lc))).then(() => undefined)
      : undefined;
    const results: TileResult[] = [];
    try {
      const r = res;
      await runPool(plan.tiles, res.workers + 1, async (tile) => {
        results[tile.index] = await processTile(plan, r, tile, ctx, { onLandCover });
      });
      await Promise.all(landCoverWriters?.map((w) => w.close()) ?? []);
    } catch (e) {
      await Promise.all(landCoverWriters?.map((w) => w.abort()) ?? []);
      throw e;
    }
    // The classifier's threads hold the model: free them before merging and writing.
    const c = res.classifier;
    res.classifier = null;
    await c?.close();
    return await finishRun(plan, res, results, ctx, { outDir, staging });
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  } finally {
    await res?.close();
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
