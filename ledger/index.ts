/**
 * The ledger (台账): stable cases across quarterly runs, the enforcement lifecycle with its audit
 * trail, balances and the 补充耕地 project register, on PostgreSQL + PostGIS (server, `DATABASE_URL`)
 * or embedded PGlite (a local data directory). One `Ledger` object is the API the CLI and a web app
 * use; every write is one transaction.
 */
import { join } from 'node:path';
import type { RunResult } from '../pipeline/run.js';
import { balances, toBalanceRow, type Balance, type BalanceFilter } from './balance.js';
import { openDb, type Db, type DbOptions } from './db.js';
import { ConflictError, LedgerError, NotFoundError } from './errors.js';
import { ingestRun, type IngestOptions, type IngestReport } from './ingest.js';
import { parseStatus, planTransition, STATUS_LABELS, type Ruling, type Status } from './lifecycle.js';
import { migrate } from './migrate.js';
import { importProjects, listProjects, projectsGeoJson, type ImportReport, type ProjectRow } from './projects.js';
import { clueFeatures, getCase, listCases, type CaseDetail, type CaseFilter, type CaseList, type Page } from './queries.js';
import { runFromDir, runFromResult, type LedgerRun } from './run-input.js';
import type { BalanceRow, ClueFeature } from './export/types.js';

export { ConflictError, LedgerError, NotFoundError, TransitionError } from './errors.js';
export { STATUSES, STATUS_LABELS, TRANSITIONS, parseStatus, type Status, type Ruling } from './lifecycle.js';
export type { CaseFilter, Page, CaseList, CaseSummary, CaseDetail } from './queries.js';
export type { Balance, BalanceFilter } from './balance.js';
export type { IngestReport } from './ingest.js';
export type { LedgerRun, LedgerPatch } from './run-input.js';
export { runFromDir, runFromResult } from './run-input.js';

export interface LedgerOptions extends DbOptions {
  /** Current time (tests move it to check deadlines); default the system clock. */
  clock?: () => Date;
  /** Overlap rule: intersection ≥ share × the smaller area (default 0.3, see identity.ts). */
  overlapShare?: number;
}

/** Default embedded data directory: `FARMWATCH_LEDGER_DIR`, else `.farmwatch/ledger` under `cwd`. */
export const defaultLedgerDir = (cwd = process.cwd()): string => process.env.FARMWATCH_LEDGER_DIR || join(cwd, '.farmwatch', 'ledger');

/** Opens (and migrates) the ledger: the server when `url` is given, else the embedded database in `dir`. */
export async function openLedger(opts: LedgerOptions): Promise<Ledger> {
  const db = await openDb(opts);
  try {
    await migrate(db);
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
  return new Ledger(db, opts);
}

export interface TransitionRequest {
  /** Target state: code (`legal`) or Chinese label (`合法`). */
  to: Status | string;
  actor: string;
  /** Evidence: approvalNo (合法), illegalKind 新增|存量 (违法), reason (伪变化), filingNo (设施农用地), evidence (已整改), deadline yyyy-mm-dd. */
  fields?: Record<string, unknown>;
  note?: string;
  /** The version the caller saw; a newer one in the database is a conflict. */
  expectedVersion?: number;
}

export interface TransitionResult {
  jcbh: string;
  from: Status;
  to: Status;
  version: number;
  deadline: string | null;
  eventId: number;
}

/** Calendar date in China (UTC+8) of an instant: deadlines and balances count local days. */
export const chinaDate = (d: Date): string => new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 10);

