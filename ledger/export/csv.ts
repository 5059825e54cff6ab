/**
 * CSV export for spreadsheets: UTF-8 with a byte-order mark (without it Excel reads Chinese as
 * GBK mojibake), CRLF line ends and RFC 4180 quoting, Chinese headers, the centroid's lon/lat in
 * 经度/纬度, and optionally a WKT column with the lon/lat MultiPolygon. Code columns (行政区代码,
 * 原地类编码) are plain text: Excel drops their leading zeros on open — the xlsx export keeps them.
 */
import { writeFileAtomic } from '../../pipeline/outputs/atomic.js';
import { CLUE_FIELDS, fieldText } from './fields.js';
import { LONLAT_DECIMALS, lonLatGeometry } from './geojson.js';
import type { MultiPolygon } from './geometry.js';
import type { ResolvedClueExportOptions } from './options.js';
import type { ClueFeature } from './types.js';

export const WKT_HEADER = 'WKT';

/** Quotes a CSV cell when it holds a comma, quote, line break or edge blanks. */
export function csvCell(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** OGC WKT of a lon/lat MultiPolygon. */
export function toWkt(mp: MultiPolygon): string {
  if (mp.length === 0) return 'MULTIPOLYGON EMPTY';
  const ring = (r: number[][]): string => `(${r.map((p) => `${p[0].toFixed(LONLAT_DECIMALS)} ${p[1].toFixed(LONLAT_DECIMALS)}`).join(', ')})`;
  return `MULTIPOLYGON (${mp.map((poly) => `(${poly.map(ring).join(', ')})`).join(', ')})`;
}

export async function writeCsv(features: readonly ClueFeature[], outPath: string, opts: ResolvedClueExportOptions): Promise<void> {
  const header = CLUE_FIELDS.map((f) => f.header);
  if (opts.wkt) header.push(WKT_HEADER);
  const lines = [header.map(csvCell).join(',')];
  for (const f of features) {
    const cells = CLUE_FIELDS.map((spec) => fieldText(f.fields, spec));
    if (opts.wkt) cells.push(toWkt(lonLatGeometry(f)));
    lines.push(cells.map(csvCell).join(','));
  }
  await writeFileAtomic(outPath, '\uFEFF' + lines.join('\r\n') + '\r\n');
}
