/**
 * Exports of the ledger: clue lists in the formats townships, GIS desks and field apps take, and the
 * in–out balance table. Functions from records (types.ts) to files; every write is atomic (a
 * `.partial` file renamed into place), so a failed export never leaves a truncated file behind.
 */
import { OutputError, isAppError } from '../../pipeline/errors.js';
import { writeBalanceXlsx } from './balance-xlsx.js';
import { writeCsv } from './csv.js';
import { writeGeoJson } from './geojson.js';
import { writeGeoPackage } from './gpkg.js';
import { writeKml } from './kml.js';
import {
  BalanceExportOptionsSchema,
  ClueExportOptionsSchema,
  CLUE_FORMATS,
  collect,
  layerNameFor,
  parseOptions,
  type BalanceExportOptions,
  type ClueExportOptions,
  type ClueFormat,
  type ExportResult,
} from './options.js';
import { writeShapefileZip } from './shapefile.js';
import type { BalanceRow, ClueFeature } from './types.js';
import { writeClueXlsx } from './xlsx.js';

export type { BalanceRow, ClueFeature, ClueFields } from './types.js';
export { CLUE_FORMATS, ClueExportOptionsSchema, BalanceExportOptionsSchema } from './options.js';
export type { BalanceExportOptions, ClueExportOptions, ClueFormat, ExportResult } from './options.js';
export { CLUE_FIELDS } from './fields.js';
export type { FieldSpec } from './fields.js';
export { esriWkt, ogcWkt1, isExportEpsg, CGCS2000_EPSG } from './crs.js';
export { BALANCE_SHEET_M2, BALANCE_SHEET_MU } from './balance-xlsx.js';

/** File extension each format is written with (the Shapefile is a zip). */
export const FORMAT_EXTENSION: Readonly<Record<ClueFormat, string>> = {
  xlsx: '.xlsx',
  shp: '.zip',
  gpkg: '.gpkg',
  geojson: '.geojson',
  kml: '.kml',
  csv: '.csv',
};

/**
 * Writes `features` (already filtered by the ledger) to `outPath` in `format`.
 *
 * - `xlsx`: 线索清单 (or one sheet per township) + 汇总, Chinese headers, numeric cells.
 * - `shp`: zip of .shp/.shx/.dbf/.prj/.cpg in `options.epsg` (4490 or a Gauss–Krüger zone).
 * - `gpkg`: GeoPackage 1.2 in `options.epsg`.
 * - `geojson`, `kml`, `csv`: CGCS2000 lon/lat whatever `epsg` says.
 *
 * Features are read fully before writing (headers need counts, widths and extents). Throws a
 * ConfigError for bad options, a VectorError (VECTOR_INVALID) for bad records, an OutputError for
 * failed writes.
 */
export async function exportClues(
  features: Iterable<ClueFeature> | AsyncIterable<ClueFeature>,
  format: ClueFormat,
  outPath: string,
  options: ClueExportOptions = {},
): Promise<ExportResult> {
  if (!(CLUE_FORMATS as readonly string[]).includes(format))
    throw new OutputError('OUTPUT_FAILED', `Unknown export format "${format}"; expected one of ${CLUE_FORMATS.join(', ')}`, { format });
  const opts = parseOptions(ClueExportOptionsSchema, options, 'clue export');
  const all = await collect(features);
  const layer = layerNameFor(outPath, opts);
  let warnings: string[] = [];
  try {
    switch (format) {
      case 'xlsx':
        await writeClueXlsx(all, outPath, opts);
        break;
      case 'shp':
        warnings = await writeShapefileZip(all, outPath, opts, layer);
        break;
      case 'gpkg':
        warnings = await writeGeoPackage(all, outPath, opts, layer);
        break;
      case 'geojson':
        await writeGeoJson(all, outPath, opts, layer);
        break;
      case 'kml':
        await writeKml(all, outPath, opts);
        break;
      case 'csv':
        await writeCsv(all, outPath, opts);
        break;
    }
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new OutputError('OUTPUT_FAILED', `Could not export ${format} to ${outPath}: ${(err as Error)?.message ?? String(err)}`, { file: outPath, format }, { cause: err });
  }
  return { path: outPath, format, count: all.length, warnings };
}

/**
 * Writes the in–out balance table (进出平衡表) workbook: one row per township and year, cropland out
 * by target class and in, paddy apart, confirmed and pending apart, a 合计 row per year; one sheet in
 * m² and one in 亩.
 */
export async function exportBalanceXlsx(
  rows: Iterable<BalanceRow> | AsyncIterable<BalanceRow>,
  outPath: string,
  options: BalanceExportOptions = {},
): Promise<ExportResult> {
  const opts = parseOptions(BalanceExportOptionsSchema, options, 'balance export');
  const all: BalanceRow[] = [];
  for await (const r of rows as AsyncIterable<BalanceRow>) all.push(r);
  try {
    await writeBalanceXlsx(all, outPath, opts);
  } catch (err) {
    if (isAppError(err)) throw err;
    throw new OutputError('OUTPUT_FAILED', `Could not export the balance table to ${outPath}: ${(err as Error)?.message ?? String(err)}`, { file: outPath }, { cause: err });
  }
  return { path: outPath, format: 'balance-xlsx', count: all.length, warnings: [] };
}
