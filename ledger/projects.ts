/**
 * The 补充耕地 project register: new cropland parcels imported from a vector file (GeoJSON in any
 * CRS PostGIS knows, declared by the legacy `crs` member; lon/lat when absent), each with its 5-year
 * care period (管护期) from acceptance (YSRQ). Re-importing a project (same XMBH) updates it.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';

const PropsSchema = z
  .object({
    XMBH: z.preprocess((v) => (v === null || v === undefined ? '' : String(v)), z.string().trim().min(1, 'XMBH (项目编号) is required')),
    XMMC: z.string().nullish(),
    YSRQ: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}/, 'YSRQ (验收日期) must be a date yyyy-mm-dd')
      .transform((s) => s.slice(0, 10))
      .nullish(),
    XZGDMJ: z.number().nonnegative().nullish(),
    XZQDM: z.preprocess((v) => (v === null || v === undefined ? v : String(v)), z.string().nullish()),
    DLBM: z.string().nullish(),
  })
  .loose();
const PolygonSchema = z.array(z.array(z.array(z.number()).min(2)).min(4)).min(1);
const FeatureSchema = z.object({
  type: z.literal('Feature'),
  properties: PropsSchema,
  geometry: z.discriminatedUnion('type', [
    z.object({ type: z.literal('Polygon'), coordinates: PolygonSchema }),
    z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(PolygonSchema).min(1) }),
  ]),
});

/** EPSG code from a GeoJSON `crs` member ("urn:ogc:def:crs:EPSG::4528", "EPSG:4490", CRS84 → 4490). */
export function sridOfGeoJson(fc: { crs?: { properties?: { name?: unknown } } }): number {
  const name = fc.crs?.properties?.name;
  if (typeof name !== 'string') return 4490;
  if (/CRS84$/i.test(name)) return 4490;
  const m = /EPSG:{1,2}(\d+)$/i.exec(name);
  if (!m) throw new LedgerError('VECTOR_INVALID', `unsupported crs "${name}" (give an EPSG code)`, { field: 'crs' });
  return Number(m[1]);
}

export interface ImportReport {
  file: string;
  srid: number;
  inserted: number;
  updated: number;
}

