import { describe, expect, it } from 'vitest';
import { NormalizeSchema } from '../../config/pipeline.js';
import type { RasterBlock } from '../types.js';
import { implausibleReflectance, percentileCalibrationFor, percentileCalibrationReason } from './calibrate.js';

const BANDS = ['blue', 'green', 'red', 'nir'] as const;
const reference = NormalizeSchema.parse({}).reference;

/** A land scene in surface reflectance: water, vegetation, soil and roofs, 1000 pixels each. */
function landScene(): RasterBlock {
  const covers = [
    [0.03, 0.04, 0.02, 0.01], // water
    [0.03, 0.07, 0.04, 0.4], // crop
    [0.09, 0.12, 0.15, 0.2], // soil
    [0.2, 0.22, 0.24, 0.27], // concrete
  ];
  const n = covers.length * 1000;
  const data = BANDS.map((_, b) => Float32Array.from({ length: n }, (_, p) => covers[Math.floor(p / 1000)][b] * (0.9 + 0.2 * ((p * 7919) % 1000) / 1000)));
  return { window: { col: 0, row: 0, width: n, height: 1 }, bandNames: [...BANDS], data, valid: new Uint8Array(n).fill(1) };
}

/** The same scene stored as digital numbers (reflectance = 2e-5·DN − 0.1, Landsat 8 Level-1) and read at 1/10000. */
function asLandsatDnAt10000(s: RasterBlock): RasterBlock {
  return { ...s, data: s.data.map((d) => d.map((r) => ((r + 0.1) / 2e-5) * 1e-4)) };
}

describe('percentile calibration', () => {
  it('takes surface reflectance as it is', () => {
    expect(implausibleReflectance([landScene()])).toBeNull();
    expect(percentileCalibrationReason('auto', 'uint16', [landScene()])).toBeNull();
    expect(percentileCalibrationFor('auto', 'uint16', [landScene()], reference)).toBeNull();
  });

  it('calibrates 8-bit input and what it is asked to, and never what it is told is reflectance', () => {
    expect(percentileCalibrationReason('auto', 'uint8', [landScene()])).toMatch(/8-bit/);
    expect(percentileCalibrationReason('percentile', 'uint16', [landScene()])).toMatch(/asked/);
    expect(percentileCalibrationReason('reflectance', 'uint16', [asLandsatDnAt10000(landScene())])).toBeNull();
  });

  it('names digital numbers read at the wrong scale, band by band, and maps them back near reflectance', () => {
    const dn = asLandsatDnAt10000(landScene());
    const why = implausibleReflectance([dn]);
    expect(why).toMatch(/darkest 1 % of every band reads above 0.25/);
    expect(why).toMatch(/blue 0\.\d\d, green/);
    const cal = percentileCalibrationFor('auto', 'uint16', [dn], reference)!;
    expect(cal.method).toBe('percentile');
    expect(cal.note).toMatch(/^values are not surface reflectance/);
    // Values above 1 are binned, not clamped: the mapping is monotonic and puts the scene's
    // darkest and brightest percentiles on the reference range.
    for (const b of cal.bands) {
      const [lo, hi] = reference[b.name];
      const i = BANDS.indexOf(b.name as (typeof BANDS)[number]);
      const sorted = Float32Array.from(dn.data[i]).sort();
      const at = (q: number) => b.gain * sorted[Math.floor(q * (sorted.length - 1))] + b.offset;
      expect(b.gain).toBeGreaterThan(0);
      expect(at(0.005)).toBeCloseTo(lo, 2);
      expect(at(0.99)).toBeCloseTo(hi, 1);
    }
  });

  it('names a band brighter than anything on the ground', () => {
    const s = landScene();
    const bright = { ...s, data: s.data.map((d, b) => (b === 3 ? d.map((v) => v * 6) : d)) };
    expect(implausibleReflectance([bright])).toMatch(/brightest 1 % of nir reads above 1.5/);
  });
});
