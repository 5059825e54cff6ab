/**
 * Accuracy of outputs against references, for `farmwatch eval`:
 * - land cover: a class map against a label raster (with a class mapping) → confusion matrix,
 *   overall accuracy, Cohen's kappa, per-class recall/precision/F1;
 * - change: a run folder against planted changes (GeoJSON) → patch level (IoU matching, per type
 *   and overall) and pixel level (changed or not, and per type) precision, recall and F1.
 */
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { mapToPixel } from '../geo/grid.js';
import { burnPolygon } from '../geo/rasterize.js';
import { closeScene, openScene, readRawWindow } from '../imagery/index.js';
import { scorePatches, type Score } from '../outputs/score.js';
import { loadTruth, readPolygonParts } from '../truth.js';
import { ChangeType, type Grid } from '../types.js';

const round = (v: number) => Math.round(v * 1e4) / 1e4;
const f1 = (p: number, r: number) => (p + r > 0 ? round((2 * p * r) / (p + r)) : 0);

/** Counts (reference, predicted) pairs of class names. */
export class ConfusionMatrix {
  readonly counts = new Map<string, Map<string, number>>();
  add(reference: string, predicted: string, n = 1): void {
    let row = this.counts.get(reference);
    if (!row) this.counts.set(reference, (row = new Map()));
    row.set(predicted, (row.get(predicted) ?? 0) + n);
  }
  metric(): LandCoverAccuracy {
    const refTotal = new Map<string, number>();
    const predTotal = new Map<string, number>();
    let n = 0;
    let right = 0;
    for (const [r, row] of this.counts)
      for (const [p, c] of row) {
        refTotal.set(r, (refTotal.get(r) ?? 0) + c);
        predTotal.set(p, (predTotal.get(p) ?? 0) + c);
        n += c;
        if (r === p) right += c;
      }
    const oa = n ? right / n : 0;
    let pe = 0;
    for (const [k, t] of refTotal) pe += (t * (predTotal.get(k) ?? 0)) / (n * n);
    const classes = [...new Set([...refTotal.keys(), ...predTotal.keys()])].sort();
    const perClass: LandCoverAccuracy['perClass'] = {};
    for (const k of classes) {
      const tp = this.counts.get(k)?.get(k) ?? 0;
      const recall = refTotal.get(k) ? tp / refTotal.get(k)! : 0;
      const precision = predTotal.get(k) ? tp / predTotal.get(k)! : 0;
      perClass[k] = { recall: round(recall), precision: round(precision), f1: f1(precision, recall), support: refTotal.get(k) ?? 0, predicted: predTotal.get(k) ?? 0 };
    }
    const confusion = Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([r, row]) => [r, Object.fromEntries(row)]));
    return { pixels: n, overallAccuracy: round(oa), kappa: round(pe < 1 ? (oa - pe) / (1 - pe) : 0), classes, perClass, confusion };
  }
}

export interface LandCoverAccuracy {
  pixels: number;
  overallAccuracy: number;
  kappa: number;
  /** Every class seen in the reference or the prediction, sorted. */
  classes: string[];
  perClass: Record<string, { recall: number; precision: number; f1: number; support: number; predicted: number }>;
  /** reference → predicted → pixels. */
  confusion: Record<string, Record<string, number>>;
}

/** Raster value → class name; values not in the map are not scored. */
export type ClassMap = ReadonlyMap<number, string>;

/**
 * Parses "1=water,2=tree,3=herbaceous" (value = class name).
 * @throws ConfigError naming the bad item.
 */
export function parseClassMap(text: string, flag: string): ClassMap {
  const out = new Map<number, string>();
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(-?\d+)\s*=\s*(\S.*)$/.exec(item);
    if (!m) throw new ConfigError('CONFIG_INVALID', `${flag}: "${item}" is not value=class`, { field: flag });
    out.set(Number(m[1]), m[2].trim());
  }
  if (out.size === 0) throw new ConfigError('CONFIG_INVALID', `${flag}: no value=class pairs`, { field: flag });
  return out;
}

/**
 * Compares a land-cover raster with a label raster on the same grid, pixel by pixel, in strips.
 * Pixels whose value is in neither map (e.g. no-data, cloud) are left out.
 */
export async function evaluateLandCover(predPath: string, truthPath: string, maps: { pred: ClassMap; truth: ClassMap }): Promise<LandCoverAccuracy> {
  const pred = await openScene(predPath);
  const truth = await openScene(truthPath);
  try {
    const a = pred.info.grid;
    const b = truth.info.grid;
    if (a.width !== b.width || a.height !== b.height || (pred.info.georeferenced && truth.info.georeferenced && a.transform.some((v, i) => Math.abs(v - b.transform[i]) > 1e-6 * Math.max(1, Math.abs(v)))))
      throw new ConfigError('CONFIG_INVALID', `${predPath} (${a.width}×${a.height}) and ${truthPath} (${b.width}×${b.height}) are not on the same grid; resample one onto the other first`, { file: truthPath });
    const cm = new ConfusionMatrix();
    const strip = 256;
    for (let row = 0; row < a.height; row += strip) {
      const win = { col: 0, row, width: a.width, height: Math.min(strip, a.height - row) };
      const p = (await readRawWindow(pred, win, [pred.info.bands[0].name])).data[0];
      const t = (await readRawWindow(truth, win, [truth.info.bands[0].name])).data[0];
      for (let i = 0; i < p.length; i++) {
        const r = maps.truth.get(Number(t[i]));
        const q = maps.pred.get(Number(p[i]));
        if (r !== undefined && q !== undefined) cm.add(r, q);
      }
    }
    return cm.metric();
  } finally {
    await closeScene(pred);
    await closeScene(truth);
  }
}

