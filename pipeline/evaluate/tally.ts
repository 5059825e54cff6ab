import type { Score } from '../outputs/score.js';

/**
 * A run's score against planted changes, reduced to the counts the acceptance of a detector is
 * judged by: planted changes found, missed and falsely reported, false patches on hard cases,
 * legality, and how many matched areas are off by more than `maxAreaError`.
 */
export interface ScoreTally {
  readonly planted: number;
  readonly matched: number;
  readonly missed: number;
  /** Detected patches that match no planted change. */
  readonly extra: number;
  /** Extra patches lying on a hard case (harvest, seasonal shift, cloud, shadow, mis-registration…). */
  readonly hardCaseFalse: number;
  readonly legalPlanted: number;
  readonly legalReportedLegal: number;
  /** Sum over matches of |detected area / planted area − 1|. */
  readonly sumAreaError: number;
  /** Matches whose |area ratio − 1| exceeds the bound, worst first. */
  readonly areasOff: readonly { readonly planted: string; readonly type: string; readonly areaRatio: number }[];
}

/** Tallies one run's score; `maxAreaError` is the acceptance bound on |area ratio − 1| (0.1). */
export function tallyScore(score: Score, maxAreaError = 0.1): ScoreTally {
  let planted = 0;
  let matched = 0;
  let detected = 0;
  let sumAreaError = 0;
  const areasOff: { planted: string; type: string; areaRatio: number }[] = [];
  for (const [type, t] of Object.entries(score.byType)) {
    planted += t.planted;
    matched += t.matched;
    detected += t.detected;
    for (const m of t.matches) {
      const error = Math.abs(m.areaRatio - 1);
      sumAreaError += error;
      if (error > maxAreaError) areasOff.push({ planted: m.planted, type, areaRatio: m.areaRatio });
    }
  }
  areasOff.sort((a, b) => Math.abs(b.areaRatio - 1) - Math.abs(a.areaRatio - 1));
  return {
    planted,
    matched,
    missed: planted - matched,
    extra: detected - matched,
    hardCaseFalse: score.hardCaseFalsePatches,
    legalPlanted: score.legalReportedAsLegal.planted,
    legalReportedLegal: score.legalReportedAsLegal.correct,
    sumAreaError,
    areasOff,
  };
}

/** The sum of several tallies (areas off in the order given). */
export function sumTallies(tallies: readonly ScoreTally[]): ScoreTally {
  const total = (k: Exclude<keyof ScoreTally, 'areasOff'>) => tallies.reduce((s, t) => s + t[k], 0);
  return {
    planted: total('planted'),
    matched: total('matched'),
    missed: total('missed'),
    extra: total('extra'),
    hardCaseFalse: total('hardCaseFalse'),
    legalPlanted: total('legalPlanted'),
    legalReportedLegal: total('legalReportedLegal'),
    sumAreaError: total('sumAreaError'),
    areasOff: tallies.flatMap((t) => t.areasOff),
  };
}

/** Mean |area ratio − 1| over matches (0 without matches). */
export const meanAreaError = (t: ScoreTally): number => (t.matched ? t.sumAreaError / t.matched : 0);
