/**
 * The clue list (线索清单) as an Excel workbook: one row per patch with Chinese headers, in one
 * sheet or one sheet per township, and a 汇总 sheet with counts and areas per type and township.
 *
 * Written with exceljs's streaming WorkbookWriter: the in-memory Workbook keeps an object per cell
 * (28 columns × 50 000 rows ≈ 1.4 M objects), the streaming writer serialises each row as it is
 * committed.
 */
import { createWriteStream } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import ExcelJS from 'exceljs';
import { CHANGE_TYPE_LABELS, CHANGE_TYPE_NAMES, type Patch, type PatchAttributes } from '../types.js';
import { OutputError, isAppError } from '../errors.js';
import { writeViaPartial } from './atomic.js';
import { TRANSITION_LABEL, landCoverLabel } from './labels.js';

/** Options of {@link writeClueListXlsx}. */
export interface ClueListOptions {
  /**
   * Title, e.g. "XX县2026年第一季度卫片执法线索清单". When given it is written as a merged row
   * above the headers of every sheet (so the header row becomes row 2) and as the workbook title.
   */
  title?: string;
  /** One sheet per township (named after XZQMC) instead of a single 线索清单 sheet. */
  sheetPerTownship?: boolean;
  /** 前时相 shown for patches whose QSX is null (run-level acquisition date of the before image). */
  qsx?: string;
  /** 后时相 shown for patches whose HSX is null. */
  hsx?: string;
  /**
   * Folder that the patches' chip paths are relative to (the run folder). Default: the workbook's
   * own folder. Used to make the chip hyperlinks relative to the workbook, which is how Excel
   * resolves relative links.
   */
  runDir?: string;
}

/** Name of the single clue-list sheet. */
export const CLUE_SHEET_NAME = '线索清单';
/** Name of the summary sheet. */
export const SUMMARY_SHEET_NAME = '汇总';
/** Sheet name used for patches without a township. */
export const UNKNOWN_TOWNSHIP = '未知乡镇';

/** A cell: text, number, empty, or a hyperlink. */
export type CellValue = string | number | null | { text: string; hyperlink: string };

/** A column of a table sheet written by {@link writeTableSheet}. */
export interface SheetColumn<T> {
  readonly header: string;
  /** Excel number format for numeric columns; absent for text columns. */
  readonly numFmt?: string;
  /** Decimals of the displayed value (used to size the column). */
  readonly decimals?: number;
  /** The cell of item `item`, which is row `seq` (1-based) of its sheet. */
  readonly value: (item: T, seq: number) => CellValue;
}

interface RowContext {
  readonly seq: number;
  readonly opts: ClueListOptions;
  /** Maps a chip path (relative to the run folder) to the hyperlink target. */
  readonly link: (chip: string) => string;
}

interface ColumnSpec {
  readonly header: string;
  /** Excel number format for numeric columns; absent for text columns. */
  readonly numFmt?: string;
  /** Decimals the value is rounded to before it is stored, so sums in Excel match the 汇总 sheet. */
  readonly decimals?: number;
  readonly value: (a: PatchAttributes, ctx: RowContext) => CellValue;
}

const round = (v: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
};
const num = (v: number, decimals: number): number | null => (Number.isFinite(v) ? round(v, decimals) : null);
const chipCell = (chip: string | null, ctx: RowContext): CellValue => (chip ? { text: chip, hyperlink: ctx.link(chip) } : null);

/** 图斑类型 label of a patch: its TBLXMC, else the label of its TBLX. */
function typeLabel(a: PatchAttributes): string {
  if (a.TBLXMC) return a.TBLXMC;
  return a.TBLX === 'transition' ? TRANSITION_LABEL : CHANGE_TYPE_LABELS[a.TBLX] ?? a.TBLX;
}

