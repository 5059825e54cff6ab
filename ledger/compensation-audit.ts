/**
 * Audit findings of 补充耕地 projects as ledger cases of their own types (TBLX compensation_*,
 * audit/types.ts) in `compensation_cases`, apart from the change cases as idle cases are, with an
 * append-only event trail. One audit is one transaction: the audit row, then for each finding the
 * standing case of the same project, type and subject is observed again (area, evidence, chips
 * updated) or a new case is opened (JCBH = region + year + HC + sequence, numbered from the change
 * cases' counter table). A human rules each case: 核实 (confirmed; the deduction stands) or 排除
 * (dismissed, with a reason; the indicator is restored).
 */
import { indicatorAccount, type IndicatorAccount } from '../audit/account.js';
import type { Finding } from '../audit/findings.js';
import type { ReportFinding } from '../audit/report-xlsx.js';
import { quotas, registerProjects, uses } from './compensation.js';
import { FINDING_TYPES, type FindingType } from '../audit/types.js';
import { ConflictError, LedgerError, NotFoundError, TransitionError } from './errors.js';
import type { Ledger } from './index.js';

export interface RecordAuditOptions {
  regionCode: string;
  asOf: string;
  actor?: string;
  /** Scenes, DEM, zones, config, model: stored with the audit. */
  inputs?: Record<string, unknown>;
  summary?: Record<string, unknown>;
}

export interface RecordAuditReport {
  auditId: number;
  opened: string[];
  observed: string[];
  /** Findings naming a project the ledger does not hold. */
  unknownProjects: string[];
}

/** Records one audit and its findings (one transaction). */
export async function recordAudit(ledger: Ledger, findings: readonly Finding[], opts: RecordAuditOptions): Promise<RecordAuditReport> {
  const actor = opts.actor ?? 'farmwatch';
  const now = new Date().toISOString();
  return ledger.db.transaction(async (tx) => {
    const a = await tx.query<{ id: number }>(
      `INSERT INTO compensation_audits (at, actor, as_of, region_code, inputs, summary) VALUES ($1::timestamptz, $2, $3::date, $4, $5::jsonb, $6::jsonb) RETURNING id`,
      [now, actor, opts.asOf, opts.regionCode, JSON.stringify(opts.inputs ?? {}), JSON.stringify(opts.summary ?? {})],
    );
    const auditId = a.rows[0].id;
    const report: RecordAuditReport = { auditId, opened: [], observed: [], unknownProjects: [] };
    const sorted = [...findings].sort((x, y) => x.xmbh.localeCompare(y.xmbh) || x.type.localeCompare(y.type) || x.subject.localeCompare(y.subject));
    for (const f of sorted) {
      const p = await tx.query<{ id: number; xzqdm: string | null }>('SELECT id, xzqdm FROM projects WHERE xmbh = $1', [f.xmbh]);
      if (!p.rows.length) {
        report.unknownProjects.push(f.xmbh);
        continue;
      }
      const project = p.rows[0];
      const geom = f.geometryLonLat ? JSON.stringify({ type: 'MultiPolygon', coordinates: f.geometryLonLat }) : null;
      const cols = [f.rule, f.areaM2, f.deductM2, f.deductPaddyM2, JSON.stringify(f.evidence), JSON.stringify(f.chips), geom];
      const open = await tx.query<{ id: number; jcbh: string; version: number }>(
        `SELECT id, jcbh, version FROM compensation_cases WHERE xmbh = $1 AND tblx = $2 AND subject = $3 AND status <> 'dismissed'`,
        [f.xmbh, f.type, f.subject],
      );
      if (open.rows.length) {
        const c = open.rows[0];
        await tx.query(
          `UPDATE compensation_cases SET rule = $2, area_m2 = $3, deduct_m2 = $4, deduct_paddy_m2 = $5, evidence = $6::jsonb, chips = $7::jsonb,
             geom = COALESCE(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON($8), 4490)), 3)), (SELECT geom FROM projects WHERE id = $9)),
             last_audit_id = $10, version = version + 1, updated_at = $11::timestamptz WHERE id = $1`,
          [c.id, ...cols, project.id, auditId, now],
        );
        await tx.query(`INSERT INTO compensation_events (case_id, at, actor, kind, audit_id, fields, version) VALUES ($1, $2::timestamptz, $3, 'observed', $4, $5::jsonb, $6)`, [
          c.id,
          now,
          actor,
          auditId,
          JSON.stringify({ rule: f.rule, areaM2: f.areaM2, deductM2: f.deductM2 }),
          c.version + 1,
        ]);
        report.observed.push(c.jcbh);
        continue;
      }
      const prefix = `${opts.regionCode}${opts.asOf.slice(0, 4)}HC`;
      const seq = await tx.query<{ last: number }>('INSERT INTO case_seq (prefix, last) VALUES ($1, 1) ON CONFLICT (prefix) DO UPDATE SET last = case_seq.last + 1 RETURNING last', [prefix]);
      const jcbh = `${prefix}${String(seq.rows[0].last).padStart(4, '0')}`;
      const ins = await tx.query<{ id: number }>(
        `INSERT INTO compensation_cases (jcbh, tblx, tblxmc, project_id, xmbh, subject, xzqdm, rule, area_m2, deduct_m2, deduct_paddy_m2, evidence, chips, geom,
                                         first_audit_id, last_audit_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb,
                 COALESCE(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON($14), 4490)), 3)), (SELECT geom FROM projects WHERE id = $4)),
                 $15, $15, $16::timestamptz, $16::timestamptz) RETURNING id`,
        [jcbh, f.type, FINDING_TYPES[f.type], project.id, f.xmbh, f.subject, project.xzqdm, ...cols, auditId, now],
      );
      await tx.query(`INSERT INTO compensation_events (case_id, at, actor, kind, audit_id, fields, version) VALUES ($1, $2::timestamptz, $3, 'created', $4, $5::jsonb, 1)`, [
        ins.rows[0].id,
        now,
        actor,
        auditId,
        JSON.stringify({ rule: f.rule, areaM2: f.areaM2, deductM2: f.deductM2 }),
      ]);
      report.opened.push(jcbh);
    }
    return report;
  });
}

