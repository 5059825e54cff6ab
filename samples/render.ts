/**
 * Streaming renderer of the sample county: tile by tile, each tile rendered at 2× supersampling
 * (so every boundary yields naturally mixed pixels) and averaged 2×2, then the image-space effects
 * of the date (radiometric difference, clouds and shadows, no-data wedge, misregistration) and
 * sensor noise are applied and the tile goes straight to the GeoTIFF writer. Memory is bounded by
 * the layout plus a few tile buffers; nothing scene-sized is ever allocated.
 *
 * Determinism: every random value is a hash of a global position (ground subpixel for textures,
 * image pixel for sensor noise) with a feature or scene seed, and rasterisation is the pixel-centre
 * rule, so the pixels do not depend on the tile size or order.
 *
 * Program parameters (Feature.p0…p5, mat0/mat1), by program:
 * - crop: mat0/mat1 crop state (CS) before/after; p0 ripening progress; p1 vegetable bed period (m); p2 straw windrow period (m)
 * - forest: p0 crown spacing, p1 crown radius (m). orchard: p0 row spacing (t), p1 tree spacing (s), p2 crown radius, p3 1 = grass between rows
 * - greenhouse: p1 row period, p2 film width, p3 run length (m); mat0 film (0 new, 1 aged, 2 black shade net)
 * - water: mat0 0 clear, 1 turbid, 2 algal, 3 muddy. house: mat0 roof (0 grey tile, 1 red tile, 2 white, 3 blue steel), p0 ridge t, p1 1 = pitched
 * - yard: mat0 0 new concrete, 1 aged concrete, 2 soil/garden, 3 gravel. newRoad: mat0 0 concrete, 1 asphalt; p0 centre t, p1 half width
 * - soil: mat0 0 piled subsoil, 1 dug moist. treeRow: p0 spacing, p1 crown radius, p2 sides (1 low, 2 high, 3 both)
 */
import Flatbush from 'flatbush';
import { LandCover, type Crs, type GeoTransform, type Window } from '../pipeline/types.js';
import { burnPolygon, type PixelPolygon } from '../pipeline/geo/rasterize.js';
import { createGeoTiffWriter } from '../pipeline/imagery/geotiff-writer.js';
import { P, CS, type Feature, type Layout, type LineSpec } from './layout.js';
import { blobRadius } from './geom.js';
import { fbm2, fmix32, gauss, hash2, hash3, unit, vnoise } from './rng.js';
import * as S from './spectra.js';

/** Supersampling factor per axis. */
export const SUPERSAMPLE = 2;

type Spec = ArrayLike<number>;
const o = new Float64Array(4); // shader output (module scratch: the renderer is synchronous per tile)
const tmp = new Float64Array(4);
/** True land-cover class of the shader output (module scratch like `o`), for the truth rasters. */
let cls: number = LandCover.nodata;

const setS = (s: Spec, k = 1) => {
  cls = classOf(s);
  o[0] = s[0] * k;
  o[1] = s[1] * k;
  o[2] = s[2] * k;
  o[3] = s[3] * k;
};
const mixS = (a: Spec, b: Spec, w: number) => {
  if (w < 0) w = 0;
  else if (w > 1) w = 1;
  // A mixture is labelled with its majority material (area fraction > 0.5).
  cls = classOf(w > 0.5 ? b : a);
  const v = 1 - w;
  o[0] = a[0] * v + b[0] * w;
  o[1] = a[1] * v + b[1] * w;
  o[2] = a[2] * v + b[2] * w;
  o[3] = a[3] * v + b[3] * w;
};
const scaleO = (k: number) => {
  o[0] *= k;
  o[1] *= k;
  o[2] *= k;
  o[3] *= k;
};
const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

const WATERS: Spec[] = [S.WATER_CLEAR, S.WATER_TURBID, S.WATER_ALGAL, S.WATER_MUDDY];
const ROOFS: Spec[] = [S.ROOF_GREY_TILE, S.ROOF_RED_TILE, S.ROOF_WHITE, S.ROOF_BLUE_STEEL];
const FILMS: Spec[] = [S.FILM_NEW, S.FILM_AGED, S.SHADE_NET];
const GRASS_SOIL = mixed(S.GRASS, S.SOIL_DRY, 0.3);
const GARDEN = mixed(S.SOIL_MOIST, S.VEG_A, 0.6);
const UNDERSTORY = mixed(S.GRASS, S.SOIL_MOIST, 0.5);
const GRAVEL = mixed(S.SOIL_DRY, S.CONCRETE_NEW, 0.35);
const YARD_SOIL = mixed(S.SOIL_DRY, S.CONCRETE_AGED, 0.5);
function mixed(a: Spec, b: Spec, w: number): number[] {
  return [0, 1, 2, 3].map((i) => a[i] * (1 - w) + b[i] * w);
}

