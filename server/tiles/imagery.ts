/**
 * Imagery tiles: true colour (red, green, blue) and false colour (NIR, red, green) from a scene's
 * reflectance, with a per-scene 2–98 % stretch. Reads go through the pipeline's imagery reader
 * (band names and scale as the run opened the scene, file:// or s3:// with ranged reads).
 */
import { closeScene, openScene, readWindow, type Scene, type SceneOptions } from '../../pipeline/imagery/index.js';
import { resolveBands } from '../../pipeline/imagery/scene.js';
import { computeStretch, type BandStretch } from '../../pipeline/outputs/index.js';
import { spreadSample } from '../../pipeline/tiling/index.js';
import type { PointTransform } from '../../pipeline/geo/crs.js';
import type { Grid, RasterBlock, Window } from '../../pipeline/types.js';
import { ImageryError } from '../../pipeline/errors.js';
import { TileError, checkTile, tileBoundsLonLat, type LonLatBBox } from './mercator.js';
import { encodeTilePng } from './png.js';
import { blockLevel, meanDownsample, sampleIndex, type Level } from './raster.js';
import { gridLonLatBounds, mercatorTo, tilePixelMap, touchesGrid, type PixelMap } from './warp.js';

/** 'true': red, green, blue. 'false': NIR, red, green (vegetation red). */
export type ImageryStyle = 'true' | 'false';

/** Bands shown as red, green, blue per style (names as the pipeline reads them). */
export const STYLE_BANDS: Readonly<Record<ImageryStyle, readonly [string, string, string]>> = {
  true: ['red', 'green', 'blue'],
  false: ['nir', 'red', 'green'],
};

/** Percentiles of the per-scene stretch. */
export const STRETCH_PERCENTILES = [2, 98] as const;
/** Blocks of the file sampled for the stretch (spread over the scene). */
const STRETCH_BLOCKS = 64;
/** Long side of the in-memory overview used for zoomed-out tiles (the reader has no overview IFDs). */
const OVERVIEW_MAX_PX = 2048;

/** An open scene with what tiles of it need, computed once: projection, stretch, overview. */
export interface ImageryScene {
  readonly uri: string;
  readonly scene: Scene;
  readonly grid: Grid;
  readonly lonLatBounds: LonLatBBox;
  readonly toSource: PointTransform;
  /** The style bands the scene has (of red, green, blue, nir), in that order. */
  readonly bands: readonly string[];
  /** Integer factor of the in-memory overview (a power of two ≥ 4). */
  readonly overviewFactor: number;
  /** Window reads made for this scene (tiles, stretch, overview): tests and the benchmark count them. */
  reads: number;
  stretch: Promise<ReadonlyMap<string, { min: number; max: number }>> | null;
  overview: Overview | null;
}

/** A translation of a scene's georeference, in world units of `crs` (a CRS name such as "EPSG:4528"). */
export interface SceneShift {
  readonly crs: string;
  readonly x: number;
  readonly y: number;
}

/**
 * Opens a scene for tiles.
 * @param options the band mapping, scale and NoData the run used (detection config `before`/`after`)
 * @param shift where the run found the scene to lie (its co-registration): applied when the scene
 *   is in that CRS (a shift measured in another CRS is left out: the run read it through a reprojection)
 * @throws ImageryError FILE_NOT_FOUND / CORRUPT_FILE / UNSUPPORTED_FORMAT naming the file;
 *   AppError UNSUPPORTED_CRS or NO_GEOREFERENCE when the scene cannot be placed on the map
 */
export async function openImagery(uri: string, options: SceneOptions = {}, shift?: SceneShift): Promise<ImageryScene> {
  // A small decoded-block cache per scene: neighbouring tiles share blocks, and the renderer keeps
  // many scenes open.
  const scene = await openScene(uri, { cacheBytes: 16 * 1024 * 1024, ...options });
  try {
    const grid = shift && shift.crs === scene.info.grid.crs.name ? translated(scene.info.grid, shift) : scene.info.grid;
    if (!scene.info.georeferenced)
      throw new ImageryError('NO_GEOREFERENCE', `${uri}: the image is not georeferenced, so it cannot be drawn on the map`, { file: uri });
    const toSource = mercatorTo(grid);
    const bands = ['red', 'green', 'blue', 'nir'].filter((b) => {
      try {
        resolveBands(scene, [b]);
        return true;
      } catch {
        return false;
      }
    });
    const long = Math.max(grid.width, grid.height);
    const overviewFactor = Math.max(4, 2 ** Math.ceil(Math.log2(long / OVERVIEW_MAX_PX)));
    return { uri, scene, grid, lonLatBounds: gridLonLatBounds(grid), toSource, bands, overviewFactor, reads: 0, stretch: null, overview: null };
  } catch (e) {
    await closeScene(scene);
    throw withFile(e, uri);
  }
}

