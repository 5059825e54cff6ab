/**
 * Idle (闲置撂荒) and non-grain (非粮化) cases of 补充耕地 parcels in the ledger: parcel observations
 * are recorded per scene; a season decision of idle or non-grain opens a case (or confirms the open
 * one) carrying the parcel, its project, the season, the decision, the observations it rests on and
 * the time-series plot; a later season in which the parcel is cultivated closes the case with that
 * decision as evidence. Every step is an append-only event.
 */
import type { ParcelDecision } from '../pipeline/idle/decide.js';
import type { ParcelObservation } from '../pipeline/idle/observe.js';
import type { Queryable } from './db.js';
import type { Ledger } from './index.js';
import { NotFoundError } from './errors.js';

/** Records observations; the same parcel, date and scene again replaces nothing. Returns rows added. */
export async function recordObservations(ledger: Ledger, obs: readonly ParcelObservation[]): Promise<number> {
  if (!obs.length) return 0;
  return ledger.db.transaction(async (tx) => {
    const rows = obs.map((o) => ({
      parcel: o.parcel,
      d: o.date,
      scene: o.scene,
      usable: o.usable,
      cf: o.clearFraction,
      stats: { pixels: o.pixels, clearPixels: o.clearPixels, reason: o.reason, ndvi: o.ndvi, ndwi: o.ndwi, cover: o.cover },
    }));
    const r = await tx.query<{ n: number }>(
      `WITH m AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS m(parcel text, d date, scene text, usable boolean, cf double precision, stats jsonb)),
       ins AS (INSERT INTO parcel_observations (parcel, project_id, obs_date, scene, usable, clear_fraction, stats)
         SELECT m.parcel, p.id, m.d, m.scene, m.usable, m.cf, m.stats FROM m LEFT JOIN projects p ON p.xmbh = m.parcel
         ON CONFLICT (parcel, obs_date, scene) DO NOTHING RETURNING 1)
       SELECT count(*)::int AS n FROM ins`,
      [JSON.stringify(rows)],
    );
    return r.rows[0].n;
  });
}

/** Observations of a parcel as recorded (date order). */
export async function parcelObservations(ledger: Ledger, parcel: string): Promise<ParcelObservation[]> {
  const r = await ledger.db.query<{ parcel: string; d: string; scene: string; usable: boolean; cf: number; stats: Record<string, unknown> }>(
    'SELECT parcel, obs_date::text AS d, scene, usable, clear_fraction AS cf, stats FROM parcel_observations WHERE parcel = $1 ORDER BY obs_date, scene',
    [parcel],
  );
  return r.rows.map((x) => ({
    parcel: x.parcel,
    date: x.d,
    scene: x.scene,
    usable: x.usable,
    clearFraction: x.cf,
    pixels: x.stats.pixels as number,
    clearPixels: x.stats.clearPixels as number,
    reason: (x.stats.reason as string | null) ?? null,
    ndvi: (x.stats.ndvi as ParcelObservation['ndvi']) ?? null,
    ndwi: (x.stats.ndwi as number | null) ?? null,
    cover: (x.stats.cover as ParcelObservation['cover']) ?? null,
  }));
}

export interface ApplyOptions {
  regionCode: string;
  actor?: string;
  /** Time-series plot per parcel (path or URI), stored with the case. */
  plots?: ReadonlyMap<string, string>;
  /** Key-date chips per parcel. */
  chips?: ReadonlyMap<string, readonly { date: string; path: string }[]>;
  /** Only parcels that are register projects in their care period on the season's end (default true). */
  projectsInCareOnly?: boolean;
  careYears?: number;
}

export interface ApplyReport {
  opened: string[];
  confirmed: string[];
  closed: string[];
  /** Parcels skipped because they are not projects in care. */
  notWatched: number;
  insufficient: number;
}

const summary = (d: ParcelDecision) => ({ verdict: d.verdict, nonGrainKind: d.nonGrainKind, reason: d.reason, signals: d.signals, season: d.season, restsOn: d.restsOn });

async function observationIds(tx: Queryable, d: ParcelDecision): Promise<number[]> {
  if (!d.restsOn.length) return [];
  const r = await tx.query<{ id: number }>(
    `SELECT o.id FROM parcel_observations o JOIN jsonb_to_recordset($2::jsonb) AS m(date date, scene text) ON m.date = o.obs_date AND m.scene = o.scene
     WHERE o.parcel = $1 ORDER BY o.obs_date`,
    [d.parcel, JSON.stringify(d.restsOn.map((x) => ({ date: x.date, scene: x.scene })))],
  );
  return r.rows.map((x) => x.id);
}

