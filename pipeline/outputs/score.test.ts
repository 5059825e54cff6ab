import { describe, expect, it } from 'vitest';
import { polygonArea, scorePatches, type ScoredPatch, type TruthFeature } from './index.js';
import { square } from './test-fixtures.js';

/** Axis-aligned rectangle polygon (one ring). */
const rect = (x0: number, y0: number, x1: number, y1: number): number[][][] => [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]];
const det = (id: string, polygon: number[][][], type = 'occupation_building', legal = false): ScoredPatch => ({ id, type, legal, approval: legal ? '批复1' : null, polygon });
const planted = (id: string, polygon: number[][][], type = 'occupation_building', legal = false): TruthFeature => ({ id, kind: 'change', type, legal, approval: legal ? '批复1' : null, polygon });
const hard = (id: string, hardCase: string, polygon: number[][][]): TruthFeature => ({ id, kind: 'hard_case', hardCase, polygon });
const opts = { iouThreshold: 0.3 };

describe('polygonArea', () => {
  it('subtracts holes regardless of orientation', () => {
    expect(polygonArea([square(0, 0, 10)])).toBe(100);
    expect(polygonArea([square(0, 0, 10, true)])).toBe(100);
    expect(polygonArea([square(0, 0, 10), square(2, 2, 3)])).toBe(91);
    expect(polygonArea([square(0, 0, 10), square(2, 2, 3, true)])).toBe(91);
    expect(polygonArea([])).toBe(0);
  });
});