/**
 * Class of every spectrum the shaders use, by identity: the materials of spectra.ts through
 * {@link S.MATERIAL_CLASS}, plus the fixed mixtures above by their majority material, except
 * GRAVEL, which is labelled built because a gravelled yard is hardened ground (硬化) even though
 * soil is most of its spectrum.
 */
const CLASS_BY_SPEC = new Map<Spec, number>([
  ...Object.entries(S.MATERIALS).map(([name, spec]) => [spec, S.MATERIAL_CLASS[name as S.MaterialName]] as [Spec, number]),
  [GRASS_SOIL, LandCover.herbaceous],
  [GARDEN, LandCover.herbaceous],
  [UNDERSTORY, LandCover.herbaceous],
  [GRAVEL, LandCover.built],
  [YARD_SOIL, LandCover.bare],
]);
function classOf(s: Spec): number {
  return CLASS_BY_SPEC.get(s) ?? LandCover.nodata;
}

/** Per-date sun geometry in both frames. */
interface SunCtx {
  ux: number;
  uy: number;
  sx: number;
  sy: number;
}

/** Canopy of randomly placed crowns: writes o and returns true inside a crown, false in a gap. */
function canopy(u: number, v: number, spacing: number, radius: number, seed: number, sun: SunCtx): boolean {
  const gx = Math.floor(u / spacing);
  const gy = Math.floor(v / spacing);
  let best = -1;
  let bx = 0;
  let by = 0;
  let br = 1;
  for (let dy = -1; dy <= 1; dy++)
    for (let dx = -1; dx <= 1; dx++) {
      const h = hash3(gx + dx, gy + dy, seed);
      const cx = (gx + dx + 0.15 + 0.7 * unit(h)) * spacing;
      const h2 = fmix32(h ^ 0x68e31da4);
      const cy = (gy + dy + 0.15 + 0.7 * unit(h2)) * spacing;
      const r = radius * (0.75 + 0.5 * unit(fmix32(h2 ^ 0x1b56c4e9)));
      const ex = u - cx;
      const ey = v - cy;
      const d2 = ex * ex + ey * ey;
      if (d2 < r * r) {
        const score = 1 - Math.sqrt(d2) / r;
        if (score > best) {
          best = score;
          bx = ex;
          by = ey;
          br = r;
        }
      }
    }
  if (best < 0) return false;
  // Sun-facing side of the crown lit, far side self-shaded.
  const lit = 0.5 + 0.5 * ((bx * sun.ux + by * sun.uy) / br);
  mixS(S.CANOPY_SHADED, S.CANOPY_SUNLIT, 0.3 + 0.7 * lit);
  return true;
}

const isRoadLike = (l: LineSpec) => l.kind === 'road' || l.kind === 'mainroad';

/** Linear features: cross = distance from the centre line, along = position along it. */
function shadeLine(l: LineSpec, s: number, t: number): void {
  const cross = (l.axis === 0 ? s : t) - l.centre;
  const along = l.axis === 0 ? t : s;
  const ax = Math.abs(cross);
  const seed = l.seed;
  switch (l.kind) {
    case 'road':
      if (ax < l.core) {
        if (l.variant === 0) setS(S.CONCRETE_AGED, 1 + 0.06 * vnoise(along / 5, cross / 2, seed));
        else mixS(S.SOIL_DRY, S.CONCRETE_AGED, 0.35 + 0.2 * vnoise(along / 4, cross, seed));
      } else mixS(S.GRASS, S.SOIL_DRY, 0.35 + 0.3 * vnoise(along / 4, cross / 2, seed));
      return;
    case 'mainroad':
      if (ax < l.core) {
        setS(S.ASPHALT_AGED, 1 + 0.04 * vnoise(along / 8, cross / 3, seed));
        // Dashed centre line and solid edge lines, as area fractions of a 1 m subpixel.
        if ((ax < 0.5 && ((along % 12) + 12) % 12 < 6) || ax > l.core - 0.5) {
          for (let b = 0; b < 4; b++) o[b] = o[b] * 0.8 + S.ROOF_WHITE[b] * 0.2;
        }
      } else if (ax < l.core + 1.5) setS(S.CONCRETE_AGED);
      else mixS(S.GRASS, S.SOIL_DRY, 0.3 + 0.3 * vnoise(along / 5, cross / 2, seed));
      return;
    case 'ditch': {
      const c = l.core * (1 + 0.3 * vnoise(along / 15, 0.5, seed));
      if (ax < c) {
        if (l.variant === 0) setS(S.WATER_ALGAL, 1 + 0.06 * vnoise(along / 9, 0, seed));
        else mixS(S.SOIL_MOIST, S.GRASS, 0.45 + 0.2 * vnoise(along / 6, 1, seed));
      } else mixS(S.GRASS, S.SOIL_MOIST, 0.25 + 0.25 * vnoise(along / 5, cross, seed));
      return;
    }
    case 'canal':
    case 'river': {
      const river = l.kind === 'river';
      const c = river
        ? l.core + 2.5 * Math.sin(along / 90 + (seed % 7)) + 1.5 * Math.sin(along / 37 + (seed % 5)) + 0.8 * vnoise(along / 10, 0, seed)
        : l.core + 0.8 * Math.sin(along / 40 + (seed % 7)) + 0.4 * vnoise(along / 8, 0, seed);
      if (ax < c) {
        mixS(S.WATER_TURBID, S.WATER_ALGAL, 0.3 + 0.3 * fbm2(along / 60, cross / 30, seed));
        // Emergent reeds along the waterline.
        if (ax > c - 1.2) for (let b = 0; b < 4; b++) o[b] = o[b] * 0.65 + S.GRASS[b] * 0.35;
      } else mixS(S.GRASS, S.SOIL_DRY, 0.25 + 0.3 * vnoise(along / 5, cross / 2, seed));
      return;
    }
  }
}

