import type { RasterBlock } from '../types.js';

/** Linear per-band mapping of the after image onto the before image's radiometry: after' = gain·after + offset. */
export interface Normalization {
  /** pif: relative normalisation between dates; percentile: pseudo-calibration of one scene (calibrate.ts). */
  readonly method: 'pif' | 'none' | 'percentile';
  readonly bands: readonly { name: string; gain: number; offset: number }[];
  /** Pixels the final fit rests on (pseudo-invariant features). */
  readonly samples: number;
  readonly note?: string;
}

export const identityNormalization = (bandNames: readonly string[], note?: string): Normalization => ({
  method: 'none',
  bands: bandNames.map((name) => ({ name, gain: 1, offset: 0 })),
  samples: 0,
  note,
});

export interface FitOptions {
  /** Fraction of the most stable pixels kept at each iteration. @defaultValue 0.3 */
  readonly keepFraction?: number;
  /** @defaultValue 5 */
  readonly iterations?: number;
  /** Most pixels used (a regular subsample of the rest). @defaultValue 400000 */
  readonly maxSamples?: number;
}

/**
 * Fits a relative radiometric normalisation from co-located before/after blocks, restricted to
 * `candidates` where given (e.g. pixels whose land cover has no phenology and did not change), by iteratively
 * selecting pseudo-invariant pixels (the fraction with the smallest standardised difference under
 * the current fit) and refitting each band by reduced-major-axis regression, which treats both
 * dates' noise alike. Seasonal change in crops and real changes fall out as outliers.
 * Gains are clamped to [0.5, 2]; with fewer than 1000 common valid pixels it returns the identity.
 */
export function fitNormalization(pairs: readonly { before: RasterBlock; after: RasterBlock; candidates?: Uint8Array }[], opts: FitOptions = {}): Normalization {
  const keep = opts.keepFraction ?? 0.3;
  const iterations = opts.iterations ?? 5;
  const maxSamples = opts.maxSamples ?? 400_000;
  const bandNames = pairs[0]?.before.bandNames ?? [];
  const nb = bandNames.length;
  let total = 0;
  const usable = (pair: (typeof pairs)[number], p: number) => pair.before.valid[p] && pair.after.valid[p] && (!pair.candidates || pair.candidates[p]);
  for (const pair of pairs) for (let p = 0; p < pair.before.valid.length; p++) if (usable(pair, p)) total++;
  if (total < 1000) return identityNormalization(bandNames, `only ${total} candidate pixels valid in both dates; no normalisation`);
  const step = Math.max(1, Math.ceil(total / maxSamples));
  const n = Math.ceil(total / step);
  const a = Array.from({ length: nb }, () => new Float32Array(n));
  const b = Array.from({ length: nb }, () => new Float32Array(n));
  let k = 0;
  let seen = 0;
  for (const pair of pairs) {
    const { before, after } = pair;
    const ai = nb === 0 ? [] : bandNames.map((name) => after.data[after.bandNames.indexOf(name)]);
    for (let p = 0; p < before.valid.length; p++) {
      if (!usable(pair, p)) continue;
      if (seen++ % step !== 0 || k >= n) continue;
      for (let i = 0; i < nb; i++) {
        a[i][k] = ai[i][p];
        b[i][k] = before.data[i][p];
      }
      k++;
    }
  }
  const m = k;
  let gain: Float64Array;
  let offset: Float64Array;
  let selected = Uint8Array.from({ length: m }, () => 1);
  const resid = new Float32Array(m);
  // Start from the identity: both dates are meant to be surface reflectance already, so the pixels
  // that agree best before any fit are the most likely invariant ones. Fitting all pixels first
  // would let widespread seasonal change (crops ripening) drag the first fit away from the truth.
  gain = new Float64Array(nb).fill(1);
  offset = new Float64Array(nb);
  for (let it = 0; it < iterations; it++) {
    if (it > 0) [gain, offset] = fitRma(a, b, selected, m);
    // Standardised residual with each band's spread, so bright bands don't dominate.
    const scale = bandNames.map((_, i) => Math.max(1e-4, stdOf(b[i], selected, m)));
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let i = 0; i < nb; i++) {
        const d = (gain[i] * a[i][j] + offset[i] - b[i][j]) / scale[i];
        s += d * d;
      }
      resid[j] = s;
    }
    const cut = quantile(resid, keep);
    selected = Uint8Array.from(resid, (r) => (r <= cut ? 1 : 0));
  }
  [gain, offset] = fitRma(a, b, selected, m);
  let used = 0;
  for (let j = 0; j < m; j++) used += selected[j];
  return {
    method: 'pif',
    bands: bandNames.map((name, i) => {
      const g = Math.min(2, Math.max(0.5, gain[i]));
      return { name, gain: round6(g), offset: round6(g === gain[i] ? offset[i] : meanOf(b[i], selected, m) - g * meanOf(a[i], selected, m)) };
    }),
    samples: used,
  };
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

function meanOf(x: Float32Array, sel: Uint8Array, m: number): number {
  let s = 0;
  let c = 0;
  for (let j = 0; j < m; j++)
    if (sel[j]) {
      s += x[j];
      c++;
    }
  return c ? s / c : 0;
}

function stdOf(x: Float32Array, sel: Uint8Array, m: number): number {
  const mu = meanOf(x, sel, m);
  let s = 0;
  let c = 0;
  for (let j = 0; j < m; j++)
    if (sel[j]) {
      s += (x[j] - mu) ** 2;
      c++;
    }
  return c > 1 ? Math.sqrt(s / (c - 1)) : 0;
}

function fitRma(a: Float32Array[], b: Float32Array[], sel: Uint8Array, m: number): [Float64Array, Float64Array] {
  const gain = new Float64Array(a.length);
  const offset = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const ma = meanOf(a[i], sel, m);
    const mb = meanOf(b[i], sel, m);
    const sa = stdOf(a[i], sel, m);
    const sb = stdOf(b[i], sel, m);
    gain[i] = sa > 0 ? sb / sa : 1;
    offset[i] = mb - gain[i] * ma;
  }
  return [gain, offset];
}

function quantile(x: Float32Array, q: number): number {
  const s = Float32Array.from(x).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))];
}

/** Applies a normalisation to a block (returns a new block; bands it doesn't name pass unchanged). */
export function applyNormalization(block: RasterBlock, norm: Normalization): RasterBlock {
  if (norm.method === 'none') return block;
  const data = block.data.map((band, i) => {
    const nb = norm.bands.find((x) => x.name === block.bandNames[i]);
    if (!nb) return band;
    const out = new Float32Array(band.length);
    for (let p = 0; p < band.length; p++) out[p] = nb.gain * band[p] + nb.offset;
    return out;
  });
  return { ...block, data };
}
