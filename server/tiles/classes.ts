/**
 * Class tiles of a run's change raster (change.tif: one band of change codes, 0 = no change;
 * ChangeType codes in baseline mode, transition codes 1..64 without a baseline), coloured by a
 * palette with nearest-neighbour sampling; no change and codes without a colour are transparent.
 */
import { closeScene, openScene, readRawWindow, type RawArray, type Scene } from '../../pipeline/imagery/index.js';
import { ImageryError } from '../../pipeline/errors.js';
import type { PointTransform } from '../../pipeline/geo/crs.js';
import { ChangeType, type ChangeTypeName, type Grid, type Window } from '../../pipeline/types.js';
import { TileError, checkTile, tileBoundsLonLat, type LonLatBBox } from './mercator.js';
import { encodeTilePng } from './png.js';
import { modeDownsample, sampleIndex, type Level } from './raster.js';
import { gridLonLatBounds, mercatorTo, tilePixelMap, touchesGrid } from './warp.js';

/** Code → CSS hex colour `#rrggbb` or `#rrggbbaa`. */
export type ClassPalette = Readonly<Record<number, string>>;

/** Colours of the change types (baseline-mode change.tif), by TBLX name. */
export const CHANGE_TYPE_COLOURS: Readonly<Record<ChangeTypeName, string>> = {
  occupation_building: '#e31a1cdd',
  occupation_road: '#ff7f00dd',
  occupation_soil: '#a65628dd',
  outflow_orchard: '#984ea3dd',
  outflow_forest: '#1b7837dd',
  outflow_grass: '#a6d96add',
  outflow_pond: '#1f78b4dd',
  outflow_greenhouse: '#00e5ffdd',
};

/** Default palette of change.tif in baseline mode: ChangeType code → colour. */
export const CHANGE_PALETTE: ClassPalette = Object.fromEntries(
  (Object.keys(ChangeType) as ChangeTypeName[]).map((n) => [ChangeType[n], CHANGE_TYPE_COLOURS[n]]),
);

/**
 * A 256-entry RGBA lookup table of a palette.
 * @throws TileError CONFIG_INVALID naming a bad code or colour
 */
export function paletteTable(palette: ClassPalette): Uint8Array {
  const lut = new Uint8Array(256 * 4);
  for (const [k, colour] of Object.entries(palette)) {
    const code = Number(k);
    const m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(colour);
    if (!Number.isInteger(code) || code < 1 || code > 255 || !m)
      throw new TileError('CONFIG_INVALID', `palette entry ${k}: "${colour}" (codes 1..255, colours #rrggbb or #rrggbbaa)`, { field: 'palette' });
    const v = parseInt(m[1], 16);
    lut.set([v >> 16, (v >> 8) & 255, v & 255, m[2] ? parseInt(m[2], 16) : 255], code * 4);
  }
  return lut;
}

/** An open class raster. */
export interface ClassRaster {
  readonly uri: string;
  readonly scene: Scene;
  readonly grid: Grid;
  readonly lonLatBounds: LonLatBBox;
  readonly toSource: PointTransform;
  readonly overviewFactor: number;
  /** Window reads made (tests count them). */
  reads: number;
  overview: Promise<Level<Uint8Array>> | null;
}

/**
 * Opens a change raster.
 * @throws ImageryError FILE_NOT_FOUND / CORRUPT_FILE naming the file; NO_GEOREFERENCE
 */
export async function openClassRaster(uri: string): Promise<ClassRaster> {
  const scene = await openScene(uri, { scale: 1, offset: 0 });
  try {
    if (!scene.info.georeferenced) throw new ImageryError('NO_GEOREFERENCE', `${uri}: the class raster is not georeferenced`, { file: uri });
    const grid = scene.info.grid;
    const overviewFactor = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(grid.width, grid.height) / 2048)));
    return { uri, scene, grid, lonLatBounds: gridLonLatBounds(grid), toSource: mercatorTo(grid), overviewFactor, reads: 0, overview: null };
  } catch (e) {
    await closeScene(scene);
    if (e instanceof Error && !e.message.includes(uri)) e.message = `${uri}: ${e.message}`;
    throw e;
  }
}

export const closeClassRaster = (r: ClassRaster): Promise<void> => closeScene(r.scene);

async function readCodes(r: ClassRaster, win: Window): Promise<RawArray> {
  r.reads++;
  return (await readRawWindow(r.scene, win, ['b1'])).data[0];
}

/** The raster reduced by `overviewFactor` (most frequent change code per cell), built once. */
function classOverview(r: ClassRaster): Promise<Level<Uint8Array>> {
  r.overview ??= (async () => {
    const F = r.overviewFactor;
    const { width: W, height: H } = r.grid;
    const w = Math.ceil(W / F);
    const h = Math.ceil(H / F);
    const codes = new Uint8Array(w * h);
    const strip = Math.ceil(Math.max(256, F) / F) * F;
    for (let row = 0; row < H; row += strip) {
      const win = { col: 0, row, width: w * F, height: Math.min(strip, h * F - row) };
      const small = modeDownsample(await readCodes(r, win), 0, row, win.width, win.height, F);
      codes.set(small.bands[0], (row / F) * w);
    }
    return { col0: 0, row0: 0, factor: F, width: w, height: h, bands: [codes], valid: new Uint8Array(w * h).fill(1) };
  })();
  r.overview.catch(() => (r.overview = null));
  return r.overview;
}

/** RGBA of a tile: the palette colour of each sampled code (alpha 0 where none). Pure. */
export function colourClasses(codes: RawArray, index: Int32Array, lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(index.length * 4);
  for (let p = 0; p < index.length; p++) {
    const q = index[p];
    if (q < 0) continue;
    const v = codes[q];
    if (!(v >= 1 && v <= 255)) continue;
    const o = (v | 0) * 4;
    out[p * 4] = lut[o];
    out[p * 4 + 1] = lut[o + 1];
    out[p * 4 + 2] = lut[o + 2];
    out[p * 4 + 3] = lut[o + 3];
  }
  return out;
}

/**
 * Renders a class tile as PNG.
 * @returns null when the tile lies wholly outside the raster
 * @throws TileError CONFIG_INVALID (bad z/x/y or palette); ImageryError CORRUPT_FILE naming the file
 */
export async function renderClassTile(r: ClassRaster, z: number, x: number, y: number, palette: ClassPalette = CHANGE_PALETTE): Promise<Buffer | null> {
  checkTile(z, x, y);
  const lut = paletteTable(palette);
  const [w, s, e, n] = tileBoundsLonLat(z, x, y);
  const b = r.lonLatBounds;
  if (!(b[0] < e && b[2] > w && b[1] < n && b[3] > s)) return null;
  const map = tilePixelMap(r.grid, r.toSource, z, x, y);
  if (!touchesGrid(map, r.grid)) return null;
  let level: Level<RawArray>;
  if (map.scale >= r.overviewFactor) level = await classOverview(r);
  else {
    const c0 = Math.max(0, Math.floor(map.minCol));
    const r0 = Math.max(0, Math.floor(map.minRow));
    const win = { col: c0, row: r0, width: Math.min(r.grid.width, Math.floor(map.maxCol) + 1) - c0, height: Math.min(r.grid.height, Math.floor(map.maxRow) + 1) - r0 };
    const codes = await readCodes(r, win);
    level = { col0: c0, row0: r0, factor: 1, width: win.width, height: win.height, bands: [codes], valid: new Uint8Array(codes.length).fill(1) };
  }
  return encodeTilePng(colourClasses(level.bands[0], sampleIndex(level, map, r.grid), lut));
}
