/**
 * The 补充耕地 register, quota plan and indicator uses in the ledger (issue 8): imports that write
 * everything or nothing (one transaction, every row validated first, all errors reported at once),
 * and reads for the audit and the indicator account. The register extends the `projects` table
 * idle monitoring already watches (same XMBH key, same geometry rules as ledger/projects.ts).
 */
import { readFile } from 'node:fs/promises';
import type { AuditProject } from '../audit/findings.js';
import { formatRowError, parseRegister, type RegisterRow, type RowError } from '../audit/register.js';
import { parseQuotas, parseUses } from '../audit/tables.js';
import { PROJECT_TYPES, type ProjectType } from '../audit/types.js';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';
import type { Ledger } from './index.js';
import { sridOfGeoJson } from './projects.js';

/** A register, quota table or use table with row errors: nothing was written. */
export class RegisterError extends LedgerError {
  constructor(
    what: string,
    file: string,
    readonly errors: readonly RowError[],
  ) {
    const shown = errors.slice(0, 50).map((e) => `  ${formatRowError(e)}`);
    super('VECTOR_INVALID', `${what} ${file} rejected, nothing written: ${errors.length} error(s)\n${shown.join('\n')}${errors.length > 50 ? `\n  … and ${errors.length - 50} more` : ''}`, {
      file,
      errors: errors as RowError[],
    });
  }
}