export class Ledger {
  private readonly clock: () => Date;
  constructor(
    readonly db: Db,
    private readonly opts: LedgerOptions = {},
  ) {
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Today in China (yyyy-mm-dd). */
  today(): string {
    return chinaDate(this.clock());
  }

  /** Ingests one run in one transaction; a run already in the ledger is reported, not repeated. */
  ingest(run: LedgerRun, opts: { actor?: string; onProgress?: IngestOptions['onProgress'] } = {}): Promise<IngestReport> {
    return this.db.transaction((tx) => ingestRun(tx, run, { actor: opts.actor ?? 'farmwatch', at: this.clock(), overlapShare: this.opts.overlapShare, onProgress: opts.onProgress }));
  }
  ingestResult(result: RunResult, opts: { actor?: string } = {}): Promise<IngestReport> {
    return this.ingest(runFromResult(result), opts);
  }
  async ingestDir(dir: string, opts: { actor?: string; onProgress?: IngestOptions['onProgress'] } = {}): Promise<IngestReport> {
    return this.ingest(await runFromDir(dir), opts);
  }

  /**
   * Moves a case along the lifecycle: checks the state machine and the evidence, sets deadlines
   * from the township's policy, writes the event, all in one transaction guarded by the case
   * version (optimistic locking).
   * @throws NotFoundError, TransitionError (INVALID_TRANSITION, MISSING_EVIDENCE), ConflictError
   */
  async transition(jcbh: string, req: TransitionRequest): Promise<TransitionResult> {
    const to = parseStatus(String(req.to));
    if (!to) throw new LedgerError('CONFIG_INVALID', `unknown target state "${req.to}" (one of ${Object.entries(STATUS_LABELS).map(([k, v]) => `${k}/${v}`).join(', ')})`, { field: 'to' });
    if (!req.actor?.trim()) throw new LedgerError('CONFIG_INVALID', 'a transition needs an actor (who)', { field: 'actor' });
    const now = this.clock();
    const today = chinaDate(now);
    return this.db.transaction(async (tx) => {
      const r = await tx.query<{ id: number; jcbh: string; status: Status; ruling: Ruling | null; details: Record<string, unknown>; deadline: string | null; xzqdm: string | null; version: number; merged_into: number | null }>(
        'SELECT id, jcbh, status, ruling, details, deadline::text AS deadline, xzqdm, version, merged_into FROM cases WHERE jcbh = $1',
        [jcbh],
      );
      const c = r.rows[0];
      if (!c) throw new NotFoundError('NOT_FOUND', `no case ${jcbh} in the ledger`, { jcbh });
      if (req.expectedVersion !== undefined && req.expectedVersion !== c.version)
        throw new ConflictError('CONFLICT', `${jcbh} was changed by someone else (version ${c.version}, you had ${req.expectedVersion}; now ${STATUS_LABELS[c.status]}): reload and try again`, {
          jcbh,
          expectedVersion: req.expectedVersion,
          currentVersion: c.version,
          currentStatus: c.status,
        });
      const plan = planTransition(c, to, req.fields ?? {});
      let deadline: string | null = plan.keepDeadline ? c.deadline : null;
      if (plan.deadlineStage) {
        if (plan.deadline) deadline = plan.deadline;
        else {
          const d = await tx.query<{ d: string }>(
            `SELECT ($1::date + days)::text AS d FROM deadline_policy WHERE stage = $2 AND xzqdm IN ($3, '*') ORDER BY xzqdm = '*' LIMIT 1`,
            [today, plan.deadlineStage, c.xzqdm ?? '*'],
          );
          deadline = d.rows[0]?.d ?? null;
        }
      }
      const stage = plan.deadlineStage ?? (plan.keepDeadline ? 'rectify' : null);
      const upd = await tx.query<{ version: number }>(
        `UPDATE cases SET status = $3, ruling = $4, details = $5::jsonb, deadline = $6::date, deadline_stage = $7,
           pzwh = CASE WHEN $3 = 'legal' THEN $8 ELSE pzwh END, version = version + 1, updated_at = $9::timestamptz
         WHERE id = $1 AND version = $2 RETURNING version`,
        [c.id, c.version, plan.status, plan.ruling, JSON.stringify(plan.details), deadline, deadline ? stage : null, plan.details.approvalNo ?? null, now.toISOString()],
      );
      // Another transaction changed the case between our read and our write.
      if (!upd.rows.length) throw new ConflictError('CONFLICT', `${jcbh} was changed by someone else while you were changing it: reload and try again`, { jcbh, expectedVersion: c.version });
      const version = upd.rows[0].version;
      const ev = await tx.query<{ id: number }>(
        `INSERT INTO events (case_id, at, actor, kind, action, from_status, to_status, fields, note, version)
         VALUES ($1, $2::timestamptz, $3, 'transition', $4, $5, $6, $7::jsonb, $8, $9) RETURNING id`,
        [c.id, now.toISOString(), req.actor, `${c.status}->${to}`, c.status, to, JSON.stringify({ ...plan.fields, ...(deadline !== c.deadline ? { deadline } : {}) }), req.note ?? null, version],
      );
      return { jcbh, from: c.status, to, version, deadline, eventId: ev.rows[0].id };
    });
  }

  /** Days a township (or '*' for every one) has for verification or rectification. */
  async setDeadlinePolicy(xzqdm: string, stage: 'verify' | 'rectify', days: number): Promise<void> {
    if (!Number.isInteger(days) || days <= 0) throw new LedgerError('CONFIG_INVALID', `deadline days must be a positive integer, got ${days}`, { field: 'days' });
    await this.db.query(`INSERT INTO deadline_policy (xzqdm, stage, days) VALUES ($1, $2, $3) ON CONFLICT (xzqdm, stage) DO UPDATE SET days = EXCLUDED.days`, [xzqdm, stage, days]);
  }

  listCases(filter: CaseFilter = {}, page: Page = {}): Promise<CaseList> {
    return listCases(this.db, filter, page);
  }
  /** One case with observations, links and events. @throws NotFoundError */
  async getCase(jcbh: string): Promise<CaseDetail> {
    const c = await getCase(this.db, jcbh);
    if (!c) throw new NotFoundError('NOT_FOUND', `no case ${jcbh} in the ledger`, { jcbh });
    return c;
  }
  /** Cases past their deadline on `asOf` (default today) that still wait on the township. */
  overdue(asOf = this.today(), page: Page = {}): Promise<CaseList> {
    return listCases(this.db, { overdueAsOf: asOf }, { order: 'deadline', ...page });
  }
  clueFeatures(filter: CaseFilter = {}): Promise<ClueFeature[]> {
    return clueFeatures(this.db, filter);
  }
  balances(filter: BalanceFilter = {}, asOf = this.today()): Promise<Balance[]> {
    return balances(this.db, filter, asOf);
  }
  async balanceRows(filter: BalanceFilter = {}, asOf = this.today()): Promise<BalanceRow[]> {
    return (await balances(this.db, filter, asOf)).map(toBalanceRow);
  }
  importProjects(file: string): Promise<ImportReport> {
    return this.db.transaction((tx) => importProjects(tx, file));
  }
  projects(opts: { asOf?: string; inCareOnly?: boolean } = {}): Promise<ProjectRow[]> {
    return listProjects(this.db, opts.asOf ?? this.today(), opts);
  }
  /** The project register as GeoJSON in EPSG:4490 (parcels for idle monitoring). */
  projectsGeoJson(opts: { asOf?: string; inCareOnly?: boolean } = {}): ReturnType<typeof projectsGeoJson> {
    return projectsGeoJson(this.db, opts.asOf ?? this.today(), opts);
  }
  async runs(): Promise<{ id: number; runKey: string; regionCode: string; beforeDate: string | null; afterDate: string | null; patches: number; source: string | null; ingestedAt: string; outcome: Record<string, unknown> }[]> {
    const r = await this.db.query<{ id: number; run_key: string; region_code: string; before_date: string | null; after_date: string | null; patch_count: number; source: string | null; at: string; outcome: Record<string, unknown> }>(
      `SELECT id, run_key, region_code, before_date::text AS before_date, after_date::text AS after_date, patch_count, source,
              to_char(ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, outcome FROM runs ORDER BY id`,
    );
    return r.rows.map((x) => ({ id: x.id, runKey: x.run_key, regionCode: x.region_code, beforeDate: x.before_date, afterDate: x.after_date, patches: x.patch_count, source: x.source, ingestedAt: x.at, outcome: x.outcome }));
  }
  close(): Promise<void> {
    return this.db.close();
  }
}
