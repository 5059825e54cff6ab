/**
 * Read side of the ledger, shared by the CLI and (later) the web app: filtered, paged case lists
 * (filters and paging in SQL), one case with its observations, links and events, overdue cases and
 * the clue records the exports write.
 */
import { z } from 'zod';
import { CHANGE_TYPE_NAMES } from '../pipeline/types.js';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';
import { parseStatus, rectificationLabel, rulingLabel, STATUS_LABELS, DEADLINE_STATES, type Ruling, type Status } from './lifecycle.js';
import type { ClueFeature } from './export/types.js';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date yyyy-mm-dd');
const statusSchema = z.string().transform((s, ctx) => {
  const p = parseStatus(s);
  if (!p) ctx.addIssue({ code: 'custom', message: `unknown status "${s}" (one of ${Object.entries(STATUS_LABELS).map(([k, v]) => `${k}/${v}`).join(', ')})` });
  return p as Status;
});

/** Filters of lists and exports; every one optional, all combined with AND. */
export const CaseFilterSchema = z
  .object({
    run: z.number().int().positive().optional().describe('Cases observed in this run (id)'),
    xzqdm: z.array(z.string().min(1)).optional().describe('Townships (XZQDM)'),
    tblx: z.array(z.enum(['transition', ...CHANGE_TYPE_NAMES])).optional().describe('Change types (TBLX)'),
    status: z.array(statusSchema).optional().describe('Lifecycle states (code or Chinese label)'),
    from: isoDate.optional().describe('Last seen (after-image date) on or after'),
    to: isoDate.optional().describe('Last seen on or before'),
    sfjbnt: z.boolean().optional().describe('Touches permanent basic farmland'),
    minAreaM2: z.number().nonnegative().optional(),
    maxAreaM2: z.number().nonnegative().optional(),
    overdueAsOf: isoDate.optional().describe('Only cases whose deadline passed before this date and still wait on the township'),
    includeMerged: z.boolean().default(false).describe('Also cases merged into another (they live on in it)'),
  })
  .strict();
export type CaseFilter = z.input<typeof CaseFilterSchema>;

export const PageSchema = z
  .object({
    limit: z.number().int().min(1).max(1000).default(50),
    offset: z.number().int().min(0).default(0),
    order: z.enum(['jcbh', 'area_desc', 'last_seen_desc', 'deadline', 'priority']).default('jcbh'),
  })
  .strict();
export type Page = z.input<typeof PageSchema>;

