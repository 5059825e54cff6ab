/**
 * The 补充耕地 indicator report as a workbook with Chinese headers, in the style of the ledger's
 * balance table (ledger/export/balance-xlsx.ts): areas in 亩 (2 decimals; findings also in m²), a
 * 合计 row after each year's townships, frozen key columns.
 * Sheets: 指标台账 (plan, accepted, deducted, achieved, warehoused, used, reserve per township and
 * year, paddy separately), 占补与进出平衡 (the 占补 balance beside the ledger's 进出 balance),
 * 项目指标 (per project), 核查发现 (the audit cases).
 */
import type ExcelJS from 'exceljs';
import { MU_PER_M2 } from '../pipeline/geo/area.js';
import { displayWidth, writeHeaderRow, writeTitle, writeWorkbookAtomic } from '../pipeline/outputs/index.js';
import type { IndicatorAccount, TownshipYear } from './account.js';

export const ACCOUNT_SHEET = '指标台账';
export const BALANCE_SHEET = '占补与进出平衡';
export const PROJECT_SHEET = '项目指标';
export const FINDING_SHEET = '核查发现';
export const TOTAL_LABEL = '合计';

export const ACCOUNT_HEADERS = [
  '年度', '行政区代码', '乡镇',
  '计划新增耕地(亩)', '计划新增水田(亩)',
  '验收新增耕地(亩)', '验收新增水田(亩)',
  '核减耕地(亩)', '核减水田(亩)',
  '实际新增耕地(验收且未核减)(亩)', '实际新增水田(亩)', '完成率',
  '入库指标(亩)', '入库水田指标(亩)',
  '核销出库(亩)', '核销出库水田(亩)',
  '年末库存指标(亩)', '年末库存水田指标(亩)',
] as const;

export const BALANCE_HEADERS = [
  '年度', '行政区代码', '乡镇',
  '占用耕地(已确认)(亩)', '核销补充耕地指标(亩)', '占补差额(亩)', '占补是否平衡',
  '耕地转出(已确认)(亩)', '耕地转进(已确认)(亩)', '净转进(已确认)(亩)', '水田净转进(已确认)(亩)', '进出是否平衡',
] as const;

export const PROJECT_HEADERS = [
  '项目编号', '项目名称', '项目类型', '行政区代码', '乡镇', '立项日期', '开工日期', '验收日期', '入库日期',
  '申报新增耕地(亩)', '其中水田(亩)', '核减(亩)', '其中水田核减(亩)', '有效指标(亩)', '已核销(亩)', '剩余指标(亩)', '核查发现',
] as const;

export const FINDING_HEADERS = ['监测图斑编号', '图斑类型', '项目编号', '行政区代码', '关联对象', '面积(平方米)', '面积(亩)', '核减(亩)', '状态', '规则', '前时相', '后时相', '前时相影像', '后时相影像'] as const;

/** An audit case as the report lists it. */
export interface ReportFinding {
  jcbh: string;
  tblxmc: string;
  xmbh: string;
  xzqdm: string | null;
  subject: string;
  areaM2: number;
  deductM2: number;
  status: string;
  rule: string;
  chips: { date: string; path: string }[];
}

const mu = (m2: number) => Math.round(m2 * MU_PER_M2 * 100) / 100;
const FMT = '#,##0.00';

function sheet(wb: ExcelJS.stream.xlsx.WorkbookWriter, name: string, headers: readonly string[], title: string | undefined, keyCols: number): { ws: ExcelJS.Worksheet; next: () => ExcelJS.Row } {
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', xSplit: keyCols, ySplit: title ? 2 : 1 }] });
  ws.columns = headers.map((h) => ({ width: Math.min(28, Math.max(10, displayWidth(h) / 2 + 4)) }));
  let r = writeTitle(ws, title, headers.length);
  writeHeaderRow(ws, r++, headers);
  return { ws, next: () => ws.getRow(r++) };
}

function put(row: ExcelJS.Row, cells: readonly (string | number | null)[], bold = false, numberFrom = 3): void {
  cells.forEach((v, i) => {
    if (v === null) return;
    const c = row.getCell(i + 1);
    c.value = v;
    if (typeof v === 'number' && i >= numberFrom) c.numFmt = FMT;
    if (bold) c.font = { bold: true };
  });
  row.commit();
}

