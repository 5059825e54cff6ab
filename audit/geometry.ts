/**
 * Geometry audit of 补充耕地 projects (issue 8, item 3), as pure functions over parsed layers:
 * - overlaps between projects (the same land booked twice), with the overlap area;
 * - the area and share of each project parcel inside protected-zone layers (生态保护红线,
 *   水源保护区, 自然保护区 …);
 * - the area and share of each parcel on slopes over 25° from a DEM GeoTIFF (Horn's method, in
 *   the DEM's projected CRS).
 *
 * Geometry is clipped in a projected working CRS (the register's Gauss–Krüger CRS, or the 3°
 * Gauss–Krüger zone of the register's centre when the register is in longitude/latitude), with
 * coordinates taken relative to a local origin so zone-prefixed eastings lose no precision.
 * Every area (m²) is **ellipsoidal** on CGCS2000/GRS80 (the official convention), computed from
 * the clipped polygons with `ellipsoidalAreaInCrs`.
 */
import { readFile } from 'node:fs/promises';
import Flatbush from 'flatbush';
import polygonClipping, { type MultiPolygon } from 'polygon-clipping';
import { AppError, VectorError } from '../pipeline/errors.js';
import { ellipsoidalAreaInCrs, MU_PER_M2 } from '../pipeline/geo/area.js';
import { CGCS2000, crsFromEpsg, isGeographic, makeTransform, type PointTransform } from '../pipeline/geo/crs.js';
import { mapToPixel, pixelArea } from '../pipeline/geo/grid.js';
import { burnPolygon, type PixelPolygon } from '../pipeline/geo/rasterize.js';
import { cleanGeometry, geojsonCrs } from '../pipeline/baseline/vectors.js';
import { closeScene, openScene, readRawWindow } from '../pipeline/imagery/index.js';
import type { Crs, PolygonCoords, Window } from '../pipeline/types.js';

/** One feature of a polygon layer, in the layer's CRS. */
export interface AuditFeature {
  /** 0-based index of the feature in its file. */
  readonly index: number;
  /** The value of the id field (e.g. XMBH), or `#<index>` when it is missing. */
  readonly id: string;
  readonly properties: Readonly<Record<string, unknown>>;
  /** Cleaned polygons (outer ring + holes) in `crs` coordinates. */
  readonly polygons: readonly PolygonCoords[];
}

/** A parsed polygon layer (project register or protected zone). */
export interface PolygonLayer {
  readonly name: string;
  readonly source: string;
  readonly crs: Crs;
  readonly features: readonly AuditFeature[];
  /** Features skipped or repaired while parsing, with why. */
  readonly problems: readonly { feature: number; problem: string; action: 'repaired' | 'skipped' }[];
}

/** Options of {@link parsePolygonLayer}. */
export interface ParseLayerOptions {
  /** Property naming a feature (default `XMBH` for registers; zones fall back to `#<index>`). */
  readonly idField?: string;
}

/**
 * Parses a GeoJSON FeatureCollection of polygons (legacy `crs` member honoured, RFC 7946
 * longitude/latitude otherwise). Geometries are repaired as the baseline layers are; features that
 * cannot be repaired are skipped and listed in `problems`.
 * @throws VectorError when `doc` is not a FeatureCollection or its CRS is unsupported.
 */
export function parsePolygonLayer(name: string, doc: unknown, source: string, opts: ParseLayerOptions = {}): PolygonLayer {
  const d = doc as { type?: string; features?: unknown[]; crs?: { properties?: { name?: string } } } | null;
  if (d?.type !== 'FeatureCollection' || !Array.isArray(d.features))
    throw new VectorError('VECTOR_INVALID', `${name} layer: ${source} is not a GeoJSON FeatureCollection`, { file: source });
  const crs = geojsonCrs(d, source);
  const idField = opts.idField ?? 'XMBH';
  const features: AuditFeature[] = [];
  const problems: PolygonLayer['problems'][number][] = [];
  d.features.forEach((f, i) => {
    const feature = f as { geometry?: unknown; properties?: Record<string, unknown> | null } | null;
    const cleaned = cleanGeometry(feature?.geometry);
    if ('problem' in cleaned) {
      problems.push({ feature: i, problem: cleaned.problem, action: 'skipped' });
      return;
    }
    if (cleaned.repaired) problems.push({ feature: i, problem: cleaned.repaired, action: 'repaired' });
    const properties = feature?.properties ?? {};
    const raw = properties[idField];
    const id = raw === undefined || raw === null || raw === '' ? `#${i}` : String(raw);
    features.push({ index: i, id, properties, polygons: cleaned.polygons });
  });
  return { name, source, crs, features, problems };
}

