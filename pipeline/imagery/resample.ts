/**
 * Reading a scene onto another grid (second date of another resolution, CRS or extent), and
 * grid overlap tests.
 */
import type { BBox, Crs, Grid, RasterBlock, Window } from '../types.js';
import { AppError, ImageryError } from '../errors.js';
import { makeTransform, sameCrs, type PointTransform } from '../geo/crs.js';
import { gridBBox, mapToPixel, pixelToMap } from '../geo/grid.js';
import { readWindow } from './read.js';
import { resolveBands, type Scene, type SceneInfo } from './scene.js';

/** Resampling of `readOnGrid`. */
export interface ReadOnGridOptions {
  /** 'nearest' picks the source pixel containing the target pixel centre; 'bilinear' interpolates the 4 nearest. */
  readonly resampling: 'nearest' | 'bilinear';
  /** Aborts between blocks. */
  readonly signal?: AbortSignal;
}

/** Lattice spacing (target pixels) at which coordinates are transformed exactly; others interpolate. */
const LATTICE = 16;
/** Largest source window read at once (pixels); bigger footprints are split. */
const MAX_SOURCE_PX = 16 * 1024 * 1024;

/**
 * Whether two CRSs are the same: same EPSG code or proj4 definition, or — for CRSs we cannot
 * project — the same name (custom CRS names carry a fingerprint of their GeoKeys; 'none' is the
 * pixel space of ungeoreferenced images).
 * @throws never
 */
export function crsEqual(a: Crs, b: Crs): boolean {
  if (sameCrs(a, b)) return true;
  return a.epsg === null && b.epsg === null && a.proj4 === null && b.proj4 === null && a.name === b.name;
}

const near = (x: number, y: number, scale: number) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(scale));

/**
 * True when two grids share CRS and geotransform (within 1e-9 of a pixel; sizes may differ).
 * @throws never
 */
export function sameGridSpace(a: Grid, b: Grid): boolean {
  if (!crsEqual(a.crs, b.crs)) return false;
  const px = Math.max(Math.abs(a.transform[1]), Math.abs(a.transform[5]), Math.abs(a.transform[2]), Math.abs(a.transform[4]));
  return a.transform.every((v, i) => near(v, b.transform[i], i === 0 || i === 3 ? px * 1e3 : px));
}

function transformBetween(from: Crs, to: Crs, what: string): PointTransform {
  if (crsEqual(from, to)) return (x, y) => [x, y];
  if (from.name === 'none' || to.name === 'none') {
    throw new ImageryError('NO_GEOREFERENCE', `${what}: one grid is not georeferenced (CRS ${from.name} vs ${to.name}), so they cannot be related`, {});
  }
  try {
    return makeTransform(from, to);
  } catch (e) {
    if (e instanceof AppError) throw new ImageryError(e.code, `${what}: ${e.message}`, { ...e.context }, { cause: e });
    throw e;
  }
}

/**
 * Reads bands of `scene` resampled onto a window of another grid. Identical grids (same CRS and
 * transform, any size) and grids offset by whole pixels are read directly; otherwise target
 * pixel centres are transformed into the scene's pixel space (exactly on a 16-px lattice,
 * bilinearly in between), the covering source window is read once with a 1-px margin, and
 * sampled. Target pixels falling outside the scene or on invalid source pixels are invalid; for
 * bilinear, the source pixel containing the centre must be valid and invalid neighbours are left
 * out of the weights.
 * @param target the grid the window refers to (e.g. the first date's grid)
 * @param window window of `target`, may extend beyond it
 * @returns reflectance on the target window
 * @throws ImageryError MISSING_BAND, CORRUPT_FILE, UNSUPPORTED_CRS (CRS not projectable),
 *   NO_GEOREFERENCE (one side has no georeferencing), ABORTED
 */
