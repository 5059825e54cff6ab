/**
 * Acceptance story of the ledger issue: the sample county over three quarterly runs of 2026, built
 * from its planted ground truth (real geometry, deterministic) rather than three detections. Changes
 * persist, grow, split and merge, new ones appear, some are ruled legal or false, some rectified and
 * closed, one closed case relapses. The story ends with exactly the expected cases, states and
 * balances, no duplicates, and every state change has its event — on PGlite and on PostgreSQL.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import polygonClipping from 'polygon-clipping';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger, LedgerPatch, LedgerRun } from '../../ledger/index.js';
import { CGCS2000, crsFromEpsg, makeTransform } from '../../pipeline/geo/crs.js';
import { CHANGE_TYPE_LABELS, type ChangeTypeName } from '../../pipeline/types.js';
import { SAMPLE_EPSG, sampleTransform } from '../../samples/index.js';
import { buildLayout, DLMC, type Layout, type TruthItem } from '../../samples/layout.js';
import { BACKENDS, dropServerSchemas, testClock, testLedger } from './helpers.js';

afterAll(dropServerSchemas);

type Ring = [number, number][];
const SIZE = 2000;
const layout: Layout = buildLayout({ seed: 20261123, sizePx: SIZE, pixelSize: 2 });
const T = sampleTransform(SIZE, 2);
const toLonLat = makeTransform(crsFromEpsg(SAMPLE_EPSG), CGCS2000);
const truth = new Map(layout.truth.filter((t) => t.kind === 'change').map((t) => [t.id, t]));
const C = (n: number) => `C${String(n).padStart(3, '0')}`;

const shoelace = (r: Ring) => {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return Math.abs(a / 2);
};
const polyArea = (rings: Ring[]) => rings.reduce((s, r, i) => s + (i === 0 ? shoelace(r) : -shoelace(r)), 0);

/** A change's polygon (local metres), grown by `scale` about its centre or cut to the part left/right of 60 % of its width. */
function shape(t: TruthItem, how: 'whole' | 'grown' | 'left' | 'right' = 'whole'): Ring[][] {
  const rings = t.poly.map((r) => r.map(([x, y]) => [x, y] as [number, number]));
  if (how === 'whole') return [rings];
  const xs = rings[0].map((p) => p[0]);
  const ys = rings[0].map((p) => p[1]);
  if (how === 'grown') {
    const cx = xs.reduce((s, v) => s + v, 0) / xs.length;
    const cy = ys.reduce((s, v) => s + v, 0) / ys.length;
    return [rings.map((r) => r.map(([x, y]) => [cx + (x - cx) * 1.5, cy + (y - cy) * 1.5] as [number, number]))];
  }
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const cut = x0 + 0.6 * (x1 - x0);
  const y0 = Math.min(...ys) - 1;
  const y1 = Math.max(...ys) + 1;
  const box: Ring = how === 'left' ? [[x0 - 1, y0], [cut, y0], [cut, y1], [x0 - 1, y1]] : [[cut, y0], [x1 + 1, y0], [x1 + 1, y1], [cut, y1]];
  const out = polygonClipping.intersection(rings as never, [box] as never) as unknown as Ring[][];
  return out.map((p) => p.map((r) => r.slice(0, -1) as Ring));
}

const toLL = (polys: Ring[][]) => polys.map((p) => p.map((r) => [...r, r[0]].map(([u, v]) => toLonLat(T[0] + u, T[3] - v))));

/** GDMJ each patch carries (its planar area, m², rounded): the balances sum these. */
const gd = new Map<string, number>();

