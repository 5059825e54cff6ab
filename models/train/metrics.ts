/**
 * Land-cover accuracy over our classes in the shape of a model-card metric. The counting and the
 * statistics (OA, Cohen's kappa, recall, precision, F1) are `farmwatch eval`'s own
 * {@link ConfusionMatrix}, so a card and an eval of the same pixels agree.
 */
import { landCoverName } from '../../pipeline/types.js';
import type { CardMetric } from '../../pipeline/classify/card.js';
import { ConfusionMatrix } from '../../pipeline/evaluate/index.js';

export type ClassMetric = CardMetric;

/** Scores predicted LandCover codes against reference codes (pairs at the same index). */
export function scoreClasses(dataset: string, protocol: string, truth: readonly number[], predicted: readonly number[]): ClassMetric {
  const cm = new ConfusionMatrix();
  truth.forEach((t, i) => cm.add(landCoverName(t), landCoverName(predicted[i])));
  const m = cm.metric();
  const perReference: ClassMetric['perReference'] = {};
  const perPredicted: ClassMetric['perPredicted'] = {};
  const perClassF1: Record<string, number> = {};
  for (const [k, c] of Object.entries(m.perClass)) {
    if (c.support) {
      perReference[k] = { accepted: [k], recall: c.recall, support: c.support };
      perClassF1[k] = c.f1;
    }
    if (c.predicted) perPredicted[k] = { precision: c.precision, count: c.predicted };
  }
  return { dataset, protocol, pixels: m.pixels, overallAccuracy: m.overallAccuracy, kappa: m.kappa, perClassF1, perReference, perPredicted, confusion: m.confusion };
}
