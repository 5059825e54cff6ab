import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUE_LIST_HEADERS,
  SUMMARY_TOWNSHIP_HEADERS,
  SUMMARY_TYPE_HEADERS,
  TOTAL_LABEL,
  toSheetName,
  writeClueListXlsx,
} from './index.js';
import type { Patch } from '../types.js';
import { makePatch } from './test-fixtures.js';

const EXPECTED_HEADERS = [
  '序号', '监测图斑编号', '行政区代码', '乡镇', '村', '前时相', '后时相', '图斑类型', '原地类编码', '原地类名称',
  '前时相地类', '现状地类', '面积(平方米)', '面积(亩)', '耕地面积(平方米)', '永久基本农田面积(平方米)',
  '是否涉及永久基本农田', '中心点X', '中心点Y', '经度', '纬度', '批准文号', '是否合法', '置信度', '核查结果',
  '整改状态', '前时相影像', '后时相影像',
];
const col = (h: string): number => EXPECTED_HEADERS.indexOf(h) + 1;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-xlsx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const patches: Patch[] = [
  makePatch({ JCBH: 'P1' }),
  makePatch({ JCBH: 'P2', XZQDM: '320723002', XZQMC: '城头镇', MJ: 700.111, MJM: 700.111 / (2000 / 3), YJJBNTMJ: 350.555, SFJBNT: true, QSDL: 'bare', XZDL: 'disturbed', TBLX: 'occupation_soil', TBLXMC: '违法占用-推填土/动土', QSX: null, HSX: null }),
  makePatch({ JCBH: 'P3', HF: true, PZWH: '苏政地〔2025〕12号', MJ: 250.5, MJM: 250.5 / (2000 / 3), GDMJ: 250.5, chipBefore: null, chipAfter: null }),
  makePatch({ JCBH: 'P4', XZQDM: '320723002', XZQMC: '城头镇', TBLX: 'outflow_greenhouse', TBLXMC: '耕地流出-设施农用地', XZDL: 'greenhouse', QSDL: 'herbaceous', MJ: 5000, MJM: 7.5, GDMJ: 4800.125, ZXD: 0.5 }),
];

const headerValues = (ws: ExcelJS.Worksheet, row: number): unknown[] => (ws.getRow(row).values as unknown[]).slice(1);

/** The 合计 row of the table whose header row has `firstHeader` in column A. */
function totalsOf(ws: ExcelJS.Worksheet, firstHeader: string): { header: number; rows: number[]; total: number } {
  let header = -1;
  const rows: number[] = [];
  for (let r = 1; r <= ws.rowCount; r++) {
    const a = ws.getCell(r, 1).value;
    if (header < 0) {
      if (a === firstHeader) header = r;
      continue;
    }
    if (a === TOTAL_LABEL) return { header, rows, total: r };
    rows.push(r);
  }
  throw new Error(`no ${firstHeader} table`);
}