/** Shades one feature at ground position (u, v) / rotated (s, t). Returns false where an overlay is transparent. */
function shade(f: Feature, u: number, v: number, s: number, t: number, date: number, sun: SunCtx): boolean {
  const seed = f.seed;
  switch (f.prog) {
    case P.crop: {
      const st = date ? f.mat1 : f.mat0;
      const n1 = fbm2(u / 22, v / 22, seed);
      switch (st) {
        case CS.wheatGreen:
          mixS(S.CROP_GREEN, S.SOIL_MOIST, 0.12 - 0.1 * n1);
          break;
        case CS.wheatRipening:
          mixS(S.CROP_GREEN, S.CROP_RIPENING, f.p0 + 0.2 * n1);
          break;
        case CS.rapeFlower:
          mixS(S.CROP_GREEN, S.RAPE_FLOWER, 0.72 + 0.2 * n1);
          break;
        case CS.rapePod:
          mixS(S.RAPE_POD, S.CROP_RIPENING, 0.2 + 0.15 * n1);
          break;
        case CS.vegA:
          mixS(S.SOIL_MOIST, S.VEG_A, 0.62 + 0.25 * Math.sin((2 * Math.PI * t) / f.p1) + 0.1 * n1);
          break;
        case CS.vegB:
          mixS(S.SOIL_MOIST, S.VEG_B, 0.82 + 0.08 * Math.sin((2 * Math.PI * t) / f.p1) + 0.1 * n1);
          break;
        case CS.emerging:
          mixS(S.SOIL_DRY, S.CROP_GREEN, 0.3 + 0.15 * n1);
          break;
        case CS.ploughed:
          mixS(S.SOIL_MOIST, S.SOIL_DRY, 0.2 + 0.2 * n1);
          scaleO(1 + 0.07 * vnoise(u / 2.5, v / 2.5, seed ^ 0x51));
          break;
        case CS.stubble:
          mixS(S.SOIL_DRY, S.STUBBLE, 0.6 + 0.3 * Math.sin((2 * Math.PI * t) / f.p2) + 0.15 * n1);
          break;
        case CS.fallow:
          mixS(S.SOIL_DRY, S.SOIL_MOIST, 0.35 + 0.25 * n1);
          break;
        default: // weedy, idle
          mixS(S.SOIL_DRY, S.GRASS, 0.35 + 0.35 * fbm2(u / 6, v / 6, seed ^ 0x77));
      }
      return true;
    }
    case P.road:
    case P.mainroad:
    case P.ditch:
    case P.canal:
    case P.river: {
      const l = f.line!;
      const l2 = f.line2;
      if (l2) {
        // Crossing: pavement of either road wins; otherwise water of a crossing watercourse shows.
        const c1 = Math.abs((l.axis === 0 ? s : t) - l.centre) < l.core;
        const c2 = Math.abs((l2.axis === 0 ? s : t) - l2.centre) < l2.core;
        if (isRoadLike(l)) {
          if (c1) shadeLine(l, s, t);
          else if (c2 || !isRoadLike(l2)) shadeLine(l2, s, t);
          else shadeLine(l, s, t);
        } else shadeLine(c1 || !c2 ? l : l2, s, t);
      } else shadeLine(l, s, t);
      return true;
    }
    case P.village: {
      const n = fbm2(u / 7, v / 7, seed);
      if (n < -0.3) {
        if (!canopy(u, v, 5, 2.6, seed, sun)) setS(UNDERSTORY, 0.5);
        cls = LandCover.tree; // a clump of trees, gaps and all
      } else if (n < 0.1) setS(S.CONCRETE_AGED, 0.9 + 0.2 * vnoise(u / 3, v / 3, seed));
      else if (n < 0.42) setS(GARDEN, 1 + 0.1 * vnoise(u / 2, v / 2, seed));
      else setS(S.SOIL_DRY);
      return true;
    }
    case P.industrial: {
      const n = fbm2(u / 30, v / 30, seed);
      if (vnoise(u / 14, v / 14, seed ^ 9) > 0.62) setS(S.ASPHALT_AGED);
      else if (n < -0.6) mixS(S.GRASS, S.SOIL_DRY, 0.3);
      else mixS(S.CONCRETE_NEW, S.CONCRETE_AGED, 0.5 + 0.5 * n);
      return true;
    }
    case P.forest:
      if (!canopy(u, v, f.p0, f.p1, seed, sun)) setS(UNDERSTORY, 0.45 + 0.2 * vnoise(u / 3, v / 3, seed));
      cls = LandCover.tree; // shaded gaps inside a stand are part of the closed canopy
      return true;
    case P.orchard: {
      const ti = Math.round(t / f.p0);
      const si = Math.round(s / f.p1);
      const h = hash3(si, ti, seed);
      const r = f.p2 * (0.8 + 0.4 * unit(h));
      const ds = s - si * f.p1 - (unit(fmix32(h)) - 0.5) * 0.6;
      const dt = t - ti * f.p0;
      const missing = unit(fmix32(h ^ 0x3c)) < 0.05;
      if (!missing && ds * ds + dt * dt < r * r) {
        const lit = 0.5 + 0.5 * ((ds * sun.sx + dt * sun.sy) / r);
        mixS(S.CANOPY_SHADED, S.CANOPY_SUNLIT, 0.3 + 0.7 * lit);
      } else {
        if (f.p3) mixS(S.SOIL_DRY, S.GRASS, 0.55 + 0.2 * vnoise(u / 3, v / 3, seed));
        else mixS(S.SOIL_DRY, S.GRASS, 0.15 + 0.15 * vnoise(u / 3, v / 3, seed));
        // Crown shadow on the side away from the sun.
        const es = ds + sun.sx * r * 0.9;
        const et = dt + sun.sy * r * 0.9;
        if (!missing && es * es + et * et < r * r) scaleO(0.45);
      }
      cls = LandCover.orchard; // open woody cover: crowns and the inter-row ground
      return true;
    }
    case P.dike:
      mixS(S.GRASS, S.SOIL_DRY, 0.4 + 0.3 * vnoise(u / 4, v / 4, seed));
      return true;
    case P.greenhouse: {
      const cross = (((t - f.p0) % f.p1) + f.p1) % f.p1;
      const a = ((s % (f.p3 + 3)) + f.p3 + 3) % (f.p3 + 3);
      if (cross < f.p2 && a < f.p3) {
        // Tunnel profile: the sun-facing flank is brighter.
        const x = cross / f.p2;
        setS(FILMS[f.mat0], 0.92 + 0.1 * Math.sin(Math.PI * x) + 0.06 * (x - 0.5) * Math.sign(sun.sy));
      } else setS(GRASS_SOIL);
      return true;
    }
    case P.water:
      setS(WATERS[f.mat0], 1 + 0.06 * fbm2(u / 25, v / 25, seed));
      return true;
    case P.house: {
      let k = 1 + 0.04 * vnoise(u / 3, v / 3, seed);
      if (f.p1) k *= t > f.p0 ? 1.06 : 0.78; // pitched: south slope lit, north slope darker
      setS(ROOFS[f.mat0], k);
      return true;
    }
    case P.yard: {
      const k = 1 + 0.05 * vnoise(u / 3, v / 3, seed);
      setS(f.mat0 === 0 ? S.CONCRETE_NEW : f.mat0 === 1 ? S.CONCRETE_AGED : f.mat0 === 2 ? YARD_SOIL : GRAVEL, k);
      return true;
    }
    case P.treeRow: {
      const l = f.line!;
      const cross = (l.axis === 0 ? s : t) - l.centre;
      const along = l.axis === 0 ? t : s;
      const side = cross < 0 ? 1 : 2;
      if (!(f.p2 & side)) return false;
      const dc = Math.abs(cross) - (l.hw - 0.3);
      const k = Math.round(along / f.p0);
      const h = hash3(k, side, seed);
      if (unit(h) < 0.08) return false;
      const da = along - (k * f.p0 + (unit(fmix32(h)) - 0.5) * 1.2);
      const r = f.p1 * (0.8 + 0.35 * unit(fmix32(h ^ 0x9)));
      if (dc * dc + da * da >= r * r) return false;
      const [ea, ec] = [da, dc * (side === 1 ? -1 : 1)];
      const lit = 0.5 + 0.5 * ((l.axis === 0 ? ec * sun.sx + ea * sun.sy : ea * sun.sx + ec * sun.sy) / r);
      mixS(S.CANOPY_SHADED, S.CANOPY_SUNLIT, 0.3 + 0.7 * lit);
      return true;
    }
    case P.newRoad: {
      const ax = Math.abs(t - f.p0);
      if (ax < f.p1 - 0.8) setS(f.mat0 ? S.ASPHALT_NEW : S.CONCRETE_NEW, 1 + 0.03 * vnoise(s / 6, t, seed));
      else mixS(S.SUBSOIL, S.SOIL_DRY, 0.5);
      return true;
    }
    case P.soil: {
      const n = fbm2(u / 9, v / 9, seed);
      if (f.mat0 === 0) mixS(S.SUBSOIL, S.SOIL_DRY, 0.25 + 0.3 * n);
      else mixS(S.SUBSOIL, S.SOIL_MOIST, 0.5 + 0.3 * n);
      scaleO(1 + 0.1 * vnoise(u / 3, v / 3, seed ^ 0x31));
      cls = LandCover.disturbed; // dug or piled: moved soil, moist or not
      return true;
    }
    case P.cleared: {
      const n = fbm2(u / 6, v / 6, seed);
      if (n > 0.55) mixS(S.GRASS, S.SOIL_DRY, 0.4);
      else mixS(S.SOIL_DRY, S.STUBBLE, 0.4 + 0.3 * n);
      return true;
    }
  }
  setS(S.SOIL_DRY);
  return true;
}