export interface ChangeAccuracy {
  run: string;
  patch: {
    iouThreshold: number;
    planted: number;
    detected: number;
    matched: number;
    precision: number;
    recall: number;
    f1: number;
    byType: Record<string, { planted: number; detected: number; matched: number; precision: number; recall: number; f1: number; meanAreaRatio: number | null }>;
    falsePatchesOnHardCases: number;
    legalReportedAsLegal: { planted: number; correct: number };
  };
  pixel: { precision: number; recall: number; f1: number; changedPixels: number; truthPixels: number; byType: Record<string, { precision: number; recall: number; f1: number }> };
}

/** Detected patches of a run folder, in the grid's CRS. */
async function loadRunPatches(runDir: string, grid: Grid) {
  return (await readPolygonParts(join(runDir, 'patches.geojson'), grid, 'patches')).map(({ index, properties: p, polygon }) => ({
    id: String(p.JCBH ?? index),
    type: String(p.TBLX),
    legal: Boolean(p.HF),
    approval: (p.PZWH as string | null) ?? null,
    polygon,
  }));
}

/** Scores a run folder (change.tif + patches.geojson) against planted changes. */
export async function evaluateChange(runDir: string, truthFile: string, iouThreshold = 0.3): Promise<ChangeAccuracy> {
  const change = await openScene(join(runDir, 'change.tif'));
  try {
    const grid = change.info.grid;
    const truth = await loadTruth(truthFile, grid);
    const score: Score = scorePatches(await loadRunPatches(runDir, grid), truth, { iouThreshold });
    let planted = 0;
    let detected = 0;
    let matched = 0;
    const byType: ChangeAccuracy['patch']['byType'] = {};
    for (const [type, s] of Object.entries(score.byType)) {
      planted += s.planted;
      detected += s.detected;
      matched += s.matched;
      byType[type] = { planted: s.planted, detected: s.detected, matched: s.matched, precision: round(s.precision), recall: round(s.recall), f1: f1(s.precision, s.recall), meanAreaRatio: s.meanAreaRatio === null ? null : round(s.meanAreaRatio) };
    }
    const precision = detected ? matched / detected : 1;
    const recall = planted ? matched / planted : 1;

    // Pixel level: the truth burnt on the change raster's grid, type codes as in change.tif.
    const { width, height } = grid;
    const truthCodes = new Uint8Array(width * height);
    const win = { col: 0, row: 0, width, height };
    for (const t of truth) {
      if (t.kind !== 'change' || !t.type || !(t.type in ChangeType)) continue;
      burnPolygon(t.polygon.map((ring) => ring.map(([x, y]) => mapToPixel(grid.transform, x, y))), ChangeType[t.type as keyof typeof ChangeType], win, truthCodes);
    }
    const detectedCodes = (await readRawWindow(change, win, [change.info.bands[0].name])).data[0];
    const codes = Object.entries(ChangeType);
    const tp = new Float64Array(16);
    const predN = new Float64Array(16);
    const refN = new Float64Array(16);
    let anyTp = 0;
    let anyPred = 0;
    let anyRef = 0;
    for (let i = 0; i < truthCodes.length; i++) {
      const d = Number(detectedCodes[i]);
      const r = truthCodes[i];
      if (d > 0 && d < 16) predN[d]++;
      if (r) refN[r]++;
      if (d > 0 && d < 16 && d === r) tp[d]++;
      if (d > 0) anyPred++;
      if (r) anyRef++;
      if (d > 0 && r) anyTp++;
    }
    const pixelByType: ChangeAccuracy['pixel']['byType'] = {};
    for (const [name, code] of codes) {
      if (!refN[code] && !predN[code]) continue;
      const p = predN[code] ? tp[code] / predN[code] : 1;
      const r = refN[code] ? tp[code] / refN[code] : 1;
      pixelByType[name] = { precision: round(p), recall: round(r), f1: f1(p, r) };
    }
    const pp = anyPred ? anyTp / anyPred : 1;
    const pr = anyRef ? anyTp / anyRef : 1;
    return {
      run: runDir,
      patch: { iouThreshold, planted, detected, matched, precision: round(precision), recall: round(recall), f1: f1(precision, recall), byType, falsePatchesOnHardCases: score.hardCaseFalsePatches, legalReportedAsLegal: score.legalReportedAsLegal },
      pixel: { precision: round(pp), recall: round(pr), f1: f1(pp, pr), changedPixels: anyPred, truthPixels: anyRef, byType: pixelByType },
    };
  } finally {
    await closeScene(change);
  }
}