export async function readOnGrid(
  scene: Scene,
  target: Grid,
  window: Window,
  bandNames: readonly string[],
  opts: ReadOnGridOptions,
): Promise<RasterBlock> {
  const src = scene.info.grid;
  const signal = opts.signal;
  resolveBands(scene, bandNames);
  if (sameGridSpace(src, target)) return readWindow(scene, window, bandNames, signal);
  const ts = target.transform;
  const ss = src.transform;
  // Same CRS and pixel geometry, origins a whole number of pixels apart: a shifted direct read.
  if (crsEqual(src.crs, target.crs) && [1, 2, 4, 5].every((i) => near(ss[i], ts[i], Math.abs(ss[1]) + Math.abs(ss[5])))) {
    const [c, r] = mapToPixel(ss, ...pixelToMap(ts, window.col, window.row));
    if (Math.abs(c - Math.round(c)) < 1e-6 && Math.abs(r - Math.round(r)) < 1e-6) {
      const blk = await readWindow(scene, { col: Math.round(c), row: Math.round(r), width: window.width, height: window.height }, bandNames, signal);
      return { ...blk, window };
    }
  }
  const toSrc = transformBetween(target.crs, src.crs, `${scene.info.uri} onto the target grid`);
  return resampleWindow(scene, target, window, bandNames, opts.resampling, toSrc, signal);
}

/** Source pixel coordinates (corner convention) of every target pixel centre of a window. */
function sourceCoords(target: Grid, src: Grid, w: Window, toSrc: PointTransform): { u: Float64Array; v: Float64Array } {
  const W = w.width;
  const H = w.height;
  const exact = (x: number, y: number): [number, number] => {
    const [mx, my] = pixelToMap(target.transform, w.col + x + 0.5, w.row + y + 0.5);
    let sx: number;
    let sy: number;
    try {
      [sx, sy] = toSrc(mx, my);
    } catch {
      return [NaN, NaN];
    }
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) return [NaN, NaN];
    return mapToPixel(src.transform, sx, sy);
  };
  const xs: number[] = [];
  for (let x = 0; x < W - 1; x += LATTICE) xs.push(x);
  xs.push(W - 1);
  const ys: number[] = [];
  for (let y = 0; y < H - 1; y += LATTICE) ys.push(y);
  ys.push(H - 1);
  const nu = new Float64Array(xs.length * ys.length);
  const nv = new Float64Array(xs.length * ys.length);
  ys.forEach((y, j) =>
    xs.forEach((x, i) => {
      const [a, b] = exact(x, y);
      nu[j * xs.length + i] = a;
      nv[j * xs.length + i] = b;
    }),
  );
  const u = new Float64Array(W * H);
  const v = new Float64Array(W * H);
  for (let j = 0; j < ys.length; j++) {
    const y0 = ys[j];
    const y1 = j + 1 < ys.length ? ys[j + 1] : y0;
    const yEnd = j + 1 < ys.length ? y1 : y0 + 1;
    for (let i = 0; i < xs.length; i++) {
      const x0 = xs[i];
      const x1 = i + 1 < xs.length ? xs[i + 1] : x0;
      const xEnd = i + 1 < xs.length ? x1 : x0 + 1;
      const i00 = j * xs.length + i;
      const i10 = j * xs.length + Math.min(i + 1, xs.length - 1);
      const i01 = Math.min(j + 1, ys.length - 1) * xs.length + i;
      const i11 = Math.min(j + 1, ys.length - 1) * xs.length + Math.min(i + 1, xs.length - 1);
      const ok = [i00, i10, i01, i11].every((k) => Number.isFinite(nu[k]) && Number.isFinite(nv[k]));
      for (let y = y0; y < yEnd; y++) {
        const fy = y1 > y0 ? (y - y0) / (y1 - y0) : 0;
        for (let x = x0; x < xEnd; x++) {
          const p = y * W + x;
          if (!ok) {
            [u[p], v[p]] = exact(x, y);
            continue;
          }
          const fx = x1 > x0 ? (x - x0) / (x1 - x0) : 0;
          u[p] = (nu[i00] * (1 - fx) + nu[i10] * fx) * (1 - fy) + (nu[i01] * (1 - fx) + nu[i11] * fx) * fy;
          v[p] = (nv[i00] * (1 - fx) + nv[i10] * fx) * (1 - fy) + (nv[i01] * (1 - fx) + nv[i11] * fx) * fy;
        }
      }
    }
  }
  return { u, v };
}

