/**
 * GeoTIFF metadata interpretation: GeoKeys → CRS, model tags → geotransform, GDAL_METADATA
 * items, GDAL_NODATA, acquisition dates.
 */
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import type { Crs, GeoTransform } from '../types.js';
import { crsFromEpsg } from '../geo/crs.js';

/** CRS of an image without georeferencing (pixel space). */
export const NO_CRS: Crs = { epsg: null, proj4: null, name: 'none' };

/** Parsed GeoKey directory: key id → number | number[] | string. */
export type GeoKeys = Map<number, number | number[] | string>;

/**
 * Parses the GeoKeyDirectory tag with its double and ASCII parameter tags.
 * @throws never (malformed entries are skipped)
 */
export function parseGeoKeys(dir: number[] | null, doubles: number[] | null, ascii: string | null): GeoKeys {
  const keys: GeoKeys = new Map();
  if (!dir || dir.length < 4) return keys;
  const n = dir[3];
  for (let i = 0; i < n && 4 + i * 4 + 3 < dir.length; i++) {
    const [id, loc, count, value] = dir.slice(4 + i * 4, 8 + i * 4);
    if (loc === 0) keys.set(id, value);
    else if (loc === 34736 && doubles) keys.set(id, count === 1 ? doubles[value] : doubles.slice(value, value + count));
    else if (loc === 34737 && ascii !== null) keys.set(id, ascii.substring(value, value + count).replace(/\|$/, '').replace(/\0/g, ''));
    else if (loc === 34735) keys.set(id, count === 1 ? dir[value] : dir.slice(value, value + count));
  }
  return keys;
}

const GK = {
  model: 1024,
  raster: 1025,
  citation: 1026,
  geographic: 2048,
  geogCitation: 2049,
  projected: 3072,
  pcsCitation: 3073,
  projection: 3074,
} as const;

const num = (v: number | number[] | string | undefined): number | null => (typeof v === 'number' ? v : null);
const str = (v: number | number[] | string | undefined): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/**
 * Whether the GeoKeys say pixel values are points (RasterPixelIsPoint) rather than areas.
 * @throws never
 */
export const isPixelIsPoint = (keys: GeoKeys): boolean => num(keys.get(GK.raster)) === 2;

/**
 * The CRS described by GeoKeys: an EPSG code from ProjectedCSTypeGeoKey, from
 * GeographicTypeGeoKey for geographic models, or from a UTM ProjectionGeoKey (16001–16160) on a
 * WGS84/NAD83/ETRS89 datum; otherwise a custom CRS (no EPSG, not projectable) whose name carries
 * the citation and a fingerprint of the keys, so two files with identical user-defined GeoKeys
 * get equal names. Null when there are no GeoKeys.
 * @throws never
 */
export function crsFromGeoKeys(keys: GeoKeys): Crs | null {
  if (keys.size === 0) return null;
  const model = num(keys.get(GK.model));
  const pcs = num(keys.get(GK.projected));
  const gcs = num(keys.get(GK.geographic));
  const valid = (c: number | null): c is number => c !== null && c > 0 && c !== 32767;
  if (valid(pcs)) return crsFromEpsg(pcs);
  if (model !== 1 && valid(gcs) && (model === 2 || pcs === null)) return crsFromEpsg(gcs);
  const proj = num(keys.get(GK.projection));
  if (model === 1 && valid(gcs) && proj !== null) {
    const north = proj > 16000 && proj <= 16060;
    const south = proj > 16100 && proj <= 16160;
    const zone = north ? proj - 16000 : south ? proj - 16100 : 0;
    if (zone > 0) {
      if (gcs === 4326) return crsFromEpsg((north ? 32600 : 32700) + zone);
      if (gcs === 4269 && north && zone <= 23) return crsFromEpsg(26900 + zone);
      if (gcs === 4258 && north && zone >= 28 && zone <= 38) return crsFromEpsg(25800 + zone);
    }
  }
  const citation = str(keys.get(GK.pcsCitation)) ?? str(keys.get(GK.citation)) ?? str(keys.get(GK.geogCitation));
  const fingerprint = createHash('sha1')
    .update(JSON.stringify([...keys.entries()].sort((a, b) => a[0] - b[0])))
    .digest('hex')
    .slice(0, 8);
  const kind = model === 2 ? 'geographic' : model === 1 ? 'projected' : 'model type ' + (model ?? 'unset');
  return { epsg: null, proj4: null, name: `custom ${kind} (${citation ? citation.replace(/\s+/g, ' ').slice(0, 120) : 'user-defined GeoKeys'}) #${fingerprint}` };
}

/** Result of reading the georeferencing tags. */
export interface Georef {
  readonly transform: GeoTransform;
  readonly georeferenced: boolean;
  readonly gcpCount: number;
}

/**
 * The GDAL-order geotransform from ModelTransformation, or ModelTiepoint + ModelPixelScale,
 * shifted by half a pixel for PixelIsPoint rasters as GDAL does. Several tie points without a
 * usable scale are ground control points: the image is then not georeferenced (GCP warping is
 * not supported) and the transform is the identity [0,1,0,0,0,1]. Units are the CRS's (metres
 * or degrees per pixel).
 * @throws never
 */
