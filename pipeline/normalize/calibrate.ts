import type { RasterBlock } from '../types.js';
import type { Normalization } from './index.js';

/** How a scene's values become reflectance: as read (reflectance), by percentile matching, or auto. */
export type CalibrationMode = 'auto' | 'reflectance' | 'percentile';

/** 'auto' treats 8-bit input as a display product (not reflectance) and percentile-calibrates it. */
export const wantsPercentileCalibration = (mode: CalibrationMode, dtype: string): boolean =>
  mode === 'percentile' || (mode === 'auto' && dtype === 'uint8');

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
  const bins = 4096;
  let samples = 0;
  const bands = bandNames.map((name, i) => {
    const ref = reference[name];
    const hist = new Float64Array(bins);
    let n = 0;
    for (const b of blocks)
      for (let p = 0; p < b.valid.length; p++) {
        if (!b.valid[p]) continue;
        const v = b.data[i][p];
        // Values are the reader's default scaling (0..1 for integer types); bin over 0..1.
        hist[Math.max(0, Math.min(bins - 1, Math.floor(v * bins)))]++;
        n++;
      }
    samples = Math.max(samples, n);
    if (!ref || n < 100) return { name, gain: 1, offset: 0 };
    const lo = percentile(hist, n, pLow) / bins;
    const hi = percentile(hist, n, pHigh) / bins;
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