/** What one image needs besides the layout. */
export interface ImageSpec {
  /** 0 = before, 1 = after. */
  date: 0 | 1;
  path: string;
  transform: GeoTransform;
  crs: Crs;
  tileSize: number;
  seed: number;
  metadata: Record<string, string>;
  /** Where to write the true land cover of this date (uint8 LandCover codes, 0 = no data); none when absent. */
  truthPath?: string;
}

/** Spatial indexes and pixel-space polygons of a layout, shared by both dates. */
export interface RenderIndex {
  base: Flatbush;
  overlays: Flatbush;
  basePx: PixelPolygon[];
  overlayPx: PixelPolygon[];
}

/** Builds the spatial indexes (metres) and the subpixel polygons once per layout. */
export function buildRenderIndex(layout: Layout): RenderIndex {
  const k = SUPERSAMPLE / layout.pixelSize;
  const toPx = (f: Feature): PixelPolygon => f.poly.map((r) => r.map(([x, y]) => [x * k, y * k] as [number, number]));
  const idx = (fs: Feature[]) => {
    const fb = new Flatbush(Math.max(1, fs.length));
    for (const f of fs) fb.add(f.bbox[0], f.bbox[1], f.bbox[2], f.bbox[3]);
    if (!fs.length) fb.add(-1e9, -1e9, -1e9, -1e9);
    fb.finish();
    return fb;
  };
  return { base: idx(layout.base), overlays: idx(layout.overlays), basePx: layout.base.map(toPx), overlayPx: layout.overlays.map(toPx) };
}

