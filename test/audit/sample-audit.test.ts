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
import { listCompensationCases, recordAudit, ruleCompensationCase } from '../../ledger/compensation-audit.js';
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
});
