/**
 * GeoJSON (RFC 7946) export: a FeatureCollection of MultiPolygons in longitude/latitude, outer rings
 * counter-clockwise, coordinates to 1e-7° (≈1 cm). RFC 7946 fixes the CRS to WGS84; the data are
 * CGCS2000 (EPSG:4490), which agrees with WGS84 to a few centimetres — far below the 1e-7° rounding
 * and any imagery we use — so coordinates are written unchanged and no `crs` member is written.
 * Properties are the field codes (JCBH, MJ, …) with the values of every other format.
 */
import { writeFileAtomic } from '../../pipeline/outputs/atomic.js';
import { CLUE_FIELDS, fieldValue } from './fields.js';
import { prepareGeometry, type MultiPolygon } from './geometry.js';
import type { ResolvedClueExportOptions } from './options.js';
import type { ClueFeature } from './types.js';

/** Decimal places of lon/lat in text formats (GeoJSON, KML, CSV WKT). */
export const LONLAT_DECIMALS = 7;
const identity = (lon: number, lat: number): [number, number] => [lon, lat];

/** The feature's MultiPolygon cleaned, rounded to 1e-7° and oriented for OGC/RFC 7946 (outer CCW). */
export const lonLatGeometry = (f: ClueFeature): MultiPolygon =>
  prepareGeometry(f.geometryLonLat, f.fields.JCBH, { transform: identity, outerCcw: true, decimals: LONLAT_DECIMALS });

export function toGeoJsonFeature(f: ClueFeature): Record<string, unknown> {
  const mp = lonLatGeometry(f);
  const properties: Record<string, unknown> = {};
  for (const spec of CLUE_FIELDS) properties[spec.key] = fieldValue(f.fields, spec);
  return { type: 'Feature', id: f.fields.JCBH, geometry: mp.length ? { type: 'MultiPolygon', coordinates: mp } : null, properties };
}

export async function writeGeoJson(features: readonly ClueFeature[], outPath: string, opts: ResolvedClueExportOptions, layer: string): Promise<void> {
  // One feature per line: diffable, and a large file can be read line by line.
  const lines = features.map((f) => JSON.stringify(toGeoJsonFeature(f)));
  const head = JSON.stringify({ type: 'FeatureCollection', name: layer, ...(opts.title ? { title: opts.title } : {}) }).slice(0, -1);
  const text = `${head},"features":[\n${lines.join(',\n')}\n]}\n`;
  await writeFileAtomic(outPath, text);
}
