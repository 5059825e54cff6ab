/**
 * Sanity check of a land-cover model on the small real labelled sets in `../shared/data`.
 *
 * This is NOT a training or evaluation protocol: a handful of patches from two places, labels from
 * other class schemes mapped onto ours, one of them not even reflectance. It answers "does the
 * model behave physically on real pixels, and where does it break", and guards against
 * regressions. Reads GeoTIFFs with geotiff.js directly (validation tooling, not the pipeline).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { NormalizeSchema } from '../../config/pipeline.js';
import { fitPercentileCalibration } from '../../pipeline/normalize/calibrate.js';
import { applyNormalization } from '../../pipeline/normalize/index.js';
import { LandCover, landCoverName, type LandCoverBlock, type LandCoverName, type RasterBlock } from '../../pipeline/types.js';

/** A scene with reference labels and, per reference class, the classes of ours that count as correct. */
export interface LabelledScene {
  readonly dataset: string;
  readonly name: string;
  readonly block: RasterBlock;
  /** Reference class name per pixel; null = not scored (no-data or unmappable). */
  readonly reference: readonly (string | null)[];
  readonly accepted: Readonly<Record<string, readonly LandCoverName[]>>;
  /** How the pixels were turned into model input. */
  readonly preprocessing: string;
}

/** Accuracy of one or more scenes (shape of a model-card metric). */
export interface Metric {
  dataset: string;
  protocol: string;
  pixels: number;
  overallAccuracy: number;
  perReference: Record<string, { accepted: string[]; recall: number; support: number }>;
  perPredicted: Record<string, { precision: number; count: number }>;
  confusion: Record<string, Record<string, number>>;
}

/** Classifies a block (worker pool, or an in-thread session in tools). */
export type ClassifyFn = (block: RasterBlock) => Promise<LandCoverBlock>;

export const SLOVENIA = 'eolearn-slovenia-s2-lulc';
export const CHESAPEAKE = 'chesapeake-landcover-geobench-samples';

/** eo-learn land-cover example scheme → our classes. Cultivated land may be bare at image time. */
const SLOVENIA_CLASSES: Record<number, { name: string; accepted: LandCoverName[] }> = {
  1: { name: 'cultivated', accepted: ['herbaceous', 'bare'] },
  2: { name: 'forest', accepted: ['tree'] },
  3: { name: 'grassland', accepted: ['herbaceous'] },
  4: { name: 'shrubland', accepted: ['tree', 'orchard'] },
  5: { name: 'water', accepted: ['water'] },
  8: { name: 'artificial', accepted: ['built'] },
  9: { name: 'bareland', accepted: ['bare', 'disturbed'] },
};

/** Chesapeake CVPR scheme → our classes. */
const CHESAPEAKE_CLASSES: Record<number, { name: string; accepted: LandCoverName[] }> = {
  1: { name: 'water', accepted: ['water'] },
  2: { name: 'tree canopy', accepted: ['tree', 'orchard'] },
  3: { name: 'low vegetation', accepted: ['herbaceous'] },
  4: { name: 'barren', accepted: ['bare', 'disturbed'] },
  5: { name: 'impervious', accepted: ['built'] },
  6: { name: 'impervious road', accepted: ['built'] },
};

/** Central wavelengths (µm) of Sentinel-2 B02, B03, B04, B08. */
const S2_WAVELENGTH = { blue: 0.49, green: 0.56, red: 0.665, nir: 0.842 } as const;

async function readBands(path: string, samples: number[]): Promise<{ width: number; height: number; bands: Float32Array[] }> {
  const tiff = await fromFile(path);
  try {
    const image = await tiff.getImage();
    const rasters = (await image.readRasters({ samples })) as unknown as ArrayLike<number>[];
    return { width: image.getWidth(), height: image.getHeight(), bands: Array.from(rasters, (r) => Float32Array.from(r)) };
  } finally {
    await tiff.close();
  }
}