/** The clue-list columns, in export order. */
const COLUMNS: readonly ColumnSpec[] = [
  { header: '序号', numFmt: '0', value: (_a, c) => c.seq },
  { header: '监测图斑编号', value: (a) => a.JCBH },
  { header: '行政区代码', value: (a) => a.XZQDM },
  { header: '乡镇', value: (a) => a.XZQMC },
  { header: '村', value: (a) => a.CJMC },
  { header: '前时相', value: (a, c) => a.QSX ?? c.opts.qsx ?? null },
  { header: '后时相', value: (a, c) => a.HSX ?? c.opts.hsx ?? null },
  { header: '图斑类型', value: (a) => typeLabel(a) },
  { header: '原地类编码', value: (a) => a.DLBM },
  { header: '原地类名称', value: (a) => a.DLMC },
  { header: '前时相地类', value: (a) => landCoverLabel(a.QSDL) },
  { header: '现状地类', value: (a) => landCoverLabel(a.XZDL) },
  { header: '面积(平方米)', numFmt: '0.00', decimals: 2, value: (a) => num(a.MJ, 2) },
  { header: '面积(亩)', numFmt: '0.00', decimals: 2, value: (a) => num(a.MJM, 2) },
  { header: '耕地面积(平方米)', numFmt: '0.00', decimals: 2, value: (a) => num(a.GDMJ, 2) },
  { header: '永久基本农田面积(平方米)', numFmt: '0.00', decimals: 2, value: (a) => num(a.YJJBNTMJ, 2) },
  { header: '是否涉及永久基本农田', value: (a) => (a.SFJBNT ? '是' : '否') },
  { header: '中心点X', numFmt: '0.000', decimals: 3, value: (a) => num(a.ZXX, 3) },
  { header: '中心点Y', numFmt: '0.000', decimals: 3, value: (a) => num(a.ZXY, 3) },
  { header: '经度', numFmt: '0.0000000', decimals: 7, value: (a) => num(a.JD, 7) },
  { header: '纬度', numFmt: '0.0000000', decimals: 7, value: (a) => num(a.WD, 7) },
  { header: '批准文号', value: (a) => a.PZWH },
  // Legal patches stay on the list, marked, so the township sees them and the ledger can close them.
  { header: '是否合法', value: (a) => (a.HF ? '合法' : '待核查') },
  { header: '置信度', numFmt: '0.00', decimals: 2, value: (a) => num(a.ZXD, 2) },
  // Filled in by the township during verification.
  { header: '核查结果', value: () => null },
  { header: '整改状态', value: () => null },
  { header: '前时相影像', value: (a, c) => chipCell(a.chipBefore, c) },
  { header: '后时相影像', value: (a, c) => chipCell(a.chipAfter, c) },
];

/** The clue-list headers in column order (for readers that locate the header row). */
export const CLUE_LIST_HEADERS: readonly string[] = COLUMNS.map((c) => c.header);

/** Columns of the 汇总 tables after the key columns. */
const SUMMARY_METRICS = [
  { header: '图斑数(个)', numFmt: '0' },
  { header: '面积(平方米)', numFmt: '0.00' },
  { header: '面积(亩)', numFmt: '0.00' },
  { header: '耕地面积(平方米)', numFmt: '0.00' },
  { header: '永久基本农田面积(平方米)', numFmt: '0.00' },
  { header: '涉及永久基本农田(个)', numFmt: '0' },
  { header: '合法(个)', numFmt: '0' },
  { header: '待核查(个)', numFmt: '0' },
] as const;

/** Headers of the 汇总 sheet's per-type table. */
export const SUMMARY_TYPE_HEADERS: readonly string[] = ['图斑类型', ...SUMMARY_METRICS.map((m) => m.header)];
/** Headers of the 汇总 sheet's per-township table. */
export const SUMMARY_TOWNSHIP_HEADERS: readonly string[] = ['行政区代码', '乡镇', ...SUMMARY_METRICS.map((m) => m.header)];
/** Label of the totals row of each 汇总 table. */
export const TOTAL_LABEL = '合计';

interface Totals {
  count: number;
  mj: number;
  mjm: number;
  gdmj: number;
  jbnt: number;
  jbntCount: number;
  legal: number;
  pending: number;
}

const emptyTotals = (): Totals => ({ count: 0, mj: 0, mjm: 0, gdmj: 0, jbnt: 0, jbntCount: 0, legal: 0, pending: 0 });

/** Adds a patch with the same rounding as its clue-list row, so the 汇总 equals the sum of the rows. */
function addTo(t: Totals, a: PatchAttributes): void {
  t.count++;
  t.mj += num(a.MJ, 2) ?? 0;
  t.mjm += num(a.MJM, 2) ?? 0;
  t.gdmj += num(a.GDMJ, 2) ?? 0;
  t.jbnt += num(a.YJJBNTMJ, 2) ?? 0;
  if (a.SFJBNT) t.jbntCount++;
  if (a.HF) t.legal++;
  else t.pending++;
}

