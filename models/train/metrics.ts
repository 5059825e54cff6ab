/**
 * Land-cover accuracy over our classes: confusion matrix, overall accuracy, Cohen's kappa, and per
 * class recall, precision and F1, in the shape of a model-card metric.
 */
import { landCoverName } from '../../pipeline/types.js';
import type { CardMetric } from '../../pipeline/classify/card.js';

export type ClassMetric = CardMetric;

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** Scores predicted LandCover codes against reference codes (pairs at the same index). */
export function scoreClasses(dataset: string, protocol: string, truth: readonly number[], predicted: readonly number[]): ClassMetric {
  const confusion: Record<string, Record<string, number>> = {};
  const refTotal: Record<string, number> = {};
  const predTotal: Record<string, number> = {};
  let right = 0;
  truth.forEach((t, i) => {
    const r = landCoverName(t);
    const p = landCoverName(predicted[i]);
    const row = (confusion[r] ??= {});
    row[p] = (row[p] ?? 0) + 1;
    refTotal[r] = (refTotal[r] ?? 0) + 1;
    predTotal[p] = (predTotal[p] ?? 0) + 1;
    if (r === p) right++;
  });
  const n = truth.length;
  const oa = n ? right / n : 0;
  // Chance agreement from the marginals (Cohen 1960).
  const pe = n ? Object.keys(refTotal).reduce((s, k) => s + (refTotal[k] * (predTotal[k] ?? 0)) / (n * n), 0) : 0;
  const kappa = pe < 1 ? (oa - pe) / (1 - pe) : 0;
  const perReference: ClassMetric['perReference'] = {};
  const perPredicted: ClassMetric['perPredicted'] = {};
  const perClassF1: Record<string, number> = {};
  for (const k of new Set([...Object.keys(refTotal), ...Object.keys(predTotal)])) {
    const tp = confusion[k]?.[k] ?? 0;
    const recall = refTotal[k] ? tp / refTotal[k] : 0;
    const precision = predTotal[k] ? tp / predTotal[k] : 0;
    if (refTotal[k]) perReference[k] = { accepted: [k], recall: round(recall), support: refTotal[k] };
    if (predTotal[k]) perPredicted[k] = { precision: round(precision), count: predTotal[k] };
    if (refTotal[k]) perClassF1[k] = round(recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : 0);
  }
  return { dataset, protocol, pixels: n, overallAccuracy: round(oa), kappa: round(kappa), perClassF1, perReference, perPredicted, confusion };
}
