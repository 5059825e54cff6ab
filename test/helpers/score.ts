import type { Score } from '../../pipeline/outputs/score.js';

/** Planted, matched and detected patches over every change type of a run's score, and the patch F1. */
export function scoreTotals(score: Score): { planted: number; matched: number; detected: number; f1: number } {
  let planted = 0;
  let matched = 0;
  let detected = 0;
  for (const s of Object.values(score.byType)) {
    planted += s.planted;
    matched += s.matched;
    detected += s.detected;
  }
  const recall = planted ? matched / planted : 0;
  const precision = detected ? matched / detected : 0;
  return { planted, matched, detected, f1: recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : 0 };
}