export const closeImagery = (s: ImageryScene): Promise<void> => closeScene(s.scene);

function translated(grid: Grid, shift: SceneShift): Grid {
  const [x0, a, b, y0, d, e] = grid.transform;
  return { ...grid, transform: [x0 + shift.x, a, b, y0 + shift.y, d, e] };
}

/** Adds the file to messages that lack it (proj4 errors name only the CRS). */
function withFile(e: unknown, uri: string): unknown {
  if (e instanceof Error && !e.message.includes(uri)) e.message = `${uri}: ${e.message}`;
  return e;
}

async function read(s: ImageryScene, win: Window, bands: readonly string[]): Promise<RasterBlock> {
  s.reads++;
  return readWindow(s.scene, win, bands);
}

/**
 * Per-band 2–98 % stretch of the scene from up to 64 of its blocks spread over it (every block of
 * a small scene), computed once. Reads whole blocks so no block is decoded for a few pixels.
 */
export function sceneStretch(s: ImageryScene): Promise<ReadonlyMap<string, { min: number; max: number }>> {
  s.stretch ??= (async () => {
    const { blockWidth: bw, blockHeight: bh } = s.scene.info.layout;
    const { width: W, height: H } = s.grid;
    const rowsPer = Math.min(bh, 512);
    const windows: Window[] = [];
    for (let row = 0; row < H; row += rowsPer)
      for (let col = 0; col < W; col += bw) windows.push({ col, row, width: Math.min(bw, W - col), height: Math.min(rowsPer, H - row) });
    const blocks: RasterBlock[] = [];
    for (const w of spreadSample(windows, STRETCH_BLOCKS)) blocks.push(await read(s, w, s.bands));
    const st: BandStretch = computeStretch(blocks, s.bands, STRETCH_PERCENTILES[0], STRETCH_PERCENTILES[1]);
    return new Map(s.bands.map((b, k) => [b, { min: st.min[k], max: st.max[k] }]));
  })();
  s.stretch.catch(() => (s.stretch = null));
  return s.stretch;
}

/** The overview: the scene box-averaged by `overviewFactor`, filled chunk by chunk as tiles need it. */
interface Overview {
  readonly level: Level;
  /** Chunk edge in source pixels (a multiple of the factor, so chunks fill whole cells). */
  readonly chunk: number;
  readonly across: number;
  /** Fill of each chunk, started once (concurrent tiles wait on the same read). */
  readonly fills: Map<number, Promise<void>>;
}

function overviewOf(s: ImageryScene): Overview {
  if (s.overview) return s.overview;
  const F = s.overviewFactor;
  const w = Math.ceil(s.grid.width / F);
  const h = Math.ceil(s.grid.height / F);
  const level: Level = { col0: 0, row0: 0, factor: F, width: w, height: h, bands: s.bands.map(() => new Float32Array(w * h)), valid: new Uint8Array(w * h) };
  const chunk = Math.ceil(512 / F) * F;
  s.overview = { level, chunk, across: Math.ceil(s.grid.width / chunk), fills: new Map() };
  return s.overview;
}

/**
 * The overview with every chunk under source pixels [c0, c1) × [r0, r1) filled: a zoomed-out
 * tile reads only the chunks it covers, once per scene (no overview IFDs are read; the first
 * zoomed-out view of a region costs one full-resolution read of it).
 */
async function overviewFor(s: ImageryScene, c0: number, r0: number, c1: number, r1: number): Promise<Level> {
  const o = overviewOf(s);
  const { level, chunk } = o;
  const F = level.factor;
  const jobs: Promise<void>[] = [];
  for (let cy = Math.floor(r0 / chunk); cy <= Math.floor((r1 - 1) / chunk); cy++)
    for (let cx = Math.floor(c0 / chunk); cx <= Math.floor((c1 - 1) / chunk); cx++) {
      const id = cy * o.across + cx;
      let fill = o.fills.get(id);
      if (!fill) {
        fill = (async () => {
          const win = { col: cx * chunk, row: cy * chunk, width: Math.min(chunk, level.width * F - cx * chunk), height: Math.min(chunk, level.height * F - cy * chunk) };
          const small = meanDownsample(await read(s, win, s.bands), F);
          for (let j = 0; j < small.height; j++) {
            const at = (win.row / F + j) * level.width + win.col / F;
            small.bands.forEach((b, k) => level.bands[k].set(b.subarray(j * small.width, (j + 1) * small.width), at));
            level.valid.set(small.valid.subarray(j * small.width, (j + 1) * small.width), at);
          }
        })();
        o.fills.set(id, fill);
        fill.catch(() => o.fills.delete(id));
      }
      jobs.push(fill);
    }
  await Promise.all(jobs);
  return level;
}

