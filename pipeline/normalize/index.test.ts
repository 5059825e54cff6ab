import { describe, expect, it } from 'vitest';
import type { RasterBlock } from '../types.js';
import { applyNormalization, fitNormalization } from './index.js';

/** Deterministic pseudo-random numbers for test data. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function block(data: Float32Array[], valid?: Uint8Array): RasterBlock {
  const n = data[0].length;
  return { window: { col: 0, row: 0, width: n, height: 1 }, bandNames: ['red', 'nir'], data, valid: valid ?? new Uint8Array(n).fill(1) };
}

describe('fitNormalization', () => {
  it('recovers a per-band gain and offset despite 40 % changed pixels', () => {
    const r = rng(7);
    const n = 20000;
    const red = new Float32Array(n);
    const nir = new Float32Array(n);
    const aRed = new Float32Array(n);
    const aNir = new Float32Array(n);
    for (let p = 0; p < n; p++) {
      red[p] = 0.03 + 0.2 * r();
      nir[p] = 0.1 + 0.3 * r();
      const changed = p % 5 < 2;
      // after = (before - offset) / gain, i.e. before = 1.2·after + 0.01 (red), 0.9·after − 0.02 (nir)
      const tRed = changed ? 0.05 + 0.3 * r() : red[p];
      const tNir = changed ? 0.02 + 0.1 * r() : nir[p];
      aRed[p] = (tRed - 0.01) / 1.2 + (r() - 0.5) * 0.002;
      aNir[p] = (tNir + 0.02) / 0.9 + (r() - 0.5) * 0.002;
    }
    const norm = fitNormalization([{ before: block([red, nir]), after: block([aRed, aNir]) }]);
    expect(norm.method).toBe('pif');
    expect(norm.bands[0].gain).toBeCloseTo(1.2, 1);
    expect(norm.bands[0].offset).toBeCloseTo(0.01, 2);
    expect(norm.bands[1].gain).toBeCloseTo(0.9, 1);
    expect(norm.bands[1].offset).toBeCloseTo(-0.02, 2);
    const applied = applyNormalization(block([aRed, aNir]), norm);
    // An unchanged pixel maps back onto the before value.
    expect(Math.abs(applied.data[0][2] - red[2])).toBeLessThan(0.005);
  });

  it('returns the identity when too few pixels are valid in both dates', () => {
    const d = [new Float32Array(10), new Float32Array(10)];
    const norm = fitNormalization([{ before: block(d), after: block(d) }]);
    expect(norm.method).toBe('none');
    expect(norm.note).toMatch(/only 10 candidate pixels/);
  });
});