function patchOf(t: TruthItem, seq: string, how: Parameters<typeof shape>[1] = 'whole'): LedgerPatch {
  const polys = shape(t, how);
  const area = Math.round(polys.reduce((s, p) => s + polyArea(p), 0) * 100) / 100;
  const parcel = layout.parcels[t.parcel!];
  const town = layout.townships[parcel.township];
  return {
    geometryLonLat: toLL(polys),
    attributes: {
      JCBH: seq,
      TBLX: t.type!,
      TBLXMC: CHANGE_TYPE_LABELS[t.type as ChangeTypeName],
      XZQDM: town.code,
      XZQMC: town.name,
      CJMC: null,
      QSX: null,
      HSX: null,
      DLBM: parcel.dlbm,
      DLMC: DLMC[parcel.dlbm] ?? null,
      XZDL: null,
      MJ: area,
      GDMJ: area,
      YJJBNTMJ: t.onPbf ? area : 0,
      SFJBNT: t.onPbf,
      PZWH: t.approval,
      ZXD: 0.9,
    },
  };
}

/** A quarterly run: list of [truth id, how]; patch ids numbered in list order like the pipeline's. */
function quarter(before: string, after: string, items: [string, Parameters<typeof shape>[1]?][]): { run: LedgerRun; ids: string[] } {
  const prefix = `321282${after.slice(0, 4)}${Math.floor((Number(after.slice(5, 7)) - 1) / 3) + 1}`;
  const ids: string[] = [];
  const patches = items.map(([id, how], i) => {
    const seq = `${prefix}${String(i + 1).padStart(5, '0')}`;
    const p = patchOf(truth.get(id)!, seq, how);
    ids.push(`${id}${how === 'left' ? 'a' : how === 'right' ? 'b' : ''}`);
    gd.set(`${after}:${ids[i]}`, p.attributes.GDMJ);
    return { ...p, attributes: { ...p.attributes, QSX: before, HSX: after } };
  });
  return {
    ids,
    run: { regionCode: '321282', beforeDate: before, afterDate: after, gkSrid: SAMPLE_EPSG, model: { id: 'truth' }, config: { story: true }, inputs: { before, after }, counts: { total: patches.length }, source: `story ${after}`, patches },
  };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => C(a + i));

// Q1: C001–C020, C016 seen as two patches (to be merged when seen whole).
const q1 = quarter('2025-12-20', '2026-03-20', [...range(1, 15).map((id) => [id] as [string]), ['C016', 'left'], ['C016', 'right'], ...range(17, 20).map((id) => [id] as [string])]);
// Q2: C001 (built, legal, closed), C004 (rectified) and C012 (not seen) absent; C006 and C008 grow;
// C011 seen as two patches (split); C016 whole (merge); C021–C030 new.
const q2 = quarter('2026-03-20', '2026-06-18', [
  ...['C002', 'C003', 'C005'].map((id) => [id] as [string]),
  ['C006', 'grown'],
  ['C007'],
  ['C008', 'grown'],
  ['C009'],
  ['C010'],
  ['C011', 'left'],
  ['C011', 'right'],
  ...range(13, 15).map((id) => [id] as [string]),
  ['C016'],
  ...range(17, 30).map((id) => [id] as [string]),
]);
// Q3: C004 comes back (relapse); C006 and C013 (rectified, closed) and C012 absent; C031–C042 new.
const q3 = quarter('2026-06-18', '2026-09-15', [
  ...['C002', 'C003', 'C004', 'C005', 'C007'].map((id) => [id] as [string]),
  ['C008', 'grown'],
  ['C009'],
  ['C010'],
  ['C011', 'left'],
  ['C011', 'right'],
  ['C014'],
  ['C015'],
  ['C016'],
  ...range(17, 42).map((id) => [id] as [string]),
]);

const Q1 = (n: number) => `32128220261${String(n).padStart(4, '0')}`;
const Q2 = (n: number) => `32128220262${String(n).padStart(4, '0')}`;
const Q3 = (n: number) => `32128220263${String(n).padStart(4, '0')}`;
/** Case number of each planted change (Q1 cases numbered in patch order: C016a/b are 16/17). */
const caseOf: Record<string, string> = {
  ...Object.fromEntries(range(1, 15).map((id, i) => [id, Q1(i + 1)])),
  C016a: Q1(16),
  C016b: Q1(17),
  ...Object.fromEntries(range(17, 20).map((id, i) => [id, Q1(18 + i)])),
  C011b: Q2(1),
  ...Object.fromEntries(range(21, 30).map((id, i) => [id, Q2(2 + i)])),
  ...Object.fromEntries(range(31, 42).map((id, i) => [id, Q3(1 + i)])),
};