async function readText(what: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'VECTOR_INVALID';
    throw new LedgerError(code, `${what} ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** Township codes and names from a boundary layer (GeoJSON with XZQDM, XZQMC). */
export async function readTownships(file: string): Promise<Map<string, string | null>> {
  let doc: { features?: { properties?: Record<string, unknown> | null }[] };
  try {
    doc = JSON.parse(await readText('townships', file));
  } catch (e) {
    if (e instanceof LedgerError) throw e;
    throw new LedgerError('VECTOR_INVALID', `townships ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  if (!Array.isArray(doc?.features)) throw new LedgerError('VECTOR_INVALID', `townships ${file}: not a GeoJSON FeatureCollection`, { file });
  const out = new Map<string, string | null>();
  for (const f of doc.features) {
    const code = f?.properties?.XZQDM;
    if (code !== undefined && code !== null && String(code).trim()) out.set(String(code).trim(), f.properties?.XZQMC ? String(f.properties.XZQMC) : null);
  }
  if (!out.size) throw new LedgerError('VECTOR_INVALID', `townships ${file}: no feature has an XZQDM`, { file, field: 'XZQDM' });
  return out;
}

/** The townships a register may name: the given layer, else those the ledger knows. */
async function knownTownships(tx: Queryable, given: ReadonlyMap<string, string | null> | undefined, what: string, file: string): Promise<Set<string>> {
  if (given) return new Set(given.keys());
  const r = await tx.query<{ xzqdm: string }>('SELECT xzqdm FROM townships');
  if (!r.rows.length)
    throw new LedgerError('CONFIG_INVALID', `${what} ${file}: the ledger knows no townships yet; give the township boundaries (--townships) to check XZQDM against`, { file, field: 'townships' });
  return new Set(r.rows.map((x) => x.xzqdm));
}

export interface RegisterImportReport {
  file: string;
  srid: number;
  rows: number;
  inserted: number;
  updated: number;
}

/**
 * Imports a complete register in the open transaction `tx`: every row is validated (fields, dates,
 * township, geometry structure, then geometry validity by PostGIS) before anything is written; any
 * error rejects the whole file with all row errors. Projects already in the ledger (same XMBH) are
 * updated.
 * @throws RegisterError with every row error; LedgerError FILE_NOT_FOUND / VECTOR_INVALID for an unreadable file or CRS
 */
export async function importRegister(tx: Queryable, file: string, opts: { townships?: ReadonlyMap<string, string | null> } = {}): Promise<RegisterImportReport> {
  const text = await readText('register', file);
  let doc: { crs?: { properties?: { name?: unknown } } };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LedgerError('VECTOR_INVALID', `register ${file}: not valid JSON (${(e as Error).message})`, { file }, { cause: e });
  }
  let srid: number;
  try {
    srid = sridOfGeoJson(doc ?? {});
  } catch (e) {
    throw new LedgerError('VECTOR_INVALID', `register ${file}: ${(e as Error).message}`, { file, field: 'crs' });
  }
  const known = await tx.query('SELECT 1 FROM spatial_ref_sys WHERE srid = $1', [srid]);
  if (!known.rows.length) throw new LedgerError('VECTOR_INVALID', `register ${file}: EPSG:${srid} is not a CRS the ledger knows`, { file, field: 'crs' });
  const townships = await knownTownships(tx, opts.townships, 'register', file);
  const parsed = parseRegister(doc, { townships });
  const errors: RowError[] = [...parsed.errors];
  // Geometry validity (self-intersections, spikes …) and a CRS that places it, by PostGIS.
  if (parsed.rows.length) {
    const v = await tx.query<{ i: number; reason: string | null }>(
      `SELECT x.i, CASE WHEN NOT ST_IsValid(g.geom) THEN ST_IsValidReason(g.geom)
                        WHEN ST_Area(g.geom) <= 0 THEN 'zero area'
                        WHEN NOT ST_Intersects(ST_Transform(g.geom, 4490), ST_MakeEnvelope(73, 3, 136, 54, 4490)) THEN 'lies outside China in EPSG:' || $2::text END AS reason
       FROM jsonb_to_recordset($1::jsonb) AS x(i int, g text),
            LATERAL (SELECT ST_SetSRID(ST_GeomFromGeoJSON(x.g), $2::int) AS geom) AS g`,
      [JSON.stringify(parsed.rows.map((r, i) => ({ i, g: JSON.stringify(r.geometry) }))), srid],
    );
    for (const x of v.rows) if (x.reason) errors.push({ row: parsed.rows[x.i].row, xmbh: parsed.rows[x.i].XMBH, field: 'geometry', message: `invalid geometry: ${x.reason}` });
  }
  if (errors.length) throw new RegisterError('register', file, errors.sort((a, b) => a.row - b.row));
  const rows = parsed.rows.map((r: RegisterRow) => ({
    xmbh: r.XMBH,
    xmmc: r.XMMC,
    xmlx: r.XMLX,
    xmlxmc: PROJECT_TYPES[r.XMLX as ProjectType].label,
    xzqdm: r.XZQDM,
    xzqmc: r.XZQMC ?? opts.townships?.get(r.XZQDM) ?? null,
    dlbm: r.DLBM,
    claimed: r.XZGDMJ,
    paddy: r.XZSTMJ,
    dry: r.XZHDMJ,
    lxrq: r.LXRQ,
    kgrq: r.KGRQ,
    ysrq: r.YSRQ,
    rkrq: r.RKRQ,
    row: r.row,
    props: r.properties,
    g: JSON.stringify(r.geometry),
  }));
  const w = await tx.query<{ inserted: boolean }>(
    `INSERT INTO projects (xmbh, xmmc, ysrq, xzqdm, dlbm, declared_m2, area_m2, properties, geom, source, xmlx, xmlxmc, xzqmc, claimed_m2, paddy_m2, dry_m2, lxrq, kgrq, rkrq, source_row)
     SELECT x.xmbh, x.xmmc, x.ysrq::date, x.xzqdm, x.dlbm, x.claimed, ST_Area(g.geom::geography), x.props, g.geom, $3,
            x.xmlx, x.xmlxmc, x.xzqmc, x.claimed, x.paddy, x.dry, x.lxrq::date, x.kgrq::date, x.rkrq::date, x.row
     FROM jsonb_to_recordset($1::jsonb) AS x(xmbh text, xmmc text, xmlx text, xmlxmc text, xzqdm text, xzqmc text, dlbm text, claimed float8, paddy float8, dry float8,
                                              lxrq text, kgrq text, ysrq text, rkrq text, row int, props jsonb, g text),
          LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(x.g), $2::int), 4490)), 3))::geometry(MultiPolygon, 4490) AS geom) AS g
     ON CONFLICT (xmbh) DO UPDATE SET xmmc = EXCLUDED.xmmc, ysrq = EXCLUDED.ysrq, xzqdm = EXCLUDED.xzqdm, dlbm = EXCLUDED.dlbm, declared_m2 = EXCLUDED.declared_m2,
       area_m2 = EXCLUDED.area_m2, properties = EXCLUDED.properties, geom = EXCLUDED.geom, source = EXCLUDED.source, imported_at = now(),
       xmlx = EXCLUDED.xmlx, xmlxmc = EXCLUDED.xmlxmc, xzqmc = EXCLUDED.xzqmc, claimed_m2 = EXCLUDED.claimed_m2, paddy_m2 = EXCLUDED.paddy_m2, dry_m2 = EXCLUDED.dry_m2,
       lxrq = EXCLUDED.lxrq, kgrq = EXCLUDED.kgrq, rkrq = EXCLUDED.rkrq, source_row = EXCLUDED.source_row
     RETURNING (xmax = 0) AS inserted`,
    [JSON.stringify(rows), srid, file],
  );
  await upsertTownships(tx, opts.townships, rows.map((r) => [r.xzqdm, r.xzqmc] as const));
  const inserted = w.rows.filter((x) => x.inserted).length;
  return { file, srid, rows: rows.length, inserted, updated: w.rows.length - inserted };
}

