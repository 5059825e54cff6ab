/**
 * Web Mercator (EPSG:3857) XYZ tile arithmetic, as MapLibre requests tiles: z/x/y with y = 0 at
 * the north edge, 256-pixel tiles. Pure functions.
 */
import { AppError } from '../../pipeline/errors.js';

/** Tile edge in pixels. */
export const TILE_SIZE = 256;
/** Half the extent of the Web Mercator plane in metres (π × 6378137). */
export const MERCATOR_HALF = Math.PI * 6378137;
/** Deepest zoom accepted: beyond it a tile pixel is under a millimetre. */
export const MAX_ZOOM = 30;

/** A longitude/latitude box: [west, south, east, north] in degrees (CGCS2000 ≈ WGS84). */
export type LonLatBBox = readonly [number, number, number, number];

/** A box in Web Mercator metres. */
export interface MercatorBox {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** Thrown for tile addresses that do not exist (the server answers 400). */
export class TileError extends AppError {}

/**
 * Checks that z/x/y name an existing tile.
 * @throws TileError CONFIG_INVALID naming the bad coordinate
 */
export function checkTile(z: number, x: number, y: number): void {
  if (!Number.isInteger(z) || z < 0 || z > MAX_ZOOM) throw new TileError('CONFIG_INVALID', `tile ${z}/${x}/${y}: zoom must be an integer 0..${MAX_ZOOM}`, { tile: `${z}/${x}/${y}` });
  const n = 2 ** z;
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= n || y >= n)
    throw new TileError('CONFIG_INVALID', `tile ${z}/${x}/${y}: x and y must be integers 0..${n - 1} at zoom ${z}`, { tile: `${z}/${x}/${y}` });
}

/** Web Mercator bounds of a tile. */
export function tileBounds3857(z: number, x: number, y: number): MercatorBox {
  const size = (2 * MERCATOR_HALF) / 2 ** z;
  return { minX: -MERCATOR_HALF + x * size, maxX: -MERCATOR_HALF + (x + 1) * size, maxY: MERCATOR_HALF - y * size, minY: MERCATOR_HALF - (y + 1) * size };
}

/** Ground size of one tile pixel in Web Mercator metres (true metres × cos(latitude)). */
export const tilePixelSize = (z: number): number => (2 * MERCATOR_HALF) / 2 ** z / TILE_SIZE;

export function mercatorToLonLat(x: number, y: number): [number, number] {
  return [(x / MERCATOR_HALF) * 180, (Math.atan(Math.sinh((y / MERCATOR_HALF) * Math.PI)) * 180) / Math.PI];
}

/** Latitudes beyond ±85.0511° are clamped to the edge of the Mercator square. */
export function lonLatToMercator(lon: number, lat: number): [number, number] {
  const maxLat = 85.05112877980659;
  const phi = (Math.max(-maxLat, Math.min(maxLat, lat)) * Math.PI) / 180;
  return [(lon / 180) * MERCATOR_HALF, (Math.log(Math.tan(Math.PI / 4 + phi / 2)) / Math.PI) * MERCATOR_HALF];
}

/** Longitude/latitude bounds of a tile. */
export function tileBoundsLonLat(z: number, x: number, y: number): LonLatBBox {
  const b = tileBounds3857(z, x, y);
  const [w, s] = mercatorToLonLat(b.minX, b.minY);
  const [e, n] = mercatorToLonLat(b.maxX, b.maxY);
  return [w, s, e, n];
}

/**
 * True when a longitude/latitude box and the tile overlap (touching edges do not count), so the
 * server can refuse tiles away from what a user may see (e.g. a township officer's case).
 */
export function tileBoundsIntersect(bbox: LonLatBBox, z: number, x: number, y: number): boolean {
  const [w, s, e, n] = tileBoundsLonLat(z, x, y);
  return bbox[0] < e && bbox[2] > w && bbox[1] < n && bbox[3] > s;
}

/** Range of tiles at zoom z that meet a longitude/latitude box (inclusive). */
export function tileRange(bbox: LonLatBBox, z: number): { x0: number; x1: number; y0: number; y1: number } {
  const n = 2 ** z;
  const size = (2 * MERCATOR_HALF) / n;
  const [minX, minY] = lonLatToMercator(bbox[0], bbox[1]);
  const [maxX, maxY] = lonLatToMercator(bbox[2], bbox[3]);
  const clamp = (v: number) => Math.max(0, Math.min(n - 1, v));
  return {
    x0: clamp(Math.floor((minX + MERCATOR_HALF) / size)),
    x1: clamp(Math.ceil((maxX + MERCATOR_HALF) / size) - 1),
    y0: clamp(Math.floor((MERCATOR_HALF - maxY) / size)),
    y1: clamp(Math.ceil((MERCATOR_HALF - minY) / size) - 1),
  };
}

/** Every tile at zoom z that meets a longitude/latitude box, row by row. */
export function tilesCovering(bbox: LonLatBBox, z: number): { z: number; x: number; y: number }[] {
  const r = tileRange(bbox, z);
  const out: { z: number; x: number; y: number }[] = [];
  for (let y = r.y0; y <= r.y1; y++) for (let x = r.x0; x <= r.x1; x++) out.push({ z, x, y });
  return out;
}