export function parseFilter(f: CaseFilter = {}): z.output<typeof CaseFilterSchema> {
  const r = CaseFilterSchema.safeParse(f);
  if (!r.success) throw new LedgerError('CONFIG_INVALID', `case filter: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { field: String(r.error.issues[0]?.path[0] ?? '') });
  return r.data;
}

/** WHERE clause and parameters for a filter over `cases c`. */
export function whereOf(filter: CaseFilter, params: unknown[] = []): { sql: string; params: unknown[] } {
  const f = parseFilter(filter);
  const w: string[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (!f.includeMerged) w.push('c.merged_into IS NULL');
  if (f.run !== undefined) w.push(`EXISTS (SELECT 1 FROM observations o WHERE o.case_id = c.id AND o.run_id = ${p(f.run)})`);
  if (f.xzqdm?.length) w.push(`c.xzqdm = ANY(${p(f.xzqdm)}::text[])`);
  if (f.tblx?.length) w.push(`c.tblx = ANY(${p(f.tblx)}::text[])`);
  if (f.status?.length) w.push(`c.status = ANY(${p(f.status)}::text[])`);
  if (f.from) w.push(`c.last_seen >= ${p(f.from)}::date`);
  if (f.to) w.push(`c.last_seen <= ${p(f.to)}::date`);
  if (f.sfjbnt !== undefined) w.push(`c.sfjbnt = ${p(f.sfjbnt)}`);
  if (f.minAreaM2 !== undefined) w.push(`c.area_m2 >= ${p(f.minAreaM2)}`);
  if (f.maxAreaM2 !== undefined) w.push(`c.area_m2 <= ${p(f.maxAreaM2)}`);
  if (f.overdueAsOf) w.push(`c.deadline < ${p(f.overdueAsOf)}::date AND c.status = ANY(${p(DEADLINE_STATES)}::text[])`);
  return { sql: w.length ? `WHERE ${w.join(' AND ')}` : '', params };
}

const ORDER: Record<string, string> = {
  jcbh: 'c.jcbh',
  area_desc: 'c.area_m2 DESC, c.jcbh',
  last_seen_desc: 'c.last_seen DESC NULLS LAST, c.jcbh',
  deadline: 'c.deadline NULLS LAST, c.jcbh',
  // Review priority: permanent basic farmland first, then the most cropland lost, then the largest.
  priority: 'c.sfjbnt DESC, c.gdmj DESC, c.area_m2 DESC, c.jcbh',
};

export interface CaseSummary {
  id: number;
  jcbh: string;
  status: Status;
  statusLabel: string;
  ruling: Ruling | null;
  rulingLabel: string | null;
  tblx: string;
  tblxmc: string;
  xzqdm: string | null;
  xzqmc: string | null;
  areaM2: number;
  areaMu: number;
  gdmj: number;
  sfjbnt: boolean;
  firstSeen: string | null;
  lastSeen: string | null;
  deadline: string | null;
  observations: number;
  relapses: number;
  mergedInto: string | null;
  version: number;
}

const SUMMARY_COLS = `c.id, c.jcbh, c.status, c.ruling, c.details, c.tblx, c.tblxmc, c.xzqdm, c.xzqmc, c.area_m2, c.gdmj, c.sfjbnt,
  c.first_seen::text AS first_seen, c.last_seen::text AS last_seen, c.deadline::text AS deadline, c.observations, c.relapses,
  (SELECT m.jcbh FROM cases m WHERE m.id = c.merged_into) AS merged_into, c.version`;

interface SummaryRow {
  id: number;
  jcbh: string;
  status: Status;
  ruling: Ruling | null;
  details: Record<string, unknown>;
  tblx: string;
  tblxmc: string;
  xzqdm: string | null;
  xzqmc: string | null;
  area_m2: number;
  gdmj: number;
  sfjbnt: boolean;
  first_seen: string | null;
  last_seen: string | null;
  deadline: string | null;
  observations: number;
  relapses: number;
  merged_into: string | null;
  version: number;
}

const MU = 3 / 2000;
const r2 = (v: number) => Math.round(v * 100) / 100;
const r4 = (v: number) => Math.round(v * 10_000) / 10_000;

const toSummary = (r: SummaryRow): CaseSummary => ({
  id: r.id,
  jcbh: r.jcbh,
  status: r.status,
  statusLabel: STATUS_LABELS[r.status],
  ruling: r.ruling,
  rulingLabel: rulingLabel(r.ruling, r.details),
  tblx: r.tblx,
  tblxmc: r.tblxmc,
  xzqdm: r.xzqdm,
  xzqmc: r.xzqmc,
  areaM2: r2(r.area_m2),
  areaMu: r4(r.area_m2 * MU),
  gdmj: r2(r.gdmj),
  sfjbnt: r.sfjbnt,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  deadline: r.deadline,
  observations: r.observations,
  relapses: r.relapses,
  mergedInto: r.merged_into,
  version: r.version,
});

export interface CaseList {
  total: number;
  limit: number;
  offset: number;
  rows: CaseSummary[];
}

export async function listCases(db: Queryable, filter: CaseFilter = {}, page: Page = {}): Promise<CaseList> {
  const pg = PageSchema.parse(page);
  const { sql, params } = whereOf(filter);
  // The page walks the order's index and joins the rest for its rows only; the total is a separate
  // count (a window count would carry every matching row's columns through the sort).
  const [r, n] = await Promise.all([
    db.query<SummaryRow>(
      `WITH p AS (SELECT c.id FROM cases c ${sql} ORDER BY ${ORDER[pg.order]} LIMIT ${pg.limit} OFFSET ${pg.offset})
       SELECT ${SUMMARY_COLS} FROM p JOIN cases c ON c.id = p.id ORDER BY ${ORDER[pg.order]}`,
      params,
    ),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases c ${sql}`, params),
  ]);
  return { total: n.rows[0].n, limit: pg.limit, offset: pg.offset, rows: r.rows.map(toSummary) };
}