// Float sums of 2-decimal values drift in the 12th digit; round them back for display and equality.
const totalsRow = (t: Totals): number[] => [t.count, round(t.mj, 2), round(t.mjm, 2), round(t.gdmj, 2), round(t.jbnt, 2), t.jbntCount, t.legal, t.pending];

/** Characters Excel forbids in sheet names. */
const FORBIDDEN_SHEET_CHARS = /[\\/?*[\]:]/g;
const MAX_SHEET_NAME = 31;

/**
 * Makes `wanted` a legal, unique Excel sheet name: forbidden characters `\ / ? * [ ] :` become `_`,
 * leading/trailing apostrophes and blanks are removed, the reserved name "History" is avoided,
 * at most 31 characters, and a " (2)", " (3)"… suffix resolves case-insensitive clashes with `used`
 * (which receives the lower-cased result).
 */
export function toSheetName(wanted: string, used: Set<string>, fallback = UNKNOWN_TOWNSHIP): string {
  let base = wanted.replace(FORBIDDEN_SHEET_CHARS, '_').replace(/[\u0000-\u001f]/g, '').trim().replace(/^'+|'+$/g, '').trim();
  if (base === '') base = fallback;
  if (base.toLowerCase() === 'history') base += '_';
  // Cut by code points so a surrogate pair is never split.
  const cut = (s: string, n: number): string => {
    const cps = Array.from(s);
    let out = '';
    for (const c of cps) {
      if (out.length + c.length > n) break;
      out += c;
    }
    return out;
  };
  let name = cut(base, MAX_SHEET_NAME);
  for (let k = 2; used.has(name.toLowerCase()); k++) {
    const suffix = ` (${k})`;
    name = cut(base, MAX_SHEET_NAME - suffix.length) + suffix;
  }
  used.add(name.toLowerCase());
  return name;
}

/** Display width of a string in Excel column-width units: CJK and full-width characters count 2. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    w += cp >= 0x2e80 && !(cp >= 0xff61 && cp <= 0xff9f) ? 2 : 1;
  }
  return w;
}

function cellText(v: CellValue, spec: { decimals?: number }): string {
  if (v === null) return '';
  if (typeof v === 'number') return spec.decimals !== undefined ? v.toFixed(spec.decimals) : String(v);
  if (typeof v === 'string') return v;
  return v.text;
}

const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9E1F2' } };
const HYPERLINK_FONT: Partial<ExcelJS.Font> = { color: { argb: 'FF0563C1' }, underline: true };

/** Excel column letters of a 1-based column index. */
export function colLetter(n: number): string {
  let s = '';
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** Writes the merged title row (row 1) when a title is given; returns the next free row. */
export function writeTitle(ws: ExcelJS.Worksheet, title: string | undefined, columns: number): number {
  if (!title) return 1;
  const row = ws.getRow(1);
  row.getCell(1).value = title;
  row.getCell(1).font = { bold: true, size: 14 };
  row.getCell(1).alignment = { horizontal: 'center', vertical: 'middle' };
  row.height = 24;
  ws.mergeCells(1, 1, 1, columns);
  row.commit();
  return 2;
}

export function writeHeaderRow(ws: ExcelJS.Worksheet, rowNo: number, headers: readonly string[]): void {
  const row = ws.getRow(rowNo);
  headers.forEach((h, i) => {
    const cell = row.getCell(i + 1);
    cell.value = h;
    cell.font = { bold: true };
    cell.fill = HEADER_FILL;
    cell.alignment = { horizontal: 'center', vertical: 'middle', wrapText: true };
    cell.border = { bottom: { style: 'thin' } };
  });
  row.commit();
}

/**
 * Writes one table sheet: optional merged title row, bold frozen header with autofilter, one row per
 * item. Numeric columns carry their number format; hyperlink cells are styled as links. Column widths
 * fit the longest value (the streaming writer needs them before the first row).
 */
export function writeTableSheet<T>(wb: ExcelJS.stream.xlsx.WorkbookWriter, name: string, items: readonly T[], columns: readonly SheetColumn<T>[], title?: string): void {
  const headerRow = title ? 2 : 1;
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', xSplit: 0, ySplit: headerRow, activeCell: `A${headerRow + 1}` }] });
  // Values are computed once: for the widths and the rows.
  const rows = items.map((item, i) => columns.map((c) => c.value(item, i + 1)));
  ws.columns = columns.map((spec, ci) => {
    let w = displayWidth(spec.header);
    for (const r of rows) w = Math.max(w, displayWidth(cellText(r[ci], spec)));
    return { width: Math.min(60, Math.max(6, w + 2)), style: spec.numFmt ? { numFmt: spec.numFmt } : {} };
  });
  writeTitle(ws, title, columns.length);
  writeHeaderRow(ws, headerRow, columns.map((c) => c.header));
  ws.autoFilter = `A${headerRow}:${colLetter(columns.length)}${headerRow + rows.length}`;
  rows.forEach((values, ri) => {
    const row = ws.getRow(headerRow + 1 + ri);
    values.forEach((v, ci) => {
      if (v === null) return;
      const cell = row.getCell(ci + 1);
      cell.value = v;
      const spec = columns[ci];
      if (spec.numFmt) cell.numFmt = spec.numFmt;
      if (typeof v === 'object') cell.font = HYPERLINK_FONT;
    });
    row.commit();
  });
  ws.commit();
}

/** Writes one clue-list sheet of the pipeline's patches. */
function writeClueSheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, name: string, patches: readonly Patch[], opts: ClueListOptions, link: (chip: string) => string): void {
  const columns: SheetColumn<Patch>[] = COLUMNS.map((c) => ({ ...c, value: (p: Patch, seq: number) => c.value(p.attributes, { seq, opts, link }) }));
  writeTableSheet(wb, name, patches, columns, opts.title);
}