function quantile(a: Float32Array, q: number): number {
  const s = Float32Array.from(a).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/**
 * Improved dark-object subtraction (Chavez 1988) for TOA reflectance: the darkest blue and red
 * pixels (0.1 % quantile) are taken to be 1 % reflectors (Chavez 1996); what exceeds that is path
 * reflectance. The blue/red path ratio gives the scattering exponent n (path ∝ λ^−n, 4 = pure
 * Rayleigh, ≈ 0.5 very hazy, Chavez's range), which predicts green and NIR path without trusting
 * a NIR dark object (a vegetated scene has none). Transmittance is ignored, as in DOS1.
 */
export function darkObjectSubtraction(bands: { blue: Float32Array; green: Float32Array; red: Float32Array; nir: Float32Array }): { haze: Record<'blue' | 'green' | 'red' | 'nir', number>; exponent: number } {
  const hb = Math.max(0, quantile(bands.blue, 0.001) - 0.01);
  const hr = Math.max(0, quantile(bands.red, 0.001) - 0.01);
  const raw = hb > 0 && hr > 0 ? Math.log(hb / hr) / Math.log(S2_WAVELENGTH.red / S2_WAVELENGTH.blue) : 4;
  const exponent = Math.min(4, Math.max(0.5, raw));
  const at = (l: number) => hb * (S2_WAVELENGTH.blue / l) ** exponent;
  const haze = { blue: hb, green: at(S2_WAVELENGTH.green), red: at(S2_WAVELENGTH.red), nir: at(S2_WAVELENGTH.nir) };
  for (const k of ['blue', 'green', 'red', 'nir'] as const) {
    const b = bands[k];
    for (let i = 0; i < b.length; i++) b[i] -= haze[k];
  }
  return { haze, exponent };
}

/**
 * The five eo-learn Sentinel-2 L1C scenes (TOA reflectance, already float 0..1: no /10000) with
 * the LULC raster. B02, B03, B04, B08 → blue, green, red, nir.
 * @param correction 'dos': dark-object subtraction toward surface reflectance; 'toa': as stored.
 */
export async function loadSlovenia(dataRoot: string, correction: 'dos' | 'toa'): Promise<LabelledScene[]> {
  const dir = join(dataRoot, SLOVENIA);
  const labels = await readBands(join(dir, 'lulc_labels.tif'), [0]);
  const reference = Array.from(labels.bands[0], (v) => SLOVENIA_CLASSES[v]?.name ?? null);
  const accepted = Object.fromEntries(Object.values(SLOVENIA_CLASSES).map((c) => [c.name, c.accepted]));
  const scenes: LabelledScene[] = [];
  for (let s = 0; s < 5; s++) {
    const { width, height, bands } = await readBands(join(dir, `s2_l1c_reference_scene_${s}.tif`), [1, 2, 3, 7]);
    const [blue, green, red, nir] = bands;
    let preprocessing = 'Sentinel-2 L1C TOA reflectance as stored';
    if (correction === 'dos') {
      const { haze, exponent } = darkObjectSubtraction({ blue, green, red, nir });
      preprocessing = `TOA minus dark-object path reflectance (Chavez 1988, n = ${exponent.toFixed(2)}; blue ${haze.blue.toFixed(3)}, green ${haze.green.toFixed(3)}, red ${haze.red.toFixed(3)}, nir ${haze.nir.toFixed(3)})`;
    }
    scenes.push({
      dataset: SLOVENIA,
      name: `scene ${s}`,
      block: { window: { col: 0, row: 0, width, height }, bandNames: ['blue', 'green', 'red', 'nir'], data: [blue, green, red, nir], valid: new Uint8Array(width * height).fill(1) },
      reference,
      accepted,
      preprocessing,
    });
  }
  return scenes;
}

/**
 * The three Chesapeake NAIP patches (uint8 R, G, B, NIR). DN/255 is only a rough reflectance
 * proxy: NAIP is not radiometrically calibrated and is stretched for appearance, so vegetation
 * shows 0.3–0.5 in the visible where its reflectance is ≈ 0.03–0.08.
 * @param calibration 'dn255': DN/255 as stored; 'percentile': each patch calibrated as a pipeline
 *   run calibrates an 8-bit scene (`normalize.calibration` auto, default reference).
 */
export async function loadChesapeake(dataRoot: string, calibration: 'dn255' | 'percentile' = 'dn255'): Promise<LabelledScene[]> {
  const dir = join(dataRoot, CHESAPEAKE);
  const accepted = Object.fromEntries(Object.values(CHESAPEAKE_CLASSES).map((c) => [c.name, c.accepted]));
  const scenes: LabelledScene[] = [];
  for (const id of ['000051', '000138', '000181']) {
    const img = await readBands(join(dir, `id_${id}_naip_rgbn.tif`), [0, 1, 2, 3]);
    const lab = await readBands(join(dir, `id_${id}_label.tif`), [0]);
    const [red, green, blue, nir] = img.bands.map((b) => b.map((v) => v / 255));
    const raw: RasterBlock = { window: { col: 0, row: 0, width: img.width, height: img.height }, bandNames: ['blue', 'green', 'red', 'nir'], data: [blue, green, red, nir], valid: new Uint8Array(img.width * img.height).fill(1) };
    const block = calibration === 'percentile' ? applyNormalization(raw, fitPercentileCalibration([raw], NormalizeSchema.parse({}).reference)) : raw;
    scenes.push({
      dataset: CHESAPEAKE,
      name: `id_${id}`,
      block,
      reference: Array.from(lab.bands[0], (v) => CHESAPEAKE_CLASSES[v]?.name ?? null),
      accepted,
      preprocessing: calibration === 'percentile' ? 'NAIP DN percentile-calibrated per patch, as detect and classify read 8-bit input' : 'NAIP DN / 255 (rough proxy, not reflectance)',
    });
  }
  return scenes;
}

/** True when the shared data folder for `dataset` is present. */
export function hasDataset(dataRoot: string, dataset: string): boolean {
  return existsSync(join(dataRoot, dataset));
}

/** Classifies the scenes and scores them together. */
export async function evaluate(scenes: readonly LabelledScene[], classify: ClassifyFn, dataset: string, protocol: string): Promise<Metric> {
  const results: LandCoverBlock[] = [];
  for (const s of scenes) results.push(await classify(s.block));
  return score(scenes, results, dataset, protocol);
}

/**
 * Overall accuracy, recall per reference class, precision per predicted class and the confusion
 * matrix. A prediction is correct when it is in the reference class's accepted set.
 */
export function score(scenes: readonly LabelledScene[], results: readonly LandCoverBlock[], dataset: string, protocol: string): Metric {
  const confusion: Record<string, Record<string, number>> = {};
  const predictedTotal: Record<string, number> = {};
  const predictedRight: Record<string, number> = {};
  let pixels = 0;
  let right = 0;
  scenes.forEach((s, i) => {
    const classes = results[i].classes;
    s.reference.forEach((ref, p) => {
      if (ref === null) return;
      const pred = landCoverName(classes[p]);
      const row = (confusion[ref] ??= {});
      row[pred] = (row[pred] ?? 0) + 1;
      const ok = s.accepted[ref].includes(pred);
      pixels++;
      if (ok) right++;
      predictedTotal[pred] = (predictedTotal[pred] ?? 0) + 1;
      if (ok) predictedRight[pred] = (predictedRight[pred] ?? 0) + 1;
    });
  });
  const accepted = scenes[0]?.accepted ?? {};
  const perReference: Metric['perReference'] = {};
  for (const [ref, row] of Object.entries(confusion)) {
    const support = Object.values(row).reduce((a, b) => a + b, 0);
    const ok = accepted[ref].reduce((a, c) => a + (row[c] ?? 0), 0);
    perReference[ref] = { accepted: [...accepted[ref]], recall: round(ok / support), support };
  }
  const perPredicted: Metric['perPredicted'] = {};
  for (const name of Object.keys(LandCover) as LandCoverName[]) {
    const n = predictedTotal[name];
    if (n) perPredicted[name] = { precision: round((predictedRight[name] ?? 0) / n), count: n };
  }
  return { dataset, protocol, pixels, overallAccuracy: round(pixels ? right / pixels : 0), perReference, perPredicted, confusion };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
