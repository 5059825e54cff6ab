/**
 * GeoJSON export of detected patches (RFC 7946): longitude/latitude, outer rings counter-clockwise,
 * holes clockwise, coordinates rounded to 1e-7° (≈1 cm, finer than any imagery we use).
 */
import type { Patch, PolygonCoords } from '../types.js';
import { writeFileAtomic } from './atomic.js';

/** CRS statement written into every GeoJSON's `farmwatch` member. */
export const GEOJSON_CRS_NOTE = 'CGCS2000 (EPSG:4490) longitude/latitude; equals WGS84 to a few cm';

/** Decimal places of exported longitudes/latitudes. */
const COORD_DECIMALS = 7;
const COORD_SCALE = 10 ** COORD_DECIMALS;

/** A GeoJSON Polygon or MultiPolygon geometry. */
export type GeoJsonPolygonal =
  | { type: 'Polygon'; coordinates: number[][][] }
  | { type: 'MultiPolygon'; coordinates: number[][][][] };

/** One exported feature: `id` is JCBH, properties are every patch attribute. */
export interface PatchFeature {
  type: 'Feature';
  id: string;
  geometry: GeoJsonPolygonal | null;
  properties: Record<string, unknown>;
}

const roundCoord = (v: number): number => Math.round(v * COORD_SCALE) / COORD_SCALE;

/** Twice the signed shoelace area of a ring; positive for counter-clockwise with y up (lat north). */
function signedArea2(ring: readonly (readonly number[])[]): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) s += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  return s;
}

/**
 * Rounds, removes consecutive duplicates (rounding can create them), closes the ring and orients it
 * (`ccw` true for outer rings). Returns null when fewer than 4 positions remain (not a ring).
 */
function cleanRing(ring: readonly (readonly number[])[], ccw: boolean): number[][] | null {
  const out: number[][] = [];
  for (const p of ring) {
    const q = [roundCoord(p[0]), roundCoord(p[1])];
    const last = out[out.length - 1];
    if (last && last[0] === q[0] && last[1] === q[1]) continue;
    out.push(q);
  }
  if (out.length > 1) {
    const a = out[0];
    const b = out[out.length - 1];
    if (a[0] !== b[0] || a[1] !== b[1]) out.push([a[0], a[1]]);
  }
  if (out.length < 4) return null;
  const area = signedArea2(out);
  if (area === 0) return null;
  if (area > 0 !== ccw) out.reverse();
  return out;
}

/**
 * Converts polygons (outer ring then holes, any orientation) to an RFC 7946 geometry: Polygon for
 * one part, MultiPolygon for several, null when nothing valid remains. Degenerate holes are dropped;
 * a part whose outer ring is degenerate is dropped with its holes.
 */
export function toGeoJsonGeometry(polygons: readonly PolygonCoords[]): GeoJsonPolygonal | null {
  const parts: number[][][][] = [];
  for (const poly of polygons) {
    if (poly.length === 0) continue;
    const outer = cleanRing(poly[0], true);
    if (!outer) continue;
    const rings = [outer];
    for (let i = 1; i < poly.length; i++) {
      const hole = cleanRing(poly[i], false);
      if (hole) rings.push(hole);
    }
    parts.push(rings);
  }
  if (parts.length === 0) return null;
  return parts.length === 1 ? { type: 'Polygon', coordinates: parts[0] } : { type: 'MultiPolygon', coordinates: parts };
}

/** The GeoJSON Feature of one patch (geometry from `geometryLonLat`). */
export function patchToFeature(patch: Patch): PatchFeature {
  return {
    type: 'Feature',
    id: patch.attributes.JCBH,
    geometry: toGeoJsonGeometry(patch.geometryLonLat),
    properties: { ...patch.attributes },
  };
}

/**
 * Writes the patches as a GeoJSON FeatureCollection in longitude/latitude with every attribute as a
 * property, plus a top-level foreign member `farmwatch` holding `meta` (e.g. run id) and the CRS
 * note ({@link GEOJSON_CRS_NOTE}, under `crs`, which `meta` cannot override). One feature per line so
 * large files stay greppable and diffable. Written atomically.
 */
export async function writePatchesGeoJSON(patches: readonly Patch[], path: string, meta: Record<string, unknown> = {}): Promise<void> {
  const head = { type: 'FeatureCollection', farmwatch: { ...meta, crs: GEOJSON_CRS_NOTE } };
  const headText = JSON.stringify(head);
  const lines = patches.map((p) => JSON.stringify(patchToFeature(p)));
  // Splice the features array into the head object's JSON rather than stringifying one huge object,
  // so each feature is on its own line.
  const body = lines.length === 0 ? '[]' : `[\n${lines.join(',\n')}\n]`;
  const text = `${headText.slice(0, -1)},"features":${body}}\n`;
  await writeFileAtomic(path, text);
}
