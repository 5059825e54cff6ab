/**
 * Where each pixel of a Web Mercator tile falls in a source raster: proj4 on a coarse grid of
 * points, bilinear interpolation in between (over a 256-px tile, a few km, the Mercator →
 * Gauss–Krüger mapping is smooth to far below a pixel, and 289 projections cost ~1/50 of 65 536).
 */
import { CGCS2000, crsFromEpsg, makeTransform, type PointTransform } from '../../pipeline/geo/crs.js';
import { mapToPixel, pixelToMap } from '../../pipeline/geo/grid.js';
import type { Grid } from '../../pipeline/types.js';
import { TILE_SIZE, tileBounds3857, type LonLatBBox } from './mercator.js';

export const WEB_MERCATOR = crsFromEpsg(3857);

/** Source pixel positions of a tile's pixel centres, in pixel-corner coordinates (pixel index = floor). */
export interface PixelMap {
  /** Fractional source column per tile pixel, row-major 256 × 256; NaN where unprojectable. */
  readonly cols: Float32Array;
  readonly rows: Float32Array;
  /** Bounding box of the positions (source pixels, fractional). */
  readonly minCol: number;
  readonly minRow: number;
  readonly maxCol: number;
  readonly maxRow: number;
  /** Source pixels per tile pixel (the larger of the two axes): 4 means a 4×4 footprint. */
  readonly scale: number;
}

/** Coarse grid spacing in tile pixels. */
const STEP = 16;

/**
 * Maps a tile's pixels onto a source grid.
 * @param toSource Web Mercator → the grid's CRS (from {@link mercatorTo})
 */
export function tilePixelMap(grid: Grid, toSource: PointTransform, z: number, x: number, y: number): PixelMap {
  const b = tileBounds3857(z, x, y);
  const px = (b.maxX - b.minX) / TILE_SIZE;
  const n = TILE_SIZE / STEP + 1;
  const gc = new Float64Array(n * n);
  const gr = new Float64Array(n * n);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      const [sx, sy] = toSource(b.minX + i * STEP * px, b.maxY - j * STEP * px);
      const [c, r] = mapToPixel(grid.transform, sx, sy);
      gc[j * n + i] = c;
      gr[j * n + i] = r;
    }
  const cols = new Float32Array(TILE_SIZE * TILE_SIZE);
  const rows = new Float32Array(TILE_SIZE * TILE_SIZE);
  let minCol = Infinity;
  let minRow = Infinity;
  let maxCol = -Infinity;
  let maxRow = -Infinity;
  for (let ty = 0; ty < TILE_SIZE; ty++) {
    const fy = (ty + 0.5) / STEP;
    const j = Math.min(n - 2, Math.floor(fy));
    const v = fy - j;
    for (let tx = 0; tx < TILE_SIZE; tx++) {
      const fx = (tx + 0.5) / STEP;
      const i = Math.min(n - 2, Math.floor(fx));
      const u = fx - i;
      const k = j * n + i;
      const w00 = (1 - u) * (1 - v);
      const w10 = u * (1 - v);
      const w01 = (1 - u) * v;
      const w11 = u * v;
      const c = gc[k] * w00 + gc[k + 1] * w10 + gc[k + n] * w01 + gc[k + n + 1] * w11;
      const r = gr[k] * w00 + gr[k + 1] * w10 + gr[k + n] * w01 + gr[k + n + 1] * w11;
      const p = ty * TILE_SIZE + tx;
      cols[p] = c;
      rows[p] = r;
      if (c < minCol) minCol = c;
      if (c > maxCol) maxCol = c;
      if (r < minRow) minRow = r;
      if (r > maxRow) maxRow = r;
    }
  }
  const last = n * n - 1;
  const across = Math.hypot(gc[n - 1] - gc[0], gr[n - 1] - gr[0]);
  const down = Math.hypot(gc[last - n + 1] - gc[0], gr[last - n + 1] - gr[0]);
  return { cols, rows, minCol, minRow, maxCol, maxRow, scale: Math.max(across, down) / TILE_SIZE };
}

/** True when some tile pixel centre lands inside the grid. */
export function touchesGrid(map: PixelMap, grid: Pick<Grid, 'width' | 'height'>): boolean {
  if (!(map.maxCol > 0 && map.minCol < grid.width && map.maxRow > 0 && map.minRow < grid.height)) return false;
  const { cols, rows } = map;
  for (let p = 0; p < cols.length; p++) if (cols[p] >= 0 && cols[p] < grid.width && rows[p] >= 0 && rows[p] < grid.height) return true;
  return false;
}

/** Point transform from Web Mercator to a grid's CRS. @throws AppError UNSUPPORTED_CRS */
export const mercatorTo = (grid: Grid): PointTransform => makeTransform(WEB_MERCATOR, grid.crs);

/**
 * Longitude/latitude bounds of a grid (CGCS2000 ≈ WGS84): its outline densified (16 points per
 * edge) and projected, so the curved edges of a projected scene are inside the box.
 * @throws AppError UNSUPPORTED_CRS when the grid's CRS cannot be projected
 */
export function gridLonLatBounds(grid: Grid): LonLatBBox {
  const toLonLat = makeTransform(grid.crs, CGCS2000);
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const N = 16;
  for (let k = 0; k <= N; k++) {
    const t = k / N;
    for (const [c, r] of [[t * grid.width, 0], [t * grid.width, grid.height], [0, t * grid.height], [grid.width, t * grid.height]] as const) {
      const [x, y] = pixelToMap(grid.transform, c, r);
      const [lon, lat] = toLonLat(x, y);
      if (lon < w) w = lon;
      if (lon > e) e = lon;
      if (lat < s) s = lat;
      if (lat > n) n = lat;
    }
  }
  return [w, s, e, n];
}
