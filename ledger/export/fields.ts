/**
 * The exported attribute table, shared by every format so the files agree column for column: field
 * code (also the Shapefile/GeoPackage column name, ≤ 10 characters), Chinese header, kind and
 * decimals. Numbers are rounded to their decimals once, here, so a sum in Excel equals a sum in GIS.
 */
import { VectorError } from '../../pipeline/errors.js';
import { landCoverLabel } from '../../pipeline/outputs/labels.js';
import type { ClueFields } from './types.js';

export type FieldKind = 'text' | 'date' | 'number' | 'bool';

export interface FieldSpec {
  readonly key: keyof ClueFields;
  /** Chinese header (xlsx, CSV, KML display names). */
  readonly header: string;
  readonly kind: FieldKind;
  /** Decimals numbers are rounded to (and the DBF N field's decimal count). */
  readonly decimals?: number;
  /** Width of the DBF N field, characters (sign and point included). */
  readonly width?: number;
}

/** The exported fields, in column order. Names are the national change-layer codes (DOMAIN.md). */
export const CLUE_FIELDS: readonly FieldSpec[] = [
  { key: 'JCBH', header: '监测图斑编号', kind: 'text' },
  { key: 'XZQDM', header: '行政区代码', kind: 'text' },
  { key: 'XZQMC', header: '乡镇', kind: 'text' },
  { key: 'CJMC', header: '村', kind: 'text' },
  { key: 'QSX', header: '前时相', kind: 'date' },
  { key: 'HSX', header: '后时相', kind: 'date' },
  { key: 'TBLX', header: '图斑类型编码', kind: 'text' },
  { key: 'TBLXMC', header: '图斑类型', kind: 'text' },
  { key: 'DLBM', header: '原地类编码', kind: 'text' },
  { key: 'DLMC', header: '原地类名称', kind: 'text' },
  { key: 'XZDL', header: '现状地类', kind: 'text' },
  { key: 'MJ', header: '面积(平方米)', kind: 'number', decimals: 2, width: 16 },
  { key: 'MJM', header: '面积(亩)', kind: 'number', decimals: 4, width: 16 },
  { key: 'GDMJ', header: '耕地面积(平方米)', kind: 'number', decimals: 2, width: 16 },
  { key: 'YJJBNTMJ', header: '永久基本农田面积(平方米)', kind: 'number', decimals: 2, width: 16 },
  { key: 'SFJBNT', header: '是否涉及永久基本农田', kind: 'bool' },
  { key: 'ZXX', header: '中心点X', kind: 'number', decimals: 3, width: 16 },
  { key: 'ZXY', header: '中心点Y', kind: 'number', decimals: 3, width: 16 },
  { key: 'JD', header: '经度', kind: 'number', decimals: 7, width: 13 },
  { key: 'WD', header: '纬度', kind: 'number', decimals: 7, width: 12 },
  { key: 'PZWH', header: '批准文号', kind: 'text' },
  { key: 'ZXD', header: '置信度', kind: 'number', decimals: 4, width: 8 },
  { key: 'ZT', header: '状态', kind: 'text' },
  { key: 'HCJG', header: '核查结果', kind: 'text' },
  { key: 'ZGZT', header: '整改状态', kind: 'text' },
  { key: 'QX', header: '整改期限', kind: 'date' },
];

/** Header of a field code. */
export const headerOf = (key: keyof ClueFields): string => CLUE_FIELDS.find((f) => f.key === key)!.header;

export const round = (v: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
};

export type FieldValue = string | number | boolean | null;

/**
 * The exported value of a field: numbers rounded (non-finite → null), dates as yyyy-mm-dd, the
 * land-cover class names of XZDL in Chinese (a Chinese value passes unchanged), empty text → null.
 */
export function fieldValue(f: ClueFields, spec: FieldSpec): FieldValue {
  const v = f[spec.key] as unknown;
  if (v === null || v === undefined) return null;
  switch (spec.kind) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? round(v, spec.decimals ?? 0) : null;
    case 'bool':
      return Boolean(v);
    case 'date':
      return normaliseDate(String(v), f.JCBH, spec.key);
    case 'text': {
      const s = spec.key === 'XZDL' ? landCoverLabel(String(v)) : String(v);
      return s === '' ? null : s;
    }
  }
}

/** Text of a value for text formats (CSV, KML): booleans 是/否, numbers with their decimals. */
export function fieldText(f: ClueFields, spec: FieldSpec): string {
  const v = fieldValue(f, spec);
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? '是' : '否';
  if (typeof v === 'number') return v.toFixed(spec.decimals ?? 0);
  return v;
}

/** Accepts yyyy-mm-dd, yyyymmdd or an ISO timestamp; returns yyyy-mm-dd or throws naming the case. */
export function normaliseDate(s: string, jcbh: string, key: string): string | null {
  if (s.trim() === '') return null;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:$|[T ])/.exec(s.trim());
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const dt = new Date(Date.UTC(y, mo - 1, d));
    if (dt.getUTCFullYear() === y && dt.getUTCMonth() === mo - 1 && dt.getUTCDate() === d) return `${m[1]}-${m[2]}-${m[3]}`;
  }
  throw new ExportInputError(`Case ${jcbh}: ${key} "${s}" is not a date (yyyy-mm-dd)`, { jcbh, field: key });
}

/** Bad input records (not a failed write): not retryable. */
export class ExportInputError extends VectorError {
  constructor(message: string, context: Record<string, unknown>) {
    super('VECTOR_INVALID', message, context);
  }
}