/**
 * Turns season decisions into cases: idle / non-grain opens a case or confirms the open one of the
 * same kind; cultivated closes every open case of the parcel raised for an earlier or the same
 * season; insufficient data changes nothing. One transaction.
 */
export async function applyDecisions(ledger: Ledger, decisions: readonly ParcelDecision[], opts: ApplyOptions): Promise<ApplyReport> {
  const actor = opts.actor ?? 'farmwatch';
  const now = new Date().toISOString();
  const careYears = opts.careYears ?? 5;
  const report: ApplyReport = { opened: [], confirmed: [], closed: [], notWatched: 0, insufficient: 0 };
  const sorted = [...decisions].sort((a, b) => a.season.start.localeCompare(b.season.start) || a.parcel.localeCompare(b.parcel));
  await ledger.db.transaction(async (tx) => {
    for (const d of sorted) {
      if (d.verdict === 'insufficient_data') {
        report.insufficient++;
        continue;
      }
      const p = await tx.query<{ id: number; xzqdm: string | null; in_care: boolean }>(
        `SELECT id, xzqdm, (ysrq IS NOT NULL AND ysrq <= $2::date AND (ysrq + make_interval(years => $4))::date >= $3::date) AS in_care FROM projects WHERE xmbh = $1`,
        [d.parcel, d.season.end, d.season.start, careYears],
      );
      const project = p.rows[0] ?? null;
      if ((opts.projectsInCareOnly ?? true) && !project?.in_care) {
        report.notWatched++;
        continue;
      }
      if (d.verdict === 'cultivated') {
        const open = await tx.query<{ id: number; jcbh: string; version: number }>(
          `SELECT id, jcbh, version FROM idle_cases WHERE parcel = $1 AND status = 'open' AND season_start <= $2::date ORDER BY id`,
          [d.parcel, d.season.start],
        );
        for (const c of open.rows) {
          const evidence = { ...summary(d), observationIds: await observationIds(tx, d), plot: opts.plots?.get(d.parcel) ?? null };
          await tx.query(`UPDATE idle_cases SET status = 'closed', closed_on = $2::date, close_evidence = $3::jsonb, version = version + 1, updated_at = $4::timestamptz WHERE id = $1`, [
            c.id,
            d.signals.greenUpDate ?? d.season.end,
            JSON.stringify(evidence),
            now,
          ]);
          await tx.query(`INSERT INTO idle_events (case_id, at, actor, kind, fields, version) VALUES ($1, $2::timestamptz, $3, 'closed', $4::jsonb, $5)`, [
            c.id,
            now,
            actor,
            JSON.stringify({ reason: `cultivated again: ${d.reason}`, season: d.season, observationIds: evidence.observationIds }),
            c.version + 1,
          ]);
          report.closed.push(c.jcbh);
        }
        continue;
      }
      const kind = d.verdict; // idle | non_grain
      const ids = await observationIds(tx, d);
      const plot = opts.plots?.get(d.parcel) ?? null;
      const chips = opts.chips?.get(d.parcel) ?? [];
      const open = await tx.query<{ id: number; jcbh: string; version: number }>(`SELECT id, jcbh, version FROM idle_cases WHERE parcel = $1 AND kind = $2 AND status = 'open'`, [d.parcel, kind]);
      if (open.rows.length) {
        const c = open.rows[0];
        await tx.query(
          `UPDATE idle_cases SET decision = $2::jsonb, observation_ids = $3::int[], plot = COALESCE($4, plot), season_end = GREATEST(season_end, $5::date), version = version + 1, updated_at = $6::timestamptz WHERE id = $1`,
          [c.id, JSON.stringify(summary(d)), ids, plot, d.season.end, now],
        );
        await tx.query(`INSERT INTO idle_events (case_id, at, actor, kind, fields, version) VALUES ($1, $2::timestamptz, $3, 'confirmed', $4::jsonb, $5)`, [
          c.id,
          now,
          actor,
          JSON.stringify({ season: d.season, reason: d.reason, observationIds: ids }),
          c.version + 1,
        ]);
        report.confirmed.push(c.jcbh);
        continue;
      }
      // JCBH: region + year + XZ (闲置) + sequence, numbered from the change cases' counter table.
      const prefix = `${opts.regionCode}${d.season.end.slice(0, 4)}XZ`;
      const seq = await tx.query<{ last: number }>('INSERT INTO case_seq (prefix, last) VALUES ($1, 1) ON CONFLICT (prefix) DO UPDATE SET last = case_seq.last + 1 RETURNING last', [prefix]);
      const jcbh = `${prefix}${String(seq.rows[0].last).padStart(4, '0')}`;
      const ins = await tx.query<{ id: number }>(
        `INSERT INTO idle_cases (jcbh, kind, non_grain_kind, parcel, project_id, xzqdm, season_name, season_start, season_end, decision, observation_ids, plot, chips, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::date, $9::date, $10::jsonb, $11::int[], $12, $13::jsonb, $14::timestamptz, $14::timestamptz) RETURNING id`,
        [jcbh, kind, d.nonGrainKind, d.parcel, project?.id ?? null, project?.xzqdm ?? null, d.season.name, d.season.start, d.season.end, JSON.stringify(summary(d)), ids, plot, JSON.stringify(chips), now],
      );
      await tx.query(`INSERT INTO idle_events (case_id, at, actor, kind, fields, version) VALUES ($1, $2::timestamptz, $3, 'created', $4::jsonb, 1)`, [
        ins.rows[0].id,
        now,
        actor,
        JSON.stringify({ season: d.season, reason: d.reason, observationIds: ids }),
      ]);
      report.opened.push(jcbh);
    }
  });
  return report;
}