/**
 * Groups items by township (XZQDM, XZQMC), ordered by code (missing codes last) then name, keeping
 * the items' order inside each group.
 */
export function groupByTownship<T>(items: readonly T[], township: (item: T) => { code: string | null; name: string | null }): { code: string | null; name: string | null; items: T[] }[] {
  const groups = new Map<string, { code: string | null; name: string | null; items: T[] }>();
  for (const it of items) {
    const t = township(it);
    const key = `${t.code ?? ''}\u0000${t.name ?? ''}`;
    if (!groups.has(key)) groups.set(key, { code: t.code, name: t.name, items: [] });
    groups.get(key)!.items.push(it);
  }
  return [...groups.values()].sort((x, y) => (x.code ?? '\uffff').localeCompare(y.code ?? '\uffff') || (x.name ?? '').localeCompare(y.name ?? ''));
}

/**
 * Creates a streaming workbook on `<path>.partial`, lets `build` add its sheets, commits it and
 * renames it into place (see writeViaPartial). Errors become OutputErrors naming `what` and the file.
 */
export async function writeWorkbookAtomic(path: string, what: string, title: string | undefined, build: (wb: ExcelJS.stream.xlsx.WorkbookWriter) => void | Promise<void>): Promise<void> {
  await writeViaPartial(path, async (partial) => {
    const stream = createWriteStream(partial);
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useStyles: true, useSharedStrings: true });
    wb.creator = 'farmwatch';
    if (title) wb.title = title;
    try {
      await build(wb);
      await wb.commit();
    } catch (err) {
      // Wait for the file to be closed: the caller then removes it, and a late open must not recreate it.
      if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()).destroy());
      throw isAppError(err) ? err : new OutputError('OUTPUT_FAILED', `Could not write ${what} ${path}: ${(err as Error)?.message ?? String(err)}`, { file: path }, { cause: err });
    }
  });
}