export interface CaseDetail extends CaseSummary {
  details: Record<string, unknown>;
  deadlineStage: string | null;
  cjmc: string | null;
  dlbm: string | null;
  dlmc: string | null;
  xzdl: string | null;
  pzwh: string | null;
  yjjbntmj: number;
  qsx: string | null;
  hsx: string | null;
  geometryLonLat: number[][][][];
  observationsList: { run: number; patchId: string; seenOn: string | null; role: string; areaM2: number; tblx: string }[];
  links: { kind: string; from: string; to: string; run: number; at: string; details: Record<string, unknown> }[];
  events: { id: number; at: string; actor: string; kind: string; fromStatus: string | null; toStatus: string | null; fields: Record<string, unknown>; note: string | null; version: number }[];
}

export async function getCase(db: Queryable, jcbh: string): Promise<CaseDetail | null> {
  const r = await db.query<SummaryRow & { deadline_stage: string | null; cjmc: string | null; dlbm: string | null; dlmc: string | null; xzdl: string | null; pzwh: string | null; yjjbntmj: number; qsx: string | null; hsx: string | null; gj: string }>(
    `SELECT ${SUMMARY_COLS}, c.deadline_stage, c.cjmc, c.dlbm, c.dlmc, c.xzdl, c.pzwh, c.yjjbntmj, c.qsx::text AS qsx, c.hsx::text AS hsx, ST_AsGeoJSON(c.geom, 9) AS gj
     FROM cases c WHERE c.jcbh = $1`,
    [jcbh],
  );
  const c = r.rows[0];
  if (!c) return null;
  const [obs, links, events] = await Promise.all([
    db.query<{ run_id: number; patch_id: string; seen_on: string | null; role: string; area_m2: number; tblx: string }>(
      "SELECT run_id, patch_id, seen_on::text AS seen_on, role, area_m2, attributes->>'TBLX' AS tblx FROM observations WHERE case_id = $1 ORDER BY seen_on NULLS FIRST, id",
      [c.id],
    ),
    db.query<{ kind: string; f: string; t: string; run_id: number; at: string; details: Record<string, unknown> }>(
      `SELECT l.kind, a.jcbh AS f, b.jcbh AS t, l.run_id, to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, l.details
       FROM case_links l JOIN cases a ON a.id = l.from_case JOIN cases b ON b.id = l.to_case WHERE l.from_case = $1 OR l.to_case = $1 ORDER BY l.id`,
      [c.id],
    ),
    db.query<{ id: number; at: string; actor: string; kind: string; from_status: string | null; to_status: string | null; fields: Record<string, unknown>; note: string | null; version: number }>(
      `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, actor, kind, from_status, to_status, fields, note, version FROM events WHERE case_id = $1 ORDER BY id`,
      [c.id],
    ),
  ]);
  return {
    ...toSummary(c),
    details: c.details,
    deadlineStage: c.deadline_stage,
    cjmc: c.cjmc,
    dlbm: c.dlbm,
    dlmc: c.dlmc,
    xzdl: c.xzdl,
    pzwh: c.pzwh,
    yjjbntmj: r2(c.yjjbntmj),
    qsx: c.qsx,
    hsx: c.hsx,
    geometryLonLat: (JSON.parse(c.gj) as { coordinates: number[][][][] }).coordinates,
    observationsList: obs.rows.map((o) => ({ run: o.run_id, patchId: o.patch_id, seenOn: o.seen_on, role: o.role, areaM2: r2(o.area_m2), tblx: o.tblx })),
    links: links.rows.map((l) => ({ kind: l.kind, from: l.f, to: l.t, run: l.run_id, at: l.at, details: l.details })),
    events: events.rows.map((e) => ({ id: e.id, at: e.at, actor: e.actor, kind: e.kind, fromStatus: e.from_status, toStatus: e.to_status, fields: e.fields, note: e.note, version: e.version })),
  };
}