async function resampleWindow(
  scene: Scene,
  target: Grid,
  w: Window,
  bandNames: readonly string[],
  method: 'nearest' | 'bilinear',
  toSrc: PointTransform,
  signal?: AbortSignal,
): Promise<RasterBlock> {
  const src = scene.info.grid;
  const n = w.width * w.height;
  const nb = bandNames.length;
  const data = bandNames.map(() => new Float32Array(n));
  const valid = new Uint8Array(n);
  if (n === 0) return { window: w, bandNames: [...bandNames], data, valid };
  const { u, v } = sourceCoords(target, src, w, toSrc);
  let minU = Infinity;
  let maxU = -Infinity;
  let minV = Infinity;
  let maxV = -Infinity;
  for (let p = 0; p < n; p++) {
    if (!(Number.isFinite(u[p]) && Number.isFinite(v[p]))) continue;
    if (u[p] < minU) minU = u[p];
    if (u[p] > maxU) maxU = u[p];
    if (v[p] < minV) minV = v[p];
    if (v[p] > maxV) maxV = v[p];
  }
  // Covering source window (+1 px margin), clipped to the image.
  const c0 = Math.max(0, Math.floor(minU - 0.5) - 1);
  const r0 = Math.max(0, Math.floor(minV - 0.5) - 1);
  const c1 = Math.min(src.width, Math.floor(maxU - 0.5) + 3);
  const r1 = Math.min(src.height, Math.floor(maxV - 0.5) + 3);
  if (!(c1 > c0 && r1 > r0)) {
    return { window: w, bandNames: [...bandNames], data, valid };
  }
  if ((c1 - c0) * (r1 - r0) > MAX_SOURCE_PX && (w.width > 1 || w.height > 1)) {
    // Footprint too large for one read (target much coarser than the source): split the window.
    const hw = Math.ceil(w.width / 2);
    const hh = Math.ceil(w.height / 2);
    const parts: Window[] = [
      { col: w.col, row: w.row, width: hw, height: hh },
      { col: w.col + hw, row: w.row, width: w.width - hw, height: hh },
      { col: w.col, row: w.row + hh, width: hw, height: w.height - hh },
      { col: w.col + hw, row: w.row + hh, width: w.width - hw, height: w.height - hh },
    ].filter((q) => q.width > 0 && q.height > 0);
    for (const q of parts) {
      const sub = await resampleWindow(scene, target, q, bandNames, method, toSrc, signal);
      for (let y = 0; y < q.height; y++) {
        const d = (q.row - w.row + y) * w.width + (q.col - w.col);
        valid.set(sub.valid.subarray(y * q.width, (y + 1) * q.width), d);
        for (let b = 0; b < nb; b++) data[b].set(sub.data[b].subarray(y * q.width, (y + 1) * q.width), d);
      }
    }
    return { window: w, bandNames: [...bandNames], data, valid };
  }
  const sw: Window = { col: c0, row: r0, width: c1 - c0, height: r1 - r0 };
  const s = await readWindow(scene, sw, bandNames, signal);
  const SW = sw.width;
  const SH = sw.height;
  const sv = s.valid;
  const sd = s.data;
  for (let p = 0; p < n; p++) {
    const up = u[p];
    const vp = v[p];
    if (!(Number.isFinite(up) && Number.isFinite(vp))) continue;
    const ci = Math.floor(up) - c0;
    const ri = Math.floor(vp) - r0;
    if (ci < 0 || ri < 0 || ci >= SW || ri >= SH) continue;
    const k = ri * SW + ci;
    if (!sv[k]) continue;
    if (method === 'nearest') {
      valid[p] = 1;
      for (let b = 0; b < nb; b++) data[b][p] = sd[b][k];
      continue;
    }
    const x = up - 0.5 - c0;
    const y = vp - 0.5 - r0;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    let wsum = 0;
    const ws = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy];
    const ks = [-1, -1, -1, -1];
    for (let q = 0; q < 4; q++) {
      const xx = x0 + (q & 1);
      const yy = y0 + (q >> 1);
      if (xx < 0 || yy < 0 || xx >= SW || yy >= SH) continue;
      const kk = yy * SW + xx;
      if (!sv[kk] || ws[q] === 0) continue;
      ks[q] = kk;
      wsum += ws[q];
    }
    if (wsum <= 0) {
      valid[p] = 1;
      for (let b = 0; b < nb; b++) data[b][p] = sd[b][k];
      continue;
    }
    valid[p] = 1;
    for (let b = 0; b < nb; b++) {
      const a = sd[b];
      let acc = 0;
      for (let q = 0; q < 4; q++) if (ks[q] >= 0) acc += a[ks[q]] * ws[q];
      data[b][p] = acc / wsum;
    }
  }
  return { window: w, bandNames: [...bandNames], data, valid };
}