/** Writes the 汇总 sheet: a per-type table and a per-township table, each with a 合计 row. */
function writeSummarySheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, patches: readonly Patch[], title: string | undefined): void {
  const byType = new Map<string, Totals>();
  const byTown = new Map<string, { code: string | null; name: string | null; t: Totals }>();
  const total = emptyTotals();
  for (const p of patches) {
    const a = p.attributes;
    const label = typeLabel(a);
    if (!byType.has(label)) byType.set(label, emptyTotals());
    addTo(byType.get(label)!, a);
    const key = `${a.XZQDM ?? ''}\u0000${a.XZQMC ?? ''}`;
    if (!byTown.has(key)) byTown.set(key, { code: a.XZQDM, name: a.XZQMC, t: emptyTotals() });
    addTo(byTown.get(key)!.t, a);
    addTo(total, a);
  }
  // Types in the national order (CHANGE_TYPE_NAMES), then any others (transition) by label.
  const order = CHANGE_TYPE_NAMES.map((n) => CHANGE_TYPE_LABELS[n]);
  const rank = (l: string): number => (order.indexOf(l) < 0 ? order.length : order.indexOf(l));
  const types = [...byType.keys()].sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
  const towns = [...byTown.values()].sort((x, y) => (x.code ?? '\uffff').localeCompare(y.code ?? '\uffff') || (x.name ?? '').localeCompare(y.name ?? ''));

  const width = SUMMARY_TOWNSHIP_HEADERS.length;
  const ws = wb.addWorksheet(SUMMARY_SHEET_NAME);
  ws.columns = [{ width: 30 }, { width: 16 }, ...SUMMARY_METRICS.map((m) => ({ width: Math.max(12, displayWidth(m.header) + 2) }))];
  let r = writeTitle(ws, title, width);
  const numRow = (values: (string | number | null)[], offset: number, bold = false): void => {
    const row = ws.getRow(r++);
    values.forEach((v, i) => {
      if (v === null) return;
      const cell = row.getCell(i + 1);
      cell.value = v;
      const m = SUMMARY_METRICS[i - offset];
      if (typeof v === 'number' && m) cell.numFmt = m.numFmt;
      if (bold) cell.font = { bold: true };
    });
    row.commit();
  };
  const caption = (text: string): void => {
    const row = ws.getRow(r++);
    row.getCell(1).value = text;
    row.getCell(1).font = { bold: true, size: 12 };
    row.commit();
  };

  caption('按图斑类型');
  writeHeaderRow(ws, r++, SUMMARY_TYPE_HEADERS);
  for (const t of types) numRow([t, ...totalsRow(byType.get(t)!)], 1);
  numRow([TOTAL_LABEL, ...totalsRow(total)], 1, true);
  r++;
  caption('按乡镇');
  writeHeaderRow(ws, r++, SUMMARY_TOWNSHIP_HEADERS);
  for (const t of towns) numRow([t.code, t.name ?? UNKNOWN_TOWNSHIP, ...totalsRow(t.t)], 2);
  numRow([TOTAL_LABEL, null, ...totalsRow(total)], 2, true);
  ws.commit();
}

/**
 * Writes the clue list (线索清单) workbook atomically.
 *
 * Sheet(s): `线索清单`, or with `sheetPerTownship` one sheet per township (ordered by XZQDM, named
 * after XZQMC, made legal and unique by {@link toSheetName}; 序号 restarts at 1 on each sheet).
 * Rows keep the order of `patches`. Columns are {@link CLUE_LIST_HEADERS}; numbers are numeric
 * cells rounded to their displayed decimals and carry number formats; codes (XZQDM, DLBM, JCBH) and
 * dates stay text so leading zeros survive. Legal patches stay, marked 合法. Chip paths are
 * hyperlinks relative to the workbook. The header row (row 1, or 2 under a title) is bold, frozen and
 * has an autofilter. Last sheet: `汇总` with counts and areas per type and per township plus totals.
 */
export async function writeClueListXlsx(patches: readonly Patch[], path: string, opts: ClueListOptions = {}): Promise<void> {
  const linkBase = dirname(path);
  const runDir = opts.runDir ?? linkBase;
  const link = (chip: string): string => relative(linkBase, join(runDir, chip)).split(sep).join('/');

  await writeWorkbookAtomic(path, 'clue list', opts.title, (wb) => {
    if (opts.sheetPerTownship) {
      const used = new Set<string>([SUMMARY_SHEET_NAME.toLowerCase()]);
      const groups = groupByTownship(patches, (p) => ({ code: p.attributes.XZQDM, name: p.attributes.XZQMC }));
      // An empty run still gets a (header-only) clue sheet so the file always has the same shape.
      if (groups.length === 0) writeClueSheet(wb, CLUE_SHEET_NAME, [], opts, link);
      for (const g of groups) writeClueSheet(wb, toSheetName(g.name ?? g.code ?? '', used), g.items, opts, link);
    } else {
      writeClueSheet(wb, CLUE_SHEET_NAME, patches, opts, link);
    }
    writeSummarySheet(wb, patches, opts.title);
  });
}