/**
 * Renders one date to a tiled GeoTIFF (4 × uint16, reflectance × 10000, NoData 0), tile by tile
 * with at most two tiles being compressed while the next renders.
 */
export async function renderImage(layout: Layout, index: RenderIndex, spec: ImageSpec): Promise<void> {
  const T = spec.tileSize;
  const writer = await createGeoTiffWriter(spec.path, {
    width: layout.sizePx,
    height: layout.sizePx,
    bandCount: 4,
    dtype: 'uint16',
    tileSize: T,
    transform: spec.transform,
    crs: spec.crs,
    nodata: 0,
    bandDescriptions: [...S.BANDS],
    metadata: spec.metadata,
  });
  const truthWriter = spec.truthPath
    ? await createGeoTiffWriter(spec.truthPath, {
        width: layout.sizePx,
        height: layout.sizePx,
        bandCount: 1,
        dtype: 'uint8',
        tileSize: T,
        transform: spec.transform,
        crs: spec.crs,
        nodata: 0,
        bandDescriptions: ['true land cover'],
        metadata: { ...spec.metadata, CLASSES: Object.entries(LandCover).map(([n, c]) => `${c}=${n}`).join(',') },
      })
    : null;
  const r = new TileRenderer(layout, index, { ...spec, truth: truthWriter !== null });
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const q = p.finally(() => inflight.delete(q));
    inflight.add(q);
  };
  try {
    for (let tr = 0; tr < writer.tilesDown; tr++)
      for (let tc = 0; tc < writer.tilesAcross; tc++) {
        track(writer.writeTile(tc, tr, r.render(tc, tr)));
        // The truth buffer is reused by the next tile: hand the writer a copy.
        if (truthWriter) track(truthWriter.writeTile(tc, tr, [r.truthTile().slice()]));
        while (inflight.size >= 2) await Promise.race(inflight);
      }
    await Promise.all(inflight);
    await writer.close();
    await truthWriter?.close();
  } catch (e) {
    await Promise.allSettled(inflight);
    await writer.abort();
    await truthWriter?.abort();
    throw e;
  }
}