async function upsertTownships(tx: Queryable, layer: ReadonlyMap<string, string | null> | undefined, named: readonly (readonly [string, string | null])[]): Promise<void> {
  const all = new Map<string, string | null>(layer ?? []);
  for (const [k, v] of named) if (!all.get(k)) all.set(k, v ?? all.get(k) ?? null);
  if (!all.size) return;
  await tx.query(
    `INSERT INTO townships (xzqdm, xzqmc) SELECT t.xzqdm, t.xzqmc FROM jsonb_to_recordset($1::jsonb) AS t(xzqdm text, xzqmc text)
     ON CONFLICT (xzqdm) DO UPDATE SET xzqmc = COALESCE(EXCLUDED.xzqmc, townships.xzqmc)`,
    [JSON.stringify([...all].map(([xzqdm, xzqmc]) => ({ xzqdm, xzqmc })))],
  );
}

/** Replaces the plan of every township-year the table names (one transaction with the caller's). */
export async function importQuotas(tx: Queryable, file: string, opts: { townships?: ReadonlyMap<string, string | null> } = {}): Promise<{ file: string; rows: number }> {
  const text = await readText('quota table', file);
  const townships = await knownTownships(tx, opts.townships, 'quota table', file);
  const { rows, errors } = parseQuotas(text, townships);
  if (errors.length) throw new RegisterError('quota table', file, errors);
  await tx.query(
    `INSERT INTO compensation_quotas (xzqdm, year, target_m2, paddy_target_m2, source)
     SELECT q.xzqdm, q.year, q.t, q.p, $2 FROM jsonb_to_recordset($1::jsonb) AS q(xzqdm text, year int, t float8, p float8)
     ON CONFLICT (xzqdm, year) DO UPDATE SET target_m2 = EXCLUDED.target_m2, paddy_target_m2 = EXCLUDED.paddy_target_m2, source = EXCLUDED.source`,
    [JSON.stringify(rows.map((r) => ({ xzqdm: r.XZQDM, year: r.year, t: r.targetM2, p: r.paddyTargetM2 }))), file],
  );
  await upsertTownships(tx, opts.townships, rows.map((r) => [r.XZQDM, r.XZQMC] as const));
  return { file, rows: rows.length };
}

/** Records indicator uses (核销出库); a use already recorded (same 核销编号 and project) is replaced. */
export async function importUses(tx: Queryable, file: string): Promise<{ file: string; rows: number }> {
  const text = await readText('indicator use table', file);
  const projects = new Set((await tx.query<{ xmbh: string }>('SELECT xmbh FROM projects')).rows.map((r) => r.xmbh));
  const { rows, errors } = parseUses(text, projects);
  if (errors.length) throw new RegisterError('indicator use table', file, errors);
  await tx.query(
    `INSERT INTO compensation_uses (hxbh, project_id, used_on, area_m2, paddy_m2, purpose, source)
     SELECT u.hxbh, p.id, u.d::date, u.a, u.p, u.purpose, $2 FROM jsonb_to_recordset($1::jsonb) AS u(hxbh text, xmbh text, d text, a float8, p float8, purpose text)
     JOIN projects p ON p.xmbh = u.xmbh
     ON CONFLICT (hxbh, project_id) DO UPDATE SET used_on = EXCLUDED.used_on, area_m2 = EXCLUDED.area_m2, paddy_m2 = EXCLUDED.paddy_m2, purpose = EXCLUDED.purpose, source = EXCLUDED.source`,
    [JSON.stringify(rows.map((r) => ({ hxbh: r.HXBH, xmbh: r.XMBH, d: r.usedOn, a: r.areaM2, p: r.paddyM2, purpose: r.purpose }))), file],
  );
  return { file, rows: rows.length };
}

/** What `farmwatch audit import` reads, all optional; written in ONE transaction. */
export interface CompensationImport {
  register?: string;
  quotas?: string;
  uses?: string;
  /** Township boundary layer (GeoJSON with XZQDM, XZQMC) the rows are checked against. */
  townships?: string;
}

/**
 * Imports register, quota plan and indicator uses together: one transaction, so a bad row in any
 * of them leaves the ledger as it was.
 */
export async function importCompensation(ledger: Ledger, what: CompensationImport): Promise<{ register?: RegisterImportReport; quotas?: { file: string; rows: number }; uses?: { file: string; rows: number } }> {
  const townships = what.townships ? await readTownships(what.townships) : undefined;
  return ledger.db.transaction(async (tx) => {
    const out: Awaited<ReturnType<typeof importCompensation>> = {};
    if (what.register) out.register = await importRegister(tx, what.register, { townships });
    if (what.quotas) out.quotas = await importQuotas(tx, what.quotas, { townships });
    if (what.uses) out.uses = await importUses(tx, what.uses);
    return out;
  });
}

