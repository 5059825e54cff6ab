/** The indicator account against totals computed by hand, and its workbook read back. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { indicatorAccount, type AccountProject } from '../../audit/account.js';
import { ACCOUNT_HEADERS, ACCOUNT_SHEET, BALANCE_SHEET, FINDING_SHEET, PROJECT_SHEET, writeIndicatorXlsx } from '../../audit/report-xlsx.js';
import type { Balance } from '../../ledger/balance.js';

const P = (xmbh: string, xzqdm: string, claimedM2: number, paddyM2: number, ysrq: string | null, rkrq: string | null): AccountProject => ({
  xmbh, xmmc: `${xmbh}项目`, xmlxmc: '坑塘沟渠复垦', xzqdm, xzqmc: xzqdm === 'T1' ? '甲镇' : '乙镇', claimedM2, paddyM2, lxrq: '2022-01-01', kgrq: '2022-03-01', ysrq, rkrq,
});
const input = {
  projects: [P('A', 'T1', 6000, 2000, '2023-05-01', '2023-07-01'), P('B', 'T1', 4000, 0, '2023-09-01', '2023-10-01'), P('C', 'T2', 10000, 4000, '2024-03-01', '2024-04-01'), P('D', 'T2', 8000, 0, '2024-11-01', null), P('E', 'T1', 2000, 0, '2026-01-01', null)],
  findings: [
    { xmbh: 'B', status: 'pending' as const, deductM2: 4000, deductPaddyM2: 0, label: '存量耕地' },
    { xmbh: 'C', status: 'confirmed' as const, deductM2: 2000, deductPaddyM2: 800, label: '坡度' },
    { xmbh: 'C', status: 'dismissed' as const, deductM2: 1000, deductPaddyM2: 0, label: '红线' },
    { xmbh: 'D', status: 'pending' as const, deductM2: 3000, deductPaddyM2: 0, label: '重叠' },
  ],
  quotas: [
    { xzqdm: 'T1', year: 2023, targetM2: 9000, paddyTargetM2: 3000 },
    { xzqdm: 'T1', year: 2024, targetM2: 6000, paddyTargetM2: 0 },
    { xzqdm: 'T2', year: 2024, targetM2: 12000, paddyTargetM2: 6000 },
    { xzqdm: 'T2', year: 2025, targetM2: 6000, paddyTargetM2: 0 },
  ],
  uses: [
    { xmbh: 'A', usedOn: '2024-02-01', areaM2: 3000, paddyM2: 1000 },
    { xmbh: 'C', usedOn: '2025-06-01', areaM2: 6000, paddyM2: 2000 },
    { xmbh: 'B', usedOn: '2025-03-01', areaM2: 2000, paddyM2: 0 },
    { xmbh: 'A', usedOn: '2026-02-01', areaM2: 1000, paddyM2: 0 },
  ],
  balances: [
    { XZQDM: 'T1', XZQMC: '甲镇', year: 2024, outConfirmedM2: { 园地: 500 }, outPendingM2: {}, inConfirmedM2: 1000, inPendingM2: 0, paddyOutConfirmedM2: 0, paddyOutPendingM2: 0, paddyInConfirmedM2: 0, paddyInPendingM2: 0,
      occupationConfirmedM2: 2500, occupationPendingM2: 0, netConfirmedM2: 500, paddyNetConfirmedM2: 0, balanced: true } satisfies Balance,
  ],
};

describe('indicator account', () => {
  const acc = indicatorAccount(input, '2025-12-31');
  const row = (t: string, y: number) => acc.rows.find((r) => r.xzqdm === t && r.year === y)!;
  const pick = (r: object, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (r as Record<string, unknown>)[k]]));
  const K = ['targetM2', 'acceptedM2', 'acceptedPaddyM2', 'deductedM2', 'deductedPaddyM2', 'achievedM2', 'achievedPaddyM2', 'completion', 'warehousedM2', 'warehousedPaddyM2', 'usedM2', 'usedPaddyM2', 'reserveM2', 'reservePaddyM2'];

  it('per township and year matches the hand-computed account', () => {
    expect(acc.rows.map((r) => `${r.xzqdm}/${r.year}`)).toEqual(['T1/2023', 'T1/2024', 'T2/2024', 'T1/2025', 'T2/2025']);
    // T1 2023: A (6000, paddy 2000) and B (4000, all deducted: 存量耕地) accepted and warehoused.
    expect(pick(row('T1', 2023), K)).toEqual({ targetM2: 9000, acceptedM2: 10000, acceptedPaddyM2: 2000, deductedM2: 4000, deductedPaddyM2: 0, achievedM2: 6000, achievedPaddyM2: 2000, completion: 0.6667,
      warehousedM2: 6000, warehousedPaddyM2: 2000, usedM2: 0, usedPaddyM2: 0, reserveM2: 6000, reservePaddyM2: 2000 });
    expect(pick(row('T1', 2024), K)).toEqual({ targetM2: 6000, acceptedM2: 0, acceptedPaddyM2: 0, deductedM2: 0, deductedPaddyM2: 0, achievedM2: 0, achievedPaddyM2: 0, completion: 0,
      warehousedM2: 0, warehousedPaddyM2: 0, usedM2: 3000, usedPaddyM2: 1000, reserveM2: 3000, reservePaddyM2: 1000 });
    // B's indicator was used although its finding took it all: the township's reserve pays.
    expect(pick(row('T1', 2025), K)).toMatchObject({ targetM2: null, usedM2: 2000, reserveM2: 1000, reservePaddyM2: 1000 });
    // C: steep finding (confirmed) 2000 of which paddy 800; its red-line finding was dismissed. D: overlap 3000, not warehoused.
    expect(pick(row('T2', 2024), K)).toEqual({ targetM2: 12000, acceptedM2: 18000, acceptedPaddyM2: 4000, deductedM2: 5000, deductedPaddyM2: 800, achievedM2: 13000, achievedPaddyM2: 3200, completion: 1.0833,
      warehousedM2: 8000, warehousedPaddyM2: 3200, usedM2: 0, usedPaddyM2: 0, reserveM2: 8000, reservePaddyM2: 3200 });
    expect(pick(row('T2', 2025), K)).toMatchObject({ targetM2: 6000, acceptedM2: 0, completion: 0, usedM2: 6000, usedPaddyM2: 2000, reserveM2: 2000, reservePaddyM2: 1200 });
    // 占补 beside 进出 (T1 2024): 3000 used against 2500 occupied; the ledger's in–out figures as given.
    expect(pick(row('T1', 2024), ['occupationM2', 'occupationBalanceM2', 'outM2', 'inM2', 'netM2', 'inOutBalanced'])).toEqual({ occupationM2: 2500, occupationBalanceM2: 500, outM2: 500, inM2: 1000, netM2: 500, inOutBalanced: true });
  });

  it('county totals per year and per project', () => {
    expect(pick(acc.totals[2023], ['targetM2', 'acceptedM2', 'deductedM2', 'achievedM2', 'warehousedM2', 'usedM2', 'reserveM2'])).toEqual({ targetM2: 9000, acceptedM2: 10000, deductedM2: 4000, achievedM2: 6000, warehousedM2: 6000, usedM2: 0, reserveM2: 6000 });
    expect(pick(acc.totals[2024], ['targetM2', 'acceptedM2', 'deductedM2', 'achievedM2', 'completion', 'warehousedM2', 'usedM2', 'reserveM2', 'reservePaddyM2'])).toEqual({
      targetM2: 18000, acceptedM2: 18000, deductedM2: 5000, achievedM2: 13000, completion: 0.7222, warehousedM2: 8000, usedM2: 3000, reserveM2: 11000, reservePaddyM2: 4200 });
    expect(pick(acc.totals[2025], ['targetM2', 'usedM2', 'reserveM2', 'reservePaddyM2'])).toEqual({ targetM2: 6000, usedM2: 8000, reserveM2: 3000, reservePaddyM2: 2200 });
    expect(acc.projects.map((p) => [p.xmbh, p.accepted, p.warehoused, p.deductedM2, p.indicatorM2, p.usedM2, p.remainingM2])).toEqual([
      ['A', true, true, 0, 6000, 3000, 3000],
      ['B', true, true, 4000, 0, 2000, -2000],
      ['C', true, true, 2000, 8000, 6000, 2000],
      ['D', true, false, 3000, 5000, 0, 0],
      ['E', false, false, 0, 0, 0, 0],
    ]);
  });

  it('writes the report with Chinese headers, in 亩, a 合计 row per year', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'fw-acc-')), 'report.xlsx');
    await writeIndicatorXlsx(acc, [{ jcbh: '3212822026HC0001', tblxmc: '补充耕地核查-存量耕地(立项前已是耕地)', xmbh: 'B', xzqdm: 'T1', subject: '', areaM2: 4012.5, deductM2: 4000, status: '待核查', rule: 'r', chips: [] }], file);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    expect(wb.worksheets.map((w) => w.name)).toEqual([ACCOUNT_SHEET, BALANCE_SHEET, PROJECT_SHEET, FINDING_SHEET]);
    const ws = wb.getWorksheet(ACCOUNT_SHEET)!;
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual([...ACCOUNT_HEADERS]);
    const values = (r: number) => (ws.getRow(r).values as unknown[]).slice(1);
    // T1 2023 in 亩: target 13.5, accepted 15, deducted 6, achieved 9, 66.7 %, warehoused 9, reserve 9.
    expect(values(2)).toEqual([2023, 'T1', '甲镇', 13.5, 4.5, 15, 3, 6, 0, 9, 3, '66.7%', 9, 3, 0, 0, 9, 3]);
    expect(values(3).slice(0, 3)).toEqual([2023, undefined, '合计']);
    const totals2024 = (ws.getRow(6).values as unknown[]).slice(1);
    expect(totals2024[2]).toBe('合计');
    expect(totals2024.slice(3, 12)).toEqual([27, 9, 27, 6, 7.5, 1.2, 19.5, 4.8, '72.2%']);
    const bal = wb.getWorksheet(BALANCE_SHEET)!;
    const t1y24 = (bal.getRow(4).values as unknown[]).slice(1);
    expect(t1y24).toEqual([2024, 'T1', '甲镇', 3.75, 4.5, 0.75, '是', 0.75, 1.5, 0.75, 0, '是']);
    expect((wb.getWorksheet(FINDING_SHEET)!.getRow(2).values as unknown[]).slice(1, 9)).toEqual(['3212822026HC0001', '补充耕地核查-存量耕地(立项前已是耕地)', 'B', 'T1', undefined, 4012.5, 6.02, 6]);
  });
});