/**
 * The source pixels a tile needs, as a level: a window read at full resolution, box-averaged when
 * a tile pixel covers 2+ source pixels; the scene overview once it covers `overviewFactor`+.
 */
async function tileLevel(s: ImageryScene, map: PixelMap, rgb: readonly string[]): Promise<{ level: Level; bands: readonly string[] }> {
  const inside = (v: number, n: number) => Math.min(n, Math.max(0, v));
  if (map.scale >= s.overviewFactor)
    return {
      level: await overviewFor(s, inside(Math.floor(map.minCol), s.grid.width), inside(Math.floor(map.minRow), s.grid.height), inside(Math.floor(map.maxCol) + 1, s.grid.width), inside(Math.floor(map.maxRow) + 1, s.grid.height)),
      bands: s.bands,
    };
  const k = map.scale >= 2 ? Math.floor(map.scale) : 1;
  // Whole k×k cells, aligned on multiples of k: a cell on the tile edge averages the same pixels
  // in both neighbouring tiles, so no seam.
  const c0 = Math.floor(Math.max(0, map.minCol) / k) * k;
  const r0 = Math.floor(Math.max(0, map.minRow) / k) * k;
  const c1 = Math.min(s.grid.width, Math.ceil((Math.floor(map.maxCol) + 1) / k) * k);
  const r1 = Math.min(s.grid.height, Math.ceil((Math.floor(map.maxRow) + 1) / k) * k);
  const block = await read(s, { col: c0, row: r0, width: c1 - c0, height: r1 - r0 }, rgb);
  return { level: k > 1 ? meanDownsample(block, k) : blockLevel(block), bands: rgb };
}

/**
 * RGBA pixels of a tile from a level: bands stretched linearly to 0..255; alpha 0 outside the
 * image and on no-data. Pure.
 */
export function colourImagery(level: Level, levelBands: readonly string[], index: Int32Array, rgb: readonly string[], stretch: ReadonlyMap<string, { min: number; max: number }>): Uint8Array {
  const out = new Uint8Array(index.length * 4);
  const chans = rgb.map((name) => {
    const st = stretch.get(name)!;
    return { data: level.bands[levelBands.indexOf(name)], lo: st.min, k: 255 / (st.max - st.min) };
  });
  for (let p = 0; p < index.length; p++) {
    const q = index[p];
    if (q < 0) continue;
    for (let c = 0; c < 3; c++) {
      const ch = chans[c];
      const v = (ch.data[q] - ch.lo) * ch.k;
      out[p * 4 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
    out[p * 4 + 3] = 255;
  }
  return out;
}

/**
 * Renders a 256×256 PNG imagery tile.
 * @returns the PNG, or null when the tile lies wholly outside the scene
 * @throws TileError CONFIG_INVALID (bad z/x/y); ImageryError MISSING_BAND when the scene lacks a
 *   band of the style, CORRUPT_FILE naming the file and block
 */
export async function renderImageryTile(s: ImageryScene, z: number, x: number, y: number, style: ImageryStyle): Promise<Buffer | null> {
  checkTile(z, x, y);
  const rgb = STYLE_BANDS[style];
  if (!rgb) throw new TileError('CONFIG_INVALID', `unknown imagery style "${String(style)}" (true or false)`, { field: 'style' });
  resolveBands(s.scene, rgb); // a missing band fails here, naming the file and the bands it has
  const [w, so, e, n] = tileBoundsLonLat(z, x, y);
  const b = s.lonLatBounds;
  if (!(b[0] < e && b[2] > w && b[1] < n && b[3] > so)) return null;
  const map = tilePixelMap(s.grid, s.toSource, z, x, y);
  if (!touchesGrid(map, s.grid)) return null;
  const [stretch, { level, bands }] = await Promise.all([sceneStretch(s), tileLevel(s, map, rgb)]);
  const index = sampleIndex(level, map, s.grid);
  return encodeTilePng(colourImagery(level, bands, index, rgb, stretch));
}
