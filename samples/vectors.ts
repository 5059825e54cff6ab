/**
 * GeoJSON layers of the sample county, streamed feature by feature (a 10 000 px county has tens of
 * thousands of parcels). Layers carry the legacy (2008) GeoJSON `crs` member, which is what Chinese
 * GIS exports still write and what tells a reader the coordinates are Gauss–Krüger metres or
 * CGCS2000 degrees rather than WGS84. Exterior rings are counter-clockwise, holes clockwise
 * (RFC 7946), in map coordinates.
 */
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { once } from 'node:events';
import polygonClipping from 'polygon-clipping';
import geodesic from 'geographiclib-geodesic';
import type { PointTransform } from '../pipeline/geo/crs.js';
import { type Poly, type Ring, ringArea } from './geom.js';

/** Writes a FeatureCollection incrementally to `path` (via `path.partial`, renamed at the end). */
export class GeoJsonWriter {
  private readonly stream;
  private first = true;
  count = 0;

  constructor(
    private readonly path: string,
    name: string,
    epsg: number,
  ) {
    this.stream = createWriteStream(`${path}.partial`, { encoding: 'utf8' });
    this.stream.write(
      `{"type":"FeatureCollection","name":${JSON.stringify(name)},"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::${epsg}"}},"features":[\n`,
    );
  }

  /** Appends one feature; waits when the stream buffer is full so memory stays bounded. */
  async add(properties: Record<string, unknown>, geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown }): Promise<void> {
    const s = `${this.first ? '' : ',\n'}{"type":"Feature","properties":${JSON.stringify(properties)},"geometry":${JSON.stringify(geometry)}}`;
    this.first = false;
    this.count++;
    if (!this.stream.write(s)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end('\n]}\n');
    await once(this.stream, 'finish');
    await rename(`${this.path}.partial`, this.path);
  }
}

/** Local metres (u east, v south) → output coordinates, rounded to the given decimals. */
export type CoordMap = (u: number, v: number) => [number, number];

/** Converts a local polygon to GeoJSON Polygon coordinates: closed rings, CCW exterior, CW holes. */
export function toGeoJsonPolygon(poly: Poly, map: CoordMap): number[][][] {
  return poly.map((ring, i) => {
    const pts = ring.map(([u, v]) => map(u, v));
    const ccw = ringArea(pts as Ring) > 0;
    if ((i === 0) !== ccw) pts.reverse();
    pts.push([pts[0][0], pts[0][1]]);
    return pts;
  });
}

/** Makes a coordinate mapper for a grid origin (top-left X0, Y0) with optional reprojection and rounding. */
export function makeCoordMap(X0: number, Y0: number, decimals: number, reproject?: PointTransform): CoordMap {
  const f = 10 ** decimals;
  return (u, v) => {
    let x = X0 + u;
    let y = Y0 - v;
    if (reproject) [x, y] = reproject(x, y);
    return [Math.round(x * f) / f, Math.round(y * f) / f];
  };
}

const GRS80 = new geodesic.Geodesic.Geodesic(6378137, 1 / 298.257222101);

/** Ellipsoidal (CGCS2000/GRS80) area in m² of a polygon given in longitude/latitude, as 三调 areas are. */
export function ellipsoidalArea(lonLat: number[][][]): number {
  let total = 0;
  lonLat.forEach((ring, i) => {
    const p = GRS80.Polygon(false);
    for (let k = 0; k + 1 < ring.length; k++) p.AddPoint(ring[k][1], ring[k][0]);
    const a = Math.abs(p.Compute(false, true).area ?? 0);
    total += i === 0 ? a : -a;
  });
  return total;
}

/** Union of convex rings (local metres) → multipolygon (local metres). */
export function unionRings(rings: Ring[]): Poly[] {
  if (!rings.length) return [];
  // Cells are cut from one another, so shared edges meet only to float noise (±1e-14 m), which
  // polygon-clipping cannot close into rings; on a 1 mm grid they meet exactly.
  const mm = (v: number) => Math.round(v * 1000) / 1000;
  const geoms = rings.map((r) => [r.map(([x, y]) => [mm(x), mm(y)] as [number, number])]);
  const out = polygonClipping.union(geoms[0], ...geoms.slice(1));
  // polygon-clipping returns closed rings; ours are open.
  return out.map((poly) => poly.map((ring) => ring.slice(0, -1).map(([x, y]) => [x, y] as [number, number])));
}