/** Renders tiles of one date; holds the per-tile scratch buffers. */
export class TileRenderer {
  private readonly T: number;
  private readonly N: number;
  private readonly baseIds: Int32Array;
  private readonly ovIds: Int32Array;
  private readonly acc: Float64Array;
  private readonly nodata: Uint8Array;
  private readonly sun: SunCtx;
  private readonly hits: number[] = [];
  /** Class per subpixel and per output pixel, only when truth is asked for. */
  private readonly subCls: Uint8Array | null;
  private readonly truth: Uint8Array | null;

  constructor(
    private readonly layout: Layout,
    private readonly index: RenderIndex,
    private readonly spec: Pick<ImageSpec, 'date' | 'tileSize' | 'seed'> & { truth?: boolean },
  ) {
    this.T = spec.tileSize;
    this.N = this.T * SUPERSAMPLE;
    this.subCls = spec.truth ? new Uint8Array(this.N * this.N) : null;
    this.truth = spec.truth ? new Uint8Array(this.T * this.T) : null;
    this.baseIds = new Int32Array(this.N * this.N);
    this.ovIds = new Int32Array(this.N * this.N);
    this.acc = new Float64Array(4 * this.T * this.T);
    this.nodata = new Uint8Array(this.T * this.T);
    const d = layout.sun[spec.date].dir;
    const co = Math.cos(layout.theta);
    const sn = Math.sin(layout.theta);
    this.sun = { ux: d[0], uy: d[1], sx: d[0] * co + d[1] * sn, sy: -d[0] * sn + d[1] * co };
  }

  /** Renders tile (tc, tr): four `tileSize²` Uint16Arrays (blue, green, red, nir). */
  render(tc: number, tr: number): Uint16Array[] {
    const { layout, index, T, N, baseIds, ovIds, acc, subCls } = this;
    const date = this.spec.date;
    const ss = SUPERSAMPLE;
    const px = layout.pixelSize;
    const m = px / ss; // metres per subpixel
    const shiftX = date ? layout.shift.dx : 0;
    const shiftY = date ? layout.shift.dy : 0;
    // Ground window (subpixels) seen by this image tile: after-pixel (c, r) shows ground (c − dx, r − dy).
    const sw: Window = { col: (tc * T - shiftX) * ss, row: (tr * T - shiftY) * ss, width: N, height: N };
    const minU = sw.col * m;
    const minV = sw.row * m;
    const maxU = (sw.col + N) * m;
    const maxV = (sw.row + N) * m;

    baseIds.fill(-1);
    ovIds.fill(-1);
    for (const i of index.base.search(minU, minV, maxU, maxV)) burnPolygon(index.basePx[i], i, sw, baseIds);
    const hits = this.hits;
    hits.length = 0;
    const bit = 1 << date;
    for (const i of index.overlays.search(minU, minV, maxU, maxV)) if (layout.overlays[i].dates & bit) hits.push(i);
    hits.sort((a, b) => layout.overlays[a].z - layout.overlays[b].z || a - b);
    for (const i of hits) burnPolygon(index.overlayPx[i], i, sw, ovIds);

    // Outside the scene (only the misregistration margin): repeat the nearest row/column.
    const full = layout.sizePx * ss;
    const r0 = Math.max(0, -sw.row);
    const r1 = Math.min(N, full - sw.row);
    const c0 = Math.max(0, -sw.col);
    const c1 = Math.min(N, full - sw.col);
    if (r0 > 0 || r1 < N || c0 > 0 || c1 < N) this.extendEdges(r0, r1, c0, c1);

    acc.fill(0);
    const TT = T * T;
    const co = Math.cos(layout.theta);
    const sn = Math.sin(layout.theta);
    const sun = this.sun;
    const base = layout.base;
    const ovs = layout.overlays;
    for (let y = 0; y < N; y++) {
      const v = (sw.row + y + 0.5) * m;
      const gy = sw.row + y;
      const orow = (y >> 1) * T;
      for (let x = 0; x < N; x++) {
        const k = y * N + x;
        const u = (sw.col + x + 0.5) * m;
        const s = u * co + v * sn;
        const t = -u * sn + v * co;
        const oi = ovIds[k];
        let f: Feature | null = null;
        cls = LandCover.nodata;
        if (oi >= 0) {
          const ov = ovs[oi];
          if (ov.prog === P.shadow) {
            const bi = baseIds[k];
            f = bi >= 0 ? base[bi] : null;
            if (f) shade(f, u, v, s, t, date, sun);
            else o.fill(0.1);
            // Building shadow: diffuse light only, on whatever ground is underneath (its gain applies below).
            for (let b = 0; b < 4; b++) o[b] = o[b] * 0.3 + S.SKYLIGHT[b];
            // At 30 % light the ground's own class is not what the pixel shows: truth says shadow,
            // the illumination class the land-cover scheme has for exactly this.
            cls = LandCover.shadow;
          } else if (shade(ov, u, v, s, t, date, sun)) f = ov;
          else {
            const bi = baseIds[k];
            f = bi >= 0 ? base[bi] : null;
            if (f) shade(f, u, v, s, t, date, sun);
            else o.fill(0.1);
          }
        } else {
          const bi = baseIds[k];
          f = bi >= 0 ? base[bi] : null;
          if (f) shade(f, u, v, s, t, date, sun);
          else o.fill(0.1);
        }
        if (subCls) subCls[k] = cls;
        // Per-feature spectral gain and ground texture, both fixed to the ground (same in both dates).
        const g = f ? f.gain : ONE;
        const tex = 1 + 0.025 * gauss(hash2(sw.col + x, gy, f ? f.seed : 7));
        const oi2 = orow + (x >> 1);
        acc[oi2] += o[0] * g[0] * tex;
        acc[TT + oi2] += o[1] * g[1] * tex;
        acc[2 * TT + oi2] += o[2] * g[2] * tex;
        acc[3 * TT + oi2] += o[3] * g[3] * tex;
      }
    }
    return this.finish(tc, tr);
  }

