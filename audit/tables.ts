/**
 * The two tables beside the register, as CSV with Chinese headers (or the field codes), parsed and
 * validated row by row (pure functions; the ledger writes them in ledger/compensation.ts):
 *
 * - the quota plan (like a county's 2023–2025 plan): 乡镇代码, 乡镇名称, 年度, 新增耕地任务(亩),
 *   新增水田任务(亩) — codes XZQDM, XZQMC, ND, XZGDRW, XZSTRW;
 * - indicator uses (核销出库): 核销编号, 项目编号, 核销日期, 核销面积(亩), 其中水田(亩), 用途 — codes
 *   HXBH, XMBH, HXRQ, HXMJ, HXSTMJ, YT.
 *
 * Plans and uses are kept in 亩 on paper; the ledger stores m² (1 亩 = 2000/3 m²).
 */
import { MU_PER_M2 } from '../pipeline/geo/area.js';
import { checkDate, type RowError } from './register.js';

/** Splits CSV text into rows of fields (RFC 4180 quotes, CRLF or LF, a UTF-8 BOM dropped). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

interface Column {
  readonly key: string;
  readonly names: readonly string[];
  readonly required: boolean;
}

/** Header row → key per column index; errors for missing required columns (row 0 = the header). */
function mapHeader(header: readonly string[], columns: readonly Column[]): { index: Map<string, number>; errors: RowError[] } {
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    const n = h.trim();
    const col = columns.find((c) => c.names.includes(n) || c.key === n);
    if (col && !index.has(col.key)) index.set(col.key, i);
  });
  const errors = columns.filter((c) => c.required && !index.has(c.key)).map((c) => ({ row: 0, xmbh: null, field: c.key, message: `column ${c.names[0]} (${c.key}) is missing from the header` }));
  return { index, errors };
}

const num = (v: string | undefined): number | null => (v === undefined || v.trim() === '' || !Number.isFinite(Number(v.trim())) ? null : Number(v.trim()));

/** One year's target of one township. */
export interface QuotaRow {
  /** 1-based line number in the file (the header is line 1). */
  readonly line: number;
  readonly XZQDM: string;
  readonly XZQMC: string | null;
  readonly year: number;
  readonly targetM2: number;
  readonly paddyTargetM2: number;
}

const QUOTA_COLUMNS: readonly Column[] = [
  { key: 'XZQDM', names: ['乡镇代码', '行政区代码'], required: true },
  { key: 'XZQMC', names: ['乡镇名称', '乡镇'], required: false },
  { key: 'ND', names: ['年度', '年份'], required: true },
  { key: 'XZGDRW', names: ['新增耕地任务(亩)', '新增耕地任务（亩）'], required: true },
  { key: 'XZSTRW', names: ['新增水田任务(亩)', '新增水田任务（亩）'], required: false },
];

/**
 * Validates a quota table; rows are named by their line in the file (`row` = line number).
 * @param townships township codes a row may name (null: any).
 */
export function parseQuotas(text: string, townships: ReadonlySet<string> | null): { rows: QuotaRow[]; errors: RowError[] } {
  const lines = parseCsv(text);
  if (!lines.length) return { rows: [], errors: [{ row: 0, xmbh: null, field: 'header', message: 'the quota table is empty' }] };
  const { index, errors } = mapHeader(lines[0], QUOTA_COLUMNS);
  if (errors.length) return { rows: [], errors };
  const rows: QuotaRow[] = [];
  const seen = new Map<string, number>();
  lines.slice(1).forEach((l, k) => {
    const line = k + 2;
    const get = (key: string) => (index.has(key) ? l[index.get(key)!]?.trim() : undefined);
    const before = errors.length;
    const err = (field: string, message: string) => errors.push({ row: line, xmbh: null, field, message });
    const xzqdm = get('XZQDM') ?? '';
    if (!xzqdm) err('XZQDM', 'is missing');
    else if (townships && !townships.has(xzqdm)) err('XZQDM', `township ${xzqdm} is unknown`);
    const year = num(get('ND'));
    if (year === null || !Number.isInteger(year) || year < 1949 || year > 2100) err('ND', `"${get('ND') ?? ''}" is not a year`);
    const target = num(get('XZGDRW'));
    if (target === null || target < 0) err('XZGDRW', `"${get('XZGDRW') ?? ''}" is not an area ≥ 0 (亩)`);
    const paddyRaw = get('XZSTRW');
    const paddy = paddyRaw === undefined || paddyRaw === '' ? 0 : num(paddyRaw);
    if (paddy === null || paddy < 0) err('XZSTRW', `"${paddyRaw}" is not an area ≥ 0 (亩)`);
    else if (target !== null && paddy > target) err('XZSTRW', `paddy target ${paddy} 亩 exceeds the cropland target ${target} 亩`);
    const key = `${xzqdm}|${year}`;
    if (errors.length === before && seen.has(key)) err('ND', `township ${xzqdm} year ${year} repeats line ${seen.get(key)}`);
    if (errors.length > before) return;
    seen.set(key, line);
    rows.push({ line, XZQDM: xzqdm, XZQMC: get('XZQMC') || null, year: year!, targetM2: target! / MU_PER_M2, paddyTargetM2: paddy! / MU_PER_M2 });
  });
  return { rows, errors };
}

