/**
 * Scores detected patches against planted truth (synthetic scenes and benchmarks): per-type
 * recall/precision by one-to-one IoU matching, area agreement, legality, and which false patches
 * fall on hard cases (clouds, harvested fields…).
 */
import polygonClipping from 'polygon-clipping';
import type { Polygon as PcPolygon } from 'polygon-clipping';
import Flatbush from 'flatbush';
import { ConfigError, VectorError } from '../errors.js';

/** A detected patch to score. `polygon` is outer ring then holes, in the truth's projected CRS. */
export interface ScoredPatch {
  id: string;
  type: string;
  legal: boolean;
  approval: string | null;
  polygon: number[][][];
}

/** A truth polygon: a planted change of some type, or a hard case (no change should be reported). */
export interface TruthFeature {
  id: string;
  kind: 'change' | 'hard_case';
  /** Change type; required for `kind: 'change'`. */
  type?: string;
  /** Hard-case kind, e.g. 'cloud', 'harvest', 'flooded_paddy'; for `kind: 'hard_case'`. */
  hardCase?: string;
  legal?: boolean;
  approval?: string | null;
  polygon: number[][][];
}

/** Per-type scores. */
export interface TypeScore {
  /** Planted changes of this type. */
  planted: number;
  /** Detected patches of this type. */
  detected: number;
  /** One-to-one matches with IoU ≥ threshold. */
  matched: number;
  /** matched / planted; 1 when planted = 0 (nothing to miss; false detections show in precision). */
  recall: number;
  /** matched / detected; 1 when detected = 0 (nothing reported wrongly). */
  precision: number;
  /** Mean of detected area / planted area over matches; null without matches. */
  meanAreaRatio: number | null;
  /** Max |detected area / planted area − 1| over matches; null without matches. */
  maxAreaError: number | null;
  /** Planted changes of this type that are legal (approved). */
  legalPlanted: number;
  /** Legal planted changes matched by a detection reported legal. */
  legalMatchedAsLegal: number;
  /** Planted changes not matched by any detection of this type. */
  missed: string[];
  /** Each match: planted and detected IDs, IoU and detected / planted area. */
  matches: { planted: string; detected: string; iou: number; areaRatio: number }[];
}

/** A detection that matched no planted change. */
export interface FalsePatch {
  id: string;
  type: string;
  /** Hard-case kinds (sorted, distinct) whose polygons it overlaps with positive area. */
  overlaps: string[];
}

/** Result of {@link scorePatches}. */
export interface Score {
  iouThreshold: number;
  /** Every type that was planted or detected, in order of first appearance (truth first). */
  byType: Record<string, TypeScore>;
  falsePatches: FalsePatch[];
  /** False patches that overlap at least one hard-case polygon. */
  hardCaseFalsePatches: number;
  /** Legal planted changes over all types, and how many were matched by a detection reported legal. */
  legalReportedAsLegal: { planted: number; correct: number };
}

/** Options of {@link scorePatches}. */
export interface ScoreOptions {
  /** Minimum IoU for a match (inclusive), e.g. 0.3. */
  iouThreshold: number;
}

/** Twice the signed shoelace area of a ring (positive counter-clockwise with y up). */
function ringArea2(ring: readonly (readonly number[])[]): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) s += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  return s;
}

/**
 * Planar area of a polygon (outer ring then holes, any orientation, closed or not): |outer| minus
 * the |holes|, by the shoelace formula. For projected coordinates (metres → m²); not ellipsoidal.
 */
export function polygonArea(poly: readonly (readonly (readonly number[])[])[]): number {
  if (poly.length === 0) return 0;
  let a = Math.abs(ringArea2(poly[0]));
  for (let i = 1; i < poly.length; i++) a -= Math.abs(ringArea2(poly[i]));
  return Math.max(0, a / 2);
}

const multiArea = (mp: readonly PcPolygon[]): number => mp.reduce((s, p) => s + polygonArea(p), 0);

