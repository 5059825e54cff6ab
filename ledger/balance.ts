/**
 * Cropland balances per township and year (DOMAIN.md 进出平衡): cropland turned out by target class
 * against cropland turned in (补充耕地 project parcels), paddy (DLBM 0101) separately, confirmed and
 * pending apart. Conventions (documented in README):
 * - a case counts with its cropland area (GDMJ) in the year it was first seen; merged cases count
 *   in the case they were merged into;
 * - pending = not yet ruled (待核查, 已下发); confirmed = ruled and standing: 合法, 违法 until rectified
 *   (整改 restores the cropland, so 已整改 and a closed 违法 case no longer count), 设施农用地, 农村道路;
 *   伪变化 never counts; the target class follows the ruling for 设施农用地 and 农村道路, else TBLX;
 * - occupation by construction (违法占用) is 占补平衡, not 进出平衡: reported apart (`occupation`);
 * - paddy: cases whose majority baseline class is 0101, projects whose new class is 0101;
 * - a project counts in the year of its acceptance (YSRQ), pending while not accepted by `asOf`,
 *   less what standing audit findings deduct from it (补而不实: an already-cropland or never-worked
 *   parcel turns no cropland in; dismissed findings deduct nothing).
 */
import type { Queryable } from './db.js';
import type { BalanceRow } from './export/types.js';

/** Target class label (耕地转出 to …) per change type. */
export const OUTFLOW_CLASS: Readonly<Record<string, string>> = {
  outflow_orchard: '园地',
  outflow_forest: '林地',
  outflow_grass: '草地',
  outflow_pond: '坑塘水面',
  outflow_greenhouse: '设施农用地',
};
export const OCCUPATION = '建设用地';

export interface BalanceFilter {
  year?: number;
  xzqdm?: string[];
}

