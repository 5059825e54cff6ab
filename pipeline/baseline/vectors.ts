import { readFile } from 'node:fs/promises';
import Flatbush from 'flatbush';
import polygonClipping from 'polygon-clipping';
import { VectorError } from '../errors.js';
import { crsFromEpsg, makeTransform } from '../geo/crs.js';
import { mapToPixel } from '../geo/grid.js';
import { burnPolygon, type PixelPolygon } from '../geo/rasterize.js';
import type { Crs, Grid, PolygonCoords, Window } from '../types.js';

/** A polygon feature of an overlay layer, with its geometry in pixel coordinates of the processing grid. */
export interface LayerFeature {
  readonly properties: Readonly<Record<string, unknown>>;
  /** Polygons (outer ring + holes) in pixel-corner coordinates of the grid. */
  readonly polygons: readonly PixelPolygon[];
}

/** What loading a layer did to its input: features read, repaired and skipped (with why). */
export interface LayerStats {
  readonly read: number;
  readonly kept: number;
  readonly repaired: number;
  readonly skipped: number;
  readonly problems: readonly { feature: number; problem: string; action: 'repaired' | 'skipped' }[];
}

/** A vector layer ready to be burnt onto tiles: features and a bounding-box index in pixel space. */
export interface VectorLayer {
  readonly name: string;
  readonly source: string;
  readonly crs: Crs;
  readonly features: readonly LayerFeature[];
  readonly stats: LayerStats;
  readonly index: Flatbush | null;
}

/** The CRS a GeoJSON declares with the legacy `crs` member; RFC 7946 longitude/latitude when absent. */
export function geojsonCrs(doc: { crs?: { properties?: { name?: string } } }, file: string): Crs {
  const name = doc.crs?.properties?.name;
  if (!name) return crsFromEpsg(4326);
  if (/CRS84$/i.test(name)) return crsFromEpsg(4326);
  const m = /EPSG:{1,2}(\d+)$/i.exec(name);
  if (!m) throw new VectorError('VECTOR_INVALID', `${file}: cannot read the CRS "${name}" (expected EPSG:NNNN or urn:ogc:def:crs:EPSG::NNNN)`, { file });
  const crs = crsFromEpsg(Number(m[1]));
  if (!crs.proj4) throw new VectorError('UNSUPPORTED_CRS', `${file}: CRS ${crs.name} is not supported`, { file });
  return crs;
}

type Ring = number[][];

function ringProblem(ring: unknown): string | null {
  if (!Array.isArray(ring) || ring.length < 4) return 'ring with fewer than 4 positions';
  for (const p of ring) if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return 'non-numeric coordinate';
  return null;
}

const segmentsCross = (a: number[], b: number[], c: number[], d: number[]): boolean => {
  const o = (p: number[], q: number[], r: number[]) => Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  const o1 = o(a, b, c);
  const o2 = o(a, b, d);
  const o3 = o(c, d, a);
  const o4 = o(c, d, b);
  return o1 * o2 < 0 && o3 * o4 < 0;
};

/** True when a closed ring has no proper self-crossing and non-zero area (O(n²); rings of survey polygons are small). */
function isSimpleRing(ring: Ring): boolean {
  const n = ring.length - 1;
  let area = 0;
  for (let i = 0; i < n; i++) area += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  if (area === 0) return false;
  if (n > 2000) return false; // too costly to check here: let the repair path handle it
  for (let i = 0; i < n; i++)
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      if (segmentsCross(ring[i], ring[i + 1], ring[j], ring[j + 1])) return false;
    }
  return true;
}

const closeRing = (ring: Ring): Ring => {
  const [f, l] = [ring[0], ring[ring.length - 1]];
  return f[0] === l[0] && f[1] === l[1] ? ring : [...ring, f];
};

/**
 * Validates a GeoJSON Polygon/MultiPolygon geometry: unclosed rings are closed, self-intersecting
 * ones repaired with a polygon union, unusable ones reported. Returns polygons in source coordinates.
 */