interface Prepared {
  readonly id: string;
  readonly poly: PcPolygon;
  readonly area: number;
  readonly bbox: readonly [number, number, number, number];
}

function prepare(id: string, polygon: number[][][]): Prepared {
  if (!Array.isArray(polygon) || polygon.length === 0 || !Array.isArray(polygon[0]) || polygon[0].length < 3)
    throw new VectorError('VECTOR_INVALID', `Polygon of ${id} has no outer ring`, { feature: id });
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of polygon[0]) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new VectorError('VECTOR_INVALID', `Polygon of ${id} has a non-finite coordinate`, { feature: id });
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const poly = polygon as unknown as PcPolygon;
  // Area as polygon-clipping sees the shape (it resolves self-overlap), so IoU stays within 0..1.
  let area: number;
  try {
    area = multiArea(polygonClipping.union(poly));
  } catch {
    area = polygonArea(polygon);
  }
  return { id, poly, area, bbox: [minX, minY, maxX, maxY] };
}

function intersectionArea(a: Prepared, b: Prepared): number {
  if (a.bbox[0] >= b.bbox[2] || b.bbox[0] >= a.bbox[2] || a.bbox[1] >= b.bbox[3] || b.bbox[1] >= a.bbox[3]) return 0;
  try {
    return multiArea(polygonClipping.intersection(a.poly, b.poly));
  } catch {
    // Nearly coincident edges (a patch that traces its truth polygon, reprojected and back) trip
    // polygon-clipping; on a shared 1 mm grid they coincide exactly, which it handles.
  }
  try {
    return multiArea(polygonClipping.intersection(snap(a.poly), snap(b.poly)));
  } catch (err) {
    // polygon-clipping throws on some degenerate inputs; name the features so the data can be fixed.
    throw new VectorError('VECTOR_INVALID', `Cannot intersect ${a.id} with ${b.id}: ${(err as Error)?.message ?? String(err)}`, { feature: `${a.id},${b.id}` }, { cause: err });
  }
}

const snap = (poly: PcPolygon): PcPolygon => poly.map((ring) => ring.map(([x, y]) => [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000] as [number, number]));

/** Spatial index of prepared polygons; `search` returns indices whose boxes touch `bbox`. */
function indexOf(items: readonly Prepared[]): (bbox: Prepared['bbox']) => number[] {
  if (items.length === 0) return () => [];
  const index = new Flatbush(items.length);
  for (const it of items) index.add(it.bbox[0], it.bbox[1], it.bbox[2], it.bbox[3]);
  index.finish();
  return (b) => index.search(b[0], b[1], b[2], b[3]);
}

const ratio = (num: number, den: number): number => (den === 0 ? 1 : num / den);

/**
 * Scores detections against truth. Geometries must share one projected CRS (the caller reprojects).
 *
 * Matching, per type: candidate pairs (bounding boxes overlap) get IoU = |A∩B| / (|A| + |B| − |A∩B|)
 * with areas from polygon-clipping; pairs are taken greedily by descending IoU (ties by ids, for
 * determinism), each planted change and each detection at most once, while IoU ≥ `iouThreshold`.
 * Detections left unmatched, including those of a type never planted, are false patches; their
 * `overlaps` lists the hard-case kinds they touch with positive area.
 * Legality: a legal planted change counts as correct when its matched detection is reported legal
 * (the approval number itself is not compared).
 */
