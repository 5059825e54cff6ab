/**
 * The ledger's clue list (线索清单) as a workbook, written with the pipeline's table-sheet writer
 * (pipeline/outputs/xlsx.ts) so both lists look alike: 序号 then the fields of fields.ts with
 * Chinese headers (incl. 状态, 核查结果, 整改状态, 整改期限), numbers as numeric cells rounded to their
 * displayed decimals, codes and dates as text (leading zeros survive), one sheet or one per
 * township, and a 汇总 sheet per type and per township with a count column per lifecycle state.
 */
import type ExcelJS from 'exceljs';
import {
  CLUE_SHEET_NAME,
  SUMMARY_SHEET_NAME,
  TOTAL_LABEL,
  UNKNOWN_TOWNSHIP,
  displayWidth,
  groupByTownship,
  toSheetName,
  writeHeaderRow,
  writeTableSheet,
  writeTitle,
  writeWorkbookAtomic,
  type SheetColumn,
} from '../../pipeline/outputs/index.js';
import { CLUE_FIELDS, fieldValue, round } from './fields.js';
import type { ResolvedClueExportOptions } from './options.js';
import type { ClueFeature } from './types.js';

export { CLUE_SHEET_NAME, SUMMARY_SHEET_NAME, TOTAL_LABEL };

const numFmt = (decimals: number): string => (decimals === 0 ? '0' : `0.${'0'.repeat(decimals)}`);

/** Columns of the ledger clue list: 序号 and every exported field. */
export const LEDGER_CLUE_COLUMNS: readonly SheetColumn<ClueFeature>[] = [
  { header: '序号', numFmt: '0', value: (_f, seq) => seq },
  ...CLUE_FIELDS.map((spec): SheetColumn<ClueFeature> => ({
    header: spec.header,
    ...(spec.kind === 'number' ? { numFmt: numFmt(spec.decimals ?? 0), decimals: spec.decimals } : {}),
    value: (f) => {
      const v = fieldValue(f.fields, spec);
      return typeof v === 'boolean' ? (v ? '是' : '否') : v;
    },
  })),
];

/** Headers of the ledger clue list, in column order. */
export const LEDGER_CLUE_HEADERS: readonly string[] = LEDGER_CLUE_COLUMNS.map((c) => c.header);

/** Lifecycle states in workflow order (DOMAIN.md); other states follow in order of appearance. */
export const STATE_ORDER: readonly string[] = ['待核查', '已下发', '合法', '违法', '伪变化', '设施农用地', '农村道路', '整改中', '已整改', '销号', '复发'];

const AREA_METRICS = [
  { header: '图斑数(个)', numFmt: '0' },
  { header: '面积(平方米)', numFmt: '0.00' },
  { header: '面积(亩)', numFmt: '0.0000' },
  { header: '耕地面积(平方米)', numFmt: '0.00' },
  { header: '永久基本农田面积(平方米)', numFmt: '0.00' },
  { header: '涉及永久基本农田(个)', numFmt: '0' },
] as const;

interface Totals {
  values: number[]; // count, MJ, MJM, GDMJ, YJJBNTMJ, SFJBNT count
  states: Map<string, number>;
}
const emptyTotals = (): Totals => ({ values: [0, 0, 0, 0, 0, 0], states: new Map() });
const spec = (k: string) => CLUE_FIELDS.find((s) => s.key === k)!;
const SPEC_MJ = spec('MJ');
const SPEC_MJM = spec('MJM');
const SPEC_GDMJ = spec('GDMJ');
const SPEC_JBNT = spec('YJJBNTMJ');

/** Adds a case with the same rounding as its list row, so 汇总 equals the sum of the rows. */
function addTo(t: Totals, f: ClueFeature): void {
  const n = (s: typeof SPEC_MJ): number => (fieldValue(f.fields, s) as number | null) ?? 0;
  t.values[0]++;
  t.values[1] += n(SPEC_MJ);
  t.values[2] += n(SPEC_MJM);
  t.values[3] += n(SPEC_GDMJ);
  t.values[4] += n(SPEC_JBNT);
  if (f.fields.SFJBNT) t.values[5]++;
  t.states.set(f.fields.ZT, (t.states.get(f.fields.ZT) ?? 0) + 1);
}

function writeSummarySheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, features: readonly ClueFeature[], title: string | undefined): void {
  const byType = new Map<string, Totals>();
  const total = emptyTotals();
  for (const f of features) {
    const label = f.fields.TBLXMC || f.fields.TBLX;
    if (!byType.has(label)) byType.set(label, emptyTotals());
    addTo(byType.get(label)!, f);
    addTo(total, f);
  }
  const towns = groupByTownship(features, (f) => ({ code: f.fields.XZQDM, name: f.fields.XZQMC })).map((g) => {
    const t = emptyTotals();
    for (const f of g.items) addTo(t, f);
    return { code: g.code, name: g.name, t };
  });
  const seen = [...total.states.keys()];
  const states = [...STATE_ORDER.filter((s) => total.states.has(s)), ...seen.filter((s) => !STATE_ORDER.includes(s))];
  const metricHeaders = [...AREA_METRICS.map((m) => m.header), ...states.map((s) => `${s}(个)`)];
  const metricFmts = [...AREA_METRICS.map((m) => m.numFmt), ...states.map(() => '0')];
  // Float sums of rounded values drift in the 12th digit; round them back.
  const row = (t: Totals): number[] => [
    t.values[0],
    round(t.values[1], 2),
    round(t.values[2], 4),
    round(t.values[3], 2),
    round(t.values[4], 2),
    t.values[5],
    ...states.map((s) => t.states.get(s) ?? 0),
  ];

  const ws = wb.addWorksheet(SUMMARY_SHEET_NAME);
  ws.columns = [{ width: 30 }, { width: 16 }, ...metricHeaders.map((h) => ({ width: Math.max(12, displayWidth(h) + 2) }))];
  let r = writeTitle(ws, title, metricHeaders.length + 2);
  const put = (values: (string | number | null)[], offset: number, bold = false): void => {
    const x = ws.getRow(r++);
    values.forEach((v, i) => {
      if (v === null) return;
      const cell = x.getCell(i + 1);
      cell.value = v;
      if (typeof v === 'number' && i >= offset) cell.numFmt = metricFmts[i - offset];
      if (bold) cell.font = { bold: true };
    });
    x.commit();
  };
  const caption = (text: string): void => put([text], 99, true);

  caption('按图斑类型');
  writeHeaderRow(ws, r++, ['图斑类型', ...metricHeaders]);
  for (const [label, t] of [...byType].sort((a, b) => a[0].localeCompare(b[0], 'zh'))) put([label, ...row(t)], 1);
  put([TOTAL_LABEL, ...row(total)], 1, true);
  r++;
  caption('按乡镇');
  writeHeaderRow(ws, r++, ['行政区代码', '乡镇', ...metricHeaders]);
  for (const t of towns) put([t.code, t.name ?? UNKNOWN_TOWNSHIP, ...row(t.t)], 2);
  put([TOTAL_LABEL, null, ...row(total)], 2, true);
  ws.commit();
}

/** Writes the ledger clue-list workbook atomically. */
export async function writeClueXlsx(features: readonly ClueFeature[], outPath: string, opts: ResolvedClueExportOptions): Promise<void> {
  await writeWorkbookAtomic(outPath, 'clue list', opts.title, (wb) => {
    if (opts.sheetPerTownship) {
      const used = new Set<string>([SUMMARY_SHEET_NAME.toLowerCase()]);
      const groups = groupByTownship(features, (f) => ({ code: f.fields.XZQDM, name: f.fields.XZQMC }));
      // No cases: still a header-only list sheet, so the file always has the same shape.
      if (groups.length === 0) writeTableSheet(wb, CLUE_SHEET_NAME, [], LEDGER_CLUE_COLUMNS, opts.title);
      for (const g of groups) writeTableSheet(wb, toSheetName(g.name ?? g.code ?? '', used), g.items, LEDGER_CLUE_COLUMNS, opts.title);
    } else {
      writeTableSheet(wb, CLUE_SHEET_NAME, features, LEDGER_CLUE_COLUMNS, opts.title);
    }
    writeSummarySheet(wb, features, opts.title);
  });
}
