/**
 * Hand-made reflectance blocks of known physics, for tests and benchmarks. Spectra are typical
 * surface reflectances (blue, green, red, nir) from standard spectral libraries, not samples of
 * any dataset the model was checked on.
 */
import type { RasterBlock } from '../types.js';

/** Surface reflectance [blue, green, red, nir]. */
export type Spectrum = readonly [number, number, number, number];

/** Typical spectra of the classes (and of the hard cases between them). */
export const SPECTRA = {
  clearWater: [0.05, 0.06, 0.03, 0.01],
  turbidWater: [0.07, 0.1, 0.09, 0.06],
  denseCrop: [0.03, 0.08, 0.04, 0.45],
  meadow: [0.03, 0.06, 0.04, 0.3],
  forestCanopy: [0.015, 0.025, 0.015, 0.22],
  sunlitCrown: [0.03, 0.06, 0.035, 0.35],
  shadedCrown: [0.01, 0.018, 0.01, 0.12],
  concrete: [0.25, 0.27, 0.28, 0.3],
  asphalt: [0.06, 0.065, 0.07, 0.08],
  blueSteelRoof: [0.2, 0.18, 0.1, 0.15],
  cloud: [0.5, 0.5, 0.5, 0.52],
  vegetationInShadow: [0.01, 0.015, 0.01, 0.06],
  freshSubsoil: [0.14, 0.18, 0.22, 0.26],
  ploughedTopsoil: [0.06, 0.08, 0.11, 0.15],
  greenhouseFilm: [0.22, 0.24, 0.23, 0.33],
} as const satisfies Record<string, Spectrum>;

/** A block whose pixel (x, y) has spectrum `at(x, y)`; all valid unless `valid` says otherwise. */
export function patternBlock(width: number, height: number, at: (x: number, y: number) => Spectrum, valid?: (x: number, y: number) => boolean): RasterBlock {
  const n = width * height;
  const data = [0, 1, 2, 3].map(() => new Float32Array(n));
  const mask = new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const s = at(x, y);
      for (let b = 0; b < 4; b++) data[b][p] = s[b];
      mask[p] = valid && !valid(x, y) ? 0 : 1;
    }
  }
  return { window: { col: 0, row: 0, width, height }, bandNames: ['blue', 'green', 'red', 'nir'], data, valid: mask };
}

/** A block of one spectrum. */
export const uniformBlock = (s: Spectrum, width = 9, height = 9): RasterBlock => patternBlock(width, height, () => s);

/**
 * A deterministic, varied 4-band scene (fields of different covers, noise, a river, roads), for
 * benchmarks and for comparing execution paths on realistic class mixtures.
 */
export function syntheticScene(width: number, height: number, seed = 1): RasterBlock {
  let state = seed >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const covers = Object.values(SPECTRA);
  const field = 37;
  const fieldCover = Array.from({ length: Math.ceil(width / field) * Math.ceil(height / field) }, () => covers[Math.floor(rand() * covers.length)]);
  return patternBlock(width, height, (x, y) => {
    if (Math.abs(y - height / 2 - 20 * Math.sin(x / 50)) < 4) return SPECTRA.clearWater;
    if (x % 211 < 3 || y % 173 < 3) return SPECTRA.asphalt;
    const s = fieldCover[Math.floor(y / field) * Math.ceil(width / field) + Math.floor(x / field)];
    const k = 0.9 + 0.2 * rand();
    return [s[0] * k, s[1] * k, s[2] * k, s[3] * (0.9 + 0.2 * rand())];
  });
}
