import { readFile } from 'node:fs/promises';
import { cleanGeometry, geojsonCrs } from './baseline/vectors.js';
import { VectorError } from './errors.js';
import { makeTransform } from './geo/crs.js';
import type { TruthFeature } from './outputs/index.js';
import type { Grid } from './types.js';

/**
 * Reads a ground-truth GeoJSON (as the sample generator writes it: kind, type, hardCase, legal,
 * approval) into polygons in the grid's CRS, one truth feature per polygon part.
 * @throws VectorError when the file cannot be read or is not a FeatureCollection.
 */
export async function loadTruth(file: string, grid: Grid): Promise<TruthFeature[]> {
  let doc: { type?: string; features?: { geometry: unknown; properties: Record<string, unknown> }[] };
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new VectorError('VECTOR_INVALID', `truth ${file}: ${(e as Error).message}`, { file });
  }
  if (doc.type !== 'FeatureCollection' || !Array.isArray(doc.features)) throw new VectorError('VECTOR_INVALID', `truth ${file}: not a FeatureCollection`, { file });
  const toGrid = makeTransform(geojsonCrs(doc as never, file), grid.crs);
  const out: TruthFeature[] = [];
  doc.features.forEach((f, i) => {
    const cleaned = cleanGeometry(f.geometry);
    if ('problem' in cleaned) return;
    const p = f.properties ?? {};
    cleaned.polygons.forEach((poly, k) =>
      out.push({
        id: `${String(p.id ?? i)}${cleaned.polygons.length > 1 ? `.${k}` : ''}`,
        kind: p.kind === 'change' ? 'change' : 'hard_case',
        type: typeof p.type === 'string' ? p.type : undefined,
        hardCase: typeof p.hardCase === 'string' ? p.hardCase : undefined,
        legal: Boolean(p.legal),
        approval: typeof p.approval === 'string' ? p.approval : null,
        polygon: poly.map((ring) => ring.map(([x, y]) => toGrid(x, y))),
      }),
    );
  });
  return out;
}
