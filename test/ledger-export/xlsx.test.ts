/** The ledger's clue-list and balance workbooks reopened with exceljs. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BALANCE_SHEET_M2, BALANCE_SHEET_MU, exportBalanceXlsx, exportClues, type BalanceRow } from '../../ledger/export/index.js';
import { LEDGER_CLUE_HEADERS } from '../../ledger/export/xlsx.js';
import { CASES } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-ledger-xlsx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXPECTED_HEADERS = [
  '序号', '监测图斑编号', '行政区代码', '乡镇', '村', '前时相', '后时相', '图斑类型编码', '图斑类型', '原地类编码', '原地类名称',
  '现状地类', '面积(平方米)', '面积(亩)', '耕地面积(平方米)', '永久基本农田面积(平方米)', '是否涉及永久基本农田', '中心点X',
  '中心点Y', '经度', '纬度', '批准文号', '置信度', '状态', '核查结果', '整改状态', '整改期限',
];
const col = (h: string): number => EXPECTED_HEADERS.indexOf(h) + 1;
const rowValues = (ws: ExcelJS.Worksheet, r: number): unknown[] => (ws.getRow(r).values as unknown[]).slice(1);

async function open(path: string): Promise<ExcelJS.Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path);
  return wb;
}

/** Row number of the first cell in column A equal to `v`, at or after `from`. */
function findRow(ws: ExcelJS.Worksheet, v: unknown, from = 1, column = 1): number {
  for (let r = from; r <= ws.rowCount; r++) if (ws.getCell(r, column).value === v) return r;
  throw new Error(`no row with ${String(v)}`);
}

describe('clue-list xlsx', () => {
  it('Chinese headers incl. 状态/核查结果/整改状态/整改期限, numeric cells, text codes, 汇总 by type and township', async () => {
    const path = join(dir, '线索清单.xlsx');
    await exportClues(CASES, 'xlsx', path);
    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);
    const wb = await open(path);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['线索清单', '汇总']);
    const ws = wb.getWorksheet('线索清单')!;
    expect(LEDGER_CLUE_HEADERS).toEqual(EXPECTED_HEADERS);
    expect(rowValues(ws, 1)).toEqual(EXPECTED_HEADERS);
    expect(ws.rowCount).toBe(6);
    for (const h of ['序号', '面积(平方米)', '面积(亩)', '耕地面积(平方米)', '永久基本农田面积(平方米)', '中心点X', '中心点Y', '经度', '纬度', '置信度'])
      for (let r = 2; r <= 6; r++) expect(ws.getCell(r, col(h)).type, `${h} row ${r}`).toBe(ExcelJS.ValueType.Number);
    const v = (r: number, h: string): unknown => ws.getCell(r, col(h)).value;
    expect(v(2, '面积(平方米)')).toBe(Math.round(CASES[0].fields.MJ * 100) / 100);
    expect(ws.getCell(2, col('面积(平方米)')).numFmt).toBe('0.00');
    expect(v(2, '面积(亩)')).toBe(Math.round(CASES[0].fields.MJM * 1e4) / 1e4);
    expect(ws.getCell(2, col('经度')).numFmt).toBe('0.0000000');
    expect(v(2, '原地类编码')).toBe('0101');
    expect(v(2, '行政区代码')).toBe('321204101');
    expect(v(2, '前时相')).toBe('2025-10-12');
    expect(v(2, '现状地类')).toBe('建筑/硬化');
    expect(v(3, '是否涉及永久基本农田')).toBe('是');
    expect(v(3, '状态')).toBe('已下发');
    expect(v(3, '整改期限')).toBe('2026-03-31');
    expect(v(4, '核查结果')).toBe('违法(新增)');
    expect(v(4, '整改状态')).toBe('整改中');
    expect(v(5, '批准文号')).toBe('苏政地〔2025〕第12号, "批次" <A&B>');
    expect(v(6, '乡镇')).toBeNull();

    const sum = wb.getWorksheet('汇总')!;
    const typeHeader = findRow(sum, '图斑类型');
    const headers = rowValues(sum, typeHeader);
    expect(headers.slice(0, 7)).toEqual(['图斑类型', '图斑数(个)', '面积(平方米)', '面积(亩)', '耕地面积(平方米)', '永久基本农田面积(平方米)', '涉及永久基本农田(个)']);
    expect(headers.slice(7)).toEqual(['待核查(个)', '已下发(个)', '合法(个)', '违法(个)']);
    const total = findRow(sum, '合计', typeHeader);
    expect(sum.getCell(total, 2).value).toBe(5);
    let listSum = 0;
    for (let r = 2; r <= 6; r++) listSum += v(r, '面积(平方米)') as number;
    expect(sum.getCell(total, 3).value).toBeCloseTo(listSum, 9);
    expect(sum.getCell(total, 3).type).toBe(ExcelJS.ValueType.Number);
    expect(sum.getCell(total, 8).value).toBe(2); // 待核查
    const townHeader = findRow(sum, '行政区代码');
    expect(rowValues(sum, townHeader).slice(0, 3)).toEqual(['行政区代码', '乡镇', '图斑数(个)']);
    const towns = [1, 2, 3].map((k) => [sum.getCell(townHeader + k, 1).value, sum.getCell(townHeader + k, 2).value, sum.getCell(townHeader + k, 3).value]);
    expect(towns).toEqual([
      ['321204101', '溱潼镇', 3],
      ['321204102', '俞垛镇', 1],
      [null, '未知乡镇', 1],
    ]);
  });

  it('one sheet per township on request, title row, header-only list when empty', async () => {
    const path = join(dir, 'by-town.xlsx');
    await exportClues(CASES, 'xlsx', path, { sheetPerTownship: true, title: '姜堰区2026年第一季度卫片执法线索清单' });
    const wb = await open(path);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['溱潼镇', '俞垛镇', '未知乡镇', '汇总']);
    const ws = wb.getWorksheet('溱潼镇')!;
    expect(ws.getCell(1, 1).value).toBe('姜堰区2026年第一季度卫片执法线索清单');
    expect(rowValues(ws, 2)).toEqual(EXPECTED_HEADERS);
    expect([3, 4, 5].map((r) => ws.getCell(r, col('监测图斑编号')).value)).toEqual(['3212042026Q10001', '3212042026Q10003', '3212042026Q10004']);
    expect(ws.getCell(5, col('序号')).value).toBe(3);

    const empty = join(dir, 'empty.xlsx');
    await exportClues([], 'xlsx', empty, { sheetPerTownship: true });
    const e = await open(empty);
    expect(e.worksheets.map((w) => w.name)).toEqual(['线索清单', '汇总']);
    expect(rowValues(e.getWorksheet('线索清单')!, 1)).toEqual(EXPECTED_HEADERS);
  });
});