/** Final state of every case. */
const FINAL: Record<string, string> = {
  C001: 'closed', C002: 'legal', C003: 'legal', C004: 'pending', C005: 'false_change', C006: 'closed', C007: 'facility', C008: 'rectifying',
  C009: 'rural_road', C010: 'illegal', C011: 'dispatched', C012: 'false_change', C013: 'closed', C014: 'dispatched', C015: 'dispatched',
  C016a: 'dispatched', C016b: 'dispatched', C017: 'dispatched', C018: 'dispatched', C019: 'dispatched', C020: 'dispatched',
  C011b: 'dispatched', C021: 'facility', C022: 'dispatched', C023: 'dispatched', C024: 'dispatched', C025: 'illegal',
  ...Object.fromEntries(range(26, 30).map((id) => [id, 'dispatched'])),
  ...Object.fromEntries(range(31, 42).map((id) => [id, 'pending'])),
};

/** How each case counts in the 2026 balance: [bucket, class] (occ = construction, apart from the in–out balance). */
const OUT_CLASS: Record<string, string> = { outflow_orchard: '园地', outflow_forest: '林地', outflow_pond: '坑塘水面', outflow_greenhouse: '设施农用地' };
function bucketOf(id: string): ['confirmed' | 'pending' | 'none', string] {
  const t = truth.get(id.slice(0, 4))!;
  const cls = t.type!.startsWith('occupation') ? 'occ' : OUT_CLASS[t.type!];
  switch (FINAL[id]) {
    case 'pending':
    case 'dispatched':
      return ['pending', cls];
    case 'false_change':
      return ['none', cls];
    case 'facility':
      return ['confirmed', '设施农用地'];
    case 'rural_road':
      return ['confirmed', '农村道路'];
    case 'closed':
      // Closed after a legal ruling still counts; closed after rectification does not (restored).
      return id === 'C001' ? ['confirmed', cls] : ['none', cls];
    default:
      return ['confirmed', cls];
  }
}
/** GDMJ of a case at the end: its newest observation. */
function finalGd(id: string): number {
  for (const q of ['2026-09-15', '2026-06-18', '2026-03-20']) {
    const v = gd.get(`${q}:${id}`) ?? (id === 'C016a' && q !== '2026-03-20' ? gd.get(`${q}:C016`) : undefined) ?? (id === 'C011' && q !== '2026-03-20' ? gd.get(`${q}:C011a`) : undefined);
    if (v !== undefined) return v;
  }
  throw new Error(`no GDMJ for ${id}`);
}

