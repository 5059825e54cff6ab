/**
 * Every ledger behaviour against both backends: embedded PGlite and the server PostgreSQL, each
 * test on a schema of its own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConflictError, TransitionError, type Ledger } from '../../ledger/index.js';
import { planIdentity } from '../../ledger/identity.js';
import { BACKENDS, dropServerSchemas, newSchema, patch, rect, run, testClock, testLedger, type Backend } from './helpers.js';

afterAll(dropServerSchemas);

const Q2 = '32128220262';
const Q3 = '32128220263';
const pond = { TBLX: 'outflow_pond', TBLXMC: '耕地流出-坑塘', XZDL: 'water' } as const;

async function withLedger<T>(backend: Backend, f: (l: Ledger) => Promise<T>, opts: Parameters<typeof testLedger>[1] = {}): Promise<T> {
  const l = await testLedger(backend, opts);
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

const eventKinds = async (l: Ledger, jcbh: string) => (await l.getCase(jcbh)).events.map((e) => `${e.kind}:${e.fromStatus ?? ''}>${e.toStatus ?? ''}`);

describe('identity plan (pure)', () => {
  it('continues, splits, merges and creates by the share-of-the-smaller rule', () => {
    const p = (obsId: number, areaM2: number) => ({ obsId, patchId: `P${obsId}`, areaM2 });
    const m = (obsId: number, caseId: number, inter: number, pa: number, ca: number) => ({ obsId, caseId, intersectionM2: inter, patchAreaM2: pa, caseAreaM2: ca });
    const plan = planIdentity(
      [p(1, 1000), p(2, 300), p(3, 500), p(4, 100), p(5, 2000)],
      [m(1, 10, 900, 1000, 1000), m(2, 10, 100, 300, 1000), m(3, 20, 400, 500, 400), m(3, 21, 100, 500, 100), m(4, 30, 20, 100, 1000), m(5, 40, 300, 2000, 5000)],
    );
    // 1 and 2 both on case 10 → 1 (larger) continues, 2 splits off; 3 covers 20 and 21 → 21 merges into 20;
    // 4 overlaps 30 by 20 % of the smaller → no match (new); 5 overlaps 40 by 300 of 2000 (15 %) → new.
    expect(plan.continued).toEqual([{ obsId: 1, caseId: 10 }, { obsId: 3, caseId: 20 }]);
    expect(plan.splits).toEqual([{ obsId: 2, fromCase: 10 }]);
    expect(plan.merges).toEqual([{ caseId: 21, intoCase: 20, viaObs: 3 }]);
    expect(plan.fresh).toEqual([4, 5]);
  });
});

describe.each(BACKENDS)('ledger (%s)', (backend) => {
  it('applies migrations once and records them', async () => {
    const schema = newSchema();
    await withLedger(backend, async (l) => {
      const r = await l.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
      expect(r.rows.map((x) => x.name)).toEqual(['001_init.sql', '002_idle.sql', '003_compensation.sql', '004_review.sql', '005_login_failures.sql']);
      const idx = await l.db.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexdef ILIKE '%gist%' ORDER BY 1", [schema]);
      expect(idx.rows.map((x) => x.indexname)).toEqual(['cases_geom_gix', 'projects_geom_gix']);
    }, { schema });
    // Reopening finds everything applied.
    await withLedger(backend, async (l) => expect((await l.db.query('SELECT * FROM schema_migrations')).rows.length).toBe(5), { schema });
  });

  it('ingests a run once: second ingest reports and changes nothing; areas are ellipsoidal', async () => {
    await withLedger(backend, async (l) => {
      const r1 = run('2026-05-27', '2026-04-12', [patch('P1', [rect(0, 0, 40, 30)]), patch('P2', [rect(500, 0, 20, 20)], pond)]);
      const a = await l.ingest(r1);
      expect(a).toMatchObject({ status: 'ingested', patches: 2, created: 2, continued: 0 });
      const b = await l.ingest(r1);
      expect(b).toMatchObject({ status: 'already-ingested', runId: a.runId, runKey: a.runKey, created: 2 });
      expect((await l.runs()).length).toBe(1);
      const list = await l.listCases();
      expect(list.rows.map((c) => c.jcbh)).toEqual([`${Q2}0001`, `${Q2}0002`]);
      // ST_Area on the GRS80 ellipsoid of the lon/lat rectangle: compare with the mean-latitude formula.
      const c1 = await l.db.query<{ a: number; b: number }>(
        `SELECT area_m2 AS a, ST_Area(geom::geography) AS b FROM cases WHERE jcbh = $1`, [`${Q2}0001`]);
      expect(c1.rows[0].a).toBeCloseTo(c1.rows[0].b, 6);
      expect(list.rows[0].areaMu).toBeCloseTo((list.rows[0].areaM2 * 3) / 2000, 3);
      const ev = await l.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
      expect(ev.rows[0].n).toBe(2);
    });
  });

  it('follows a case across runs: persists, grows, splits, merges, relapses', async () => {
    const clock = testClock('2026-06-01T02:00:00Z');
    await withLedger(backend, async (l) => {
      await l.ingest(run('2026-05-27', '2026-04-12', [
        patch('A', [rect(0, 0, 40, 40)]),
        patch('B', [rect(200, 0, 60, 20)]),
        patch('C1', [rect(400, 0, 20, 20)]),
        patch('C2', [rect(425, 0, 20, 20)]),
        patch('D', [rect(600, 0, 30, 30)], pond),
      ]));
      const ids = (await l.listCases()).rows.map((c) => c.jcbh);
      expect(ids).toEqual([1, 2, 3, 4, 5].map((i) => `${Q2}000${i}`));
      // Close D (legal), so a new detection is a relapse.
      for (const [to, fields] of [['dispatched', {}], ['legal', { approvalNo: '苏政地〔2026〕1号' }], ['closed', {}]] as const)
        await l.transition(`${Q2}0005`, { to, actor: 'county', fields });
      clock.set('2026-09-01T02:00:00Z');
      const r2 = await l.ingest(run('2026-08-20', '2026-05-27', [
        patch('A2', [rect(0, 0, 80, 40)]), // grows ×2
        patch('B2a', [rect(200, 0, 25, 20)]), // B splits in two
        patch('B2b', [rect(235, 0, 25, 20)]),
        patch('C3', [rect(400, 0, 45, 20)]), // covers C1 and C2 → merge
        patch('D2', [rect(600, 0, 30, 30)], pond), // closed D detected again → relapse
        patch('E', [rect(900, 0, 30, 30)]), // new
      ]));
      expect(r2).toMatchObject({ created: 1, continued: 3, relapsed: 1, splits: 1, merges: 1 });
      expect(r2.caseOfPatch).toEqual({ A2: `${Q2}0001`, B2a: `${Q2}0002`, B2b: `${Q3}0001`, C3: `${Q2}0003`, D2: `${Q2}0005`, E: `${Q3}0002` });
      // New case numbers follow patch order within the run (B2b before E).
      const a = await l.getCase(`${Q2}0001`);
      expect(a.areaM2 / (await l.getCase(`${Q2}0001`)).observationsList[0].areaM2).toBeCloseTo(2, 2);
      expect(a.observationsList.map((o) => o.role)).toEqual(['new', 'continued']);
      expect(a.lastSeen).toBe('2026-08-20');
      expect(a.firstSeen).toBe('2026-05-27');
      const b = await l.getCase(`${Q2}0002`);
      expect(b.links).toEqual([expect.objectContaining({ kind: 'split', from: `${Q2}0002`, to: `${Q3}0001` })]);
      expect(await eventKinds(l, `${Q2}0002`)).toEqual(['created:>pending', 'observed:pending>pending', 'split:>']);
      const c2 = await l.getCase(`${Q2}0004`);
      expect(c2.mergedInto).toBe(`${Q2}0003`);
      expect(c2.status).toBe('pending');
      expect(c2.links).toEqual([expect.objectContaining({ kind: 'merge', from: `${Q2}0004`, to: `${Q2}0003` })]);
      const d = await l.getCase(`${Q2}0005`);
      expect(d).toMatchObject({ status: 'pending', ruling: null, relapses: 1, deadline: null });
      expect(d.links).toEqual([expect.objectContaining({ kind: 'relapse', from: `${Q2}0005`, to: `${Q2}0005` })]);
      const relapse = d.events.find((e) => e.kind === 'relapse')!;
      expect(relapse.fields).toMatchObject({ previousRuling: 'legal', closedEventId: d.events.find((e) => e.toStatus === 'closed')!.id });
      // Listing hides merged cases by default; no duplicates.
      const list = await l.listCases({}, { limit: 100 });
      expect(list.rows.map((c) => c.jcbh)).toEqual([`${Q2}0001`, `${Q2}0002`, `${Q2}0003`, `${Q2}0005`, `${Q3}0001`, `${Q3}0002`]);
      expect((await l.listCases({ includeMerged: true })).total).toBe(7);
      // A run ingested out of order (older) adds an observation but does not roll the geometry back.
      await l.ingest(run('2026-05-01', '2026-04-01', [patch('A0', [rect(0, 0, 30, 30)])]));
      const a2 = await l.getCase(`${Q2}0001`);
      expect(a2.areaM2).toBe(a.areaM2);
      expect(a2.firstSeen).toBe('2026-05-01');
      expect(a2.observationsList.length).toBe(3);
    }, { clock: clock.now });
  });

  it('runs the lifecycle: refuses invalid steps and missing evidence, records every change', async () => {
    const clock = testClock('2026-06-01T02:00:00Z');
    await withLedger(backend, async (l) => {
      await l.ingest(run('2026-05-27', '2026-04-12', [patch('A', [rect(0, 0, 40, 40)]), patch('B', [rect(200, 0, 40, 40)]), patch('C', [rect(400, 0, 40, 40)])]));
      const A = `${Q2}0001`;
      await expect(l.transition(A, { to: 'legal', actor: 'x', fields: { approvalNo: 'n' } })).rejects.toThrow(/cannot go from 待核查 \(pending\) to 合法 \(legal\); allowed: 已下发/);
      await expect(l.transition(A, { to: '已下发', actor: 'x' })).resolves.toMatchObject({ to: 'dispatched', deadline: '2026-06-21', version: 2 });
      const err = await l.transition(A, { to: '合法', actor: 'x' }).catch((e) => e);
      expect(err).toBeInstanceOf(TransitionError);
      expect(err.code).toBe('MISSING_EVIDENCE');
      expect(err.message).toMatch(/approvalNo \(批准文号\) is required/);
      await expect(l.transition(A, { to: 'false_change', actor: 'x', fields: { reason: ' ' } })).rejects.toThrow(/reason/);
      await expect(l.transition(A, { to: 'illegal', actor: 'x', fields: { illegalKind: 'maybe' } })).rejects.toThrow(/新增 or 存量/);
      await l.transition(A, { to: 'illegal', actor: '张三', fields: { illegalKind: '新增' }, note: '现场核查' });
      await expect(l.transition(A, { to: 'rectified', actor: 'x', fields: { evidence: 'photo' } })).rejects.toThrow(/allowed: 整改中/);
      await l.transition(A, { to: 'rectifying', actor: '张三' });
      await expect(l.transition(A, { to: 'rectified', actor: 'x' })).rejects.toThrow(/evidence \(整改材料\) is required/);
      await l.transition(A, { to: 'rectified', actor: '张三', fields: { evidence: '复耕照片 2026-07-01' } });
      const done = await l.transition(A, { to: '销号', actor: '县局' });
      expect(done).toMatchObject({ from: 'rectified', to: 'closed', version: 6 });
      await expect(l.transition(A, { to: 'pending', actor: 'x' })).rejects.toThrow(/allowed: none/);
      const c = await l.getCase(A);
      expect(c.events.map((e) => [e.kind, e.fromStatus, e.toStatus, e.actor, e.version])).toEqual([
        ['created', null, 'pending', 'farmwatch', 1],
        ['transition', 'pending', 'dispatched', 'x', 2],
        ['transition', 'dispatched', 'illegal', '张三', 3],
        ['transition', 'illegal', 'rectifying', '张三', 4],
        ['transition', 'rectifying', 'rectified', '张三', 5],
        ['transition', 'rectified', 'closed', '县局', 6],
      ]);
      expect(c.events[2]).toMatchObject({ note: '现场核查', fields: { illegalKind: '新增', deadline: '2026-07-31' } });
      expect(c.details).toMatchObject({ illegalKind: '新增', evidence: '复耕照片 2026-07-01' });
      const f = (await l.clueFeatures({ status: ['closed'] }))[0].fields;
      expect(f).toMatchObject({ JCBH: A, ZT: '销号', HCJG: '违法(新增)', ZGZT: '已整改' });
      // Legal ruling puts the approval number into PZWH.
      await l.transition(`${Q2}0002`, { to: 'dispatched', actor: 'x' });
      await l.transition(`${Q2}0002`, { to: 'legal', actor: 'x', fields: { approvalNo: '苏政地〔2025〕12号' } });
      expect((await l.clueFeatures({ status: ['legal'] }))[0].fields).toMatchObject({ PZWH: '苏政地〔2025〕12号', ZT: '合法', HCJG: '合法', ZGZT: null });
    }, { clock: clock.now });
  });

  it('keeps events append-only', async () => {
    await withLedger(backend, async (l) => {
      await l.ingest(run('2026-05-27', '2026-04-12', [patch('A', [rect(0, 0, 40, 40)])]));
      await expect(l.db.query("UPDATE events SET actor = 'me'")).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(l.db.query('DELETE FROM events')).rejects.toThrow(/append-only: DELETE refused/);
      await expect(l.db.query('TRUNCATE events CASCADE')).rejects.toThrow(/append-only: TRUNCATE refused/);
      expect((await l.db.query<{ actor: string }>('SELECT actor FROM events')).rows).toEqual([{ actor: 'farmwatch' }]);
    });
  });

  it('lets one of two concurrent changes win and tells the other', async () => {
    const schema = newSchema();
    await withLedger(backend, async (l1) => {
      await l1.ingest(run('2026-05-27', '2026-04-12', [patch('A', [rect(0, 0, 40, 40)])]));
      const A = `${Q2}0001`;
      // Two people read version 1; both try to act on it.
      const v = (await l1.getCase(A)).version;
      const l2 = await testLedger(backend, { schema });
      try {
        const results = await Promise.allSettled([
          l1.transition(A, { to: 'dispatched', actor: '甲', expectedVersion: v }),
          l2.transition(A, { to: 'dispatched', actor: '乙', expectedVersion: v, fields: { deadline: '2026-07-01' } }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won.length).toBe(1);
        expect(lost.length).toBe(1);
        expect(lost[0].reason).toBeInstanceOf(ConflictError);
        expect(lost[0].reason.message).toMatch(/changed by someone else/);
        const c = await l1.getCase(A);
        expect(c.version).toBe(2);
        expect(c.events.filter((e) => e.kind === 'transition').length).toBe(1);
        // Without an expected version, racing writers are still serialized: the second sees the new state.
        const again = await Promise.allSettled([
          l1.transition(A, { to: 'false_change', actor: '甲', fields: { reason: '阴影' } }),
          l2.transition(A, { to: 'legal', actor: '乙', fields: { approvalNo: 'x' } }),
        ]);
        expect(again.filter((r) => r.status === 'fulfilled').length).toBe(1);
        const why = (again.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
        expect(why instanceof ConflictError || why instanceof TransitionError).toBe(true);
        expect((await l1.getCase(A)).events.filter((e) => e.kind === 'transition').length).toBe(2);
      } finally {
        await l2.close();
      }
    }, { schema });
  });

  it('sets deadlines per township and stage and lists overdue cases', async () => {
    const clock = testClock('2026-06-01T02:00:00Z');
    await withLedger(backend, async (l) => {
      await l.setDeadlinePolicy('321282002', 'verify', 10);
      await l.setDeadlinePolicy('*', 'rectify', 30);
      await l.ingest(run('2026-05-27', '2026-04-12', [patch('A', [rect(0, 0, 40, 40)]), patch('B', [rect(200, 0, 40, 40)], { XZQDM: '321282002', XZQMC: '新丰镇' }), patch('C', [rect(400, 0, 40, 40)])]));
      expect((await l.transition(`${Q2}0001`, { to: 'dispatched', actor: 'x' })).deadline).toBe('2026-06-21');
      expect((await l.transition(`${Q2}0002`, { to: 'dispatched', actor: 'x' })).deadline).toBe('2026-06-11');
      expect((await l.transition(`${Q2}0003`, { to: 'dispatched', actor: 'x', fields: { deadline: '2026-06-05' } })).deadline).toBe('2026-06-05');
      expect((await l.overdue('2026-06-10')).rows.map((c) => c.jcbh)).toEqual([`${Q2}0003`]);
      expect((await l.overdue('2026-06-15')).rows.map((c) => c.jcbh)).toEqual([`${Q2}0003`, `${Q2}0002`]);
      clock.set('2026-06-12T02:00:00Z');
      expect((await l.transition(`${Q2}0002`, { to: 'illegal', actor: 'x', fields: { illegalKind: '存量' } })).deadline).toBe('2026-07-12');
      await l.transition(`${Q2}0003`, { to: 'false_change', actor: 'x', fields: { reason: '云影' } });
      expect((await l.overdue()).rows.map((c) => c.jcbh)).toEqual([]);
      expect((await l.overdue('2026-07-13')).rows.map((c) => [c.jcbh, c.deadline])).toEqual([[`${Q2}0001`, '2026-06-21'], [`${Q2}0002`, '2026-07-12']]);
    }, { clock: clock.now });
  });

  it('filters and pages in SQL', async () => {
    await withLedger(backend, async (l) => {
      const ps = Array.from({ length: 30 }, (_, i) =>
        patch(`P${String(i).padStart(2, '0')}`, [rect(i * 100, 0, 20 + i, 20)], {
          XZQDM: i % 3 === 0 ? '321282002' : '321282001',
          SFJBNT: i % 5 === 0,
          ...(i % 2 ? pond : {}),
        }),
      );
      const r = await l.ingest(run('2026-05-27', '2026-04-12', ps));
      await l.ingest(run('2026-08-20', '2026-05-27', [patch('X', [rect(0, 0, 20, 20)])]));
      const page = await l.listCases({ xzqdm: ['321282001'], tblx: ['outflow_pond'] }, { limit: 5, offset: 5 });
      // Township 001 and pond: i odd and i % 3 ≠ 0 → 1,5,7,11,13,17,19,23,25,29 → 10 cases; page 2 of 5.
      expect(page.total).toBe(10);
      expect(page.rows.length).toBe(5);
      expect(page.rows.every((c) => c.tblx === 'outflow_pond' && c.xzqdm === '321282001')).toBe(true);
      // i % 5 == 0 → 6 patches on PBF, but P00 was seen again off PBF in the second run: the newest observation rules.
      expect((await l.listCases({ sfjbnt: true })).total).toBe(5);
      expect((await l.listCases({ run: r.runId + 1 })).rows.map((c) => c.jcbh)).toEqual([`${Q2}0001`]);
      expect((await l.listCases({ from: '2026-08-01' })).total).toBe(1);
      expect((await l.listCases({ to: '2026-06-01' })).total).toBe(29);
      const big = await l.listCases({ minAreaM2: 40 * 20 }, { order: 'area_desc', limit: 3 });
      expect(big.total).toBe(10);
      expect(big.rows[0].areaM2).toBeGreaterThan(big.rows[1].areaM2);
      expect((await l.listCases({ status: ['待核查'] })).total).toBe(30);
      expect((await l.listCases({}, { offset: 100 })).total).toBe(30);
      await expect(l.listCases({ status: ['nonsense'] })).rejects.toThrow(/unknown status "nonsense"/);
    });
  });

  it('computes balances with projects, paddy apart, confirmed and pending apart', async () => {
    const clock = testClock('2026-09-01T02:00:00Z');
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'fw-proj-'));
    const file = join(dir, 'projects.geojson');
    await writeFile(
      file,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', properties: { XMBH: 'BC1', XMMC: '坑塘复垦', YSRQ: '2026-03-01', XZGDMJ: 1600, XZQDM: '321282001', DLBM: '0101' }, geometry: { type: 'Polygon', coordinates: rect(2000, 0, 40, 40) } },
          { type: 'Feature', properties: { XMBH: 'BC2', YSRQ: '2020-12-20', XZQDM: '321282001', DLBM: '0103' }, geometry: { type: 'Polygon', coordinates: rect(3000, 0, 50, 20) } },
          { type: 'Feature', properties: { XMBH: 'BC3', XZQDM: '321282001', DLBM: '0103' }, geometry: { type: 'Polygon', coordinates: rect(4000, 0, 10, 10) } },
        ],
      }),
    );
    await withLedger(backend, async (l) => {
      const imp = await l.importProjects(file);
      expect(imp).toMatchObject({ srid: 4490, inserted: 3, updated: 0 });
      expect((await l.importProjects(file)).updated).toBe(3);
      await l.ingest(run('2026-05-27', '2026-04-12', [
        patch('A', [rect(0, 0, 30, 30)], { ...pond, GDMJ: 900, DLBM: '0101' }),
        patch('B', [rect(200, 0, 30, 30)], { TBLX: 'outflow_orchard', TBLXMC: '耕地流出-园地', GDMJ: 800 }),
        patch('C', [rect(400, 0, 30, 30)], { TBLX: 'outflow_greenhouse', TBLXMC: '耕地流出-设施农用地', GDMJ: 700 }),
        patch('D', [rect(600, 0, 30, 30)], { GDMJ: 600 }),
        patch('E', [rect(800, 0, 30, 30)], { ...pond, GDMJ: 500 }),
        patch('F', [rect(2005, 5, 10, 10)], { ...pond, GDMJ: 100 }), // on project BC1
      ]));
      const rule = async (n: number, steps: [string, Record<string, unknown>][]) => {
        for (const [to, fields] of steps) await l.transition(`${Q2}000${n}`, { to, actor: 'x', fields });
      };
      await rule(1, [['dispatched', {}], ['illegal', { illegalKind: '新增' }]]);
      await rule(2, [['dispatched', {}], ['facility', {}]]); // orchard ruled facility → counts as 设施农用地
      await rule(3, [['dispatched', {}], ['false_change', { reason: '大棚膜反光' }]]);
      await rule(4, [['dispatched', {}], ['illegal', { illegalKind: '新增' }]]);
      await rule(5, [['dispatched', {}], ['illegal', { illegalKind: '存量' }], ['rectifying', {}], ['rectified', { evidence: 'x' }]]);
      const [b] = await l.balances({ year: 2026 });
      expect(b).toMatchObject({
        XZQDM: '321282001',
        XZQMC: '城东镇',
        year: 2026,
        outConfirmedM2: { 坑塘水面: 900, 设施农用地: 800 },
        outPendingM2: { 坑塘水面: 100 },
        paddyOutConfirmedM2: 900,
        paddyOutPendingM2: 0,
        occupationConfirmedM2: 600,
        occupationPendingM2: 0,
      });
      // BC3 has no acceptance date yet: pending in the current year.
      expect(b.inPendingM2).toBeGreaterThan(95);
      expect(b.inPendingM2).toBeLessThan(105);
      const bc1 = (await l.projects()).find((p) => p.xmbh === 'BC1')!;
      expect(b.inConfirmedM2).toBeCloseTo(bc1.areaM2, 2);
      expect(b.paddyInConfirmedM2).toBeCloseTo(bc1.areaM2, 2);
      expect(b.netConfirmedM2).toBeCloseTo(bc1.areaM2 - 1700, 1);
      expect(b.balanced).toBe(false);
      const rows = await l.balanceRows();
      expect(rows.map((r) => [r.year, r.XZQDM])).toEqual([[2020, '321282001'], [2026, '321282001']]);
      expect(rows[1]).not.toHaveProperty('occupationConfirmedM2');
            const projects = await l.projects();
      expect(projects.map((p) => [p.xmbh, p.careUntil, p.inCare])).toEqual([['BC1', '2031-03-01', true], ['BC2', '2025-12-20', false], ['BC3', null, false]]);
      expect(bc1.openCases).toEqual([`${Q2}0006`]);
      expect(bc1.areaM2).toBeGreaterThan(1500);
      expect((await l.projects({ inCareOnly: true })).map((p) => p.xmbh)).toEqual(['BC1']);
    }, { clock: clock.now });
  });

  it('refuses bad project files naming the feature', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'fw-proj-'));
    const file = join(dir, 'bad.geojson');
    await writeFile(file, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { XMMC: 'x' }, geometry: { type: 'Polygon', coordinates: rect(0, 0, 1, 1) } }] }));
    await withLedger(backend, async (l) => {
      await expect(l.importProjects(file)).rejects.toThrow(/bad.geojson: feature 0: properties.XMBH: XMBH \(项目编号\) is required/);
      await expect(l.importProjects(join(dir, 'none.geojson'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
      expect((await l.projects()).length).toBe(0);
    });
  });
});
