import { describe, expect, it } from 'vitest';
import type { Score, TypeScore } from '../outputs/score.js';
import { meanAreaError, sumTallies, tallyScore } from './tally.js';

const type = (planted: number, detected: number, ratios: number[], legal = [0, 0]): TypeScore => ({
  planted,
  detected,
  matched: ratios.length,
  recall: planted ? ratios.length / planted : 1,
  precision: detected ? ratios.length / detected : 1,
  meanAreaRatio: null,
  maxAreaError: null,
  legalPlanted: legal[0],
  legalMatchedAsLegal: legal[1],
  missed: [],
  matches: ratios.map((areaRatio, i) => ({ planted: `C${i}`, detected: `D${i}`, iou: 0.8, areaRatio })),
});

const score = (byType: Record<string, TypeScore>, hard: number, legal: [number, number]): Score => ({
  iouThreshold: 0.3,
  byType,
  falsePatches: [],
  hardCaseFalsePatches: hard,
  legalReportedAsLegal: { planted: legal[0], correct: legal[1] },
});

describe('tallyScore', () => {
  it('counts matches, misses, extras and the areas off by more than the bound, worst first', () => {
    const t = tallyScore(score({ occupation_building: type(3, 3, [1.05, 0.85]), outflow_orchard: type(2, 4, [0.7, 1.12]) }, 1, [2, 1]));
    expect(t).toMatchObject({ planted: 5, matched: 4, missed: 1, extra: 3, hardCaseFalse: 1, legalPlanted: 2, legalReportedLegal: 1 });
    expect(t.areasOff.map((a) => [a.type, a.areaRatio])).toEqual([
      ['outflow_orchard', 0.7],
      ['occupation_building', 0.85],
      ['outflow_orchard', 1.12],
    ]);
    expect(meanAreaError(t)).toBeCloseTo((0.05 + 0.15 + 0.3 + 0.12) / 4, 12);
  });

  it('takes the bound as given and keeps a ratio exactly on it', () => {
    expect(tallyScore(score({ outflow_pond: type(1, 1, [0.9]) }, 0, [0, 0])).areasOff).toEqual([]);
    expect(tallyScore(score({ outflow_pond: type(1, 1, [0.9]) }, 0, [0, 0]), 0.05).areasOff).toHaveLength(1);
  });
});

describe('sumTallies', () => {
  it('adds every count and keeps each county\'s areas off', () => {
    const a = tallyScore(score({ outflow_pond: type(2, 2, [0.5, 1]) }, 1, [1, 1]));
    const b = tallyScore(score({ outflow_pond: type(3, 1, [1.3]) }, 2, [1, 0]));
    const s = sumTallies([a, b]);
    expect(s).toMatchObject({ planted: 5, matched: 3, missed: 2, extra: 0, hardCaseFalse: 3, legalPlanted: 2, legalReportedLegal: 1 });
    expect(s.areasOff.map((x) => x.areaRatio)).toEqual([0.5, 1.3]);
    expect(meanAreaError(s)).toBeCloseTo(0.8 / 3, 12);
    expect(meanAreaError(sumTallies([]))).toBe(0);
  });
});