/** A register project as the audit and the account read it: what the audit needs, and the rest of the record. */
export interface RegisterProject extends AuditProject {
  id: number;
  xmmc: string | null;
  /** Type label (项目类型). */
  xmlxmc: string | null;
  xzqmc: string | null;
  dlbm: string | null;
  rkrq: string | null;
  sourceRow: number | null;
}

export async function registerProjects(db: Queryable): Promise<RegisterProject[]> {
  const r = await db.query<{
    id: number; xmbh: string; xmmc: string | null; xmlx: ProjectType | null; xmlxmc: string | null; xzqdm: string | null; xzqmc: string | null; dlbm: string | null; claimed: number | null;
    paddy: number | null; area_m2: number; lxrq: string | null; kgrq: string | null; ysrq: string | null; rkrq: string | null; source_row: number | null;
  }>(
    `SELECT p.id, p.xmbh, p.xmmc, p.xmlx, p.xmlxmc, p.xzqdm, COALESCE(p.xzqmc, t.xzqmc) AS xzqmc, p.dlbm, COALESCE(p.claimed_m2, p.declared_m2) AS claimed,
            COALESCE(p.paddy_m2, CASE WHEN p.dlbm = '0101' THEN COALESCE(p.claimed_m2, p.declared_m2, p.area_m2) ELSE 0 END) AS paddy, p.area_m2,
            p.lxrq::text AS lxrq, p.kgrq::text AS kgrq, p.ysrq::text AS ysrq, p.rkrq::text AS rkrq, p.source_row
     FROM projects p LEFT JOIN townships t ON t.xzqdm = p.xzqdm ORDER BY p.xmbh`,
  );
  return r.rows.map((p) => ({
    id: p.id,
    xmbh: p.xmbh,
    xmmc: p.xmmc,
    xmlx: p.xmlx,
    xmlxmc: p.xmlxmc,
    xzqdm: p.xzqdm,
    xzqmc: p.xzqmc,
    dlbm: p.dlbm,
    claimedM2: p.claimed ?? p.area_m2,
    paddyM2: p.paddy ?? 0,
    areaM2: p.area_m2,
    lxrq: p.lxrq,
    kgrq: p.kgrq,
    ysrq: p.ysrq,
    rkrq: p.rkrq,
    sourceRow: p.source_row,
  }));
}

/** The register as GeoJSON in EPSG:4490 with XMBH (what the audit measures and observes). */
export async function registerGeoJson(db: Queryable): Promise<{ type: 'FeatureCollection'; features: { type: 'Feature'; properties: Record<string, unknown>; geometry: unknown }[] }> {
  const r = await db.query<{ xmbh: string; xmlx: string | null; xzqdm: string | null; geojson: string }>('SELECT xmbh, xmlx, xzqdm, ST_AsGeoJSON(geom, 9) AS geojson FROM projects ORDER BY xmbh');
  return { type: 'FeatureCollection', features: r.rows.map((p) => ({ type: 'Feature', properties: { XMBH: p.xmbh, XMLX: p.xmlx, XZQDM: p.xzqdm }, geometry: JSON.parse(p.geojson) })) };
}

export interface QuotaRecord {
  xzqdm: string;
  year: number;
  targetM2: number;
  paddyTargetM2: number;
}
export async function quotas(db: Queryable): Promise<QuotaRecord[]> {
  const r = await db.query<{ xzqdm: string; year: number; t: number; p: number }>('SELECT xzqdm, year, target_m2 AS t, paddy_target_m2 AS p FROM compensation_quotas ORDER BY year, xzqdm');
  return r.rows.map((q) => ({ xzqdm: q.xzqdm, year: q.year, targetM2: q.t, paddyTargetM2: q.p }));
}

export interface UseRecord {
  hxbh: string;
  xmbh: string;
  usedOn: string;
  areaM2: number;
  paddyM2: number;
  purpose: string | null;
}
export async function uses(db: Queryable): Promise<UseRecord[]> {
  const r = await db.query<{ hxbh: string; xmbh: string; d: string; a: number; p: number; purpose: string | null }>(
    'SELECT u.hxbh, p.xmbh, u.used_on::text AS d, u.area_m2 AS a, u.paddy_m2 AS p, u.purpose FROM compensation_uses u JOIN projects p ON p.id = u.project_id ORDER BY u.used_on, u.hxbh',
  );
  return r.rows.map((u) => ({ hxbh: u.hxbh, xmbh: u.xmbh, usedOn: u.d, areaM2: u.a, paddyM2: u.p, purpose: u.purpose }));
}