/** A township-year of the export contract's balance row, with what the ledger adds to it. */
export interface Balance extends BalanceRow {
  /** Cropland occupied by construction (占补平衡, not part of the in–out balance). */
  occupationConfirmedM2: number;
  occupationPendingM2: number;
  /** in − out over confirmed amounts; ≥ 0 and the same for paddy means the township is in balance. */
  netConfirmedM2: number;
  paddyNetConfirmedM2: number;
  balanced: boolean;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

export async function balances(db: Queryable, filter: BalanceFilter, asOf: string): Promise<Balance[]> {
  const outs = await db.query<{ xzqdm: string; year: number; target: string; pending: boolean; paddy: boolean; m2: number }>(
    `SELECT COALESCE(c.xzqdm, '') AS xzqdm, extract(year FROM COALESCE(c.first_seen, c.created_at::date))::int AS year,
            CASE WHEN c.ruling = 'facility' THEN '设施农用地' WHEN c.ruling = 'rural_road' THEN '农村道路'
                 WHEN c.tblx LIKE 'occupation%' THEN '${OCCUPATION}'
                 ELSE COALESCE((SELECT v FROM jsonb_each_text($1::jsonb) AS t(k, v) WHERE k = c.tblx), c.tblx) END AS target,
            c.status IN ('pending', 'dispatched') AS pending, COALESCE(c.dlbm = '0101', false) AS paddy, sum(c.gdmj) AS m2
     FROM cases c
     WHERE c.merged_into IS NULL AND c.gdmj > 0 AND c.tblx <> 'transition'
       AND c.ruling IS DISTINCT FROM 'false_change'
       AND NOT (c.ruling = 'illegal' AND c.status IN ('rectified', 'closed'))
     GROUP BY 1, 2, 3, 4, 5`,
    [JSON.stringify(OUTFLOW_CLASS)],
  );
  const ins = await db.query<{ xzqdm: string; year: number; pending: boolean; paddy: boolean; m2: number }>(
    `SELECT COALESCE(p.xzqdm, '') AS xzqdm, extract(year FROM COALESCE(p.ysrq, $1::date))::int AS year,
            (p.ysrq IS NULL OR p.ysrq > $1::date) AS pending, COALESCE(p.dlbm = '0101', false) AS paddy,
            sum(GREATEST(0, p.area_m2 - COALESCE((SELECT sum(k.deduct_m2) FROM compensation_cases k WHERE k.project_id = p.id AND k.status <> 'dismissed'), 0))) AS m2
     FROM projects p GROUP BY 1, 2, 3, 4`,
    [asOf],
  );
  const names = new Map((await db.query<{ xzqdm: string; xzqmc: string | null }>('SELECT xzqdm, xzqmc FROM townships')).rows.map((t) => [t.xzqdm, t.xzqmc ?? '']));
  const rows = new Map<string, Balance>();
  const row = (xzqdm: string, year: number): Balance => {
    const k = `${xzqdm}|${year}`;
    let b = rows.get(k);
    if (!b) {
      b = {
        XZQDM: xzqdm,
        XZQMC: names.get(xzqdm) ?? '',
        year,
        outConfirmedM2: {},
        outPendingM2: {},
        inConfirmedM2: 0,
        inPendingM2: 0,
        paddyOutConfirmedM2: 0,
        paddyOutPendingM2: 0,
        paddyInConfirmedM2: 0,
        paddyInPendingM2: 0,
        occupationConfirmedM2: 0,
        occupationPendingM2: 0,
        netConfirmedM2: 0,
        paddyNetConfirmedM2: 0,
        balanced: true,
      };
      rows.set(k, b);
    }
    return b;
  };
  const keep = (xzqdm: string, year: number) => (filter.year === undefined || filter.year === year) && (!filter.xzqdm?.length || filter.xzqdm.includes(xzqdm));
  for (const o of outs.rows) {
    if (!keep(o.xzqdm, o.year)) continue;
    const b = row(o.xzqdm, o.year);
    if (o.target === OCCUPATION) {
      if (o.pending) b.occupationPendingM2 += o.m2;
      else b.occupationConfirmedM2 += o.m2;
      continue;
    }
    const m = o.pending ? b.outPendingM2 : b.outConfirmedM2;
    m[o.target] = (m[o.target] ?? 0) + o.m2;
    if (o.paddy) {
      if (o.pending) b.paddyOutPendingM2 += o.m2;
      else b.paddyOutConfirmedM2 += o.m2;
    }
  }
  for (const i of ins.rows) {
    if (!keep(i.xzqdm, i.year)) continue;
    const b = row(i.xzqdm, i.year);
    if (i.pending) b.inPendingM2 += i.m2;
    else b.inConfirmedM2 += i.m2;
    if (i.paddy) {
      if (i.pending) b.paddyInPendingM2 += i.m2;
      else b.paddyInConfirmedM2 += i.m2;
    }
  }
  const out = [...rows.values()].sort((a, b) => a.year - b.year || (a.XZQDM < b.XZQDM ? -1 : a.XZQDM > b.XZQDM ? 1 : 0));
  for (const b of out) {
    for (const m of [b.outConfirmedM2, b.outPendingM2]) for (const k of Object.keys(m)) m[k] = r2(m[k]);
    for (const k of ['inConfirmedM2', 'inPendingM2', 'paddyOutConfirmedM2', 'paddyOutPendingM2', 'paddyInConfirmedM2', 'paddyInPendingM2', 'occupationConfirmedM2', 'occupationPendingM2'] as const) b[k] = r2(b[k]);
    const outTotal = Object.values(b.outConfirmedM2).reduce((s, v) => s + v, 0);
    b.netConfirmedM2 = r2(b.inConfirmedM2 - outTotal);
    b.paddyNetConfirmedM2 = r2(b.paddyInConfirmedM2 - b.paddyOutConfirmedM2);
    b.balanced = b.netConfirmedM2 >= 0 && b.paddyNetConfirmedM2 >= 0;
  }
  return out;
}

/** The export contract's rows (ledger/export/types.ts): the balance without the ledger's extras. */
export const toBalanceRow = ({ occupationConfirmedM2, occupationPendingM2, netConfirmedM2, paddyNetConfirmedM2, balanced, ...row }: Balance): BalanceRow => row;
