/**
 * Geometry preparation shared by the writers: project, clean and orient a ClueFeature's
 * MultiPolygon. Each format wants a different ring orientation (Shapefile: outer clockwise;
 * GeoJSON, GeoPackage, KML: outer counter-clockwise), so orientation is a parameter.
 */
import { ExportInputError } from './fields.js';

export type Ring = number[][];
export type Polygon = Ring[];
export type MultiPolygon = Polygon[];

/** [minX, minY, maxX, maxY]; empty when minX > maxX. */
export type BBox = [number, number, number, number];
export const emptyBBox = (): BBox => [Infinity, Infinity, -Infinity, -Infinity];
export const isEmptyBBox = (b: BBox): boolean => !(b[0] <= b[2]);

export function extendBBox(b: BBox, mp: MultiPolygon): BBox {
  for (const poly of mp)
    for (const p of poly[0] ?? []) {
      // Holes lie inside their outer ring: the outer rings bound the geometry.
      if (p[0] < b[0]) b[0] = p[0];
      if (p[1] < b[1]) b[1] = p[1];
      if (p[0] > b[2]) b[2] = p[0];
      if (p[1] > b[3]) b[3] = p[1];
    }
  return b;
}

/**
 * Twice the signed area of a ring, positive when counter-clockwise (y up). Coordinates are taken
 * relative to the first vertex so zone-prefixed eastings (~4e7 m) keep their precision.
 */
export function signedArea2(ring: Ring): number {
  const n = ring.length;
  if (n < 3) return 0;
  const [ox, oy] = ring[0];
  let s = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) s += (ring[j][0] - ox) * (ring[i][1] - oy) - (ring[i][0] - ox) * (ring[j][1] - oy);
  return s;
}

export interface PrepareOptions {
  /** Point transform from lon/lat (identity for EPSG:4490). */
  transform: (lon: number, lat: number) => [number, number];
  /** True: outer rings counter-clockwise, holes clockwise (OGC, RFC 7946); false: the reverse (Shapefile). */
  outerCcw: boolean;
  /** Round coordinates to this many decimals (text formats); absent: full precision. */
  decimals?: number;
}

/**
 * Projects, removes repeated vertices, closes and orients every ring. Degenerate rings (fewer than
 * four positions or zero area) are dropped; a part whose outer ring is degenerate is dropped with its
 * holes. Non-finite coordinates are bad input and throw. May return an empty MultiPolygon.
 */
export function prepareGeometry(geometryLonLat: number[][][][], jcbh: string, opts: PrepareOptions): MultiPolygon {
  const scale = opts.decimals === undefined ? 0 : 10 ** opts.decimals;
  const out: MultiPolygon = [];
  if (!Array.isArray(geometryLonLat)) throw new ExportInputError(`Case ${jcbh}: geometry is not a MultiPolygon coordinate array`, { jcbh });
  for (const poly of geometryLonLat) {
    const rings: Polygon = [];
    for (let ri = 0; ri < poly.length; ri++) {
      const ring: Ring = [];
      for (const pt of poly[ri]) {
        if (!Number.isFinite(pt[0]) || !Number.isFinite(pt[1]))
          throw new ExportInputError(`Case ${jcbh}: non-finite coordinate ${JSON.stringify(pt)}`, { jcbh });
        let [x, y] = opts.transform(pt[0], pt[1]);
        if (scale) {
          x = Math.round(x * scale) / scale;
          y = Math.round(y * scale) / scale;
        }
        const last = ring[ring.length - 1];
        if (last && last[0] === x && last[1] === y) continue;
        ring.push([x, y]);
      }
      if (ring.length > 1) {
        const a = ring[0];
        const b = ring[ring.length - 1];
        if (a[0] !== b[0] || a[1] !== b[1]) ring.push([a[0], a[1]]);
      }
      const area = ring.length >= 4 ? signedArea2(ring) : 0;
      if (area === 0) {
        if (ri === 0) break; // degenerate outer ring: drop the part
        continue;
      }
      const wantCcw = ri === 0 ? opts.outerCcw : !opts.outerCcw;
      if (area > 0 !== wantCcw) ring.reverse();
      rings.push(ring);
    }
    if (rings.length > 0) out.push(rings);
  }
  return out;
}