export function cleanGeometry(geometry: unknown): { polygons: PolygonCoords[]; repaired: string | null } | { problem: string } {
  const g = geometry as { type?: string; coordinates?: unknown } | null;
  if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return { problem: `geometry type ${g?.type ?? 'null'} is not a polygon` };
  const raw = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as unknown[];
  if (!Array.isArray(raw) || raw.length === 0) return { problem: 'empty geometry' };
  let repaired: string | null = null;
  const polygons: PolygonCoords[] = [];
  for (const poly of raw) {
    if (!Array.isArray(poly) || poly.length === 0) return { problem: 'empty polygon' };
    for (const ring of poly) {
      const p = ringProblem(ring);
      if (p && !(Array.isArray(ring) && ring.length === 3 && ringProblem([...ring, ring[0]]) === null)) return { problem: p };
    }
    const rings = (poly as Ring[]).map((r) => closeRing(r.map((p) => [p[0], p[1]])));
    if (rings.some((r) => r.length < 4)) return { problem: 'ring with fewer than 3 distinct positions' };
    if (rings.length !== (poly as Ring[]).length || rings.some((r, i) => r.length !== (poly as Ring[])[i].length)) repaired = 'closed an unclosed ring';
    if (rings.every(isSimpleRing)) polygons.push(rings);
    else {
      const fixed = polygonClipping.union(rings as never) as unknown as PolygonCoords[];
      if (fixed.length === 0) return { problem: 'polygon has no area' };
      polygons.push(...fixed);
      repaired = 'self-intersecting or degenerate ring repaired by union';
    }
  }
  return { polygons, repaired };
}

/**
 * Reads a GeoJSON polygon layer, cleans every geometry, and reprojects it to the pixel space of
 * `grid`. Bad features are repaired or skipped and counted, never fatal; an unreadable file is.
 * @throws VectorError when the file is missing, not JSON, not a FeatureCollection, or in an unsupported CRS.
 */
export async function loadVectorLayer(name: string, file: string, grid: Grid): Promise<VectorLayer> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new VectorError('FILE_NOT_FOUND', `${name} layer: cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  let doc: { type?: string; features?: unknown[]; crs?: { properties?: { name?: string } } };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new VectorError('VECTOR_INVALID', `${name} layer: ${file} is not valid JSON (${(e as Error).message})`, { file }, { cause: e });
  }
  if (doc?.type !== 'FeatureCollection' || !Array.isArray(doc.features))
    throw new VectorError('VECTOR_INVALID', `${name} layer: ${file} is not a GeoJSON FeatureCollection`, { file });
  const crs = geojsonCrs(doc, file);
  const toGrid = makeTransform(crs, grid.crs);
  const toPixel = (x: number, y: number): [number, number] => {
    const [X, Y] = toGrid(x, y);
    return mapToPixel(grid.transform, X, Y);
  };
  const features: LayerFeature[] = [];
  const problems: { feature: number; problem: string; action: 'repaired' | 'skipped' }[] = [];
  doc.features.forEach((f, i) => {
    const feature = f as { geometry?: unknown; properties?: Record<string, unknown> | null };
    const cleaned = cleanGeometry(feature?.geometry);
    if ('problem' in cleaned) {
      problems.push({ feature: i, problem: cleaned.problem, action: 'skipped' });
      return;
    }
    if (cleaned.repaired) problems.push({ feature: i, problem: cleaned.repaired, action: 'repaired' });
    const polygons = cleaned.polygons.map((poly) => poly.map((ring) => ring.map(([x, y]) => toPixel(x, y))));
    if (polygons.some((poly) => poly.some((ring) => ring.some(([c, r]) => !Number.isFinite(c) || !Number.isFinite(r))))) {
      problems.push({ feature: i, problem: 'coordinates cannot be projected to the image CRS', action: 'skipped' });
      return;
    }
    features.push({ properties: feature.properties ?? {}, polygons });
  });
  const repaired = problems.filter((p) => p.action === 'repaired').length;
  return {
    name,
    source: file,
    crs,
    features,
    stats: { read: doc.features.length, kept: features.length, repaired, skipped: problems.length - repaired, problems: problems.slice(0, 100) },
    index: buildIndex(features),
  };
}

function buildIndex(features: readonly LayerFeature[]): Flatbush | null {
  if (features.length === 0) return null;
  const index = new Flatbush(features.length);
  for (const f of features) {
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const poly of f.polygons)
      for (const [x, y] of poly[0]) {
        if (x < minX) minX = x;
        if (y < minY) minY = y;
        if (x > maxX) maxX = x;
        if (y > maxY) maxY = y;
      }
    index.add(minX, minY, maxX, maxY);
  }
  index.finish();
  return index;
}

/** Indices of features whose bounding box meets a window. */
export function featuresInWindow(layer: VectorLayer, win: Window): number[] {
  if (!layer.index) return [];
  return layer.index.search(win.col, win.row, win.col + win.width, win.row + win.height);
}

/**
 * Burns a layer into a window: `out[p] = valueOf(featureIndex)` for pixels whose centre lies in the
 * feature; later features win where features overlap. Pixels no feature covers keep their value.
 */
export function burnLayer(
  layer: VectorLayer,
  win: Window,
  out: { [i: number]: number; length: number },
  valueOf: (featureIndex: number) => number = (i) => i + 1,
): void {
  const hits = featuresInWindow(layer, win).sort((a, b) => a - b);
  for (const i of hits) {
    const v = valueOf(i);
    for (const poly of layer.features[i].polygons) burnPolygon(poly, v, win, out);
  }
}