/** Densified boundary of a grid (pixel corners), in its CRS. */
function boundary(g: Grid, per = 16): [number, number][] {
  const pts: [number, number][] = [];
  for (let i = 0; i <= per; i++) {
    const f = i / per;
    pts.push(pixelToMap(g.transform, f * g.width, 0));
    pts.push(pixelToMap(g.transform, f * g.width, g.height));
    pts.push(pixelToMap(g.transform, 0, f * g.height));
    pts.push(pixelToMap(g.transform, g.width, f * g.height));
  }
  return pts;
}

function boxOf(pts: [number, number][]): [number, number, number, number] | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of pts) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : null;
}

const intersects = (a: [number, number, number, number] | null, b: [number, number, number, number] | null) =>
  !!a && !!b && Math.min(a[2], b[2]) > Math.max(a[0], b[0]) && Math.min(a[3], b[3]) > Math.max(a[1], b[1]);

/** Whether `b`'s footprint, transformed into `a`'s CRS, intersects `a`'s box. */
function overlapInto(a: Grid, b: Grid): boolean {
  const t = transformBetween(b.crs, a.crs, 'overlap test');
  const pts = boundary(b).map(([x, y]): [number, number] => {
    try {
      return t(x, y);
    } catch {
      return [NaN, NaN];
    }
  });
  return intersects(boxOf(boundary(a)), boxOf(pts));
}

/**
 * Whether two grids cover a common area (bounding boxes, with the boundary of each densified
 * and reprojected into the other's CRS; true if either direction overlaps).
 * @throws ImageryError UNSUPPORTED_CRS when a CRS cannot be reprojected, NO_GEOREFERENCE when
 *   exactly one grid is not georeferenced
 */
export function gridsOverlap(a: Grid, b: Grid): boolean {
  if (crsEqual(a.crs, b.crs)) return intersects(boxOf(boundary(a)), boxOf(boundary(b)));
  return overlapInto(a, b) || overlapInto(b, a);
}

const fmtBox = (b: BBox): string => {
  const d = Math.abs(b.maxX - b.minX) < 720 && Math.abs(b.maxY - b.minY) < 360 ? 6 : 1;
  return `[${b.minX.toFixed(d)}, ${b.minY.toFixed(d)}, ${b.maxX.toFixed(d)}, ${b.maxY.toFixed(d)}] in ${b.crs.name}`;
};

/**
 * The error to throw when two scenes do not overlap; its message names both files and both
 * bounding boxes.
 * @throws never (returns the error)
 */
export function noOverlapError(a: Pick<SceneInfo, 'uri' | 'grid'>, b: Pick<SceneInfo, 'uri' | 'grid'>): ImageryError {
  const ba = gridBBox(a.grid);
  const bb = gridBBox(b.grid);
  return new ImageryError('NO_OVERLAP', `${a.uri} (bbox ${fmtBox(ba)}) and ${b.uri} (bbox ${fmtBox(bb)}) do not overlap`, {
    file: a.uri,
    other: b.uri,
    bboxA: [ba.minX, ba.minY, ba.maxX, ba.maxY],
    bboxB: [bb.minX, bb.minY, bb.maxX, bb.maxY],
  });
}

/**
 * Throws `noOverlapError` unless the two scenes overlap.
 * @throws ImageryError NO_OVERLAP, UNSUPPORTED_CRS, NO_GEOREFERENCE
 */
export function assertScenesOverlap(a: Scene, b: Scene): void {
  if (!gridsOverlap(a.info.grid, b.info.grid)) throw noOverlapError(a.info, b.info);
}
