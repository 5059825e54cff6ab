/**
 * The in–out balance table (耕地进出平衡表) as a workbook: one row per township and year with cropland
 * turned out by target class, cropland turned in, and paddy (水田) out and in, each confirmed
 * (已确认, ruled) and pending (待核查) apart; a 合计 row after each year's townships; a verdict per row
 * (转进 ≥ 转出 and 水田转进 ≥ 水田转出, on confirmed amounts — DOMAIN.md 进出平衡). The same table is
 * written twice: in m² and in 亩.
 */
import type ExcelJS from 'exceljs';
import { MU_PER_M2 } from '../../pipeline/geo/area.js';
import { displayWidth, writeHeaderRow, writeTitle, writeWorkbookAtomic } from '../../pipeline/outputs/index.js';
import { round } from './fields.js';
import type { BalanceExportOptions } from './options.js';
import type { BalanceRow } from './types.js';

export const BALANCE_SHEET_M2 = '进出平衡(平方米)';
export const BALANCE_SHEET_MU = '进出平衡(亩)';
export const BALANCE_TOTAL_LABEL = '合计';

/** Usual target classes of 耕地流出 (DOMAIN.md) in display order; other labels follow sorted. */
export const OUT_CLASS_ORDER: readonly string[] = ['园地', '林地', '草地', '坑塘水面', '设施农用地'];

interface Unit {
  sheet: string;
  factor: number;
  decimals: number;
  suffix: string;
}
const UNITS: readonly Unit[] = [
  { sheet: BALANCE_SHEET_M2, factor: 1, decimals: 2, suffix: '(平方米)' },
  { sheet: BALANCE_SHEET_MU, factor: MU_PER_M2, decimals: 4, suffix: '(亩)' },
];

/** A row's amounts in m², in the column order of {@link balanceHeaders}. */
function amounts(r: BalanceRow, classes: readonly string[]): number[] {
  const oc = classes.map((c) => r.outConfirmedM2[c] ?? 0);
  const op = classes.map((c) => r.outPendingM2[c] ?? 0);
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
  return [
    ...oc,
    sum(oc),
    ...op,
    sum(op),
    r.inConfirmedM2,
    r.inPendingM2,
    r.inConfirmedM2 - sum(oc),
    r.paddyOutConfirmedM2,
    r.paddyOutPendingM2,
    r.paddyInConfirmedM2,
    r.paddyInPendingM2,
    r.paddyInConfirmedM2 - r.paddyOutConfirmedM2,
  ];
}

/** Headers after 年度/行政区代码/乡镇, for target classes `classes`, unit suffix e.g. "(亩)". */
export function balanceHeaders(classes: readonly string[], suffix: string): string[] {
  return [
    ...classes.map((c) => `耕地转出-${c}(已确认)${suffix}`),
    `耕地转出合计(已确认)${suffix}`,
    ...classes.map((c) => `耕地转出-${c}(待核查)${suffix}`),
    `耕地转出合计(待核查)${suffix}`,
    `耕地转进(已确认)${suffix}`,
    `耕地转进(待核查)${suffix}`,
    `净转进(已确认)${suffix}`,
    `水田转出(已确认)${suffix}`,
    `水田转出(待核查)${suffix}`,
    `水田转进(已确认)${suffix}`,
    `水田转进(待核查)${suffix}`,
    `水田净转进(已确认)${suffix}`,
  ];
}

export const BALANCE_KEY_HEADERS = ['年度', '行政区代码', '乡镇'] as const;
export const BALANCE_VERDICT_HEADER = '是否平衡(已确认)';

/** The target classes present, usual ones first. */
export function outClasses(rows: readonly BalanceRow[]): string[] {
  const all = new Set<string>();
  for (const r of rows) for (const k of [...Object.keys(r.outConfirmedM2), ...Object.keys(r.outPendingM2)]) all.add(k);
  return [...OUT_CLASS_ORDER.filter((c) => all.has(c)), ...[...all].filter((c) => !OUT_CLASS_ORDER.includes(c)).sort((a, b) => a.localeCompare(b, 'zh'))];
}

function writeBalanceSheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, rows: readonly BalanceRow[], classes: readonly string[], unit: Unit, title: string | undefined): void {
  const headers = [...BALANCE_KEY_HEADERS, ...balanceHeaders(classes, unit.suffix), BALANCE_VERDICT_HEADER];
  const ws = wb.addWorksheet(unit.sheet, { views: [{ state: 'frozen', xSplit: 3, ySplit: title ? 2 : 1 }] });
  ws.columns = headers.map((h, i) => ({ width: i === 2 ? 16 : Math.min(22, Math.max(10, displayWidth(h) / 2 + 4)) }));
  let r = writeTitle(ws, title, headers.length);
  writeHeaderRow(ws, r++, headers);
  const numFmt = `#,##0.${'0'.repeat(unit.decimals)}`;
  // Amounts are converted and rounded per row; totals sum the rounded cells so they add up on screen.
  const line = (year: number, code: string | null, name: string, values: number[], bold: boolean): void => {
    const row = ws.getRow(r++);
    const cells: (string | number | null)[] = [year, code, name, ...values];
    const n = classes.length;
    // Indices into `values`: out-confirmed total at n, in-confirmed at 2n+2, paddy out/in confirmed at 2n+5 / 2n+7.
    const ok = values[2 * n + 2] >= values[n] && values[2 * n + 7] >= values[2 * n + 5];
    cells.push(ok ? '是' : '否');
    cells.forEach((v, i) => {
      if (v === null) return;
      const cell = row.getCell(i + 1);
      cell.value = v;
      if (typeof v === 'number' && i >= 3) cell.numFmt = numFmt;
      if (bold) cell.font = { bold: true };
    });
    row.commit();
  };
  const sorted = [...rows].sort((a, b) => a.year - b.year || a.XZQDM.localeCompare(b.XZQDM));
  for (let i = 0; i < sorted.length; ) {
    const year = sorted[i].year;
    let total: number[] | null = null;
    for (; i < sorted.length && sorted[i].year === year; i++) {
      const v = amounts(sorted[i], classes).map((x) => round(x * unit.factor, unit.decimals));
      total = total ? total.map((t, k) => t + v[k]) : v;
      line(year, sorted[i].XZQDM, sorted[i].XZQMC, v, false);
    }
    line(year, null, BALANCE_TOTAL_LABEL, total!.map((x) => round(x, unit.decimals)), true);
  }
  ws.commit();
}

/** Writes the balance workbook atomically (sheets {@link BALANCE_SHEET_M2} and {@link BALANCE_SHEET_MU}). */
export async function writeBalanceXlsx(rows: readonly BalanceRow[], outPath: string, opts: BalanceExportOptions): Promise<void> {
  const classes = outClasses(rows);
  await writeWorkbookAtomic(outPath, 'balance table', opts.title, (wb) => {
    for (const unit of UNITS) writeBalanceSheet(wb, rows, classes, unit, opts.title);
  });
}