export interface IdleCase {
  jcbh: string;
  kind: 'idle' | 'non_grain';
  nonGrainKind: string | null;
  status: 'open' | 'closed';
  parcel: string;
  xmbh: string | null;
  xzqdm: string | null;
  season: { name: string; start: string; end: string };
  decision: Record<string, unknown>;
  observationIds: number[];
  plot: string | null;
  chips: { date: string; path: string }[];
  closedOn: string | null;
  closeEvidence: Record<string, unknown> | null;
  version: number;
}

const CASE_SQL = `SELECT c.jcbh, c.kind, c.non_grain_kind, c.status, c.parcel, p.xmbh, c.xzqdm, c.season_name, c.season_start::text AS season_start, c.season_end::text AS season_end,
  c.decision, c.observation_ids, c.plot, c.chips, c.closed_on::text AS closed_on, c.close_evidence, c.version
  FROM idle_cases c LEFT JOIN projects p ON p.id = c.project_id`;

type CaseRow = {
  jcbh: string; kind: 'idle' | 'non_grain'; non_grain_kind: string | null; status: 'open' | 'closed'; parcel: string; xmbh: string | null; xzqdm: string | null;
  season_name: string; season_start: string; season_end: string; decision: Record<string, unknown>; observation_ids: number[]; plot: string | null;
  chips: { date: string; path: string }[]; closed_on: string | null; close_evidence: Record<string, unknown> | null; version: number;
};
const toCase = (r: CaseRow): IdleCase => ({
  jcbh: r.jcbh,
  kind: r.kind,
  nonGrainKind: r.non_grain_kind,
  status: r.status,
  parcel: r.parcel,
  xmbh: r.xmbh,
  xzqdm: r.xzqdm,
  season: { name: r.season_name, start: r.season_start, end: r.season_end },
  decision: r.decision,
  observationIds: r.observation_ids,
  plot: r.plot,
  chips: r.chips,
  closedOn: r.closed_on,
  closeEvidence: r.close_evidence,
  version: r.version,
});

export async function listIdleCases(ledger: Ledger, filter: { status?: 'open' | 'closed'; kind?: 'idle' | 'non_grain' } = {}): Promise<IdleCase[]> {
  const r = await ledger.db.query<CaseRow>(`${CASE_SQL} WHERE ($1::text IS NULL OR c.status = $1) AND ($2::text IS NULL OR c.kind = $2) ORDER BY c.jcbh`, [filter.status ?? null, filter.kind ?? null]);
  return r.rows.map(toCase);
}

/** One case with its events. @throws NotFoundError */
export async function getIdleCase(ledger: Ledger, jcbh: string): Promise<IdleCase & { events: { kind: string; actor: string; fields: Record<string, unknown>; version: number }[] }> {
  const r = await ledger.db.query<CaseRow>(`${CASE_SQL} WHERE c.jcbh = $1`, [jcbh]);
  if (!r.rows.length) throw new NotFoundError('NOT_FOUND', `no idle/non-grain case ${jcbh} in the ledger`, { jcbh });
  const ev = await ledger.db.query<{ kind: string; actor: string; fields: Record<string, unknown>; version: number }>(
    'SELECT e.kind, e.actor, e.fields, e.version FROM idle_events e JOIN idle_cases c ON c.id = e.case_id WHERE c.jcbh = $1 ORDER BY e.id',
    [jcbh],
  );
  return { ...toCase(r.rows[0]), events: ev.rows };
}
