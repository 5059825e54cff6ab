/**
 * Case identity across runs (pure). A patch matches a case when their intersection covers at least
 * `share` (default 0.3) of the smaller of the two, by ellipsoidal area. Share of the smaller rather
 * than IoU because a site that grows to three times its size between quarters (IoU 0.33) is still
 * the same site, and a patch that is a small part of a large case is still part of it.
 *
 * From the matches:
 * - each patch's primary case is the one it overlaps most (ties: the older case);
 * - a case that is the primary of several patches is split: the largest patch continues the case,
 *   each other one becomes a new case linked to it (`split`);
 * - a case matched only by patches whose primary is another case is merged into that case (`merge`:
 *   the patch covers both; the absorbed case keeps its history and points to where it lives on);
 * - a patch matching nothing is a new case.
 * A continued case that was closed (销号) is reopened as a relapse (复发) by the caller.
 */

export interface PatchRef {
  obsId: number;
  patchId: string;
  areaM2: number;
}

export interface Match {
  obsId: number;
  caseId: number;
  intersectionM2: number;
  patchAreaM2: number;
  caseAreaM2: number;
}

export interface IdentityPlan {
  /** Patch → case it continues. */
  continued: { obsId: number; caseId: number }[];
  /** Patches that become new cases split off `fromCase`. */
  splits: { obsId: number; fromCase: number }[];
  /** Cases absorbed into another one. */
  merges: { caseId: number; intoCase: number; viaObs: number }[];
  /** Patches that match nothing. */
  fresh: number[];
}

export const DEFAULT_OVERLAP_SHARE = 0.3;

export const isMatch = (m: Match, share: number): boolean => m.intersectionM2 >= share * Math.min(m.patchAreaM2, m.caseAreaM2) && m.intersectionM2 > 0;

export function planIdentity(patches: readonly PatchRef[], candidates: readonly Match[], share = DEFAULT_OVERLAP_SHARE): IdentityPlan {
  const matches = candidates.filter((m) => isMatch(m, share));
  const byObs = new Map<number, Match[]>();
  for (const m of matches) (byObs.get(m.obsId) ?? byObs.set(m.obsId, []).get(m.obsId)!).push(m);
  const primary = new Map<number, number>();
  for (const [obs, ms] of byObs) {
    const best = ms.reduce((a, b) => (b.intersectionM2 > a.intersectionM2 || (b.intersectionM2 === a.intersectionM2 && b.caseId < a.caseId) ? b : a));
    primary.set(obs, best.caseId);
  }
  const patchById = new Map(patches.map((p) => [p.obsId, p]));
  // Patches per primary case, largest first (ties: patch id order, which is north to south).
  const perCase = new Map<number, PatchRef[]>();
  for (const [obs, c] of primary) (perCase.get(c) ?? perCase.set(c, []).get(c)!).push(patchById.get(obs)!);
  const plan: IdentityPlan = { continued: [], splits: [], merges: [], fresh: [] };
  for (const [caseId, ps] of [...perCase].sort((a, b) => a[0] - b[0])) {
    ps.sort((a, b) => b.areaM2 - a.areaM2 || (a.patchId < b.patchId ? -1 : 1));
    plan.continued.push({ obsId: ps[0].obsId, caseId });
    for (const p of ps.slice(1)) plan.splits.push({ obsId: p.obsId, fromCase: caseId });
  }
  // Cases matched but nobody's primary: merged into the primary case of the patch overlapping them most.
  const matchedCases = new Map<number, Match[]>();
  for (const m of matches) (matchedCases.get(m.caseId) ?? matchedCases.set(m.caseId, []).get(m.caseId)!).push(m);
  for (const [caseId, ms] of [...matchedCases].sort((a, b) => a[0] - b[0])) {
    if (perCase.has(caseId)) continue;
    const best = ms.reduce((a, b) => (b.intersectionM2 > a.intersectionM2 ? b : a));
    plan.merges.push({ caseId, intoCase: primary.get(best.obsId)!, viaObs: best.obsId });
  }
  for (const p of patches) if (!primary.has(p.obsId)) plan.fresh.push(p.obsId);
  return plan;
}