describe('scorePatches', () => {
  it('scores a perfect match', () => {
    const s = scorePatches([det('d1', rect(0, 0, 10, 10))], [planted('p1', rect(0, 0, 10, 10))], opts);
    expect(s.iouThreshold).toBe(0.3);
    expect(s.byType).toEqual({
      occupation_building: { planted: 1, detected: 1, matched: 1, recall: 1, precision: 1, meanAreaRatio: 1, maxAreaError: 0, legalPlanted: 0, legalMatchedAsLegal: 0, missed: [], matches: [{ planted: 'p1', detected: 'd1', iou: 1, areaRatio: 1 }] },
    });
    expect(s.falsePatches).toEqual([]);
    expect(s.hardCaseFalsePatches).toBe(0);
    expect(s.legalReportedAsLegal).toEqual({ planted: 0, correct: 0 });
  });

  it('matches at IoU just above 0.3 and not just below', () => {
    // A 10×10 square shifted by s: IoU = (10 − s) / (10 + s); 0.3 at s ≈ 5.385.
    const truth = [planted('p1', rect(0, 0, 10, 10))];
    const above = scorePatches([det('d1', rect(5.3, 0, 15.3, 10))], truth, opts); // IoU 0.3072
    expect(above.byType.occupation_building.matched).toBe(1);
    expect(above.byType.occupation_building.meanAreaRatio).toBeCloseTo(1, 12);
    const below = scorePatches([det('d1', rect(5.5, 0, 15.5, 10))], truth, opts); // IoU 0.2903
    expect(below.byType.occupation_building).toMatchObject({ matched: 0, recall: 0, precision: 0, meanAreaRatio: null, maxAreaError: null });
    expect(below.falsePatches).toEqual([{ id: 'd1', type: 'occupation_building', overlaps: [] }]);
    // Exactly at the threshold counts (≥): a 10×10 inside a 10×(10/0.3) planted rectangle… use 0.5 to stay exact in floats.
    const exact = scorePatches([det('d1', rect(0, 0, 10, 5))], truth, { iouThreshold: 0.5 });
    expect(exact.byType.occupation_building.matched).toBe(1);
    expect(exact.byType.occupation_building.meanAreaRatio).toBe(0.5);
    expect(exact.byType.occupation_building.maxAreaError).toBe(0.5);
  });

  it('matches one of two detections on one planted change; the other is a false patch', () => {
    const s = scorePatches([det('loose', rect(2, 0, 12, 10)), det('tight', rect(0, 0, 10, 11))], [planted('p1', rect(0, 0, 10, 10))], opts);
    expect(s.byType.occupation_building).toMatchObject({ planted: 1, detected: 2, matched: 1, recall: 1, precision: 0.5 });
    // The better IoU wins (tight: 100/110 vs loose: 80/120); area ratio 110/100.
    expect(s.byType.occupation_building.meanAreaRatio).toBeCloseTo(1.1, 12);
    expect(s.byType.occupation_building.maxAreaError).toBeCloseTo(0.1, 12);
    expect(s.falsePatches.map((f) => f.id)).toEqual(['loose']);
  });

  it('matches several planted changes, each to its own detection', () => {
    // d1 overlaps p1 (IoU ≈0.91) and p2 slightly (IoU 0.05, below threshold); d2 overlaps p2 (IoU 0.8).
    const truth = [planted('p1', rect(0, 0, 10, 10)), planted('p2', rect(10, 0, 20, 10))];
    const s = scorePatches([det('d1', rect(0, 0, 11, 10)), det('d2', rect(12, 0, 20, 10))], truth, opts);
    expect(s.byType.occupation_building).toMatchObject({ matched: 2, recall: 1, precision: 1 });
    expect(s.byType.occupation_building.meanAreaRatio).toBeCloseTo((1.1 + 0.8) / 2, 12);
    expect(s.byType.occupation_building.maxAreaError).toBeCloseTo(0.2, 12);
  });

  it('is greedy, not an optimal assignment: the best pair is taken first even if that costs a match', () => {
    // d1–p1 0.818, d1–p2 0.667, d2–p1 0.43 (d2–p2 0.18 < threshold). Greedy takes d1–p1, leaving d2 and p2
    // unmatched, although d1–p2 + d2–p1 would match both.
    const truth = [planted('p1', rect(0, 0, 10, 10)), planted('p2', rect(3, 0, 13, 10))];
    const s = scorePatches([det('d1', rect(1, 0, 11, 10)), det('d2', rect(-4, 0, 6, 10))], truth, opts);
    expect(s.byType.occupation_building).toMatchObject({ planted: 2, detected: 2, matched: 1, recall: 0.5, precision: 0.5 });
    expect(s.falsePatches.map((f) => f.id)).toEqual(['d2']);
  });

  it('counts false patches over hard cases, and type mismatches as misses plus false patches', () => {
    const truth = [
      planted('p1', rect(0, 0, 10, 10), 'outflow_pond'),
      hard('h1', 'cloud', rect(100, 100, 120, 120)),
      hard('h2', 'harvest', rect(110, 110, 130, 130)),
      hard('h3', 'cloud', rect(105, 105, 108, 108)),
      hard('h4', 'flooded_paddy', rect(200, 0, 210, 10)),
    ];
    const s = scorePatches(
      [
        det('over-hard', rect(112, 112, 118, 118)),
        det('touching-only', rect(210, 0, 220, 10)), // shares an edge with h4: no area in common
        det('wrong-type', rect(0, 0, 10, 10), 'occupation_soil'),
      ],
      truth,
      opts,
    );
    expect(Object.keys(s.byType)).toEqual(['outflow_pond', 'occupation_building', 'occupation_soil']);
    expect(s.byType.outflow_pond).toMatchObject({ planted: 1, detected: 0, matched: 0, recall: 0, precision: 1 });
    // Types never planted: recall 1 (nothing to miss), precision 0.
    expect(s.byType.occupation_building).toMatchObject({ planted: 0, detected: 2, matched: 0, recall: 1, precision: 0 });
    expect(s.byType.occupation_soil).toMatchObject({ planted: 0, detected: 1, matched: 0, recall: 1, precision: 0 });
    expect(s.falsePatches).toEqual([
      { id: 'over-hard', type: 'occupation_building', overlaps: ['cloud', 'harvest'] },
      { id: 'touching-only', type: 'occupation_building', overlaps: [] },
      { id: 'wrong-type', type: 'occupation_soil', overlaps: [] },
    ]);
    expect(s.hardCaseFalsePatches).toBe(1);
  });

  it('counts legal planted changes matched by detections reported legal', () => {
    const truth = [
      planted('legal-ok', rect(0, 0, 10, 10), 'occupation_building', true),
      planted('legal-missed-flag', rect(20, 0, 30, 10), 'occupation_building', true),
      planted('legal-undetected', rect(40, 0, 50, 10), 'outflow_greenhouse', true),
      planted('illegal', rect(60, 0, 70, 10), 'occupation_building', false),
    ];
    const s = scorePatches(
      [det('d1', rect(0, 0, 10, 10), 'occupation_building', true), det('d2', rect(20, 0, 30, 10), 'occupation_building', false), det('d3', rect(60, 0, 70, 10), 'occupation_building', true)],
      truth,
      opts,
    );
    expect(s.byType.occupation_building).toMatchObject({ planted: 3, matched: 3, legalPlanted: 2, legalMatchedAsLegal: 1 });
    expect(s.byType.outflow_greenhouse).toMatchObject({ planted: 1, matched: 0, legalPlanted: 1, legalMatchedAsLegal: 0, missed: ['legal-undetected'] });
    expect(s.byType.occupation_building.matches.map((m) => m.planted)).toEqual(['legal-ok', 'legal-missed-flag', 'illegal']);
    expect(s.legalReportedAsLegal).toEqual({ planted: 3, correct: 1 });
  });

  it('handles empty inputs and polygons with holes', () => {
    expect(scorePatches([], [], opts)).toEqual({ iouThreshold: 0.3, byType: {}, falsePatches: [], hardCaseFalsePatches: 0, legalReportedAsLegal: { planted: 0, correct: 0 } });
    expect(scorePatches([], [planted('p', rect(0, 0, 1, 1))], opts).byType.occupation_building).toMatchObject({ recall: 0, precision: 1 });
    // A ring-shaped detection (10×10 with a 6×6 hole) against the full square: IoU = 64/100.
    const ringDet = det('ring', [square(0, 0, 10), square(2, 2, 6, true)]);
    const s = scorePatches([ringDet], [planted('p', rect(0, 0, 10, 10))], { iouThreshold: 0.64 });
    expect(s.byType.occupation_building.matched).toBe(1);
    expect(s.byType.occupation_building.meanAreaRatio).toBeCloseTo(0.64, 12);
    expect(scorePatches([ringDet], [planted('p', rect(0, 0, 10, 10))], { iouThreshold: 0.65 }).byType.occupation_building.matched).toBe(0);
    // Detection inside the hole of a planted ring: no overlap at all.
    const inHole = scorePatches([det('d', rect(3, 3, 7, 7))], [planted('p', [square(0, 0, 10), square(2, 2, 6)])], opts);
    expect(inHole.byType.occupation_building.matched).toBe(0);
  });

  it('rejects invalid input', () => {
    expect(() => scorePatches([], [], { iouThreshold: 0 })).toThrow(/iouThreshold/);
    expect(() => scorePatches([], [{ id: 'x', kind: 'change', polygon: rect(0, 0, 1, 1) }], opts)).toThrow(/no type/);
    expect(() => scorePatches([det('bad', [[]])], [], opts)).toThrow(/outer ring/);
  });
});