describe('writeClueListXlsx', () => {
  it('writes the clue list with exact headers, typed numbers and a consistent 汇总 sheet', async () => {
    const path = join(dir, 'clues.xlsx');
    await writeClueListXlsx(patches, path, { qsx: '2025-10-01', hsx: '2026-01-01' });
    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['线索清单', '汇总']);
    const ws = wb.getWorksheet('线索清单')!;
    expect(CLUE_LIST_HEADERS).toEqual(EXPECTED_HEADERS);
    expect(headerValues(ws, 1)).toEqual(EXPECTED_HEADERS);
    expect(ws.getCell(1, 1).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBe('A1:AB5');
    expect(ws.rowCount).toBe(5);
    expect(ws.getColumn(col('监测图斑编号')).width).toBeGreaterThan(8);

    // Row of P1.
    const r = 2;
    const v = (h: string): unknown => ws.getCell(r, col(h)).value;
    expect(v('序号')).toBe(1);
    expect(v('监测图斑编号')).toBe('P1');
    expect(v('原地类编码')).toBe('0103'); // text: the leading zero survives
    expect(v('行政区代码')).toBe('320723001');
    expect(v('前时相地类')).toBe('草本植被(耕作)');
    expect(v('现状地类')).toBe('建筑/硬化');
    expect(v('面积(平方米)')).toBe(1234.57);
    expect(ws.getCell(r, col('面积(平方米)')).numFmt).toBe('0.00');
    expect(v('面积(亩)')).toBe(1.85);
    expect(v('中心点X')).toBe(40512345.679);
    expect(ws.getCell(r, col('中心点X')).numFmt).toBe('0.000');
    expect(v('经度')).toBe(119.1234568);
    expect(ws.getCell(r, col('经度')).numFmt).toBe('0.0000000');
    expect(v('置信度')).toBe(0.88);
    expect(v('是否涉及永久基本农田')).toBe('否');
    expect(v('是否合法')).toBe('待核查');
    expect(v('核查结果')).toBeNull();
    expect(v('整改状态')).toBeNull();
    expect(v('前时相影像')).toEqual({ text: 'chips/3207232026Q10001_before.png', hyperlink: 'chips/3207232026Q10001_before.png' });
    for (const h of ['序号', '面积(平方米)', '面积(亩)', '耕地面积(平方米)', '永久基本农田面积(平方米)', '中心点X', '中心点Y', '经度', '纬度', '置信度'])
      for (let row = 2; row <= 5; row++) expect(ws.getCell(row, col(h)).type, `${h} row ${row}`).toBe(ExcelJS.ValueType.Number);

    // P2: run-level dates fill missing QSX/HSX; basic farmland flagged; Chinese land-cover labels.
    expect(ws.getCell(3, col('前时相')).value).toBe('2025-10-01');
    expect(ws.getCell(3, col('后时相')).value).toBe('2026-01-01');
    expect(ws.getCell(3, col('是否涉及永久基本农田')).value).toBe('是');
    expect(ws.getCell(3, col('前时相地类')).value).toBe('裸土(耕作)');
    expect(ws.getCell(3, col('现状地类')).value).toBe('推填土');
    // P3: legal patches stay on the list, marked.
    expect(ws.getCell(4, col('监测图斑编号')).value).toBe('P3');
    expect(ws.getCell(4, col('是否合法')).value).toBe('合法');
    expect(ws.getCell(4, col('批准文号')).value).toBe('苏政地〔2025〕12号');
    expect(ws.getCell(4, col('前时相影像')).value).toBeNull();
    expect(ws.getCell(5, col('现状地类')).value).toBe('大棚/设施');

    // 汇总: totals equal the sums of the list's rows, per type and per township.
    const sum = wb.getWorksheet('汇总')!;
    const listSum = (h: string): number => [2, 3, 4, 5].reduce((s, row) => s + (ws.getCell(row, col(h)).value as number), 0);
    const byType = totalsOf(sum, '图斑类型');
    expect(headerValues(sum, byType.header)).toEqual(SUMMARY_TYPE_HEADERS);
    expect(byType.rows.map((row) => sum.getCell(row, 1).value)).toEqual(['违法占用-建(构)筑物/硬化', '违法占用-推填土/动土', '耕地流出-设施农用地']);
    const tc = (h: string): number => SUMMARY_TYPE_HEADERS.indexOf(h) + 1;
    expect(sum.getCell(byType.total, tc('图斑数(个)')).value).toBe(4);
    expect(sum.getCell(byType.total, tc('面积(平方米)')).value).toBeCloseTo(listSum('面积(平方米)'), 9);
    expect(sum.getCell(byType.total, tc('面积(亩)')).value).toBeCloseTo(listSum('面积(亩)'), 9);
    expect(sum.getCell(byType.total, tc('耕地面积(平方米)')).value).toBeCloseTo(listSum('耕地面积(平方米)'), 9);
    expect(sum.getCell(byType.total, tc('永久基本农田面积(平方米)')).value).toBeCloseTo(350.56, 9);
    expect(sum.getCell(byType.total, tc('合法(个)')).value).toBe(1);
    expect(sum.getCell(byType.total, tc('待核查(个)')).value).toBe(3);
    expect(sum.getCell(byType.total, tc('面积(平方米)')).numFmt).toBe('0.00');
    // Per-type rows add up to the total.
    const rowsSum = (t: { rows: number[] }, c: number): number => t.rows.reduce((s, row) => s + (sum.getCell(row, c).value as number), 0);
    expect(rowsSum(byType, tc('面积(平方米)'))).toBeCloseTo(sum.getCell(byType.total, tc('面积(平方米)')).value as number, 9);
    expect(sum.getCell(byType.rows[0], tc('图斑数(个)')).value).toBe(2);

    const byTown = totalsOf(sum, '行政区代码');
    expect(headerValues(sum, byTown.header)).toEqual(SUMMARY_TOWNSHIP_HEADERS);
    const wc = (h: string): number => SUMMARY_TOWNSHIP_HEADERS.indexOf(h) + 1;
    expect(byTown.rows.map((row) => [sum.getCell(row, 1).value, sum.getCell(row, 2).value, sum.getCell(row, wc('图斑数(个)')).value])).toEqual([
      ['320723001', '青口镇', 2],
      ['320723002', '城头镇', 2],
    ]);
    expect(sum.getCell(byTown.rows[1], wc('面积(平方米)')).value).toBeCloseTo(700.11 + 5000, 9);
    expect(sum.getCell(byTown.total, wc('面积(亩)')).value).toBeCloseTo(listSum('面积(亩)'), 9);
    expect(rowsSum(byTown, wc('面积(亩)'))).toBeCloseTo(sum.getCell(byTown.total, wc('面积(亩)')).value as number, 9);
  });

  it('writes one sheet per township with legal, unique names, a title row and links relative to the workbook', async () => {
    const long = '一个名字特别特别特别特别特别特别特别特别特别特别特别长的乡镇街道办事处';
    const ps = [
      makePatch({ JCBH: 'T1', XZQDM: '3', XZQMC: 'A/B:镇?' }),
      makePatch({ JCBH: 'T2', XZQDM: '1', XZQMC: long }),
      makePatch({ JCBH: 'T3', XZQDM: '2', XZQMC: '汇总' }),
      makePatch({ JCBH: 'T4', XZQDM: null, XZQMC: null }),
      makePatch({ JCBH: 'T5', XZQDM: '3', XZQMC: 'A/B:镇?' }),
      makePatch({ JCBH: 'T6', XZQDM: '4', XZQMC: 'A_B_镇_' }),
    ];
    const path = join(dir, 'out', 'by-town.xlsx');
    await writeClueListXlsx(ps, path, { sheetPerTownship: true, title: '赣榆区2026年第一季度卫片执法线索清单', runDir: dir });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path);
    const names = wb.worksheets.map((w) => w.name);
    expect(names).toEqual([long.slice(0, 31), '汇总 (2)', 'A_B_镇_', 'A_B_镇_ (2)', '未知乡镇', '汇总']);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(31);
      expect(n).not.toMatch(/[\\/?*[\]:]/);
    }
    const ab = wb.getWorksheet('A_B_镇_')!;
    expect(ab.getCell(1, 1).value).toBe('赣榆区2026年第一季度卫片执法线索清单');
    expect(headerValues(ab, 2)).toEqual(EXPECTED_HEADERS);
    expect(ab.views[0]).toMatchObject({ state: 'frozen', ySplit: 2 });
    expect(ab.autoFilter).toBe('A2:AB4');
    expect([3, 4].map((r) => [ab.getCell(r, col('序号')).value, ab.getCell(r, col('监测图斑编号')).value])).toEqual([
      [1, 'T1'],
      [2, 'T5'],
    ]);
    // The workbook sits in out/, chips are relative to the run folder one level up.
    expect(ab.getCell(3, col('前时相影像')).value).toEqual({ text: 'chips/3207232026Q10001_before.png', hyperlink: '../chips/3207232026Q10001_before.png' });
    const sum = wb.getWorksheet('汇总')!;
    expect(sum.getCell(1, 1).value).toBe('赣榆区2026年第一季度卫片执法线索清单');
    const byTown = totalsOf(sum, '行政区代码');
    expect(byTown.rows.map((r) => sum.getCell(r, 2).value)).toEqual([long, '汇总', 'A/B:镇?', 'A_B_镇_', '未知乡镇']);
    expect(sum.getCell(byTown.total, 3).value).toBe(6);
  });

  it('writes a header-only list for an empty run', async () => {
    const path = join(dir, 'empty.xlsx');
    await writeClueListXlsx([], path, { sheetPerTownship: true });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['线索清单', '汇总']);
    expect(headerValues(wb.getWorksheet('线索清单')!, 1)).toEqual(EXPECTED_HEADERS);
    const sum = wb.getWorksheet('汇总')!;
    expect(sum.getCell(totalsOf(sum, '图斑类型').total, 2).value).toBe(0);
  });
});

describe('toSheetName', () => {
  it('applies Excel rules', () => {
    const used = new Set<string>();
    expect(toSheetName("'[x]*'", used)).toBe('_x__');
    expect(toSheetName('History', used)).toBe('History_');
    expect(toSheetName('   ', used)).toBe('未知乡镇');
    expect(toSheetName('abc', used)).toBe('abc');
    expect(toSheetName('ABC', used)).toBe('ABC (2)');
    expect(toSheetName('x'.repeat(40), used)).toBe('x'.repeat(31));
    expect(toSheetName('x'.repeat(40), used)).toBe('x'.repeat(27) + ' (2)');
  });
});
