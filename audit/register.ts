/**
 * The complete 补充耕地 project register (issue 8, item 1), parsed and validated row by row as a
 * pure function: GeoJSON in, typed rows or a list of row errors out. Each error names the row (the
 * 0-based feature index and the project ID when it has one) and the field. The ledger writes the
 * rows (ledger/compensation.ts) only when there is no error at all.
 *
 * Fields (national register names; areas in m², dates yyyy-mm-dd):
 * | field  | meaning | |
 * |---|---|---|
 * | XMBH   | 项目编号 project ID | required, unique in the file |
 * | XMMC   | 项目名称 name | optional |
 * | XMLX   | 项目类型 type: 坑塘沟渠复垦, 未利用地开发, 建设用地复垦, 土地整理, 其他农用地开发 (or the codes of audit/types.ts) | required |
 * | XZQDM  | 乡镇代码 township code | required, a known township |
 * | XZQMC  | 乡镇名称 | optional |
 * | XZGDMJ | 新增耕地面积 claimed new cropland | required, > 0 |
 * | XZSTMJ | 其中水田 paddy part | required, ≥ 0 |
 * | XZHDMJ | 其中旱地(含水浇地) dry part | required, ≥ 0; XZSTMJ + XZHDMJ = XZGDMJ (±0.5 % or 1 m²) |
 * | LXRQ   | 立项日期 approval | required |
 * | KGRQ   | 开工日期 start of works | required, ≥ LXRQ |
 * | YSRQ   | 验收日期 acceptance | optional (not yet accepted), ≥ KGRQ |
 * | RKRQ   | 入库日期 warehousing of the indicator | optional, needs YSRQ, ≥ YSRQ |
 * | DLBM   | 新增地类 land-use code of the new cropland (0101 水田 …) | optional |
 */
import { parseProjectType, PROJECT_TYPES, type ProjectType } from './types.js';

/** One validated register row. */
export interface RegisterRow {
  /** 0-based feature index in the file. */
  readonly row: number;
  readonly XMBH: string;
  readonly XMMC: string | null;
  readonly XMLX: ProjectType;
  readonly XZQDM: string;
  readonly XZQMC: string | null;
  readonly XZGDMJ: number;
  readonly XZSTMJ: number;
  readonly XZHDMJ: number;
  readonly LXRQ: string;
  readonly KGRQ: string;
  readonly YSRQ: string | null;
  readonly RKRQ: string | null;
  readonly DLBM: string | null;
  /** All properties as given. */
  readonly properties: Readonly<Record<string, unknown>>;
  /** Polygon or MultiPolygon as given (in the file's CRS). */
  readonly geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown };
}

/** What is wrong with one field of one row. */
export interface RowError {
  readonly row: number;
  readonly xmbh: string | null;
  readonly field: string;
  readonly message: string;
}

export const FIELD_LABELS: Readonly<Record<string, string>> = {
  XMBH: '项目编号',
  XMMC: '项目名称',
  XMLX: '项目类型',
  XZQDM: '乡镇代码',
  XZQMC: '乡镇名称',
  XZGDMJ: '新增耕地面积',
  XZSTMJ: '新增水田面积',
  XZHDMJ: '新增旱地面积',
  LXRQ: '立项日期',
  KGRQ: '开工日期',
  YSRQ: '验收日期',
  RKRQ: '入库日期',
  DLBM: '新增地类编码',
  geometry: '几何',
};

/** "row 3 (XMBH 3212822024BC005), field LXRQ (立项日期): …" */
export function formatRowError(e: RowError): string {
  const label = FIELD_LABELS[e.field];
  return `row ${e.row}${e.xmbh ? ` (XMBH ${e.xmbh})` : ''}, field ${e.field}${label ? ` (${label})` : ''}: ${e.message}`;
}

/** Options of {@link parseRegister}. */
export interface ParseRegisterOptions {
  /** Township codes a row may name; rows naming another are rejected. Null skips the check. */
  readonly townships: ReadonlySet<string> | null;
  /** Tolerance of XZSTMJ + XZHDMJ against XZGDMJ: relative (default 0.005) or absolute m² (default 1), whichever is larger. */
  readonly splitTolerance?: { relative: number; absoluteM2: number };
}