export type CompensationStatus = 'pending' | 'confirmed' | 'dismissed';
export const COMPENSATION_STATUS_LABELS: Readonly<Record<CompensationStatus, string>> = { pending: '待核查', confirmed: '核实', dismissed: '排除' };

/** A finding as the ledger keeps it: the finding's own fields, its case number, state and ruling. */
export interface CompensationCase extends Pick<Finding, 'xmbh' | 'subject' | 'rule' | 'areaM2' | 'deductM2' | 'deductPaddyM2' | 'evidence' | 'chips'> {
  jcbh: string;
  tblx: FindingType;
  tblxmc: string;
  status: CompensationStatus;
  xzqdm: string | null;
  ruling: Record<string, unknown> | null;
  version: number;
}

export async function listCompensationCases(ledger: Ledger, filter: { status?: CompensationStatus; xmbh?: string } = {}): Promise<CompensationCase[]> {
  const r = await ledger.db.query<{
    jcbh: string; tblx: FindingType; tblxmc: string; status: CompensationStatus; xmbh: string; subject: string; xzqdm: string | null; rule: string; area_m2: number;
    deduct_m2: number; deduct_paddy_m2: number; evidence: Record<string, unknown>; chips: CompensationCase['chips']; ruling: Record<string, unknown> | null; version: number;
  }>(
    `SELECT jcbh, tblx, tblxmc, status, xmbh, subject, xzqdm, rule, area_m2, deduct_m2, deduct_paddy_m2, evidence, chips, ruling, version FROM compensation_cases
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR xmbh = $2) ORDER BY jcbh`,
    [filter.status ?? null, filter.xmbh ?? null],
  );
  return r.rows.map((c) => ({
    jcbh: c.jcbh,
    tblx: c.tblx,
    tblxmc: c.tblxmc,
    status: c.status,
    xmbh: c.xmbh,
    subject: c.subject,
    xzqdm: c.xzqdm,
    rule: c.rule,
    areaM2: c.area_m2,
    deductM2: c.deduct_m2,
    deductPaddyM2: c.deduct_paddy_m2,
    evidence: c.evidence,
    chips: c.chips,
    ruling: c.ruling,
    version: c.version,
  }));
}

