/**
 * The indicator account of 补充耕地 (issue 8, item 4) as a pure function: per project and per
 * township and year, the plan (quota), new cropland accepted, deducted after findings (核减),
 * achieved (accepted and not deducted), indicators warehoused (入库), used (核销出库) and in reserve,
 * paddy (水田) separately; beside it the 占补 balance (cropland occupied by construction against
 * indicators used) and the ledger's 进出 balance.
 *
 * Conventions (README "Auditing compensation farmland"):
 * - a project counts when accepted (YSRQ ≤ as-of) in its acceptance year; its deduction is the sum
 *   of its standing findings' deductions (pending 待核查 or confirmed 核实; dismissed 排除 restore
 *   the indicator), capped at the claimed area (paddy likewise, at the claimed paddy); a
 *   whole-parcel finding (存量耕地, still non-cropland, no works) deducts everything claimed;
 * - its indicator (claimed − deducted) enters the reserve on its warehousing date (RKRQ ≤ as-of),
 *   in that year; uses (核销) leave it on their date; the reserve at a year's end is everything
 *   warehoused minus everything used up to then, per township;
 * - 占补: construction occupying cropland (the ledger's confirmed occupation, 建设用地) in a
 *   township-year should be matched by indicators used there that year (used ≥ occupied).
 */
import type { Balance } from '../ledger/balance.js';

export interface AccountProject {
  xmbh: string;
  xmmc: string | null;
  xmlxmc: string | null;
  xzqdm: string | null;
  xzqmc: string | null;
  claimedM2: number;
  paddyM2: number;
  lxrq: string | null;
  kgrq: string | null;
  ysrq: string | null;
  rkrq: string | null;
}
export interface AccountFinding {
  xmbh: string;
  status: 'pending' | 'confirmed' | 'dismissed';
  deductM2: number;
  deductPaddyM2: number;
  label: string;
}
export interface AccountQuota {
  xzqdm: string;
  year: number;
  targetM2: number;
  paddyTargetM2: number;
}
export interface AccountUse {
  xmbh: string;
  usedOn: string;
  areaM2: number;
  paddyM2: number;
}

export interface ProjectAccount extends AccountProject {
  accepted: boolean;
  warehoused: boolean;
  deductedM2: number;
  deductedPaddyM2: number;
  /** Claimed − deducted once accepted (0 before), m². */
  indicatorM2: number;
  indicatorPaddyM2: number;
  usedM2: number;
  usedPaddyM2: number;
  /** Warehoused indicator − used (negative: more was used than the project holds). */
  remainingM2: number;
  remainingPaddyM2: number;
  findings: string[];
}

export interface TownshipYear {
  xzqdm: string;
  xzqmc: string;
  year: number;
  targetM2: number | null;
  paddyTargetM2: number | null;
  acceptedM2: number;
  acceptedPaddyM2: number;
  deductedM2: number;
  deductedPaddyM2: number;
  achievedM2: number;
  achievedPaddyM2: number;
  /** achieved / target (null without a target). */
  completion: number | null;
  warehousedM2: number;
  warehousedPaddyM2: number;
  usedM2: number;
  usedPaddyM2: number;
  reserveM2: number;
  reservePaddyM2: number;
  /** 占补: occupation confirmed in the ledger, and indicators used − occupation. */
  occupationM2: number;
  occupationBalanceM2: number;
  /** 进出 from the ledger (confirmed): turned out, turned in, net, paddy net, balanced. */
  outM2: number;
  inM2: number;
  netM2: number;
  paddyNetM2: number;
  inOutBalanced: boolean | null;
}