  /**
   * True land cover of the tile last rendered (needs `truth: true` in the spec): per pixel the
   * majority class of its 2×2 subpixels (a 2–2 tie goes to the class met first in row order),
   * cloud or shadow where the cloud's (shadow's) opacity is ≥ 0.5, i.e. it covers more of the
   * pixel's view than the ground does, and 0 in the no-data wedge.
   */
  truthTile(): Uint8Array {
    if (!this.truth) throw new Error('TileRenderer: truth was not requested');
    return this.truth;
  }

  /** Majority class of each pixel's 2×2 subpixels into `truth`. */
  private majorityTruth(): void {
    const { T, N } = this;
    const sub = this.subCls!;
    const truth = this.truth!;
    const q = [0, 0, 0, 0];
    for (let r = 0; r < T; r++)
      for (let c = 0; c < T; c++) {
        const k = 2 * r * N + 2 * c;
        q[0] = sub[k];
        q[1] = sub[k + 1];
        q[2] = sub[k + N];
        q[3] = sub[k + N + 1];
        let best = q[0];
        let bestN = 0;
        for (let a = 0; a < 4; a++) {
          let n = 0;
          for (let b = 0; b < 4; b++) if (q[b] === q[a]) n++;
          if (n > bestN) {
            bestN = n;
            best = q[a];
          }
        }
        truth[r * T + c] = best;
      }
  }

  private extendEdges(r0: number, r1: number, c0: number, c1: number): void {
    const { N, baseIds, ovIds } = this;
    for (const ids of [baseIds, ovIds]) {
      for (let y = r0; y < r1; y++) {
        for (let x = 0; x < c0; x++) ids[y * N + x] = ids[y * N + c0];
        for (let x = c1; x < N; x++) ids[y * N + x] = ids[y * N + c1 - 1];
      }
      for (let y = 0; y < r0; y++) ids.copyWithin(y * N, r0 * N, r0 * N + N);
      for (let y = r1; y < N; y++) ids.copyWithin(y * N, (r1 - 1) * N, (r1 - 1) * N + N);
    }
  }