export async function importProjects(tx: Queryable, file: string): Promise<ImportReport> {
  let doc: { type?: unknown; features?: unknown[]; crs?: { properties?: { name?: unknown } } };
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'VECTOR_INVALID';
    throw new LedgerError(code, `projects ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  if (doc?.type !== 'FeatureCollection' || !Array.isArray(doc.features)) throw new LedgerError('VECTOR_INVALID', `projects ${file}: not a GeoJSON FeatureCollection`, { file });
  let srid: number;
  try {
    srid = sridOfGeoJson(doc);
  } catch (e) {
    throw new LedgerError('VECTOR_INVALID', `projects ${file}: ${(e as Error).message}`, { file, field: 'crs' });
  }
  const known = await tx.query('SELECT 1 FROM spatial_ref_sys WHERE srid = $1', [srid]);
  if (!known.rows.length) throw new LedgerError('VECTOR_INVALID', `projects ${file}: EPSG:${srid} is not a CRS the ledger knows`, { file, field: 'crs' });
  const seen = new Set<string>();
  const rows = doc.features.map((f, i) => {
    const r = FeatureSchema.safeParse(f);
    if (!r.success) throw new LedgerError('VECTOR_INVALID', `projects ${file}: feature ${i}: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`, { file, feature: i });
    const p = r.data.properties;
    if (seen.has(p.XMBH)) throw new LedgerError('VECTOR_INVALID', `projects ${file}: feature ${i}: XMBH ${p.XMBH} appears twice`, { file, feature: i });
    seen.add(p.XMBH);
    const g = r.data.geometry;
    return { xmbh: p.XMBH, xmmc: p.XMMC ?? null, ysrq: p.YSRQ ?? null, xzgdmj: p.XZGDMJ ?? null, xzqdm: p.XZQDM ?? null, dlbm: p.DLBM ?? null, props: p, g: JSON.stringify(g) };
  });
  const r = await tx.query<{ inserted: boolean }>(
    `INSERT INTO projects (xmbh, xmmc, ysrq, xzqdm, dlbm, declared_m2, area_m2, properties, geom, source)
     SELECT x.xmbh, x.xmmc, x.ysrq::date, x.xzqdm, x.dlbm, x.xzgdmj, ST_Area(g.geom::geography), x.props, g.geom, $3
     FROM jsonb_to_recordset($1::jsonb) AS x(xmbh text, xmmc text, ysrq text, xzgdmj float8, xzqdm text, dlbm text, props jsonb, g text),
          LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(x.g), $2::int), 4490)), 3))::geometry(MultiPolygon, 4490) AS geom) AS g
     ON CONFLICT (xmbh) DO UPDATE SET xmmc = EXCLUDED.xmmc, ysrq = EXCLUDED.ysrq, xzqdm = EXCLUDED.xzqdm, dlbm = EXCLUDED.dlbm, declared_m2 = EXCLUDED.declared_m2,
       area_m2 = EXCLUDED.area_m2, properties = EXCLUDED.properties, geom = EXCLUDED.geom, source = EXCLUDED.source, imported_at = now()
     RETURNING (xmax = 0) AS inserted`,
    [JSON.stringify(rows), srid, file],
  );
  await tx.query(
    `INSERT INTO townships (xzqdm) SELECT DISTINCT xzqdm FROM projects WHERE xzqdm IS NOT NULL ON CONFLICT (xzqdm) DO NOTHING`,
  );
  const inserted = r.rows.filter((x) => x.inserted).length;
  return { file, srid, inserted, updated: r.rows.length - inserted };
}

export interface ProjectRow {
  xmbh: string;
  xmmc: string | null;
  xzqdm: string | null;
  dlbm: string | null;
  ysrq: string | null;
  careUntil: string | null;
  /** Inside its 5-year care period on `asOf`. */
  inCare: boolean;
  areaM2: number;
  declaredM2: number | null;
  /** Open cases (not merged, not 伪变化 or closed) on the parcel: new cropland under threat. */
  openCases: string[];
}

export async function listProjects(db: Queryable, asOf: string, opts: { inCareOnly?: boolean } = {}): Promise<ProjectRow[]> {
  const r = await db.query<{ xmbh: string; xmmc: string | null; xzqdm: string | null; dlbm: string | null; ysrq: string | null; care_until: string | null; in_care: boolean; area_m2: number; declared_m2: number | null; cases: string[] | null }>(
    `SELECT p.xmbh, p.xmmc, p.xzqdm, p.dlbm, p.ysrq::text AS ysrq, p.care_until::text AS care_until,
            COALESCE(p.ysrq <= $1::date AND $1::date < p.care_until, false) AS in_care, p.area_m2, p.declared_m2,
            (SELECT array_agg(c.jcbh ORDER BY c.jcbh) FROM cases c WHERE c.merged_into IS NULL AND c.status NOT IN ('false_change', 'closed')
               AND ST_Intersects(c.geom, p.geom)) AS cases
     FROM projects p ${opts.inCareOnly ? 'WHERE p.ysrq <= $1::date AND $1::date < p.care_until' : ''} ORDER BY p.xmbh`,
    [asOf],
  );
  return r.rows.map((p) => ({
    xmbh: p.xmbh,
    xmmc: p.xmmc,
    xzqdm: p.xzqdm,
    dlbm: p.dlbm,
    ysrq: p.ysrq,
    careUntil: p.care_until,
    inCare: p.in_care,
    areaM2: Math.round(p.area_m2 * 100) / 100,
    declaredM2: p.declared_m2,
    openCases: p.cases ?? [],
  }));
}

/**
 * The register as GeoJSON (EPSG:4490 longitude/latitude), properties XMBH, XMMC, XZQDM, DLBM, YSRQ
 * and care_until: the parcels idle monitoring watches. `inCareOnly` keeps projects in their care
 * period on `asOf`.
 */
export async function projectsGeoJson(db: Queryable, asOf: string, opts: { inCareOnly?: boolean } = {}): Promise<{ type: 'FeatureCollection'; features: { type: 'Feature'; properties: Record<string, unknown>; geometry: unknown }[] }> {
  const r = await db.query<{ xmbh: string; xmmc: string | null; xzqdm: string | null; dlbm: string | null; ysrq: string | null; care_until: string | null; geojson: string }>(
    `SELECT xmbh, xmmc, xzqdm, dlbm, ysrq::text AS ysrq, care_until::text AS care_until, ST_AsGeoJSON(geom, 9) AS geojson
     FROM projects ${opts.inCareOnly ? 'WHERE ysrq <= $1::date AND $1::date < care_until' : 'WHERE $1::date IS NOT NULL'} ORDER BY xmbh`,
    [asOf],
  );
  return {
    type: 'FeatureCollection',
    features: r.rows.map((p) => ({ type: 'Feature', properties: { XMBH: p.xmbh, XMMC: p.xmmc, XZQDM: p.xzqdm, DLBM: p.dlbm, YSRQ: p.ysrq, care_until: p.care_until }, geometry: JSON.parse(p.geojson) })),
  };
}