/**
 * Cases as clue records for the exports: current geometry and attributes, lifecycle in Chinese,
 * centroid in the Gauss–Krüger CRS of the run (ZXX/ZXY) and in lon/lat (JD/WD), ellipsoidal areas.
 */
export async function clueFeatures(db: Queryable, filter: CaseFilter = {}): Promise<ClueFeature[]> {
  const { sql, params } = whereOf(filter);
  const r = await db.query<{
    jcbh: string; tblx: string; tblxmc: string; xzqdm: string | null; xzqmc: string | null; cjmc: string | null; qsx: string | null; hsx: string | null;
    dlbm: string | null; dlmc: string | null; xzdl: string | null; area_m2: number; gdmj: number; yjjbntmj: number; pzwh: string | null; zxd: number; sfjbnt: boolean;
    status: Status; ruling: Ruling | null; details: Record<string, unknown>; deadline: string | null; gj: string; zxx: number; zxy: number; jd: number; wd: number;
  }>(
    `SELECT c.jcbh, c.tblx, c.tblxmc, c.xzqdm, c.xzqmc, c.cjmc, c.qsx::text AS qsx, c.hsx::text AS hsx, c.dlbm, c.dlmc, c.xzdl, c.area_m2, c.gdmj, c.yjjbntmj,
            c.pzwh, c.zxd, c.sfjbnt, c.status, c.ruling, c.details, c.deadline::text AS deadline, ST_AsGeoJSON(c.geom, 9) AS gj,
            ST_X(x.gc) AS zxx, ST_Y(x.gc) AS zxy, ST_X(ST_Transform(x.gc, 4490)) AS jd, ST_Y(ST_Transform(x.gc, 4490)) AS wd
     FROM cases c,
          LATERAL (SELECT ST_Centroid(ST_Transform(c.geom, COALESCE(c.gk_srid, 4513 + round(ST_X(ST_Centroid(c.geom)) / 3)::int - 25))) AS gc) AS x
     ${sql} ORDER BY c.jcbh`,
    params,
  );
  return r.rows.map((c) => ({
    geometryLonLat: (JSON.parse(c.gj) as { coordinates: number[][][][] }).coordinates,
    fields: {
      JCBH: c.jcbh,
      TBLX: c.tblx,
      TBLXMC: c.tblxmc,
      XZQDM: c.xzqdm,
      XZQMC: c.xzqmc,
      CJMC: c.cjmc,
      QSX: c.qsx,
      HSX: c.hsx,
      DLBM: c.dlbm,
      DLMC: c.dlmc,
      XZDL: c.xzdl,
      MJ: r2(c.area_m2),
      MJM: r4(c.area_m2 * MU),
      GDMJ: r2(c.gdmj),
      YJJBNTMJ: r2(c.yjjbntmj),
      ZXX: r2(c.zxx),
      ZXY: r2(c.zxy),
      JD: Math.round(c.jd * 1e7) / 1e7,
      WD: Math.round(c.wd * 1e7) / 1e7,
      PZWH: (c.ruling === 'legal' && typeof c.details.approvalNo === 'string' ? c.details.approvalNo : c.pzwh) ?? null,
      ZXD: c.zxd,
      SFJBNT: c.sfjbnt,
      ZT: STATUS_LABELS[c.status],
      HCJG: rulingLabel(c.ruling, c.details),
      ZGZT: rectificationLabel(c.status, c.ruling),
      QX: c.deadline,
    },
  }));
}