  /** Averages subpixels, applies the date's image-space effects and noise, converts to uint16. */
  private finish(tc: number, tr: number): Uint16Array[] {
    const { layout, T, acc } = this;
    const date = this.spec.date;
    const px = layout.pixelSize;
    const TT = T * T;
    const win: Window = { col: tc * T, row: tr * T, width: T, height: T };
    const nodata = this.nodata;
    nodata.fill(0);
    if (date) burnPolygon([layout.wedge.map(([x, y]) => [x / px, y / px] as [number, number])], 1, win, nodata);
    const out = [0, 1, 2, 3].map(() => new Uint16Array(TT));
    const salt = (this.spec.seed ^ (date ? 0x5f3759df : 0x2545f491)) | 0;
    const inv = 1 / (SUPERSAMPLE * SUPERSAMPLE);
    const x0m = win.col * px;
    const y0m = win.row * px;
    const x1m = (win.col + T) * px;
    const y1m = (win.row + T) * px;
    const clouds = date ? layout.clouds.filter((c) => near(c, 0, 0, x0m, y0m, x1m, y1m) || near(c, c.shadow[0], c.shadow[1], x0m, y0m, x1m, y1m)) : [];
    const truth = this.truth;
    if (truth) this.majorityTruth();
    for (let r = 0; r < T; r++) {
      const gr = win.row + r;
      const ym = (gr + 0.5) * px;
      for (let c = 0; c < T; c++) {
        const i = r * T + c;
        const gc = win.col + c;
        if (nodata[i]) {
          if (truth) truth[i] = LandCover.nodata;
          continue; // stays 0 in every band
        }
        for (let b = 0; b < 4; b++) tmp[b] = acc[b * TT + i] * inv;
        if (date) {
          const xm = (gc + 0.5) * px;
          let cloudA = 0;
          let cloudK = 1;
          let shadowA = 0;
          for (const cl of clouds) {
            const sa = opacity(cl, xm - cl.shadow[0], ym - cl.shadow[1]);
            if (sa > shadowA) shadowA = sa;
            if (sa > 0) for (let b = 0; b < 4; b++) tmp[b] = tmp[b] * (1 - sa * (1 - S.SHADOW_FACTOR)) + sa * S.SKYLIGHT[b];
            const a = opacity(cl, xm, ym);
            if (a > cloudA) {
              cloudA = a;
              cloudK = 0.85 + 0.2 * fbm2(xm / 60, ym / 60, cl.seed);
            }
          }
          if (cloudA > 0) for (let b = 0; b < 4; b++) tmp[b] = tmp[b] * (1 - cloudA) + cloudA * S.CLOUD[b] * cloudK;
          if (truth) {
            if (cloudA >= 0.5) truth[i] = LandCover.cloud;
            else if (shadowA >= 0.5) truth[i] = LandCover.shadow;
          }
          for (let b = 0; b < 4; b++) tmp[b] = tmp[b] * S.AFTER_GAIN[b] + S.AFTER_OFFSET[b];
        }
        const hp = hash3(gc, gr, salt);
        for (let b = 0; b < 4; b++) {
          const h = fmix32(hp ^ Math.imul(b + 1, 0x9e3779b1));
          const val = tmp[b] * (1 + S.NOISE_REL * gauss(h)) + S.NOISE_ABS[b] * gauss(fmix32(h ^ 0x2f6b3c1d));
          const q = Math.round(val * 10000);
          out[b][i] = q < 1 ? 1 : q > 65535 ? 65535 : q;
        }
      }
    }
    return out;
  }
}

const ONE: [number, number, number, number] = [1, 1, 1, 1];

function near(c: Layout['clouds'][number], dx: number, dy: number, x0: number, y0: number, x1: number, y1: number): boolean {
  const reach = cloudReach(c);
  const cx = c.blob.cx + dx;
  const cy = c.blob.cy + dy;
  return cx + reach > x0 && cx - reach < x1 && cy + reach > y0 && cy - reach < y1;
}

/** Farthest distance from a cloud's centre with non-zero opacity (largest blob radius, fuzzy edge, wisps). */
function cloudReach(c: Layout['clouds'][number]): number {
  let f = 1;
  for (const h of c.blob.harmonics) f += Math.abs(h[1]);
  return c.blob.R * f * (1 + c.edge) * 1.08;
}

/** Cloud opacity at image position (x, y) metres: full inside, ramping out over the fuzzy edge, wispy. */
export function opacity(c: Layout['clouds'][number], x: number, y: number): number {
  const dx = x - c.blob.cx;
  const dy = y - c.blob.cy;
  const reach = cloudReach(c);
  if (dx * dx + dy * dy > reach * reach) return 0;
  const rr = blobRadius(c.blob, Math.atan2(dy, dx));
  const q = (Math.sqrt(dx * dx + dy * dy) / rr) * (1 + 0.06 * fbm2(x / 25, y / 25, c.seed ^ 0x1234));
  const lo = 1 - c.edge;
  const hi = 1 + c.edge;
  if (q >= hi) return 0;
  if (q <= lo) return c.peak * (1 - 0.12 * clamp01(0.5 + 0.5 * fbm2(x / 40, y / 40, c.seed)));
  const w = (hi - q) / (hi - lo);
  return c.peak * w * w * (3 - 2 * w);
}
