/** The complete register: validated row by row, rejected as a whole with every row's errors, nothing partial written. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importCompensation, RegisterError, registerProjects, quotas, uses } from '../../ledger/compensation.js';
import { BACKENDS, dropServerSchemas, rect, testLedger } from '../ledger/helpers.js';

afterAll(() => dropServerSchemas());

const townships = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', properties: { XZQDM: '321282001', XZQMC: '城东镇' }, geometry: { type: 'Polygon', coordinates: rect(-1000, -1000, 5000, 5000) } },
    { type: 'Feature', properties: { XZQDM: '321282002', XZQMC: '新丰镇' }, geometry: { type: 'Polygon', coordinates: rect(4000, -1000, 5000, 5000) } },
  ],
};
const good = (xmbh: string, dx: number, extra: Record<string, unknown> = {}) => ({
  type: 'Feature',
  properties: { XMBH: xmbh, XMMC: `${xmbh} 项目`, XMLX: '坑塘复垦', XZQDM: '321282001', XZGDMJ: 6000, XZSTMJ: 4000, XZHDMJ: 2000, LXRQ: '2023-01-10', KGRQ: '2023-03-01', YSRQ: '2023-12-20', RKRQ: '2024-02-01', ...extra },
  geometry: { type: 'Polygon', coordinates: rect(dx, 0, 100, 60) },
});
const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });

async function files(dir: string, register: unknown, name = 'register.geojson') {
  await writeFile(join(dir, 'townships.geojson'), JSON.stringify(townships));
  await writeFile(join(dir, name), JSON.stringify(register));
  return { register: join(dir, name), townships: join(dir, 'townships.geojson') };
}

describe.each(BACKENDS)('register import (%s)', (backend) => {
  it('imports a complete register with type, claimed area and split, dates and township', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-reg-'));
    const f = await files(dir, fc([good('P1', 0), good('P2', 300, { XMLX: '建设用地复垦', XZQDM: '321282002', XZSTMJ: 0, XZHDMJ: 6000, YSRQ: null, RKRQ: null })]));
    await writeFile(join(dir, 'q.csv'), '乡镇代码,乡镇名称,年度,新增耕地任务(亩),新增水田任务(亩)\n321282001,城东镇,2023,15,6\n321282002,新丰镇,2024,30,0\n');
    await writeFile(join(dir, 'u.csv'), '核销编号,项目编号,核销日期,核销面积(亩),其中水田(亩),用途\nHX-1,P1,2024-05-01,3,1.5,某道路工程\n');
    const l = await testLedger(backend);
    try {
      const r = await importCompensation(l, { ...f, quotas: join(dir, 'q.csv'), uses: join(dir, 'u.csv') });
      expect(r.register).toMatchObject({ rows: 2, inserted: 2, updated: 0, srid: 4490 });
      const ps = await registerProjects(l.db);
      expect(ps.map((p) => [p.xmbh, p.xmlx, p.xzqdm, p.xzqmc, p.claimedM2, p.paddyM2, p.lxrq, p.kgrq, p.ysrq, p.rkrq])).toEqual([
        ['P1', 'pond_ditch', '321282001', '城东镇', 6000, 4000, '2023-01-10', '2023-03-01', '2023-12-20', '2024-02-01'],
        ['P2', 'construction', '321282002', '新丰镇', 6000, 0, '2023-01-10', '2023-03-01', null, null],
      ]);
      expect(Math.abs(ps[0].areaM2 - 6000)).toBeLessThan(60);
      expect((await quotas(l.db)).map((q) => [q.xzqdm, q.year, Math.round(q.targetM2 * 100) / 100])).toEqual([['321282001', 2023, 10000], ['321282002', 2024, 20000]]);
      expect((await uses(l.db))[0]).toMatchObject({ hxbh: 'HX-1', xmbh: 'P1', usedOn: '2024-05-01', areaM2: 2000, paddyM2: 1000 });
      // The idle module's view of the register is the same table.
      expect((await l.projects({ asOf: '2024-06-01' })).map((p) => [p.xmbh, p.inCare])).toEqual([['P1', true], ['P2', false]]);
    } finally {
      await l.close();
    }
  });

  it('rejects a malformed register row by row, naming row and field, and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-reg-'));
    const l = await testLedger(backend);
    try {
      const f0 = await files(dir, fc([good('P1', 0)]), 'first.geojson');
      await importCompensation(l, f0);
      const before = await registerProjects(l.db);
      const bowtie = { type: 'Polygon', coordinates: [[[120.3, 32.0], [120.302, 32.001], [120.302, 32.0], [120.3, 32.002], [120.3, 32.0]]] };
      const bad = fc([
        good('P1', 0, { XZGDMJ: 7000, XZHDMJ: 3000 }), // valid: would update P1 if anything were written
        good('P3', 300, { XMBH: undefined }), // row 1: missing project ID
        good('P4', 600, { LXRQ: '2023-02-30' }), // row 2: bad date
        { ...good('P5', 900), geometry: bowtie }, // row 3: invalid geometry
        good('P6', 1200, { XZQDM: '321282099' }), // row 4: unknown township
        good('P7', 1500, { XZGDMJ: undefined, XMLX: '造林' }), // row 5: missing claimed area, unknown type
        good('P8', 1800, { YSRQ: '2022-12-01' }), // row 6: accepted before the start
        good('P9', 2100, { XZSTMJ: 5000 }), // row 7: paddy + dry ≠ claimed
        good('P1', 2400), // row 8: repeated project ID
        { ...good('P10', 2700), geometry: { type: 'Polygon', coordinates: [[[120.3, 32.0], [120.301, 32.0], [120.301, 32.001]]] } }, // row 9: open ring
      ]);
      const f = await files(dir, bad);
      const e = await importCompensation(l, f).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(RegisterError);
      const errs = (e as RegisterError).errors.map((x) => [x.row, x.xmbh, x.field]);
      expect(errs).toEqual([
        [1, null, 'XMBH'],
        [2, 'P4', 'LXRQ'],
        [3, 'P5', 'geometry'],
        [4, 'P6', 'XZQDM'],
        [5, 'P7', 'XMLX'],
        [5, 'P7', 'XZGDMJ'],
        [6, 'P8', 'YSRQ'],
        [7, 'P9', 'XZSTMJ'],
        [8, 'P1', 'XMBH'],
        [9, 'P10', 'geometry'],
      ]);
      const msg = (e as Error).message;
      expect(msg).toMatch(/nothing written: 10 error/);
      expect(msg).toContain('row 2 (XMBH P4), field LXRQ (立项日期): "2023-02-30" is not a calendar date');
      expect(msg).toContain('row 4 (XMBH P6), field XZQDM (乡镇代码): township 321282099 is unknown');
      expect(msg).toMatch(/row 3 \(XMBH P5\), field geometry \(几何\): invalid geometry: Self-intersection/);
      expect(await registerProjects(l.db)).toEqual(before);
      // A bad use table next to a good register: the register is not written either.
      const f2 = await files(dir, fc([good('P1', 0, { XZGDMJ: 7000, XZHDMJ: 3000 }), good('P11', 300)]), 'ok.geojson');
      await writeFile(join(dir, 'bad-uses.csv'), '核销编号,项目编号,核销日期,核销面积(亩)\nHX-1,P11,2024-05-01,3\nHX-2,NOPE,2024-13-01,-1\n');
      const e2 = await importCompensation(l, { ...f2, uses: join(dir, 'bad-uses.csv') }).catch((x: unknown) => x);
      expect((e2 as RegisterError).errors.map((x) => [x.row, x.field])).toEqual([[3, 'XMBH'], [3, 'HXRQ'], [3, 'HXMJ']]);
      expect(await registerProjects(l.db)).toEqual(before);
    } finally {
      await l.close();
    }
  });
});