/** Reads and parses a GeoJSON polygon layer file (see {@link parsePolygonLayer}). */
export async function loadPolygonLayer(name: string, file: string, opts: ParseLayerOptions = {}): Promise<PolygonLayer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new VectorError('FILE_NOT_FOUND', `${name} layer: cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new VectorError('VECTOR_INVALID', `${name} layer: ${file} is not valid JSON (${(e as Error).message})`, { file }, { cause: e });
  }
  return parsePolygonLayer(name, doc, file, opts);
}

// ---------------------------------------------------------------------------------------------
// Working CRS and local geometry

/**
 * The projected CRS the audit clips in: the layer's own CRS when projected, else the 3° CGCS2000
 * Gauss–Krüger zone (zone-prefixed, EPSG:4513–4533) of the centre of the layer's extent.
 */
export function workingCrs(layer: PolygonLayer): Crs {
  if (layer.crs.proj4 && !isGeographic(layer.crs)) return layer.crs;
  const toLonLat = makeTransform(layer.crs, CGCS2000);
  let [minX, maxX] = [Infinity, -Infinity];
  for (const f of layer.features)
    for (const p of f.polygons)
      for (const [x, y] of p[0]) {
        const [lon] = toLonLat(x, y);
        if (lon < minX) minX = lon;
        if (lon > maxX) maxX = lon;
      }
  if (!Number.isFinite(minX)) return crsFromEpsg(4527); // empty layer: any zone (nothing to measure)
  const zone = Math.round((minX + maxX) / 2 / 3);
  if (zone < 25 || zone > 45)
    throw new AppError('UNSUPPORTED_CRS', `${layer.name} layer (${layer.source}): longitude ${((minX + maxX) / 2).toFixed(3)}° is outside the CGCS2000 3° Gauss–Krüger zones 25–45`, {
      file: layer.source,
    });
  return crsFromEpsg(4513 + zone - 25);
}

/** A frame for measuring: working CRS, local origin, and the transform local → CGCS2000 degrees. */
interface Frame {
  readonly crs: Crs;
  readonly ox: number;
  readonly oy: number;
  readonly toLonLat: PointTransform;
}

function makeFrame(crs: Crs, layer: PolygonLayer): Frame {
  const first = layer.features[0]?.polygons[0]?.[0]?.[0];
  let [ox, oy] = [0, 0];
  if (first) {
    const [x, y] = makeTransform(layer.crs, crs)(first[0], first[1]);
    [ox, oy] = [Math.round(x), Math.round(y)];
  }
  const toLL = makeTransform(crs, CGCS2000);
  return { crs, ox, oy, toLonLat: (x, y) => toLL(x + ox, y + oy) };
}

/** A feature's geometry in the frame's local coordinates, with its bounding box. */
interface LocalFeature {
  readonly feature: AuditFeature;
  readonly geom: MultiPolygon;
  readonly bbox: readonly [number, number, number, number];
}

function localise(layer: PolygonLayer, frame: Frame): LocalFeature[] {
  const t = makeTransform(layer.crs, frame.crs);
  return layer.features.map((feature) => {
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    const geom = feature.polygons.map((poly) =>
      poly.map((ring) =>
        ring.map(([x, y]): [number, number] => {
          const [X, Y] = t(x, y);
          const p: [number, number] = [X - frame.ox, Y - frame.oy];
          if (p[0] < minX) minX = p[0];
          if (p[1] < minY) minY = p[1];
          if (p[0] > maxX) maxX = p[0];
          if (p[1] > maxY) maxY = p[1];
          return p;
        }),
      ),
    ) as MultiPolygon;
    return { feature, geom, bbox: [minX, minY, maxX, maxY] as const };
  });
}

function indexOf(features: readonly LocalFeature[]): Flatbush | null {
  if (features.length === 0) return null;
  const idx = new Flatbush(features.length);
  for (const f of features) idx.add(f.bbox[0], f.bbox[1], f.bbox[2], f.bbox[3]);
  idx.finish();
  return idx;
}

/** Ellipsoidal area (m², CGCS2000) of a local multipolygon. */
function areaOf(geom: MultiPolygon, frame: Frame): number {
  let a = 0;
  for (const poly of geom) a += ellipsoidalAreaInCrs(poly, frame.toLonLat, { maxSegment: 50 });
  return Math.max(0, a);
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/** How areas are measured, stated in every result. */
export const AREA_METHOD = 'ellipsoidal (CGCS2000/GRS80), clipped in the projected working CRS';

// ---------------------------------------------------------------------------------------------
// 1. Overlaps between projects

/** Land booked by two projects. */
export interface ProjectOverlap {
  /** Project ids (XMBH), `a < b`. */
  readonly a: string;
  readonly b: string;
  /** Feature indices of each project's parcels that take part in the overlap. */
  readonly parcelsA: readonly number[];
  readonly parcelsB: readonly number[];
  /** Overlap area, m² (ellipsoidal), rounded to 0.01. */
  readonly areaM2: number;
  /** Overlap area in 亩, rounded to 0.01. */
  readonly areaMu: number;
  /** The overlap as GeoJSON MultiPolygon coordinates in `crs`. */
  readonly geometry: PolygonCoords[];
}

/** Result of {@link projectOverlaps}. */
export interface OverlapAudit {
  /** Working CRS (clipping, and the CRS of the overlap geometries). */
  readonly crs: string;
  readonly areaMethod: string;
  readonly overlaps: readonly ProjectOverlap[];
}

/** Options of {@link projectOverlaps}. */
export interface OverlapOptions {
  /** Overlaps smaller than this (m²) are dropped as digitising noise (default 1). */
  readonly minAreaM2?: number;
}

/**
 * Every pair of distinct projects (grouped by id, e.g. XMBH) whose parcels overlap, with the
 * overlap area. Parcels of the same project overlapping each other are not reported here.
 * Sorted by area, largest first.
 */
export function projectOverlaps(projects: PolygonLayer, opts: OverlapOptions = {}): OverlapAudit {
  const minArea = opts.minAreaM2 ?? 1;
  const crs = workingCrs(projects);
  const frame = makeFrame(crs, projects);
  const local = localise(projects, frame);
  const index = indexOf(local);
  // Pairs of parcels of different projects whose boxes meet, grouped by project pair.
  const pairs = new Map<string, { a: string; b: string; parts: [LocalFeature, LocalFeature][] }>();
  local.forEach((f, i) => {
    for (const j of index?.search(...f.bbox) ?? []) {
      if (j <= i) continue;
      const g = local[j];
      if (g.feature.id === f.feature.id) continue;
      const [p, q] = f.feature.id < g.feature.id ? [f, g] : [g, f];
      const key = `${p.feature.id}\u0000${q.feature.id}`;
      let e = pairs.get(key);
      if (!e) pairs.set(key, (e = { a: p.feature.id, b: q.feature.id, parts: [] }));
      e.parts.push([p, q]);
    }
  });
  const overlaps: ProjectOverlap[] = [];
  for (const { a, b, parts } of pairs.values()) {
    const pieces: MultiPolygon[] = [];
    const pa = new Set<number>();
    const pb = new Set<number>();
    for (const [p, q] of parts) {
      const inter = polygonClipping.intersection(p.geom, q.geom);
      if (inter.length === 0) continue;
      pieces.push(inter);
      pa.add(p.feature.index);
      pb.add(q.feature.index);
    }
    if (pieces.length === 0) continue;
    const geom = pieces.length === 1 ? pieces[0] : polygonClipping.union(pieces[0], ...pieces.slice(1));
    const area = areaOf(geom, frame);
    if (area < minArea) continue;
    overlaps.push({
      a,
      b,
      parcelsA: [...pa].sort((x, y) => x - y),
      parcelsB: [...pb].sort((x, y) => x - y),
      areaM2: round2(area),
      areaMu: round2(area * MU_PER_M2),
      geometry: toCrs(geom, frame),
    });
  }
  overlaps.sort((x, y) => y.areaM2 - x.areaM2 || (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : 1));
  return { crs: crs.name, areaMethod: AREA_METHOD, overlaps };
}

function toCrs(geom: MultiPolygon, frame: Frame): PolygonCoords[] {
  return geom.map((poly) => poly.map((ring) => ring.map(([x, y]) => [x + frame.ox, y + frame.oy])));
}

// ---------------------------------------------------------------------------------------------
// 2. Parcels inside protected zones

/** One parcel's area inside one zone layer (only parcels that meet the layer are listed). */
export interface ZoneHit {
  /** Zone layer name (e.g. "生态保护红线"). */
  readonly zone: string;
  /** Project id (XMBH) and the parcel's feature index in the register. */
  readonly project: string;
  readonly parcel: number;
  /** Parcel area, m² (ellipsoidal). */
  readonly parcelAreaM2: number;
  /** Area of the parcel inside the layer (zone features unioned, so overlapping zones count once), m². */
  readonly insideAreaM2: number;
  readonly insideAreaMu: number;
  /** insideAreaM2 / parcelAreaM2, 0..1, rounded to 1e-4. */
  readonly share: number;
  /** Ids of the zone features the parcel meets. */
  readonly zoneFeatures: readonly string[];
}

/** Result of {@link zoneAudit}. */
export interface ZoneAudit {
  readonly crs: string;
  readonly areaMethod: string;
  readonly hits: readonly ZoneHit[];
}

/** Options of {@link zoneAudit}. */
export interface ZoneOptions {
  /** Inside areas smaller than this (m²) are dropped as boundary noise (default 1). */
  readonly minAreaM2?: number;
}

/**
 * For each zone layer and each project parcel, the area and share of the parcel inside the layer.
 * Layers may be in any supported CRS; they are reprojected to the register's working CRS.
 */
export function zoneAudit(projects: PolygonLayer, zones: readonly PolygonLayer[], opts: ZoneOptions = {}): ZoneAudit {
  const minArea = opts.minAreaM2 ?? 1;
  const crs = workingCrs(projects);
  const frame = makeFrame(crs, projects);
  const parcels = localise(projects, frame);
  const parcelArea = new Map<number, number>();
  const hits: ZoneHit[] = [];
  for (const layer of zones) {
    const zf = localise(layer, frame);
    const index = indexOf(zf);
    for (const p of parcels) {
      const cand = (index?.search(...p.bbox) ?? []).sort((x, y) => x - y);
      if (cand.length === 0) continue;
      const met: string[] = [];
      const pieces: MultiPolygon[] = [];
      for (const k of cand) {
        const inter = polygonClipping.intersection(p.geom, zf[k].geom);
        if (inter.length === 0) continue;
        pieces.push(inter);
        met.push(zf[k].feature.id);
      }
      if (pieces.length === 0) continue;
      const inside = areaOf(pieces.length === 1 ? pieces[0] : polygonClipping.union(pieces[0], ...pieces.slice(1)), frame);
      if (inside < minArea) continue;
      let total = parcelArea.get(p.feature.index);
      if (total === undefined) parcelArea.set(p.feature.index, (total = areaOf(p.geom, frame)));
      hits.push({
        zone: layer.name,
        project: p.feature.id,
        parcel: p.feature.index,
        parcelAreaM2: round2(total),
        insideAreaM2: round2(inside),
        insideAreaMu: round2(inside * MU_PER_M2),
        share: total > 0 ? Math.round(Math.min(1, inside / total) * 1e4) / 1e4 : 0,
        zoneFeatures: [...new Set(met)],
      });
    }
  }
  return { crs: crs.name, areaMethod: AREA_METHOD, hits };
}

// ---------------------------------------------------------------------------------------------
// 3. Slope over 25°

/**
 * Slope in degrees by Horn's 3×3 method over a row-major elevation grid with pixel size `dx` × `dy`
 * (metres). `valid[i] = 0` marks NoData; a pixel whose 3×3 neighbourhood is not all valid (or is on
 * the grid's border) gets NaN.
 */
export function hornSlope(elev: ArrayLike<number>, width: number, height: number, dx: number, dy: number, valid?: ArrayLike<number>): Float32Array {
  const out = new Float32Array(width * height).fill(NaN);
  const ok = (i: number) => (valid ? valid[i] !== 0 : true) && Number.isFinite(elev[i]);
  for (let r = 1; r < height - 1; r++)
    for (let c = 1; c < width - 1; c++) {
      const i = r * width + c;
      const [n, s] = [i - width, i + width];
      const idx = [n - 1, n, n + 1, i - 1, i + 1, s - 1, s, s + 1];
      if (!ok(i) || idx.some((k) => !ok(k))) continue;
      const [a, b, cc, d, f, g, h, ii] = idx.map((k) => elev[k]);
      const dzdx = (cc + 2 * f + ii - (a + 2 * d + g)) / (8 * dx);
      const dzdy = (g + 2 * h + ii - (a + 2 * b + cc)) / (8 * dy);
      out[i] = (Math.atan(Math.hypot(dzdx, dzdy)) * 180) / Math.PI;
    }
  return out;
}

/** One parcel's slope finding. */
export interface SlopeParcel {
  readonly project: string;
  readonly parcel: number;
  /** Parcel area, m² (ellipsoidal). */
  readonly parcelAreaM2: number;
  /** DEM pixels whose centre is in the parcel, those with a slope (valid 3×3), and those over the threshold. */
  readonly pixels: number;
  readonly slopePixels: number;
  readonly steepPixels: number;
  /** steepPixels / slopePixels (0 when none), rounded to 1e-4. */
  readonly steepShare: number;
  /** steepShare × parcelAreaM2: the parcel's area on steep slopes, m² (ellipsoidal), and in 亩. */
  readonly steepAreaM2: number;
  readonly steepAreaMu: number;
  /** Mean slope (°) over the parcel's pixels with a slope, NaN when none. */
  readonly meanSlopeDeg: number;
}

/** Result of {@link slopeAudit}. */
export interface SlopeAudit {
  readonly dem: string;
  /** The DEM's CRS, in which slope is computed. */
  readonly demCrs: string;
  /** DEM pixel size (metres, x and y): the resolution the slope areas rest on. */
  readonly resolutionM: readonly [number, number];
  readonly thresholdDeg: number;
  readonly method: string;
  readonly areaMethod: string;
  readonly parcels: readonly SlopeParcel[];
}

/** Options of {@link slopeAudit}. */
export interface SlopeOptions {
  /** Slope threshold, degrees (default 25, the 坡度>25° rule). */
  readonly thresholdDeg?: number;
  /** DEM band name (default the first band). */
  readonly band?: string;
}

/**
 * For each project parcel, the share and area on slopes over the threshold, from a DEM GeoTIFF.
 * Elevations are read raw (no reflectance scaling); slope is computed in the DEM's own projected
 * CRS by Horn's method. Parcels are rasterised on the DEM grid by the pixel-centre rule.
 * @throws AppError UNSUPPORTED_CRS (naming the file) when the DEM is in a geographic CRS or has no
 *   projectable CRS; NO_GEOREFERENCE when it is not georeferenced or rotated.
 */
export async function slopeAudit(demFile: string, projects: PolygonLayer, opts: SlopeOptions = {}): Promise<SlopeAudit> {
  const threshold = opts.thresholdDeg ?? 25;
  const scene = await openScene(demFile);
  try {
    const { grid, georeferenced, nodata } = scene.info;
    if (!georeferenced) throw new AppError('NO_GEOREFERENCE', `DEM ${demFile} is not georeferenced: cannot compute slope`, { file: demFile });
    if (!grid.crs.proj4)
      throw new AppError('UNSUPPORTED_CRS', `DEM ${demFile}: CRS ${grid.crs.name} is not supported (slope needs a projected CRS in metres)`, { file: demFile });
    if (isGeographic(grid.crs))
      throw new AppError(
        'UNSUPPORTED_CRS',
        `DEM ${demFile} is in a geographic CRS (${grid.crs.name}, degrees): slope needs a projected CRS in metres; reproject the DEM (e.g. to the county's Gauss–Krüger zone) first`,
        { file: demFile, crs: grid.crs.name },
      );
    const t = grid.transform;
    if (t[2] !== 0 || t[4] !== 0) throw new AppError('NO_GEOREFERENCE', `DEM ${demFile} has a rotated geotransform, which slope does not support`, { file: demFile });
    const [dx, dy] = [Math.abs(t[1]), Math.abs(t[5])];
    const band = opts.band ?? scene.info.bands[0].name;

    const crs = workingCrs(projects);
    const frame = makeFrame(crs, projects);
    const toDem = makeTransform(projects.crs, grid.crs);
    const parcelsOut: SlopeParcel[] = [];
    for (const feature of projects.features) {
      const pix: PixelPolygon[] = feature.polygons.map((poly) =>
        poly.map((ring) => ring.map(([x, y]) => {
          const [X, Y] = toDem(x, y);
          return mapToPixel(t, X, Y) as readonly [number, number];
        })),
      );
      let [c0, r0, c1, r1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const poly of pix)
        for (const [c, r] of poly[0]) {
          c0 = Math.min(c0, c);
          r0 = Math.min(r0, r);
          c1 = Math.max(c1, c);
          r1 = Math.max(r1, r);
        }
      // Pixels the parcel may cover, clipped to the DEM; plus a one-pixel halo for Horn's kernel.
      const pc0 = Math.max(0, Math.floor(c0));
      const pr0 = Math.max(0, Math.floor(r0));
      const pc1 = Math.min(grid.width, Math.ceil(c1));
      const pr1 = Math.min(grid.height, Math.ceil(r1));
      const local = localise({ ...projects, features: [feature] }, frame)[0];
      const parcelAreaM2 = areaOf(local.geom, frame);
      let pixels = 0;
      let slopePixels = 0;
      let steepPixels = 0;
      let slopeSum = 0;
      if (pc1 > pc0 && pr1 > pr0) {
        const win: Window = { col: pc0 - 1, row: pr0 - 1, width: pc1 - pc0 + 2, height: pr1 - pr0 + 2 };
        const raw = (await readRawWindow(scene, win, [band])).data[0];
        const valid = new Uint8Array(win.width * win.height);
        for (let r = 0; r < win.height; r++)
          for (let c = 0; c < win.width; c++) {
            const [gc, gr] = [win.col + c, win.row + r];
            const i = r * win.width + c;
            const v = raw[i];
            const inside = gc >= 0 && gr >= 0 && gc < grid.width && gr < grid.height;
            valid[i] = inside && Number.isFinite(v) && !(nodata !== null && (v === nodata || (Number.isNaN(nodata) && Number.isNaN(v)))) ? 1 : 0;
          }
        const slope = hornSlope(raw, win.width, win.height, dx, dy, valid);
        const mask = new Uint8Array(win.width * win.height);
        for (const poly of pix) burnPolygon(poly, 1, win, mask);
        for (let i = 0; i < mask.length; i++) {
          if (!mask[i]) continue;
          pixels++;
          const s = slope[i];
          if (Number.isNaN(s)) continue;
          slopePixels++;
          slopeSum += s;
          if (s > threshold) steepPixels++;
        }
      }
      const share = slopePixels > 0 ? steepPixels / slopePixels : 0;
      parcelsOut.push({
        project: feature.id,
        parcel: feature.index,
        parcelAreaM2: round2(parcelAreaM2),
        pixels,
        slopePixels,
        steepPixels,
        steepShare: Math.round(share * 1e4) / 1e4,
        steepAreaM2: round2(share * parcelAreaM2),
        steepAreaMu: round2(share * parcelAreaM2 * MU_PER_M2),
        meanSlopeDeg: slopePixels > 0 ? Math.round((slopeSum / slopePixels) * 100) / 100 : NaN,
      });
    }
    return {
      dem: demFile,
      demCrs: grid.crs.name,
      resolutionM: [dx, dy],
      thresholdDeg: threshold,
      method: `Horn 3×3 slope in ${grid.crs.name}, DEM pixel ${dx}×${dy} m (${pixelArea(t)} m²/pixel), parcels rasterised by pixel centre`,
      areaMethod: AREA_METHOD,
      parcels: parcelsOut,
    };
  } finally {
    await closeScene(scene);
  }
}

