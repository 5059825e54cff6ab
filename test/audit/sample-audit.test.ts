/**
 * Acceptance on the sample county: every planted audit finding is reported with the right type and
 * area (within 10 %), no honest project is flagged, and the findings become ledger cases.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuditConfig } from '../../audit/config.js';
import { runAudit, type AuditResult } from '../../audit/run.js';
import { defaultModelDir } from '../../cli/paths.js';
import { importCompensation, registerGeoJson, registerProjects } from '../../ledger/compensation.js';
import { compensationAccount, listCompensationCases, recordAudit, ruleCompensationCase } from '../../ledger/compensation-audit.js';
import { writeIndicatorXlsx, ACCOUNT_SHEET } from '../../audit/report-xlsx.js';
import { MU_PER_M2 } from '../../pipeline/geo/area.js';
import ExcelJS from 'exceljs';
import type { Ledger } from '../../ledger/index.js';
import { createClassifier, loadModel } from '../../pipeline/classify/index.js';
import type { CompensationTruth } from '../../samples/compensation.js';
import { generateCounty, type CountyManifest } from '../../samples/index.js';
import { dropServerSchemas, testLedger } from '../ledger/helpers.js';
import { writeFile } from 'node:fs/promises';

const SIZE = 1200;
let dir: string;
let m: CountyManifest;
let truth: CompensationTruth;
let ledger: Ledger;
let result: AuditResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-audit-'));
  m = await generateCounty({ outDir: join(dir, 'county'), sizePx: SIZE });
  const c = (f: string) => join(dir, 'county', f);
  const files = m.files.compensation!;
  truth = JSON.parse(await readFile(c(files.truth), 'utf8'));
  ledger = await testLedger('embedded');
  await importCompensation(ledger, { register: c(files.register), townships: c('townships.geojson'), quotas: c(files.quotas), uses: c(files.uses) });
  const registerFile = join(dir, 'register-4490.geojson');
  await writeFile(registerFile, JSON.stringify(await registerGeoJson(ledger.db)));
  const model = await loadModel(defaultModelDir());
  const clf = await createClassifier(model, { workers: 1 });
  try {
    result = await runAudit({
      registerFile,
      projects: await registerProjects(ledger.db),
      scenes: [c(files.history), c(m.files.before), c(m.files.after)].map((uri) => ({ uri })),
      dem: c(files.dem),
      zones: [{ name: truth.zone, file: c(files.redline) }],
      outDir: join(dir, 'audit'),
      cfg: parseAuditConfig({}),
      classifier: clf,
      contextPx: model.card.contextPx,
    });
  } finally {
    await clf.close();
  }
}, 600_000);
afterAll(async () => {
  await ledger?.close();
  await dropServerSchemas();
});

describe('audit of the sample county', () => {
  it('reports every planted finding with its type and area (±10 %) and flags no honest project', () => {
    expect(truth.notPlanted).toEqual([]);
    const rows = truth.projects.map((p) => {
      const got = result.findings.filter((f) => f.xmbh === p.XMBH);
      return { xmbh: p.XMBH, role: p.role, planted: p.findings.map((f) => `${f.type}${f.subject ? `:${f.subject}` : ''}`).sort(), reported: got.map((f) => `${f.type}${f.subject ? `:${f.subject}` : ''}`).sort() };
    });
    console.table(rows);
    for (const r of rows) expect(r.reported, `${r.xmbh} (${r.role})`).toEqual(r.planted);
    for (const p of truth.projects)
      for (const f of p.findings) {
        const got = result.findings.find((x) => x.xmbh === p.XMBH && x.type === f.type)!;
        console.log(`${p.XMBH} ${f.type}: planted ${f.areaM2} m², reported ${got.areaM2} m² (${((got.areaM2 / f.areaM2 - 1) * 100).toFixed(2)} %)`);
        expect(Math.abs(got.areaM2 / f.areaM2 - 1), `${p.XMBH} ${f.type}`).toBeLessThan(0.1);
      }
    console.log('timings', result.timings);
  });

  it('every finding carries its rule, its area and evidence chips of both dates', () => {
    for (const f of result.findings) {
      expect(f.rule.length).toBeGreaterThan(10);
      expect(f.areaM2).toBeGreaterThan(0);
      if (f.type.startsWith('compensation_still') || f.type === 'compensation_existing_cropland' || f.type === 'compensation_no_works') {
        expect(f.chips.map((c) => c.date), f.xmbh).toEqual([truth.historyDate, m.images.before.date]);
        for (const c of f.chips) expect(existsSync(c.path)).toBe(true);
      }
    }
    const steep = result.findings.find((f) => f.type === 'compensation_steep_slope')!;
    expect(steep.evidence.resolutionM).toEqual([5, 5]);
  });

  it('findings become ledger cases of their own types, observed (not duplicated) by a second audit, and ruled by a person', async () => {
    const first = await recordAudit(ledger, result.findings, { regionCode: m.regionCode, asOf: '2026-06-01', actor: 'auditor' });
    expect(first.opened).toHaveLength(result.findings.length);
    expect(first.unknownProjects).toEqual([]);
    const again = await recordAudit(ledger, result.findings, { regionCode: m.regionCode, asOf: '2026-06-01', actor: 'auditor' });
    expect(again.opened).toEqual([]);
    expect(again.observed.sort()).toEqual(first.opened.sort());
    const cases = await listCompensationCases(ledger);
    expect(cases.map((c) => c.tblx).sort()).toEqual(result.findings.map((f) => f.type).sort());
    expect(cases.every((c) => c.status === 'pending' && /^3212822026HC\d{4}$/.test(c.jcbh))).toBe(true);
    const c0 = cases[0];
    await expect(ruleCompensationCase(ledger, c0.jcbh, 'dismissed', { actor: 'x' })).rejects.toMatchObject({ code: 'MISSING_EVIDENCE' });
    expect(await ruleCompensationCase(ledger, c0.jcbh, 'confirmed', { actor: '张三' })).toMatchObject({ status: 'confirmed', version: 3 });
    await expect(ruleCompensationCase(ledger, c0.jcbh, 'dismissed', { actor: 'x', reason: 'y' })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('the indicator account of the sample matches the totals computed by hand from the planted truth', async () => {
    const asOf = '2026-06-01';
    const { account, findings } = await compensationAccount(ledger, asOf);
    // By hand: every register project is accepted by 2026; a whole-parcel finding takes the whole claimed
    // area, a geometry finding its planted area (capped at the claimed area); paddy in proportion.
    const byYear = new Map<number, { accepted: number; paddy: number; deducted: number; deductedPaddy: number; warehoused: number; used: number }>();
    const y = (d: string) => Number(d.slice(0, 4));
    const at = (year: number) => byYear.get(year) ?? (byYear.set(year, { accepted: 0, paddy: 0, deducted: 0, deductedPaddy: 0, warehoused: 0, used: 0 }), byYear.get(year)!);
    for (const p of truth.projects) {
      const whole = p.findings.some((f) => ['compensation_existing_cropland', 'compensation_still_woody', 'compensation_no_works'].includes(f.type));
      const d = whole ? p.XZGDMJ : Math.min(p.XZGDMJ, p.findings.reduce((s, f) => s + f.areaM2, 0));
      const dp = whole ? p.XZSTMJ : (d * p.XZSTMJ) / p.XZGDMJ;
      const r = at(y(p.YSRQ));
      r.accepted += p.XZGDMJ;
      r.paddy += p.XZSTMJ;
      r.deducted += d;
      r.deductedPaddy += dp;
      if (p.RKRQ && p.RKRQ <= asOf) at(y(p.RKRQ)).warehoused += p.XZGDMJ - d;
    }
    for (const u of truth.uses) at(y(u.date)).used += u.areaMu / MU_PER_M2;
    const close = (a: number, b: number, what: string) => expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThan(Math.max(1, 0.001 * b));
    for (const [year, e] of byYear) {
      const t = account.totals[year];
      close(t.acceptedM2, e.accepted, `${year} accepted`);
      close(t.acceptedPaddyM2, e.paddy, `${year} paddy accepted`);
      close(t.deductedM2, e.deducted, `${year} deducted`);
      close(t.deductedPaddyM2, e.deductedPaddy, `${year} paddy deducted`);
      close(t.achievedM2, e.accepted - e.deducted, `${year} achieved`);
      close(t.warehousedM2, e.warehoused, `${year} warehoused`);
      close(t.usedM2, e.used, `${year} used`);
    }
    const quotaTotal = (year: number) => truth.quotas.filter((q) => q.year === year).reduce((s, q) => s + q.targetMu, 0) / MU_PER_M2;
    for (const year of [2023, 2024, 2025]) close(account.totals[year].targetM2 ?? 0, quotaTotal(year), `${year} target`);
    const reserve = [...byYear.values()].reduce((s, e) => s + e.warehoused - e.used, 0);
    close(account.totals[Math.max(...Object.keys(account.totals).map(Number))].reserveM2, reserve, 'reserve');
    const file = join(dir, 'report.xlsx');
    await writeIndicatorXlsx(account, findings, file, { title: '补充耕地指标台账(样例)' });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    expect(wb.getWorksheet(ACCOUNT_SHEET)!.getRow(2).getCell(1).value).toBe('年度');
    console.table(Object.values(account.totals).map((t) => ({ year: t.year, target: t.targetM2, accepted: t.acceptedM2, deducted: t.deductedM2, achieved: t.achievedM2, warehoused: t.warehousedM2, used: t.usedM2, reserve: t.reserveM2 })));
  });
  it("the ledger's 进出 balance counts a project's cropland in less what its standing findings deduct", async () => {
    const asOf = '2026-06-01';
    const deductions = new Map<string, number>();
    for (const c of await listCompensationCases(ledger)) if (c.status !== 'dismissed') deductions.set(c.xmbh, (deductions.get(c.xmbh) ?? 0) + c.deductM2);
    const projects = await ledger.projects({ asOf });
    const expected = projects.reduce((s, p) => s + Math.max(0, p.areaM2 - (deductions.get(p.xmbh) ?? 0)), 0);
    const rows = await ledger.balances({}, asOf);
    const counted = rows.reduce((s, r) => s + r.inConfirmedM2 + r.inPendingM2, 0);
    expect(Math.abs(counted - expected)).toBeLessThan(1);
    // A fake project (a whole-parcel finding deducts all it claims) turns in (almost) nothing.
    const fake = truth.projects.find((p) => p.findings.some((f) => f.type === 'compensation_existing_cropland'))!;
    const p = projects.find((x) => x.xmbh === fake.XMBH)!;
    expect(Math.max(0, p.areaM2 - (deductions.get(p.xmbh) ?? 0))).toBeLessThan(0.02 * p.areaM2);
    expect(counted).toBeLessThan(projects.reduce((s, x) => s + x.areaM2, 0) - 0.9 * p.areaM2);
  });
});
