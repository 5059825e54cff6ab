import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, dropServerSchemas, patch, rect, run, testLedger } from './helpers.js';

afterAll(dropServerSchemas);

describe.each(BACKENDS)('ledger smoke (%s)', (backend) => {
  it('ingests a run and lists it', async () => {
    const l = await testLedger(backend);
    try {
      const r = await l.ingest(run('2026-05-27', '2026-04-12', [patch('A1', [rect(0, 0, 40, 30)]), patch('A2', [rect(500, 0, 20, 20)], { TBLX: 'outflow_pond', TBLXMC: '耕地流出-坑塘' })]));
      expect(r.status).toBe('ingested');
      expect(r.created).toBe(2);
      const list = await l.listCases();
      expect(list.total).toBe(2);
      expect(list.rows.map((c) => c.jcbh)).toEqual(['32128220262' + '0001', '32128220262' + '0002']);
      expect(list.rows[0].areaM2).toBeGreaterThan(1190);
      expect(list.rows[0].areaM2).toBeLessThan(1210);
      const again = await l.ingest(run('2026-05-27', '2026-04-12', [patch('A1', [rect(0, 0, 40, 30)]), patch('A2', [rect(500, 0, 20, 20)], { TBLX: 'outflow_pond', TBLXMC: '耕地流出-坑塘' })]));
      expect(again.status).toBe('already-ingested');
      expect((await l.listCases()).total).toBe(2);
      const f = await l.clueFeatures();
      console.log(JSON.stringify(f[0].fields));
    } finally {
      await l.close();
    }
  });
});
