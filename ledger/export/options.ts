/** Options of the export functions, validated at the door with zod. */
import { basename, extname } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../pipeline/errors.js';
import { CGCS2000_EPSG, isExportEpsg } from './crs.js';
import type { ClueFeature } from './types.js';

export const CLUE_FORMATS = ['xlsx', 'shp', 'gpkg', 'geojson', 'kml', 'csv'] as const;
export type ClueFormat = (typeof CLUE_FORMATS)[number];

export const ClueExportOptionsSchema = z
  .object({
    /**
     * CRS of Shapefile and GeoPackage geometries: 4490 (CGCS2000 lon/lat, default) or a CGCS2000
     * 3-degree Gauss–Krüger zone, 4513–4533 (zone-prefixed eastings) or 4534–4554. GeoJSON, KML and
     * CSV are always lon/lat.
     */
    epsg: z
      .number()
      .int()
      .refine(isExportEpsg, { message: 'must be 4490 or a CGCS2000 3-degree Gauss–Krüger zone (4513–4554)' })
      .default(CGCS2000_EPSG),
    /** Layer / file name inside Shapefile zips and GeoPackages; default: the output file's base name. */
    layerName: z.string().trim().min(1).max(60).optional(),
    /** Title: workbook and KML document name, title row of the xlsx sheets. */
    title: z.string().max(200).optional(),
    /** xlsx: one sheet per township instead of one 线索清单 sheet. */
    sheetPerTownship: z.boolean().default(false),
    /** CSV: add a WKT column with the lon/lat MultiPolygon. */
    wkt: z.boolean().default(false),
  })
  .strict();

export type ClueExportOptions = z.input<typeof ClueExportOptionsSchema>;
export type ResolvedClueExportOptions = z.output<typeof ClueExportOptionsSchema>;

export const BalanceExportOptionsSchema = z
  .object({
    /** Workbook title, e.g. "XX县2026年耕地进出平衡表". */
    title: z.string().max(200).optional(),
  })
  .strict();
export type BalanceExportOptions = z.input<typeof BalanceExportOptionsSchema>;

/** Parses options or throws a ConfigError listing every problem. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, what: string): z.output<S> {
  const r = schema.safeParse(options ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new ConfigError('CONFIG_INVALID', `Invalid ${what} options: ${problems}`, { stage: 'export' });
  }
  return r.data;
}

/** What an export wrote. */
export interface ExportResult {
  path: string;
  format: ClueFormat | 'balance-xlsx';
  /** Features (or balance rows) written. */
  count: number;
  /** Things the reader should know, e.g. a text cut to the 254-byte DBF limit. */
  warnings: string[];
}

/** Layer name: the option, else the output's base name without extension, made file-name safe. */
export function layerNameFor(outPath: string, opts: ResolvedClueExportOptions): string {
  const raw = opts.layerName ?? basename(outPath, extname(outPath));
  // Letters (any script), digits, _ and - only: it becomes file names inside a zip and a SQL table name.
  const safe = raw.replace(/[^\p{L}\p{N}_-]+/gu, '_').replace(/^_+|_+$/g, '');
  return safe === '' ? 'clues' : safe;
}

/**
 * Materialises the features: every writer needs two passes (DBF widths, Excel column widths,
 * bounding boxes, counts in headers) before it writes a byte.
 */
export async function collect(features: Iterable<ClueFeature> | AsyncIterable<ClueFeature>): Promise<ClueFeature[]> {
  const out: ClueFeature[] = [];
  for await (const f of features as AsyncIterable<ClueFeature>) out.push(f);
  return out;
}