const pctOf = (v: number | null) => (v === null ? null : `${Math.round(v * 1000) / 10}%`);
const accountCells = (r: Pick<TownshipYear, Exclude<keyof TownshipYear, 'xzqdm' | 'xzqmc' | 'year' | 'inOutBalanced'>>) => [
  r.targetM2 === null ? null : mu(r.targetM2),
  r.paddyTargetM2 === null ? null : mu(r.paddyTargetM2),
  mu(r.acceptedM2), mu(r.acceptedPaddyM2), mu(r.deductedM2), mu(r.deductedPaddyM2), mu(r.achievedM2), mu(r.achievedPaddyM2), pctOf(r.completion),
  mu(r.warehousedM2), mu(r.warehousedPaddyM2), mu(r.usedM2), mu(r.usedPaddyM2), mu(r.reserveM2), mu(r.reservePaddyM2),
];
const balanceCells = (r: Pick<TownshipYear, 'occupationM2' | 'usedM2' | 'occupationBalanceM2' | 'outM2' | 'inM2' | 'netM2' | 'paddyNetM2'> & { inOutBalanced: boolean | null }) => [
  mu(r.occupationM2), mu(r.usedM2), mu(r.occupationBalanceM2), r.occupationBalanceM2 >= 0 ? '是' : '否',
  mu(r.outM2), mu(r.inM2), mu(r.netM2), mu(r.paddyNetM2), r.inOutBalanced === null ? (r.netM2 >= 0 && r.paddyNetM2 >= 0 ? '是' : '否') : r.inOutBalanced ? '是' : '否',
];

/** Writes the report atomically. */
export async function writeIndicatorXlsx(account: IndicatorAccount, findings: readonly ReportFinding[], outPath: string, opts: { title?: string } = {}): Promise<void> {
  const title = opts.title;
  await writeWorkbookAtomic(outPath, 'indicator report', title, (wb) => {
    const years = [...new Set(account.rows.map((r) => r.year))].sort((a, b) => a - b);
    const a = sheet(wb, ACCOUNT_SHEET, ACCOUNT_HEADERS, title, 3);
    for (const y of years) {
      for (const r of account.rows.filter((x) => x.year === y)) put(a.next(), [y, r.xzqdm, r.xzqmc, ...accountCells(r)]);
      put(a.next(), [y, null, TOTAL_LABEL, ...accountCells(account.totals[y])], true);
    }
    a.ws.commit();
    const b = sheet(wb, BALANCE_SHEET, BALANCE_HEADERS, title, 3);
    for (const y of years) {
      for (const r of account.rows.filter((x) => x.year === y)) put(b.next(), [y, r.xzqdm, r.xzqmc, ...balanceCells(r)]);
      const t = account.totals[y];
      put(b.next(), [y, null, TOTAL_LABEL, ...balanceCells({ ...t, inOutBalanced: null })], true);
    }
    b.ws.commit();
    const p = sheet(wb, PROJECT_SHEET, PROJECT_HEADERS, title, 1);
    for (const x of account.projects)
      put(
        p.next(),
        [x.xmbh, x.xmmc, x.xmlxmc, x.xzqdm, x.xzqmc, x.lxrq, x.kgrq, x.ysrq, x.rkrq, mu(x.claimedM2), mu(x.paddyM2), mu(x.deductedM2), mu(x.deductedPaddyM2), mu(x.indicatorM2), mu(x.usedM2), mu(x.remainingM2), x.findings.join('；') || null],
        false,
        9,
      );
    p.ws.commit();
    const f = sheet(wb, FINDING_SHEET, FINDING_HEADERS, title, 1);
    for (const x of findings)
      put(
        f.next(),
        [x.jcbh, x.tblxmc, x.xmbh, x.xzqdm, x.subject || null, Math.round(x.areaM2 * 100) / 100, mu(x.areaM2), mu(x.deductM2), x.status, x.rule, x.chips[0]?.date ?? null, x.chips[1]?.date ?? null, x.chips[0]?.path ?? null, x.chips[1]?.path ?? null],
        false,
        5,
      );
    f.ws.commit();
  });
}