/**
 * Rules a pending case: `confirmed` (核实: the deduction stands) or `dismissed` (排除: a reason is
 * required; the indicator is restored). One transaction, guarded by the case version.
 * @throws NotFoundError, TransitionError (not pending, reason missing)
 */
export async function ruleCompensationCase(ledger: Ledger, jcbh: string, to: 'confirmed' | 'dismissed', req: { actor: string; reason?: string; expectedVersion?: number }): Promise<{ jcbh: string; status: CompensationStatus; version: number }> {
  if (!req.actor?.trim()) throw new LedgerError('CONFIG_INVALID', 'a ruling needs an actor (who)', { field: 'actor' });
  if (to === 'dismissed' && !req.reason?.trim()) throw new TransitionError('MISSING_EVIDENCE', `dismissing ${jcbh} (排除) needs a reason`, { jcbh, field: 'reason' });
  const now = new Date().toISOString();
  return ledger.db.transaction(async (tx) => {
    const r = await tx.query<{ id: number; status: CompensationStatus; version: number }>('SELECT id, status, version FROM compensation_cases WHERE jcbh = $1', [jcbh]);
    const c = r.rows[0];
    if (!c) throw new NotFoundError('NOT_FOUND', `no compensation audit case ${jcbh} in the ledger`, { jcbh });
    if (c.status !== 'pending') throw new TransitionError('INVALID_TRANSITION', `${jcbh} is ${COMPENSATION_STATUS_LABELS[c.status]}, not 待核查: it was ruled already`, { jcbh });
    if (req.expectedVersion !== undefined && req.expectedVersion !== c.version) throw new ConflictError('CONFLICT', `${jcbh} was changed by someone else (version ${c.version})`, { jcbh });
    const ruling = { to, actor: req.actor, reason: req.reason ?? null, at: now };
    await tx.query(`UPDATE compensation_cases SET status = $2, ruling = $3::jsonb, version = version + 1, updated_at = $4::timestamptz WHERE id = $1`, [c.id, to, JSON.stringify(ruling), now]);
    await tx.query(`INSERT INTO compensation_events (case_id, at, actor, kind, fields, version) VALUES ($1, $2::timestamptz, $3, $4, $5::jsonb, $6)`, [
      c.id,
      now,
      req.actor,
      to,
      JSON.stringify({ reason: req.reason ?? null }),
      c.version + 1,
    ]);
    return { jcbh, status: to, version: c.version + 1 };
  });
}

/** The indicator account on `asOf` from the ledger: register, standing audit cases, quotas, uses and the 进出 balance. */
export async function compensationAccount(ledger: Ledger, asOf: string): Promise<{ account: IndicatorAccount; findings: ReportFinding[] }> {
  const [projects, cases, q, u, balances, towns] = await Promise.all([
    registerProjects(ledger.db),
    listCompensationCases(ledger),
    quotas(ledger.db),
    uses(ledger.db),
    ledger.balances({}, asOf),
    ledger.db.query<{ xzqdm: string; xzqmc: string | null }>('SELECT xzqdm, xzqmc FROM townships'),
  ]);
  const account = indicatorAccount(
    {
      projects,
      findings: cases.map((c) => ({ xmbh: c.xmbh, status: c.status, deductM2: c.deductM2, deductPaddyM2: c.deductPaddyM2, label: c.tblxmc })),
      quotas: q,
      uses: u,
      balances,
      townshipNames: new Map(towns.rows.filter((t) => t.xzqmc).map((t) => [t.xzqdm, t.xzqmc!])),
    },
    asOf,
  );
  const findings: ReportFinding[] = cases.map((c) => ({
    jcbh: c.jcbh,
    tblxmc: c.tblxmc,
    xmbh: c.xmbh,
    xzqdm: c.xzqdm,
    subject: c.subject,
    areaM2: c.areaM2,
    deductM2: c.deductM2,
    status: COMPENSATION_STATUS_LABELS[c.status],
    rule: c.rule,
    chips: c.chips,
  }));
  return { account, findings };
}