/** One use of a project's indicator (核销出库). */
export interface UseRow {
  readonly line: number;
  readonly HXBH: string;
  readonly XMBH: string;
  readonly usedOn: string;
  readonly areaM2: number;
  readonly paddyM2: number;
  readonly purpose: string | null;
}

const USE_COLUMNS: readonly Column[] = [
  { key: 'HXBH', names: ['核销编号'], required: true },
  { key: 'XMBH', names: ['项目编号'], required: true },
  { key: 'HXRQ', names: ['核销日期'], required: true },
  { key: 'HXMJ', names: ['核销面积(亩)', '核销面积（亩）'], required: true },
  { key: 'HXSTMJ', names: ['其中水田(亩)', '其中水田（亩）'], required: false },
  { key: 'YT', names: ['用途', '占用项目'], required: false },
];

/**
 * Validates an indicator-use table.
 * @param projects project IDs a use may draw on (null: any).
 */
export function parseUses(text: string, projects: ReadonlySet<string> | null): { rows: UseRow[]; errors: RowError[] } {
  const lines = parseCsv(text);
  if (!lines.length) return { rows: [], errors: [{ row: 0, xmbh: null, field: 'header', message: 'the use table is empty' }] };
  const { index, errors } = mapHeader(lines[0], USE_COLUMNS);
  if (errors.length) return { rows: [], errors };
  const rows: UseRow[] = [];
  const seen = new Map<string, number>();
  lines.slice(1).forEach((l, k) => {
    const line = k + 2;
    const get = (key: string) => (index.has(key) ? l[index.get(key)!]?.trim() : undefined);
    const xmbh = get('XMBH') || null;
    const before = errors.length;
    const err = (field: string, message: string) => errors.push({ row: line, xmbh, field, message });
    const hxbh = get('HXBH') ?? '';
    if (!hxbh) err('HXBH', 'is missing');
    if (!xmbh) err('XMBH', 'is missing');
    else if (projects && !projects.has(xmbh)) err('XMBH', `project ${xmbh} is not in the register`);
    const d = checkDate(get('HXRQ') ?? '');
    if ('problem' in d) err('HXRQ', d.problem);
    const area = num(get('HXMJ'));
    if (area === null || area <= 0) err('HXMJ', `"${get('HXMJ') ?? ''}" is not an area > 0 (亩)`);
    const paddyRaw = get('HXSTMJ');
    const paddy = paddyRaw === undefined || paddyRaw === '' ? 0 : num(paddyRaw);
    if (paddy === null || paddy < 0) err('HXSTMJ', `"${paddyRaw}" is not an area ≥ 0 (亩)`);
    else if (area !== null && area > 0 && paddy > area) err('HXSTMJ', `paddy ${paddy} 亩 exceeds the area used ${area} 亩`);
    const key = `${hxbh}|${xmbh}`;
    if (errors.length === before && seen.has(key)) err('HXBH', `use ${hxbh} of ${xmbh} repeats line ${seen.get(key)}`);
    if (errors.length > before) return;
    seen.set(key, line);
    rows.push({ line, HXBH: hxbh, XMBH: xmbh!, usedOn: (d as { date: string }).date, areaM2: area! / MU_PER_M2, paddyM2: paddy! / MU_PER_M2, purpose: get('YT') || null });
  });
  return { rows, errors };
}