export function scorePatches(detected: readonly ScoredPatch[], truth: readonly TruthFeature[], opts: ScoreOptions): Score {
  const thr = opts.iouThreshold;
  if (!(thr > 0 && thr <= 1)) throw new ConfigError('CONFIG_INVALID', `iouThreshold must be in (0, 1] (got ${thr})`, { field: 'iouThreshold' });

  const changes = truth.filter((t) => t.kind === 'change');
  for (const t of changes) if (!t.type) throw new VectorError('VECTOR_INVALID', `Truth change ${t.id} has no type`, { feature: t.id });
  const hardCases = truth.filter((t) => t.kind === 'hard_case');

  const types: string[] = [];
  for (const t of changes) if (!types.includes(t.type!)) types.push(t.type!);
  for (const d of detected) if (!types.includes(d.type)) types.push(d.type);

  const byType: Record<string, TypeScore> = {};
  const unmatched: ScoredPatch[] = [];
  let legalPlantedAll = 0;
  let legalCorrectAll = 0;

  for (const type of types) {
    const P = changes.filter((t) => t.type === type);
    const D = detected.filter((d) => d.type === type);
    const pp = P.map((t) => prepare(t.id, t.polygon));
    const dp = D.map((d) => prepare(d.id, d.polygon));
    const search = indexOf(pp);

    const pairs: { pi: number; di: number; iou: number }[] = [];
    dp.forEach((d, di) => {
      for (const pi of search(d.bbox)) {
        const inter = intersectionArea(pp[pi], d);
        if (inter <= 0) continue;
        const union = pp[pi].area + d.area - inter;
        const iou = union > 0 ? Math.min(1, inter / union) : 0;
        if (iou >= thr) pairs.push({ pi, di, iou });
      }
    });
    pairs.sort((x, y) => y.iou - x.iou || P[x.pi].id.localeCompare(P[y.pi].id) || D[x.di].id.localeCompare(D[y.di].id));

    const matchOfP = new Array<number>(P.length).fill(-1);
    const matchOfD = new Array<number>(D.length).fill(-1);
    for (const { pi, di } of pairs) {
      if (matchOfP[pi] >= 0 || matchOfD[di] >= 0) continue;
      matchOfP[pi] = di;
      matchOfD[di] = pi;
    }

    let matched = 0;
    let ratioSum = 0;
    let maxErr = 0;
    let legalPlanted = 0;
    let legalOk = 0;
    const missed: string[] = [];
    const matches: TypeScore['matches'] = [];
    const iouOf = new Map(pairs.map((x) => [`${x.pi}:${x.di}`, x.iou]));
    P.forEach((t, pi) => {
      const di = matchOfP[pi];
      if (t.legal) legalPlanted++;
      if (di < 0) {
        missed.push(t.id);
        return;
      }
      matched++;
      const r = pp[pi].area > 0 ? dp[di].area / pp[pi].area : Infinity;
      matches.push({ planted: t.id, detected: D[di].id, iou: round3(iouOf.get(`${pi}:${di}`)!), areaRatio: round3(r) });
      ratioSum += r;
      maxErr = Math.max(maxErr, Math.abs(r - 1));
      if (t.legal && D[di].legal) legalOk++;
    });
    D.forEach((d, di) => {
      if (matchOfD[di] < 0) unmatched.push(d);
    });
    legalPlantedAll += legalPlanted;
    legalCorrectAll += legalOk;
    byType[type] = {
      planted: P.length,
      detected: D.length,
      matched,
      recall: ratio(matched, P.length),
      precision: ratio(matched, D.length),
      meanAreaRatio: matched > 0 ? ratioSum / matched : null,
      maxAreaError: matched > 0 ? maxErr : null,
      legalPlanted,
      legalMatchedAsLegal: legalOk,
      missed,
      matches,
    };
  }

  const hp = hardCases.map((h) => prepare(h.id, h.polygon));
  const searchHard = indexOf(hp);
  const falsePatches: FalsePatch[] = unmatched.map((d) => {
    const p = prepare(d.id, d.polygon);
    const kinds = new Set<string>();
    for (const hi of searchHard(p.bbox)) if (intersectionArea(p, hp[hi]) > 0) kinds.add(hardCases[hi].hardCase ?? 'unspecified');
    return { id: d.id, type: d.type, overlaps: [...kinds].sort() };
  });

  return {
    iouThreshold: thr,
    byType,
    falsePatches,
    hardCaseFalsePatches: falsePatches.filter((f) => f.overlaps.length > 0).length,
    legalReportedAsLegal: { planted: legalPlantedAll, correct: legalCorrectAll },
  };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
