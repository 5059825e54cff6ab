/**
 * Ingest of one run into the ledger, in ONE transaction: the run row, one observation per patch,
 * case identity (continue, split, merge, relapse, new), links and events. An interrupted ingest
 * leaves nothing; a run already recorded (same run key) changes nothing and is reported.
 */
import { jcbhPrefix } from '../pipeline/patches/index.js';
import type { Queryable } from './db.js';
import { LedgerError } from './errors.js';
import { DEFAULT_OVERLAP_SHARE, planIdentity, type Match, type PatchRef } from './identity.js';
import { configHash, gkSridForLon, runKey, type LedgerRun } from './run-input.js';
import type { Status } from './lifecycle.js';

export interface IngestOptions {
  actor: string;
  at: Date;
  overlapShare?: number;
  /** Called as the ingest writes (CLI progress); `stage` names the step. */
  onProgress?: (stage: 'run' | 'observations' | 'identity' | 'cases' | 'events', done: number, total: number) => void;
}

export interface IngestReport {
  status: 'ingested' | 'already-ingested';
  runId: number;
  runKey: string;
  patches: number;
  /** New cases (not split-offs). */
  created: number;
  continued: number;
  relapsed: number;
  splits: number;
  merges: number;
  /** JCBH of the cases each patch went to, in patch order. */
  caseOfPatch: Record<string, string>;
}

/** Any fixed number: one ingest at a time per database (case numbering and matching see each other's cases). */
const INGEST_LOCK = 7_402_612;
const BATCH = 250;

/** Case columns set from an observation `o` (its attributes jsonb and geometry). */
const ATTRS: readonly [string, string][] = [
  ['tblx', "o.attributes->>'TBLX'"],
  ['tblxmc', "COALESCE(o.attributes->>'TBLXMC', '')"],
  ['xzqdm', "NULLIF(o.attributes->>'XZQDM', '')"],
  ['xzqmc', "NULLIF(o.attributes->>'XZQMC', '')"],
  ['cjmc', "NULLIF(o.attributes->>'CJMC', '')"],
  ['qsx', "NULLIF(o.attributes->>'QSX', '')::date"],
  ['hsx', "NULLIF(o.attributes->>'HSX', '')::date"],
  ['dlbm', "NULLIF(o.attributes->>'DLBM', '')"],
  ['dlmc', "NULLIF(o.attributes->>'DLMC', '')"],
  ['xzdl', "NULLIF(o.attributes->>'XZDL', '')"],
  ['area_m2', 'o.area_m2'],
  ['gdmj', "COALESCE((o.attributes->>'GDMJ')::float8, 0)"],
  ['yjjbntmj', "COALESCE((o.attributes->>'YJJBNTMJ')::float8, 0)"],
  ['sfjbnt', "COALESCE((o.attributes->>'SFJBNT')::boolean, false)"],
  ['pzwh', "NULLIF(o.attributes->>'PZWH', '')"],
  ['zxd', "COALESCE((o.attributes->>'ZXD')::float8, 0)"],
  ['geom', 'o.geom'],
];

interface OldCase {
  id: number;
  jcbh: string;
  status: Status;
  ruling: string | null;
  details: Record<string, unknown>;
  area_m2: number;
  version: number;
}

interface EventRow {
  case_id: number;
  kind: 'created' | 'observed' | 'split' | 'merge' | 'relapse';
  from_status: string | null;
  to_status: string | null;
  fields: Record<string, unknown>;
  note: string | null;
  version: number;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Centroid longitude of a run's patches (for the Gauss–Krüger zone when the run's CRS is not one). */
function meanLon(run: LedgerRun): number | null {
  let s = 0;
  let n = 0;
  for (const p of run.patches) for (const ring of p.geometryLonLat.slice(0, 1)) for (const pt of ring[0] ?? []) {
    s += pt[0];
    n++;
  }
  return n ? s / n : null;
}

/** Validates what SQL cannot say well: ids unique, geometry present. */
function checkRun(run: LedgerRun): void {
  const seen = new Set<string>();
  run.patches.forEach((p, i) => {
    const id = p.attributes.JCBH;
    if (seen.has(id)) throw new LedgerError('RUN_INVALID', `run ${run.source ?? ''}: patch ${i} repeats JCBH ${id}`, { patch: id });
    seen.add(id);
    if (!p.geometryLonLat.length || !p.geometryLonLat[0]?.[0] || p.geometryLonLat[0][0].length < 4)
      throw new LedgerError('RUN_INVALID', `run ${run.source ?? ''}: patch ${id} has no polygon`, { patch: id });
  });
}