export function geoTransformFromTags(
  scale: number[] | null,
  tie: number[] | null,
  matrix: number[] | null,
  pixelIsPoint: boolean,
): Georef {
  let t: [number, number, number, number, number, number] | null = null;
  let gcpCount = 0;
  if (matrix && matrix.length >= 8 && matrix.slice(0, 8).every(Number.isFinite)) {
    t = [matrix[3], matrix[0], matrix[1], matrix[7], matrix[4], matrix[5]];
  } else if (tie && tie.length >= 6) {
    if (tie.length === 6 && scale && scale.length >= 2 && scale[0] !== 0 && scale[1] !== 0) {
      const [i, j, , x, y] = tie;
      const [sx, sy] = scale;
      t = [x - i * sx, sx, 0, y + j * sy, 0, -sy];
    } else {
      gcpCount = Math.floor(tie.length / 6);
    }
  }
  if (!t || t[1] * t[5] - t[2] * t[4] === 0) return { transform: [0, 1, 0, 0, 0, 1], georeferenced: false, gcpCount };
  if (pixelIsPoint) {
    t[0] -= 0.5 * t[1] + 0.5 * t[2];
    t[3] -= 0.5 * t[4] + 0.5 * t[5];
  }
  return { transform: t, georeferenced: true, gcpCount };
}

/** One GDAL_METADATA item. */
export interface GdalItem {
  readonly name: string;
  readonly value: string;
  readonly sample: number | null;
  readonly role: string | null;
  readonly domain: string | null;
}

const unescapeXml = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');

/**
 * Parses the GDAL_METADATA XML (`<GDALMetadata><Item name=… sample=… role=…>value</Item>…`).
 * @throws never (unparsable items are skipped)
 */
export function parseGdalMetadata(xml: string | null): GdalItem[] {
  if (!xml) return [];
  const items: GdalItem[] = [];
  const re = /<Item\s+([^>]*?)\s*(?:\/>|>([\s\S]*?)<\/Item>)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const attrs = new Map<string, string>();
    for (const a of m[1].matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) attrs.set(a[1].toLowerCase(), unescapeXml(a[2]));
    const name = attrs.get('name');
    if (!name) continue;
    const sample = attrs.has('sample') ? Number(attrs.get('sample')) : null;
    items.push({
      name,
      value: unescapeXml(m[2] ?? '').trim(),
      sample: sample !== null && Number.isInteger(sample) ? sample : null,
      role: attrs.get('role') ?? null,
      domain: attrs.get('domain') || null,
    });
  }
  return items;
}

/**
 * Parses a GDAL_NODATA string ("0", "-9999", "nan", "-3.4e+38", "inf"), or null when unparsable.
 * @throws never
 */
export function parseNodata(s: string | null): number | null {
  if (s === null) return null;
  const v = s.trim().toLowerCase();
  if (v === '') return null;
  if (v === 'nan' || v === '-nan') return NaN;
  if (v === 'inf' || v === '+inf' || v === 'infinity') return Infinity;
  if (v === '-inf' || v === '-infinity') return -Infinity;
  const n = Number(v);
  return Number.isNaN(n) ? null : n;
}

/**
 * A calendar date from a metadata or TIFF DateTime value ("2015-08-04", "2015:08:04 10:00:00",
 * "20150804", "2020-01-06T01:53:22Z"), as ISO "YYYY-MM-DD", or null.
 * @throws never
 */
export function isoDate(s: string | null | undefined): string | null {
  if (!s) return null;
  const m = /^\s*(\d{4})[-:/]?(\d{2})[-:/]?(\d{2})(?:$|[T\s_])/.exec(s);
  return m ? validDate(m[1], m[2], m[3]) : null;
}

function validDate(y: string, m: string, d: string): string | null {
  const Y = Number(y);
  const M = Number(m);
  const D = Number(d);
  if (Y < 1950 || Y > 2100 || M < 1 || M > 12 || D < 1) return null;
  const days = new Date(Date.UTC(Y, M, 0)).getUTCDate();
  if (D > days) return null;
  return `${y}-${m}-${d}`;
}

/**
 * A date in a file name: YYYYMMDD or YYYY-MM-DD not embedded in a longer digit run, as ISO
 * "YYYY-MM-DD", or null.
 * @throws never
 */
export function dateFromFileName(path: string): string | null {
  const name = basename(path);
  for (const m of name.matchAll(/(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)|(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)/g)) {
    const d = m[1] ? validDate(m[1], m[2], m[3]) : validDate(m[4], m[5], m[6]);
    if (d) return d;
  }
  return null;
}

/**
 * Normalises a band description to a band name: trimmed, lower case, NIR spellings unified.
 * @throws never
 */
export function bandNameFromDescription(desc: string): string | null {
  const s = desc.trim().toLowerCase().replace(/\s+/g, ' ');
  if (!s) return null;
  if (/^(nir|near[ _-]?infra[ _-]?red|nearinfrared)$/.test(s)) return 'nir';
  return s;
}
