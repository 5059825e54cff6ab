import geodesic from 'geographiclib-geodesic';
import type { PointTransform } from './crs.js';

/** 1 亩 = 2000/3 m², so m² × MU_PER_M2 = 亩. */
export const MU_PER_M2 = 3 / 2000;
/** 1 ha = 15 亩. */
export const MU_PER_HA = 15;

/** GRS80, the CGCS2000 ellipsoid (WGS84 differs in f by ~1e-11, but official areas name CGCS2000). */
export const GRS80 = { a: 6378137, f: 1 / 298.257222101 } as const;
const geod = new geodesic.Geodesic.Geodesic(GRS80.a, GRS80.f);

type Ring = ReadonlyArray<ReadonlyArray<number>>;
type Polygon = ReadonlyArray<Ring>;

/** Ring without its closing vertex (if the first point is repeated last). */
function openRing(ring: Ring): Ring {
  const n = ring.length;
  if (n > 1 && ring[0][0] === ring[n - 1][0] && ring[0][1] === ring[n - 1][1]) return ring.slice(0, n - 1);
  return ring;
}

/**
 * Area in m² of a ring of [longitude, latitude] degrees on the GRS80 ellipsoid, with geodesic
 * edges (GeographicLib's PolygonArea). Always ≥ 0, whatever the orientation.
 */
export function ringEllipsoidalArea(ring: Ring): number {
  const r = openRing(ring);
  if (r.length < 3) return 0;
  const p = new geodesic.PolygonArea.PolygonArea(geod, false);
  for (const pt of r) p.AddPoint(pt[1], pt[0]);
  // sign=true: a clockwise ring gives −A instead of (ellipsoid area − A).
  return Math.abs(p.Compute(false, true).area ?? 0);
}

/**
 * Ellipsoidal area (m², GRS80 = CGCS2000) of a polygon in longitude/latitude degrees: first ring
 * is the shell, the rest holes; each ring's area is taken unsigned, so orientation does not matter.
 * Edges are geodesics: densify edges that should follow a projected straight line or a parallel
 * (`ellipsoidalAreaInCrs` does this for projected polygons).
 */
export function ellipsoidalArea(polygonLonLat: Polygon): number {
  let a = 0;
  polygonLonLat.forEach((ring, i) => {
    const r = ringEllipsoidalArea(ring);
    a += i === 0 ? r : -r;
  });
  return a;
}

/** Options of `ellipsoidalAreaInCrs`. */
export interface AreaInCrsOptions {
  /**
   * Longest edge, in source CRS units (metres for Gauss–Krüger), left undivided before projecting to
   * longitude/latitude. A straight projected edge is a curve on the ellipsoid; splitting it makes the
   * geodesic edges follow it. Default 50.
   */
  maxSegment?: number;
}

/**
 * Ellipsoidal area (m²) of a polygon given in a projected CRS: vertices are densified
 * (see `maxSegment`) and transformed to longitude/latitude with `transform` (source CRS → CGCS2000
 * degrees, e.g. `makeTransform(grid.crs, CGCS2000)`), then measured with `ellipsoidalArea`.
 */
export function ellipsoidalAreaInCrs(polygon: Polygon, transform: PointTransform, options: AreaInCrsOptions = {}): number {
  const maxSeg = options.maxSegment ?? 50;
  if (!(maxSeg > 0)) throw new RangeError(`maxSegment must be > 0, got ${maxSeg}`);
  return ellipsoidalArea(polygon.map((ring) => densify(openRing(ring), maxSeg).map(([x, y]) => transform(x, y))));
}

/** Splits every edge of a (closed by wrap-around) ring into pieces no longer than maxSeg. */
export function densify(ring: Ring, maxSeg: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const n = ring.length;
  for (let i = 0; i < n; i++) {
    const [x0, y0] = ring[i];
    const [x1, y1] = ring[(i + 1) % n];
    out.push([x0, y0]);
    const len = Math.hypot(x1 - x0, y1 - y0);
    const pieces = Math.ceil(len / maxSeg);
    for (let k = 1; k < pieces; k++) out.push([x0 + ((x1 - x0) * k) / pieces, y0 + ((y1 - y0) * k) / pieces]);
  }
  return out;
}

/**
 * Planar (CRS-unit) area of a polygon: |shell| − Σ|holes|. Coordinates are taken relative to the
 * first vertex so zone-prefixed Gauss–Krüger eastings (~4e7 m) lose no precision in the products.
 */
export function planarArea(polygon: Polygon): number {
  if (polygon.length === 0 || polygon[0].length === 0) return 0;
  const [ox, oy] = polygon[0][0];
  let a = 0;
  polygon.forEach((ring, i) => {
    const r = Math.abs(ringMoments(ring, ox, oy)[0]);
    a += i === 0 ? r : -r;
  });
  return a;
}

/** [signed area, Σ x-moment, Σ y-moment] of a ring relative to (ox, oy) (shoelace). */
function ringMoments(ring: Ring, ox: number, oy: number): [number, number, number] {
  let a = 0;
  let mx = 0;
  let my = 0;
  const n = ring.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const x0 = ring[j][0] - ox;
    const y0 = ring[j][1] - oy;
    const x1 = ring[i][0] - ox;
    const y1 = ring[i][1] - oy;
    const cross = x0 * y1 - x1 * y0;
    a += cross;
    mx += (x0 + x1) * cross;
    my += (y0 + y1) * cross;
  }
  return [a / 2, mx / 6, my / 6];
}

/**
 * Area-weighted centroid [x, y] of a polygon with holes, in its own CRS (use a projected one: a
 * longitude/latitude centroid is distorted). Holes are subtracted whatever the ring orientation.
 * A degenerate polygon (zero area) gives the mean of its shell's vertices.
 */
export function planarCentroid(polygon: Polygon): [number, number] {
  if (polygon.length === 0 || polygon[0].length === 0) return [NaN, NaN];
  const [ox, oy] = polygon[0][0];
  let A = 0;
  let MX = 0;
  let MY = 0;
  polygon.forEach((ring, i) => {
    const [a, mx, my] = ringMoments(ring, ox, oy);
    // Normalise each ring to positive for the shell, negative for holes.
    const s = (i === 0 ? 1 : -1) * (a < 0 ? -1 : 1);
    A += s * a;
    MX += s * mx;
    MY += s * my;
  });
  if (A === 0) {
    const shell = openRing(polygon[0]);
    let sx = 0;
    let sy = 0;
    for (const p of shell) {
      sx += p[0];
      sy += p[1];
    }
    return [sx / shell.length, sy / shell.length];
  }
  return [ox + MX / A, oy + MY / A];
}