/** Result of {@link parseRegister}: rows when `errors` is empty. */
export interface ParsedRegister {
  readonly rows: readonly RegisterRow[];
  readonly errors: readonly RowError[];
  /** Features in the file. */
  readonly features: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.+\-Z]*)?$/;

/** A calendar date yyyy-mm-dd (2024-02-30 is not one), or why not. */
export function checkDate(v: unknown): { date: string } | { problem: string } {
  if (typeof v !== 'string') return { problem: `${JSON.stringify(v)} is not a date yyyy-mm-dd` };
  const m = DATE_RE.exec(v.trim());
  if (!m) return { problem: `"${v}" is not a date yyyy-mm-dd` };
  const s = `${m[1]}-${m[2]}-${m[3]}`;
  const d = new Date(`${s}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s) return { problem: `"${v}" is not a calendar date` };
  if (Number(m[1]) < 1949 || Number(m[1]) > 2100) return { problem: `"${v}" is outside 1949–2100` };
  return { date: s };
}

function numberOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v.trim()))) return Number(v.trim());
  return null;
}

const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** Structural problems of a polygonal GeoJSON geometry (validity proper is checked by PostGIS on import). */
export function geometryProblem(g: unknown): string | null {
  const geom = g as { type?: unknown; coordinates?: unknown } | null;
  if (!geom || typeof geom !== 'object') return 'missing';
  if (geom.type !== 'Polygon' && geom.type !== 'MultiPolygon') return `type ${JSON.stringify(geom.type)} is not Polygon or MultiPolygon`;
  const polys = (geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates) as unknown;
  if (!Array.isArray(polys) || polys.length === 0) return 'no polygons';
  for (const [pi, poly] of polys.entries()) {
    if (!Array.isArray(poly) || poly.length === 0) return `polygon ${pi} has no rings`;
    for (const [ri, ring] of poly.entries()) {
      if (!Array.isArray(ring) || ring.length < 4) return `polygon ${pi} ring ${ri} has fewer than 4 positions`;
      for (const p of ring) if (!Array.isArray(p) || p.length < 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return `polygon ${pi} ring ${ri} has a position that is not two finite numbers`;
      const [a, b] = [ring[0] as number[], ring[ring.length - 1] as number[]];
      if (a[0] !== b[0] || a[1] !== b[1]) return `polygon ${pi} ring ${ri} is not closed`;
      let s = 0;
      for (let i = 0; i + 1 < ring.length; i++) s += (ring[i] as number[])[0] * (ring[i + 1] as number[])[1] - (ring[i + 1] as number[])[0] * (ring[i] as number[])[1];
      if (ri === 0 && s === 0) return `polygon ${pi} has zero area`;
    }
  }
  return null;
}

/**
 * Validates every feature of a register FeatureCollection and returns the rows, or every error
 * found (all rows are checked; nothing is dropped silently).
 */
export function parseRegister(doc: unknown, opts: ParseRegisterOptions): ParsedRegister {
  const d = doc as { type?: unknown; features?: unknown } | null;
  if (d?.type !== 'FeatureCollection' || !Array.isArray(d.features))
    return { rows: [], features: 0, errors: [{ row: -1, xmbh: null, field: 'type', message: 'the register is not a GeoJSON FeatureCollection' }] };
  const tol = opts.splitTolerance ?? { relative: 0.005, absoluteM2: 1 };
  const rows: RegisterRow[] = [];
  const errors: RowError[] = [];
  const seen = new Map<string, number>();
  d.features.forEach((f, row) => {
    const feature = f as { type?: unknown; properties?: unknown; geometry?: unknown } | null;
    const p = (feature?.properties && typeof feature.properties === 'object' ? feature.properties : {}) as Record<string, unknown>;
    const xmbh = blank(p.XMBH) ? null : String(p.XMBH).trim();
    const err = (field: string, message: string) => errors.push({ row, xmbh, field, message });
    const before = errors.length;
    if (feature?.type !== 'Feature') err('type', `is ${JSON.stringify(feature?.type)}, not "Feature"`);
    if (xmbh === null) err('XMBH', 'is missing');
    else if (seen.has(xmbh)) err('XMBH', `repeats the project ID of row ${seen.get(xmbh)}`);
    else seen.set(xmbh, row);
    let type: ProjectType | null = null;
    if (blank(p.XMLX)) err('XMLX', 'is missing');
    else if (!(type = parseProjectType(String(p.XMLX)))) err('XMLX', `"${p.XMLX}" is not a project type (one of ${Object.values(PROJECT_TYPES).map((t) => t.label).join(', ')})`);
    const xzqdm = blank(p.XZQDM) ? null : String(p.XZQDM).trim();
    if (xzqdm === null) err('XZQDM', 'is missing');
    else if (opts.townships && !opts.townships.has(xzqdm)) err('XZQDM', `township ${xzqdm} is unknown (not in the township list)`);
    const area = (field: 'XZGDMJ' | 'XZSTMJ' | 'XZHDMJ', positive: boolean): number | null => {
      if (blank(p[field])) return err(field, 'is missing'), null;
      const n = numberOf(p[field]);
      if (n === null) return err(field, `${JSON.stringify(p[field])} is not a number (m²)`), null;
      if (positive ? n <= 0 : n < 0) return err(field, `${n} must be ${positive ? '> 0' : '≥ 0'} m²`), null;
      return n;
    };
    const total = area('XZGDMJ', true);
    const paddy = area('XZSTMJ', false);
    const dry = area('XZHDMJ', false);
    if (total !== null && paddy !== null && dry !== null && Math.abs(paddy + dry - total) > Math.max(tol.absoluteM2, tol.relative * total))
      err('XZSTMJ', `paddy ${paddy} + dry ${dry} = ${Math.round((paddy + dry) * 100) / 100} m² does not add up to XZGDMJ ${total} m²`);
    const date = (field: 'LXRQ' | 'KGRQ' | 'YSRQ' | 'RKRQ', required: boolean): string | null => {
      if (blank(p[field])) return required ? (err(field, 'is missing'), null) : null;
      const r = checkDate(p[field]);
      if ('problem' in r) return err(field, r.problem), null;
      return r.date;
    };
    const lxrq = date('LXRQ', true);
    const kgrq = date('KGRQ', true);
    const ysrq = date('YSRQ', false);
    const rkrq = date('RKRQ', false);
    if (lxrq && kgrq && kgrq < lxrq) err('KGRQ', `start ${kgrq} is before approval LXRQ ${lxrq}`);
    if (kgrq && ysrq && ysrq < kgrq) err('YSRQ', `acceptance ${ysrq} is before the start KGRQ ${kgrq}`);
    if (rkrq && blank(p.YSRQ)) err('RKRQ', `warehoused ${rkrq} but never accepted (YSRQ missing)`);
    if (rkrq && ysrq && rkrq < ysrq) err('RKRQ', `warehousing ${rkrq} is before acceptance YSRQ ${ysrq}`);
    const gp = geometryProblem(feature?.geometry);
    if (gp) err('geometry', gp);
    if (errors.length > before) return;
    rows.push({
      row,
      XMBH: xmbh!,
      XMMC: blank(p.XMMC) ? null : String(p.XMMC),
      XMLX: type!,
      XZQDM: xzqdm!,
      XZQMC: blank(p.XZQMC) ? null : String(p.XZQMC),
      XZGDMJ: total!,
      XZSTMJ: paddy!,
      XZHDMJ: dry!,
      LXRQ: lxrq!,
      KGRQ: kgrq!,
      YSRQ: ysrq,
      RKRQ: rkrq,
      DLBM: blank(p.DLBM) ? null : String(p.DLBM),
      properties: p,
      geometry: feature!.geometry as RegisterRow['geometry'],
    });
  });
  return { rows, errors, features: d.features.length };
}