async function projectsFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fw-story-'));
  const file = join(dir, 'projects.geojson');
  // As the sample generator writes it: Gauss–Krüger zone 40 coordinates with the legacy crs member.
  const features = layout.projects.map((p) => {
    const parcel = layout.parcels[p.parcel];
    const ring = [...parcel.ring, parcel.ring[0]].map(([u, v]) => [T[0] + u, T[3] - v]);
    return { type: 'Feature', properties: { XMBH: p.XMBH, XMMC: p.XMMC, YSRQ: p.YSRQ, XZGDMJ: p.XZGDMJ, XZQDM: layout.townships[parcel.township].code, DLBM: parcel.dlbm }, geometry: { type: 'Polygon', coordinates: [ring] } };
  });
  await writeFile(file, JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${SAMPLE_EPSG}` } }, features }));
  return file;
}

describe.each(BACKENDS)('ledger story over three quarters (%s)', (backend) => {
  const clock = testClock('2026-03-25T02:00:00Z');
  let l: Ledger;
  const transitions: Record<string, number> = {};
  const act = async (id: string, steps: [string, Record<string, unknown>?][], actor = '乡镇核查员') => {
    for (const [to, fields] of steps) {
      await l.transition(caseOf[id] ?? id, { to, actor, fields: fields ?? {} });
      transitions[id] = (transitions[id] ?? 0) + 1;
    }
  };

  beforeAll(async () => {
    l = await testLedger(backend, { clock: clock.now });
  });
  afterAll(async () => {
    await l?.close();
  });

  it('quarter 1: 21 patches become 21 cases; projects imported; dispatch and first rulings', async () => {
    const r = await l.ingest(q1.run, { actor: 'farmwatch' });
    expect(r).toMatchObject({ status: 'ingested', patches: 21, created: 21, continued: 0 });
    q1.ids.forEach((id, i) => expect(r.caseOfPatch[q1.run.patches[i].attributes.JCBH], id).toBe(caseOf[id]));
    const imp = await l.importProjects(await projectsFile());
    expect(imp).toMatchObject({ srid: SAMPLE_EPSG, inserted: 3 });
    await l.setDeadlinePolicy('321282102', 'verify', 10);
    clock.set('2026-03-28T02:00:00Z');
    for (const id of q1.ids) await act(id, [['dispatched']], '县局');
    expect((await l.getCase(caseOf.C002)).deadline).toBe('2026-04-17');
    expect((await l.getCase(caseOf.C001)).deadline).toBe('2026-04-07'); // 新丰镇: 10 days
    clock.set('2026-04-10T02:00:00Z');
    await act('C001', [['legal', { approvalNo: truth.get('C001')!.approval }], ['closed']]);
    await act('C002', [['legal', { approvalNo: truth.get('C002')!.approval }]]);
    await act('C003', [['legal', { approvalNo: truth.get('C003')!.approval }]]);
    await act('C004', [['illegal', { illegalKind: '新增' }], ['rectifying'], ['rectified', { evidence: '复耕验收照片' }], ['closed']]);
    await act('C005', [['false_change', { reason: '林下季相差异' }]]);
    await act('C006', [['illegal', { illegalKind: '存量' }], ['rectifying']]);
    await act('C007', [['facility', { filingNo: 'BA-2026-001' }]]);
    await act('C008', [['illegal', { illegalKind: '新增' }]]);
    await act('C009', [['rural_road']]);
    expect((await l.listCases({ status: ['dispatched'] })).total).toBe(12);
  });

  it('quarter 2: persistence, growth, a split, a merge, ten new cases; overdue list', async () => {
    clock.set('2026-06-20T02:00:00Z');
    const r = await l.ingest(q2.run);
    expect(r).toMatchObject({ patches: 28, created: 10, splits: 1, merges: 1, relapsed: 0, continued: 17 });
    q2.ids.forEach((id, i) => expect(r.caseOfPatch[q2.run.patches[i].attributes.JCBH], id).toBe(caseOf[id === 'C016' ? 'C016a' : id === 'C011a' ? 'C011' : id]));
    const c6 = await l.getCase(caseOf.C006);
    expect(c6.areaM2 / c6.observationsList[0].areaM2).toBeCloseTo(2.25, 2);
    expect(c6.status).toBe('rectifying');
    expect((await l.getCase(caseOf.C016b)).mergedInto).toBe(caseOf.C016a);
    expect((await l.getCase(caseOf.C011)).links.map((k) => [k.kind, k.to])).toEqual([['split', caseOf.C011b]]);
    // Not seen again: keeps its state.
    expect((await l.getCase(caseOf.C012)).status).toBe('dispatched');
    const overdue = await l.overdue();
    expect(overdue.rows.map((c) => c.jcbh).sort()).toEqual(['C006', 'C008', 'C010', 'C011', 'C012', 'C013', 'C014', 'C015', 'C016a', 'C017', 'C018', 'C019', 'C020'].map((id) => caseOf[id]).sort());
    clock.set('2026-07-01T02:00:00Z');
    for (const id of ['C011b', ...range(21, 30)]) await act(id, [['dispatched']], '县局');
    await act('C006', [['rectified', { evidence: '坑塘回填复耕' }], ['closed']]);
    await act('C008', [['rectifying']]);
    await act('C010', [['illegal', { illegalKind: '新增' }]]);
    await act('C012', [['false_change', { reason: '云影' }]]);
    await act('C013', [['illegal', { illegalKind: '存量' }], ['rectifying'], ['rectified', { evidence: '退塘还耕' }], ['closed']]);
    await act('C021', [['facility', { filingNo: 'BA-2026-017' }]]);
    await act('C025', [['illegal', { illegalKind: '新增' }]]);
  });

  it('quarter 3: a relapse, twelve new cases; ingesting it again changes nothing', async () => {
    clock.set('2026-09-20T02:00:00Z');
    const r = await l.ingest(q3.run);
    expect(r).toMatchObject({ patches: 39, created: 12, splits: 0, merges: 0, relapsed: 1, continued: 26 });
    const c4 = await l.getCase(caseOf.C004);
    expect(c4).toMatchObject({ status: 'pending', ruling: null, relapses: 1, deadline: null });
    expect(c4.links).toEqual([expect.objectContaining({ kind: 'relapse', from: caseOf.C004, to: caseOf.C004 })]);
    expect(c4.events.at(-1)).toMatchObject({ kind: 'relapse', fromStatus: 'closed', toStatus: 'pending', fields: expect.objectContaining({ previousRuling: 'illegal' }) });
    const before = await l.db.query<{ n: number }>('SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM events) + (SELECT count(*) FROM observations) AS n');
    expect((await l.ingest(q3.run)).status).toBe('already-ingested');
    const after = await l.db.query<{ n: number }>('SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM events) + (SELECT count(*) FROM observations) AS n');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('ends with exactly the expected cases and states, no duplicates', async () => {
    const all = await l.listCases({ includeMerged: true }, { limit: 1000 });
    expect(all.total).toBe(44);
    const expected = Object.fromEntries(Object.entries(FINAL).map(([id, s]) => [caseOf[id], s]));
    expect(Object.fromEntries(all.rows.map((c) => [c.jcbh, c.status]))).toEqual(expected);
    // The active list: one case per planted change, C011 split in two, C016 merged into one.
    const active = await l.listCases({}, { limit: 1000 });
    expect(active.total).toBe(43);
    expect(new Set(active.rows.map((c) => c.jcbh)).size).toBe(43);
    const byRun = await l.runs();
    expect(byRun.map((x) => [x.afterDate, x.patches])).toEqual([['2026-03-20', 21], ['2026-06-18', 28], ['2026-09-15', 39]]);
    expect((await l.listCases({ run: byRun[2].id })).total).toBe(39); // one case per patch: C011's two parts stay two cases
  });

  it('has an event for every state change, in order, versions counting up', async () => {
    for (const [id, jcbh] of Object.entries(caseOf)) {
      const c = await l.getCase(jcbh);
      const changes = c.events.filter((e) => e.kind === 'transition');
      expect(changes.length, id).toBe(transitions[id] ?? 0);
      let state: string | null = null;
      let version = 0;
      for (const e of c.events) {
        if (e.kind === 'created') expect(e.toStatus).toBe('pending');
        if (e.kind === 'transition' || e.kind === 'relapse') expect(e.fromStatus, `${id} event ${e.id}`).toBe(state);
        if (e.toStatus) state = e.toStatus;
        expect(e.version, `${id} event ${e.id}`).toBeGreaterThanOrEqual(version);
        version = e.version;
      }
      expect(state, id).toBe(c.status);
      expect(version, id).toBe(c.version);
    }
  });

  it('ends with the expected balances per township', async () => {
    const rows = await l.balances({ year: 2026 });
    expect(rows.map((b) => b.XZQDM)).toEqual(['321282101', '321282102', '321282103']);
    for (const b of rows) {
      const want = { outConfirmedM2: {} as Record<string, number>, outPendingM2: {} as Record<string, number>, occC: 0, occP: 0, paddyC: 0, paddyP: 0 };
      for (const id of Object.keys(FINAL)) {
        if (id === 'C016b') continue; // merged into C016a
        const t = truth.get(id.slice(0, 4))!;
        const parcel = layout.parcels[t.parcel!];
        if (layout.townships[parcel.township].code !== b.XZQDM) continue;
        const [bucket, cls] = bucketOf(id);
        if (bucket === 'none') continue;
        const m2 = finalGd(id);
        if (cls === 'occ') {
          if (bucket === 'confirmed') want.occC += m2;
          else want.occP += m2;
          continue;
        }
        const m = bucket === 'confirmed' ? want.outConfirmedM2 : want.outPendingM2;
        m[cls] = (m[cls] ?? 0) + m2;
        if (parcel.dlbm === '0101') {
          if (bucket === 'confirmed') want.paddyC += m2;
          else want.paddyP += m2;
        }
      }
      const close = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, expect.closeTo(v, 1)]));
      expect(b.outConfirmedM2, b.XZQDM).toEqual(close(want.outConfirmedM2));
      expect(b.outPendingM2, b.XZQDM).toEqual(close(want.outPendingM2));
      expect(b.occupationConfirmedM2).toBeCloseTo(want.occC, 1);
      expect(b.occupationPendingM2).toBeCloseTo(want.occP, 1);
      expect(b.paddyOutConfirmedM2).toBeCloseTo(want.paddyC, 1);
      expect(b.paddyOutPendingM2).toBeCloseTo(want.paddyP, 1);
      expect(b.inConfirmedM2).toBe(0);
    }
    // Township 101 has confirmed outflow to 设施农用地 (C007) and nothing came in in 2026: out of balance.
    expect(rows[0].balanced).toBe(false);
    // Projects count in the year of acceptance, paddy apart; areas ellipsoidal within 0.1 % of the declared (planar) ones.
    const inRows = (await l.balanceRows()).filter((b) => b.year < 2026);
    expect(inRows.map((b) => [b.year, b.XZQDM])).toEqual([[2020, '321282101'], [2023, '321282101'], [2024, '321282103']]);
    for (const b of inRows) {
      const p = layout.projects.find((x) => x.YSRQ.startsWith(String(b.year)))!;
      expect(Math.abs(b.inConfirmedM2 / p.XZGDMJ - 1)).toBeLessThan(0.001);
      expect(b.paddyInConfirmedM2).toBeCloseTo(layout.parcels[p.parcel].dlbm === '0101' ? b.inConfirmedM2 : 0, 2);
    }
    const projects = await l.projects({ asOf: '2026-09-20' });
    expect(projects.map((p) => [p.xmbh, p.careUntil, p.inCare])).toEqual([['3212822020BC003', '2025-12-20', false], ['3212822023BC001', '2028-11-18', true], ['3212822024BC002', '2029-06-30', true]]);
  });

  it('exports clue records with the lifecycle in Chinese and Gauss–Krüger centroids', async () => {
    const f = await l.clueFeatures({ status: ['rectifying'] });
    expect(f.map((x) => x.fields.JCBH)).toEqual([caseOf.C008]);
    expect(f[0].fields).toMatchObject({ ZT: '整改中', HCJG: '违法(新增)', ZGZT: '整改中', XZQDM: '321282101', TBLX: 'occupation_building' });
    // ZXX carries the zone number (40) and the centroid lies inside the sample scene.
    expect(Math.floor(f[0].fields.ZXX / 1e6)).toBe(40);
    expect(f[0].fields.ZXX).toBeGreaterThan(T[0]);
    expect(f[0].fields.ZXX).toBeLessThan(T[0] + SIZE * 2);
    expect(f[0].fields.ZXY).toBeLessThan(T[3]);
    expect(Math.abs(f[0].fields.JD - 120.3)).toBeLessThan(0.05);
    expect(f[0].fields.MJM).toBeCloseTo((f[0].fields.MJ * 3) / 2000, 3);
    // Area of the grown C008 (planar 1.5² × planted) agrees with the ellipsoidal MJ to 0.1 %.
    expect(Math.abs(f[0].fields.MJ / finalGd('C008') - 1)).toBeLessThan(0.001);
    const pbf = await l.clueFeatures({ sfjbnt: true, xzqdm: ['321282102'] });
    expect(pbf.every((x) => x.fields.SFJBNT && x.fields.XZQDM === '321282102')).toBe(true);
    expect(pbf.length).toBeGreaterThan(0);
  });
});
