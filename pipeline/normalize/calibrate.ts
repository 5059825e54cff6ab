import type { RasterBlock } from '../types.js';
import type { Normalization } from './index.js';

/** How a scene's values become reflectance: as read (reflectance), by percentile matching, or auto. */
export type CalibrationMode = 'auto' | 'reflectance' | 'percentile';

/**
 * Why a scene's values, as read, need percentile calibration, or null when they are taken as
 * reflectance: asked for, or in 'auto' mode 8-bit input (a display product such as NAIP) or values
 * no surface reflectance can have (see implausibleReflectance).
 */
export function percentileCalibrationReason(mode: CalibrationMode, dtype: string, sample: readonly RasterBlock[]): string | null {
  if (mode === 'reflectance') return null;
  if (mode === 'percentile') return 'asked for (calibration: percentile)';
  if (dtype === 'uint8') return '8-bit input (a display product, not reflectance)';
  return implausibleReflectance(sample);
}

/** The percentile calibration a scene needs (percentileCalibrationReason), fitted on its sample, or null; the note says why. */
export function percentileCalibrationFor(mode: CalibrationMode, dtype: string, sample: readonly RasterBlock[], reference: ReflectanceReference): Normalization | null {
  const why = percentileCalibrationReason(mode, dtype, sample);
  if (!why) return null;
  const fit = fitPercentileCalibration(sample, reference);
  return { ...fit, note: `${why}; ${fit.note}` };
}

/** Above this, the darkest 1 % of every band is not a land scene's (water, shadow, and vegetation in red reflect < 0.1). */
const MAX_DARK_REFLECTANCE = 0.25;
/** Above this, the brightest 1 % of a band is not reflectance (fresh snow and cloud tops reach ≈ 0.9–1.1). */
const MAX_BRIGHT_REFLECTANCE = 1.5;

/**
 * Why values read as reflectance cannot be surface reflectance, or null when they can: the
 * darkest 1 % of every band above MAX_DARK_REFLECTANCE, or the brightest 1 % of a band above
 * MAX_BRIGHT_REFLECTANCE. Digital numbers at another scale than the one assumed do that (Landsat
 * Level-1 DNs, or Collection 2 Level-2 at 1/10000 instead of 2.75e-5 − 0.2: every pixel reads as
 * cloud). Only a scene under cloud or snow everywhere would be taken for one.
 */
export function implausibleReflectance(sample: readonly RasterBlock[]): string | null {
  const bandNames = sample[0]?.bandNames ?? [];
  const stats = bandNames.map((name, i) => ({ name, ...bandPercentiles(sample, i, [1, 99]) }));
  const counted = stats.filter((s) => s.n >= 100);
  if (!counted.length) return null;
  const fmt = (v: number) => v.toFixed(2);
  if (counted.every((s) => s.values[0] > MAX_DARK_REFLECTANCE))
    return `values are not surface reflectance: the darkest 1 % of every band reads above ${MAX_DARK_REFLECTANCE} (${counted.map((s) => `${s.name} ${fmt(s.values[0])}`).join(', ')}); pass the file's scale and offset to read it as reflectance`;
  const bright = counted.find((s) => s.values[1] > MAX_BRIGHT_REFLECTANCE);
  if (bright) return `values are not surface reflectance: the brightest 1 % of ${bright.name} reads above ${MAX_BRIGHT_REFLECTANCE} (${fmt(bright.values[1])}); pass the file's scale and offset to read it as reflectance`;
  return null;
}

/**
 * Percentiles (0–100) of band i's valid values over the blocks: a 4096-bin histogram over 0..1
 * (the reader's default scaling of integer types), widened to the values' own range if they leave it.
 */
function bandPercentiles(blocks: readonly RasterBlock[], i: number, ps: readonly number[]): { values: number[]; n: number } {
  let lo = 0;
  let hi = 1;
  for (const b of blocks)
    for (let p = 0; p < b.valid.length; p++)
      if (b.valid[p]) {
        const v = b.data[i][p];
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
  const bins = 4096;
  const hist = new Float64Array(bins);
  let n = 0;
  const scale = bins / (hi - lo);
  for (const b of blocks)
    for (let p = 0; p < b.valid.length; p++) {
      if (!b.valid[p]) continue;
      hist[Math.min(bins - 1, Math.floor((b.data[i][p] - lo) * scale))]++;
      n++;
    }
  return { values: ps.map((q) => lo + percentile(hist, n, q) / scale), n };
}

/** Where a band's low and high percentiles sit in surface reflectance for a typical land scene. */
export type ReflectanceReference = Readonly<Record<string, readonly [low: number, high: number]>>;

/**
 * Maps a scene that is not surface reflectance (8-bit display products such as NAIP or stretched
 * composites) onto approximate reflectance, per band, by matching its `pLow`/`pHigh` percentiles to
 * a reference range: the low end is a dark-object anchor (deep water and shadows reflect 1–2 % in
 * every band, whatever else the scene holds), the high end assumes a usual mix of land cover. This
 * is a pseudo-calibration and results say so (method 'percentile'). Bands without a reference pass unchanged.
 */
export function fitPercentileCalibration(
  blocks: readonly RasterBlock[],
  reference: ReflectanceReference,
  pLow = 0.5,
  pHigh = 99,
): Normalization {
  const bandNames = blocks[0]?.bandNames ?? [];
  let samples = 0;
  const bands = bandNames.map((name, i) => {
    const ref = reference[name];
    const { values: [lo, hi], n } = bandPercentiles(blocks, i, [pLow, pHigh]);
    samples = Math.max(samples, n);
    if (!ref || n < 100) return { name, gain: 1, offset: 0 };
    if (hi - lo < 1e-3) return { name, gain: 1, offset: 0 };
    const gain = (ref[1] - ref[0]) / (hi - lo);
    return { name, gain: round6(gain), offset: round6(ref[0] - gain * lo) };
  });
  return { method: 'percentile', bands, samples, note: `bands mapped from their p${pLow}/p${pHigh} to reference reflectance (approximate: input is not surface reflectance)` };
}

function percentile(hist: Float64Array, n: number, p: number): number {
  const target = (p / 100) * n;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i];
    if (acc >= target) return i + 0.5;
  }
  return hist.length - 0.5;
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
