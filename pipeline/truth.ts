import { readFile } from 'node:fs/promises';
import { cleanGeometry, geojsonCrs } from './baseline/vectors.js';
import { VectorError } from './errors.js';
import { makeTransform } from './geo/crs.js';
import type { TruthFeature } from './outputs/index.js';
import type { Grid } from './types.js';

/** One polygon part of a GeoJSON feature, in the grid's CRS, with its feature's index and properties. */
export interface PolygonPart {
  readonly index: number;
  readonly part: number;
  readonly parts: number;
  readonly properties: Record<string, unknown>;
  readonly polygon: number[][][];
}

/**
 * Reads a GeoJSON FeatureCollection of polygons into polygon parts in the grid's CRS (features
 * whose geometry cannot be cleaned are left out). For scoring: truth lists and detected patches.
 * @throws VectorError when the file cannot be read or is not a FeatureCollection.
 */
export async function readPolygonParts(file: string, grid: Grid, what: string): Promise<PolygonPart[]> {
  let doc: { type?: string; features?: { geometry: unknown; properties: Record<string, unknown> }[] };
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new VectorError('VECTOR_INVALID', `${what} ${file}: ${(e as Error).message}`, { file });
  }
  if (doc.type !== 'FeatureCollection' || !Array.isArray(doc.features)) throw new VectorError('VECTOR_INVALID', `${what} ${file}: not a FeatureCollection`, { file });
  const toGrid = makeTransform(geojsonCrs(doc as never, file), grid.crs);
  return doc.features.flatMap((f, index) => {
    const cleaned = cleanGeometry(f.geometry);
    if ('problem' in cleaned) return [];
    return cleaned.polygons.map((poly, part) => ({ index, part, parts: cleaned.polygons.length, properties: f.properties ?? {}, polygon: poly.map((ring) => ring.map(([x, y]) => toGrid(x, y))) }));
  });
}

/**
 * Reads a ground-truth GeoJSON (as the sample generator writes it: kind, type, hardCase, legal,
 * approval) into polygons in the grid's CRS, one truth feature per polygon part.
 * @throws VectorError when the file cannot be read or is not a FeatureCollection.
 */
export async function loadTruth(file: string, grid: Grid): Promise<TruthFeature[]> {
  return (await readPolygonParts(file, grid, 'truth')).map(({ index, part, parts, properties: p, polygon }) => ({
    id: `${String(p.id ?? index)}${parts > 1 ? `.${part}` : ''}`,
    kind: p.kind === 'change' ? 'change' : 'hard_case',
    type: typeof p.type === 'string' ? p.type : undefined,
    hardCase: typeof p.hardCase === 'string' ? p.hardCase : undefined,
    legal: Boolean(p.legal),
    approval: typeof p.approval === 'string' ? p.approval : null,
    polygon,
  }));
}