describe('balance xlsx', () => {
  const rows: BalanceRow[] = [
    {
      XZQDM: '321204102', XZQMC: '俞垛镇', year: 2026,
      outConfirmedM2: { 坑塘水面: 10088.89, 林地: 1500 }, outPendingM2: { 设施农用地: 800 },
      inConfirmedM2: 12000, inPendingM2: 300,
      paddyOutConfirmedM2: 10088.89, paddyOutPendingM2: 0, paddyInConfirmedM2: 9000, paddyInPendingM2: 0,
    },
    {
      XZQDM: '321204101', XZQMC: '溱潼镇', year: 2026,
      outConfirmedM2: { 园地: 2000 }, outPendingM2: {},
      inConfirmedM2: 2500, inPendingM2: 0,
      paddyOutConfirmedM2: 0, paddyOutPendingM2: 0, paddyInConfirmedM2: 0, paddyInPendingM2: 0,
    },
    {
      XZQDM: '321204101', XZQMC: '溱潼镇', year: 2025,
      outConfirmedM2: { 园地: 666.67 }, outPendingM2: {},
      inConfirmedM2: 0, inPendingM2: 0,
      paddyOutConfirmedM2: 0, paddyOutPendingM2: 0, paddyInConfirmedM2: 0, paddyInPendingM2: 0,
    },
  ];

  it('per township and year: out by class, in, paddy, confirmed and pending apart, 合计 per year, in m² and 亩', async () => {
    const path = join(dir, '进出平衡.xlsx');
    const res = await exportBalanceXlsx(rows, path, { title: '姜堰区耕地进出平衡表' });
    expect(res.count).toBe(3);
    const wb = await open(path);
    expect(wb.worksheets.map((w) => w.name)).toEqual([BALANCE_SHEET_M2, BALANCE_SHEET_MU]);
    const ws = wb.getWorksheet(BALANCE_SHEET_M2)!;
    expect(ws.getCell(1, 1).value).toBe('姜堰区耕地进出平衡表');
    const headers = rowValues(ws, 2) as string[];
    expect(headers).toEqual([
      '年度', '行政区代码', '乡镇',
      '耕地转出-园地(已确认)(平方米)', '耕地转出-林地(已确认)(平方米)', '耕地转出-坑塘水面(已确认)(平方米)', '耕地转出-设施农用地(已确认)(平方米)', '耕地转出合计(已确认)(平方米)',
      '耕地转出-园地(待核查)(平方米)', '耕地转出-林地(待核查)(平方米)', '耕地转出-坑塘水面(待核查)(平方米)', '耕地转出-设施农用地(待核查)(平方米)', '耕地转出合计(待核查)(平方米)',
      '耕地转进(已确认)(平方米)', '耕地转进(待核查)(平方米)', '净转进(已确认)(平方米)',
      '水田转出(已确认)(平方米)', '水田转出(待核查)(平方米)', '水田转进(已确认)(平方米)', '水田转进(待核查)(平方米)', '水田净转进(已确认)(平方米)',
      '是否平衡(已确认)',
    ]);
    const c = (h: string): number => headers.indexOf(h) + 1;
    // Rows: 2025 溱潼镇, 2025 合计, 2026 溱潼镇, 2026 俞垛镇, 2026 合计.
    expect([3, 4, 5, 6, 7].map((r) => [ws.getCell(r, 1).value, ws.getCell(r, 3).value])).toEqual([
      [2025, '溱潼镇'], [2025, '合计'], [2026, '溱潼镇'], [2026, '俞垛镇'], [2026, '合计'],
    ]);
    expect(ws.getCell(6, c('耕地转出-坑塘水面(已确认)(平方米)')).value).toBe(10088.89);
    expect(ws.getCell(6, c('耕地转出合计(已确认)(平方米)')).value).toBe(11588.89);
    expect(ws.getCell(6, c('耕地转出-设施农用地(待核查)(平方米)')).value).toBe(800);
    expect(ws.getCell(6, c('净转进(已确认)(平方米)')).value).toBeCloseTo(411.11, 9);
    expect(ws.getCell(6, c('水田净转进(已确认)(平方米)')).value).toBeCloseTo(-1088.89, 9);
    expect(ws.getCell(6, c('是否平衡(已确认)')).value).toBe('否'); // paddy short
    expect(ws.getCell(5, c('是否平衡(已确认)')).value).toBe('是');
    expect(ws.getCell(3, c('是否平衡(已确认)')).value).toBe('否'); // 2025: out, nothing in
    expect(ws.getCell(7, c('耕地转出合计(已确认)(平方米)')).value).toBeCloseTo(13588.89, 9);
    expect(ws.getCell(7, c('耕地转进(已确认)(平方米)')).value).toBe(14500);
    expect(ws.getCell(7, 3).font?.bold).toBe(true);
    for (let k = 4; k < headers.length; k++) expect(ws.getCell(6, k).type, headers[k - 1]).toBe(ExcelJS.ValueType.Number);

    const mu = wb.getWorksheet(BALANCE_SHEET_MU)!;
    expect(mu.getCell(2, 4).value).toBe('耕地转出-园地(已确认)(亩)');
    expect(mu.getCell(3, 4).value).toBe(1.0); // 666.67 m² = 1.0000 亩
    expect(mu.getCell(6, c('耕地转进(已确认)(平方米)')).value).toBe(18); // 12000 m² = 18 亩
  });

  it('an empty balance is a header-only workbook', async () => {
    const path = join(dir, 'empty-balance.xlsx');
    await exportBalanceXlsx([], path);
    const ws = (await open(path)).getWorksheet(BALANCE_SHEET_M2)!;
    expect(rowValues(ws, 1).slice(0, 3)).toEqual(['年度', '行政区代码', '乡镇']);
    expect(ws.rowCount).toBe(1);
  });
});