export interface IndicatorAccount {
  asOf: string;
  projects: ProjectAccount[];
  rows: TownshipYear[];
  totals: Record<number, Omit<TownshipYear, 'xzqdm' | 'xzqmc' | 'year' | 'completion' | 'inOutBalanced'> & { year: number; completion: number | null }>;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

export function indicatorAccount(
  inp: { projects: readonly AccountProject[]; findings: readonly AccountFinding[]; quotas: readonly AccountQuota[]; uses: readonly AccountUse[]; balances?: readonly Balance[]; townshipNames?: ReadonlyMap<string, string> },
  asOf: string,
): IndicatorAccount {
  const standing = inp.findings.filter((f) => f.status !== 'dismissed');
  const uses = inp.uses.filter((u) => u.usedOn <= asOf);
  const projects: ProjectAccount[] = inp.projects.map((p) => {
    const mine = standing.filter((f) => f.xmbh === p.xmbh);
    const accepted = p.ysrq !== null && p.ysrq <= asOf;
    const warehoused = accepted && p.rkrq !== null && p.rkrq <= asOf;
    const deductedM2 = Math.min(p.claimedM2, mine.reduce((s, f) => s + f.deductM2, 0));
    const deductedPaddyM2 = Math.min(p.paddyM2, mine.reduce((s, f) => s + f.deductPaddyM2, 0));
    const indicatorM2 = accepted ? p.claimedM2 - deductedM2 : 0;
    const indicatorPaddyM2 = accepted ? p.paddyM2 - deductedPaddyM2 : 0;
    const u = uses.filter((x) => x.xmbh === p.xmbh);
    const usedM2 = u.reduce((s, x) => s + x.areaM2, 0);
    const usedPaddyM2 = u.reduce((s, x) => s + x.paddyM2, 0);
    return {
      ...p,
      accepted,
      warehoused,
      deductedM2: r2(deductedM2),
      deductedPaddyM2: r2(deductedPaddyM2),
      indicatorM2: r2(indicatorM2),
      indicatorPaddyM2: r2(indicatorPaddyM2),
      usedM2: r2(usedM2),
      usedPaddyM2: r2(usedPaddyM2),
      remainingM2: r2((warehoused ? indicatorM2 : 0) - usedM2),
      remainingPaddyM2: r2((warehoused ? indicatorPaddyM2 : 0) - usedPaddyM2),
      findings: mine.map((f) => f.label),
    };
  });
  const byXmbh = new Map(projects.map((p) => [p.xmbh, p]));
  const names = new Map(inp.townshipNames ?? []);
  for (const p of projects) if (p.xzqdm && p.xzqmc && !names.has(p.xzqdm)) names.set(p.xzqdm, p.xzqmc);
  const rows = new Map<string, TownshipYear>();
  const row = (xzqdm: string, year: number): TownshipYear => {
    const k = `${xzqdm}|${year}`;
    let r = rows.get(k);
    if (!r)
      rows.set(
        k,
        (r = {
          xzqdm, xzqmc: names.get(xzqdm) ?? '', year, targetM2: null, paddyTargetM2: null, acceptedM2: 0, acceptedPaddyM2: 0, deductedM2: 0, deductedPaddyM2: 0, achievedM2: 0, achievedPaddyM2: 0,
          completion: null, warehousedM2: 0, warehousedPaddyM2: 0, usedM2: 0, usedPaddyM2: 0, reserveM2: 0, reservePaddyM2: 0, occupationM2: 0, occupationBalanceM2: 0,
          outM2: 0, inM2: 0, netM2: 0, paddyNetM2: 0, inOutBalanced: null,
        }),
      );
    return r;
  };
  const year = (d: string) => Number(d.slice(0, 4));
  for (const q of inp.quotas) Object.assign(row(q.xzqdm, q.year), { targetM2: q.targetM2, paddyTargetM2: q.paddyTargetM2 });
  for (const p of projects) {
    const t = p.xzqdm ?? '';
    if (p.accepted) {
      const r = row(t, year(p.ysrq!));
      r.acceptedM2 += p.claimedM2;
      r.acceptedPaddyM2 += p.paddyM2;
      r.deductedM2 += p.deductedM2;
      r.deductedPaddyM2 += p.deductedPaddyM2;
    }
    if (p.warehoused) {
      const r = row(t, year(p.rkrq!));
      r.warehousedM2 += p.indicatorM2;
      r.warehousedPaddyM2 += p.indicatorPaddyM2;
    }
  }
  for (const u of uses) {
    const p = byXmbh.get(u.xmbh);
    const r = row(p?.xzqdm ?? '', year(u.usedOn));
    r.usedM2 += u.areaM2;
    r.usedPaddyM2 += u.paddyM2;
  }
  for (const b of inp.balances ?? []) {
    if (!rows.has(`${b.XZQDM}|${b.year}`) && b.occupationConfirmedM2 === 0) continue;
    const r = row(b.XZQDM, b.year);
    if (!r.xzqmc && b.XZQMC) r.xzqmc = b.XZQMC;
    r.occupationM2 = b.occupationConfirmedM2;
    r.outM2 = Object.values(b.outConfirmedM2).reduce((s, v) => s + v, 0);
    r.inM2 = b.inConfirmedM2;
    r.netM2 = b.netConfirmedM2;
    r.paddyNetM2 = b.paddyNetConfirmedM2;
    r.inOutBalanced = b.balanced;
  }
  const sorted = [...rows.values()].sort((a, b) => a.xzqdm.localeCompare(b.xzqdm) || a.year - b.year);
  // Reserve at each year's end, per township: everything warehoused minus everything used so far.
  let cur = '';
  let res = 0;
  let resP = 0;
  for (const r of sorted) {
    if (r.xzqdm !== cur) (cur = r.xzqdm), (res = 0), (resP = 0);
    res += r.warehousedM2 - r.usedM2;
    resP += r.warehousedPaddyM2 - r.usedPaddyM2;
    r.reserveM2 = res;
    r.reservePaddyM2 = resP;
  }
  for (const r of sorted) {
    r.achievedM2 = r.acceptedM2 - r.deductedM2;
    r.achievedPaddyM2 = r.acceptedPaddyM2 - r.deductedPaddyM2;
    r.completion = r.targetM2 ? Math.round((r.achievedM2 / r.targetM2) * 1e4) / 1e4 : null;
    r.occupationBalanceM2 = r.usedM2 - r.occupationM2;
    for (const k of ['targetM2', 'paddyTargetM2', 'acceptedM2', 'acceptedPaddyM2', 'deductedM2', 'deductedPaddyM2', 'achievedM2', 'achievedPaddyM2', 'warehousedM2', 'warehousedPaddyM2', 'usedM2', 'usedPaddyM2', 'reserveM2', 'reservePaddyM2', 'occupationM2', 'occupationBalanceM2', 'outM2', 'inM2', 'netM2', 'paddyNetM2'] as const)
      if (r[k] !== null) (r as unknown as Record<string, number>)[k] = r2(r[k] as number);
  }
  sorted.sort((a, b) => a.year - b.year || a.xzqdm.localeCompare(b.xzqdm));
  const totals: IndicatorAccount['totals'] = {};
  for (const r of sorted) {
    const t = (totals[r.year] ??= {
      year: r.year, targetM2: 0, paddyTargetM2: 0, acceptedM2: 0, acceptedPaddyM2: 0, deductedM2: 0, deductedPaddyM2: 0, achievedM2: 0, achievedPaddyM2: 0, completion: null,
      warehousedM2: 0, warehousedPaddyM2: 0, usedM2: 0, usedPaddyM2: 0, reserveM2: 0, reservePaddyM2: 0, occupationM2: 0, occupationBalanceM2: 0, outM2: 0, inM2: 0, netM2: 0, paddyNetM2: 0,
    });
    for (const k of Object.keys(t) as (keyof typeof t)[]) if (k !== 'year' && k !== 'completion') (t[k] as number) = r2((t[k] as number) + ((r as unknown as Record<string, number | null>)[k] ?? 0));
  }
  // The county's reserve at each year's end (townships without a row that year still hold theirs).
  let cum = 0;
  let cumP = 0;
  for (const t of Object.values(totals).sort((a, b) => a.year - b.year)) {
    t.completion = t.targetM2 ? Math.round((t.achievedM2 / t.targetM2) * 1e4) / 1e4 : null;
    cum += t.warehousedM2 - t.usedM2;
    cumP += t.warehousedPaddyM2 - t.usedPaddyM2;
    t.reserveM2 = r2(cum);
    t.reservePaddyM2 = r2(cumP);
  }
  return { asOf, projects, rows: sorted, totals };
}