export async function ingestRun(tx: Queryable, run: LedgerRun, opts: IngestOptions): Promise<IngestReport> {
  checkRun(run);
  const key = runKey(run);
  const share = opts.overlapShare ?? DEFAULT_OVERLAP_SHARE;
  const at = opts.at.toISOString();
  await tx.query('SELECT pg_advisory_xact_lock($1)', [INGEST_LOCK]);
  const existing = await tx.query<{ id: number; outcome: IngestReport }>('SELECT id, outcome FROM runs WHERE run_key = $1', [key]);
  if (existing.rows.length) {
    const prev = existing.rows[0].outcome;
    return { ...prev, status: 'already-ingested', runId: existing.rows[0].id, runKey: key };
  }
  const lon = meanLon(run);
  const gkSrid = run.gkSrid ?? (lon === null ? null : gkSridForLon(lon));
  const runRow = await tx.query<{ id: number }>(
    `INSERT INTO runs (run_key, region_code, before_date, after_date, gk_srid, model, config_hash, inputs, counts, patch_count, source, actor, ingested_at)
     VALUES ($1, $2, $3::date, $4::date, $5, $6::jsonb, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13::timestamptz) RETURNING id`,
    [
      key,
      run.regionCode,
      run.beforeDate,
      run.afterDate,
      gkSrid,
      JSON.stringify(run.model),
      configHash(run.config),
      JSON.stringify(run.inputs),
      JSON.stringify(run.counts),
      run.patches.length,
      run.source,
      opts.actor,
      at,
    ],
  );
  const runId = runRow.rows[0].id;
  opts.onProgress?.('run', 1, 1);

  // Observations, in batches of one statement each (geometry made valid, area ellipsoidal).
  for (let i = 0; i < run.patches.length; i += BATCH) {
    const batch = run.patches.slice(i, i + BATCH).map((p) => ({
      id: p.attributes.JCBH,
      a: p.attributes,
      g: JSON.stringify({ type: 'MultiPolygon', coordinates: p.geometryLonLat }),
    }));
    await tx.query(
      `INSERT INTO observations (run_id, patch_id, seen_on, attributes, area_m2, geom)
       SELECT $1, p->>'id', COALESCE(NULLIF(p->'a'->>'HSX', '')::date, $2::date), p->'a', ST_Area(x.g::geography), x.g
       FROM jsonb_array_elements($3::jsonb) AS p,
            LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(p->>'g'), 4490)), 3))::geometry(MultiPolygon, 4490) AS g) AS x`,
      [runId, run.afterDate, JSON.stringify(batch)],
    );
    opts.onProgress?.('observations', Math.min(i + BATCH, run.patches.length), run.patches.length);
  }
  const empty = await tx.query<{ patch_id: string }>('SELECT patch_id FROM observations WHERE run_id = $1 AND (ST_IsEmpty(geom) OR area_m2 <= 0) LIMIT 1', [runId]);
  if (empty.rows.length) throw new LedgerError('RUN_INVALID', `run ${run.source ?? ''}: patch ${empty.rows[0].patch_id} has an empty or zero-area geometry`, { patch: empty.rows[0].patch_id });

  // Identity: candidate overlaps by index, shares decided in planIdentity.
  const obs = await tx.query<{ id: number; patch_id: string; area_m2: number }>('SELECT id, patch_id, area_m2 FROM observations WHERE run_id = $1 ORDER BY patch_id', [runId]);
  const refs: PatchRef[] = obs.rows.map((r) => ({ obsId: r.id, patchId: r.patch_id, areaM2: r.area_m2 }));
  const cand = await tx.query<{ obs: number; case_id: number; inter: number; oa: number; ca: number }>(
    `SELECT o.id AS obs, c.id AS case_id, ST_Area(ST_Intersection(o.geom, c.geom)::geography) AS inter, o.area_m2 AS oa, c.area_m2 AS ca
     FROM observations o JOIN cases c ON c.geom && o.geom AND ST_Intersects(c.geom, o.geom)
     WHERE o.run_id = $1 AND c.merged_into IS NULL`,
    [runId],
  );
  const matches: Match[] = cand.rows.map((r) => ({ obsId: r.obs, caseId: r.case_id, intersectionM2: r.inter, patchAreaM2: r.oa, caseAreaM2: r.ca }));
  const plan = planIdentity(refs, matches, share);
  opts.onProgress?.('identity', 1, 1);

  const involved = [...new Set([...plan.continued.map((c) => c.caseId), ...plan.merges.map((m) => m.caseId), ...plan.merges.map((m) => m.intoCase)])];
  const old = new Map<number, OldCase>();
  if (involved.length) {
    const r = await tx.query<OldCase>('SELECT id, jcbh, status, ruling, details, area_m2, version FROM cases WHERE id = ANY($1::int[])', [involved]);
    for (const c of r.rows) old.set(c.id, c);
  }
  const patchOf = new Map(refs.map((r) => [r.obsId, r]));
  const events: EventRow[] = [];
  const links: { kind: string; from_case: number; to_case: number; details: Record<string, unknown> }[] = [];
  const caseOfPatch: Record<string, string> = {};

  // New cases (fresh and split-off parts), numbered in patch order under this run's prefix.
  const newOnes = [...plan.fresh.map((obsId) => ({ obsId, fromCase: null as number | null })), ...plan.splits.map((s) => ({ obsId: s.obsId, fromCase: s.fromCase }))].sort((a, b) =>
    patchOf.get(a.obsId)!.patchId < patchOf.get(b.obsId)!.patchId ? -1 : 1,
  );
  const newCaseIds = new Map<number, { id: number; jcbh: string }>();
  if (newOnes.length) {
    const prefix = jcbhPrefix(run.regionCode, run.afterDate);
    const seq = await tx.query<{ last: number }>(
      'INSERT INTO case_seq (prefix, last) VALUES ($1, $2) ON CONFLICT (prefix) DO UPDATE SET last = case_seq.last + EXCLUDED.last RETURNING last',
      [prefix, newOnes.length],
    );
    const first = seq.rows[0].last - newOnes.length + 1;
    const rows = newOnes.map((n, i) => ({ obs: n.obsId, jcbh: `${prefix}${String(first + i).padStart(4, '0')}` }));
    const ins = await tx.query<{ id: number; jcbh: string; obs: number }>(
      `WITH m AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS m(obs int, jcbh text)),
       ins AS (
         INSERT INTO cases (jcbh, ${ATTRS.map((a) => a[0]).join(', ')}, gk_srid, first_run_id, last_run_id, first_seen, last_seen, created_at, updated_at)
         SELECT m.jcbh, ${ATTRS.map((a) => a[1]).join(', ')}, $2, $3, $3, o.seen_on, o.seen_on, $4::timestamptz, $4::timestamptz
         FROM m JOIN observations o ON o.id = m.obs
         ORDER BY m.jcbh
         RETURNING id, jcbh)
       SELECT ins.id, ins.jcbh, m.obs FROM ins JOIN m ON m.jcbh = ins.jcbh`,
      [JSON.stringify(rows), gkSrid, runId, at],
    );
    for (const r of ins.rows) newCaseIds.set(r.obs, { id: r.id, jcbh: r.jcbh });
    for (const n of newOnes) {
      const c = newCaseIds.get(n.obsId)!;
      const p = patchOf.get(n.obsId)!;
      caseOfPatch[p.patchId] = c.jcbh;
      const from = n.fromCase === null ? null : old.get(n.fromCase)!;
      events.push({
        case_id: c.id,
        kind: 'created',
        from_status: null,
        to_status: 'pending',
        fields: { run: runId, patch: p.patchId, areaM2: round2(p.areaM2), ...(from ? { splitFrom: from.jcbh } : {}) },
        note: from ? `split off ${from.jcbh}` : null,
        version: 1,
      });
      if (from) links.push({ kind: 'split', from_case: from.id, to_case: c.id, details: { patch: p.patchId } });
    }
    await tx.query(
      `UPDATE observations o SET case_id = m.case_id, role = m.role FROM jsonb_to_recordset($1::jsonb) AS m(obs int, case_id int, role text) WHERE o.id = m.obs`,
      [JSON.stringify(newOnes.map((n) => ({ obs: n.obsId, case_id: newCaseIds.get(n.obsId)!.id, role: n.fromCase === null ? 'new' : 'split' })))],
    );
    opts.onProgress?.('cases', newOnes.length, newOnes.length + plan.continued.length);
  }

  // Continued cases follow their newest observation; closed ones reopen as relapses.
  let relapsed = 0;
  if (plan.continued.length) {
    const newer = '(c.last_seen IS NULL OR o.seen_on IS NULL OR o.seen_on >= c.last_seen)';
    const closedIds = plan.continued.filter((c) => old.get(c.caseId)!.status === 'closed').map((c) => c.caseId);
    const closing = new Map<number, number>();
    if (closedIds.length) {
      const r = await tx.query<{ case_id: number; id: number }>(
        "SELECT case_id, max(id) AS id FROM events WHERE case_id = ANY($1::int[]) AND to_status = 'closed' GROUP BY case_id",
        [closedIds],
      );
      for (const e of r.rows) closing.set(e.case_id, e.id);
    }
    const upd = await tx.query<{ id: number; version: number; area_m2: number }>(
      `UPDATE cases c SET
         ${ATTRS.map(([col, expr]) => `${col} = CASE WHEN ${newer} THEN ${expr} ELSE c.${col} END`).join(',\n         ')},
         gk_srid = CASE WHEN ${newer} THEN COALESCE($2, c.gk_srid) ELSE c.gk_srid END,
         last_run_id = CASE WHEN ${newer} THEN $3 ELSE c.last_run_id END,
         last_seen = CASE WHEN ${newer} THEN o.seen_on ELSE c.last_seen END,
         first_seen = LEAST(c.first_seen, o.seen_on),
         observations = c.observations + 1,
         status = CASE WHEN c.status = 'closed' THEN 'pending' ELSE c.status END,
         ruling = CASE WHEN c.status = 'closed' THEN NULL ELSE c.ruling END,
         details = CASE WHEN c.status = 'closed' THEN '{}'::jsonb ELSE c.details END,
         deadline = CASE WHEN c.status = 'closed' THEN NULL ELSE c.deadline END,
         deadline_stage = CASE WHEN c.status = 'closed' THEN NULL ELSE c.deadline_stage END,
         relapses = c.relapses + (c.status = 'closed')::int,
         version = c.version + 1,
         updated_at = $4::timestamptz
       FROM jsonb_to_recordset($1::jsonb) AS m(obs int, case_id int), observations o
       WHERE o.id = m.obs AND c.id = m.case_id
       RETURNING c.id, c.version, c.area_m2`,
      [JSON.stringify(plan.continued.map((c) => ({ obs: c.obsId, case_id: c.caseId }))), gkSrid, runId, at],
    );
    const after = new Map(upd.rows.map((r) => [r.id, r]));
    for (const c of plan.continued) {
      const before = old.get(c.caseId)!;
      const now = after.get(c.caseId)!;
      const p = patchOf.get(c.obsId)!;
      caseOfPatch[p.patchId] = before.jcbh;
      if (before.status === 'closed') {
        relapsed++;
        const closedEvent = closing.get(c.caseId) ?? null;
        events.push({
          case_id: c.caseId,
          kind: 'relapse',
          from_status: 'closed',
          to_status: 'pending',
          fields: { run: runId, patch: p.patchId, areaM2: round2(p.areaM2), previousAreaM2: round2(before.area_m2), closedEventId: closedEvent, previousRuling: before.ruling, previousDetails: before.details },
          note: '复发: detected again after 销号',
          version: now.version,
        });
        links.push({ kind: 'relapse', from_case: c.caseId, to_case: c.caseId, details: { closedEventId: closedEvent, previousRuling: before.ruling, patch: p.patchId } });
      } else {
        events.push({
          case_id: c.caseId,
          kind: 'observed',
          from_status: before.status,
          to_status: before.status,
          fields: { run: runId, patch: p.patchId, areaM2: round2(p.areaM2), previousAreaM2: round2(before.area_m2) },
          note: null,
          version: now.version,
        });
      }
    }
    await tx.query(`UPDATE observations o SET case_id = m.case_id, role = m.role FROM jsonb_to_recordset($1::jsonb) AS m(obs int, case_id int, role text) WHERE o.id = m.obs`, [
      JSON.stringify(plan.continued.map((c) => ({ obs: c.obsId, case_id: c.caseId, role: old.get(c.caseId)!.status === 'closed' ? 'relapse' : 'continued' }))),
    ]);
    // Record splits on the case that was split.
    const partsOf = new Map<number, string[]>();
    for (const s of plan.splits) (partsOf.get(s.fromCase) ?? partsOf.set(s.fromCase, []).get(s.fromCase)!).push(newCaseIds.get(s.obsId)!.jcbh);
    for (const [caseId, parts] of partsOf)
      events.push({ case_id: caseId, kind: 'split', from_status: null, to_status: null, fields: { run: runId, parts }, note: `split into ${old.get(caseId)!.jcbh} + ${parts.join(', ')}`, version: after.get(caseId)!.version });
  }

  // Merges: the absorbed case keeps its state and history and points to the case it lives on in.
  if (plan.merges.length) {
    const upd = await tx.query<{ id: number; version: number }>(
      `UPDATE cases c SET merged_into = m.into_case, version = c.version + 1, updated_at = $2::timestamptz
       FROM jsonb_to_recordset($1::jsonb) AS m(case_id int, into_case int) WHERE c.id = m.case_id RETURNING c.id, c.version`,
      [JSON.stringify(plan.merges.map((m) => ({ case_id: m.caseId, into_case: m.intoCase }))), at],
    );
    const v = new Map(upd.rows.map((r) => [r.id, r.version]));
    const absorbedBy = new Map<number, string[]>();
    for (const m of plan.merges) {
      const a = old.get(m.caseId)!;
      const into = old.get(m.intoCase)!;
      (absorbedBy.get(m.intoCase) ?? absorbedBy.set(m.intoCase, []).get(m.intoCase)!).push(a.jcbh);
      links.push({ kind: 'merge', from_case: m.caseId, to_case: m.intoCase, details: { patch: patchOf.get(m.viaObs)!.patchId } });
      events.push({ case_id: m.caseId, kind: 'merge', from_status: a.status, to_status: a.status, fields: { run: runId, into: into.jcbh }, note: `merged into ${into.jcbh}`, version: v.get(m.caseId)! });
    }
    const cur = await tx.query<{ id: number; version: number }>('SELECT id, version FROM cases WHERE id = ANY($1::int[])', [[...absorbedBy.keys()]]);
    const cv = new Map(cur.rows.map((r) => [r.id, r.version]));
    for (const [into, absorbed] of absorbedBy)
      events.push({ case_id: into, kind: 'merge', from_status: null, to_status: null, fields: { run: runId, absorbed }, note: `absorbed ${absorbed.join(', ')}`, version: cv.get(into)! });
  }

  if (links.length)
    await tx.query(
      `INSERT INTO case_links (kind, from_case, to_case, run_id, details, at)
       SELECT kind, from_case, to_case, $2, details, $3::timestamptz FROM jsonb_to_recordset($1::jsonb) AS l(kind text, from_case int, to_case int, details jsonb)`,
      [JSON.stringify(links), runId, at],
    );
  for (let i = 0; i < events.length; i += 1000) {
    await tx.query(
      `INSERT INTO events (case_id, at, actor, kind, from_status, to_status, fields, note, run_id, version)
       SELECT case_id, $2::timestamptz, $3, kind, from_status, to_status, fields, note, $4, version
       FROM jsonb_to_recordset($1::jsonb) AS e(case_id int, kind text, from_status text, to_status text, fields jsonb, note text, version int)`,
      [JSON.stringify(events.slice(i, i + 1000)), at, opts.actor, runId],
    );
    opts.onProgress?.('events', Math.min(i + 1000, events.length), events.length);
  }
  await tx.query(
    `INSERT INTO townships (xzqdm, xzqmc)
     SELECT DISTINCT ON (attributes->>'XZQDM') attributes->>'XZQDM', NULLIF(attributes->>'XZQMC', '') FROM observations
     WHERE run_id = $1 AND NULLIF(attributes->>'XZQDM', '') IS NOT NULL
     ON CONFLICT (xzqdm) DO UPDATE SET xzqmc = COALESCE(EXCLUDED.xzqmc, townships.xzqmc)`,
    [runId],
  );
  const report: IngestReport = {
    status: 'ingested',
    runId,
    runKey: key,
    patches: run.patches.length,
    created: plan.fresh.length,
    continued: plan.continued.length - relapsed,
    relapsed,
    splits: plan.splits.length,
    merges: plan.merges.length,
    caseOfPatch,
  };
  await tx.query('UPDATE runs SET outcome = $2::jsonb WHERE id = $1', [runId, JSON.stringify(report)]);
  return report;
}
