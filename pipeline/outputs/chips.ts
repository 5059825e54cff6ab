/**
 * Evidence chips: a before/after pair of true-colour PNGs of a patch's window with the patch
 * outline drawn on top, for the clue list and the review page.
 */
import sharp from 'sharp';
import type { RasterBlock } from '../types.js';
import type { PixelPolygon } from '../geo/rasterize.js';
import { ConfigError, OutputError } from '../errors.js';

/** Linear stretch per RGB band in reflectance units: `min` maps to 0, `max` to 255. */
export interface BandStretch {
  min: number[];
  max: number[];
}

/** Options of {@link renderChipPair}. */
export interface ChipOptions {
  /** Minimum chip edge in pixels (the shorter side reaches it by integer upscaling); default 256. */
  minSize?: number;
  /** Upper bound of the longer side, so a long thin window does not become a huge PNG; default 2048. */
  maxSize?: number;
  /** Band names shown as red, green, blue; default `['red', 'green', 'blue']`. */
  rgb?: readonly [string, string, string];
  /** Outline colour (CSS); default yellow `#ffff00`. */
  outlineColor?: string;
  /** Outline width in output pixels; default 2. */
  outlineWidth?: number;
}

/** Default RGB band names. */
export const DEFAULT_RGB: readonly [string, string, string] = ['red', 'green', 'blue'];

/** Stretch used when the samples hold no valid pixel: typical land reflectance 0..0.3. */
export const FALLBACK_STRETCH: Readonly<BandStretch> = { min: [0, 0, 0], max: [0.3, 0.3, 0.3] };

// Fixed histogram over the reflectance range surface reflectance can take in practice (negative over
// water after atmospheric correction, above 1 on specular roofs); values outside land in the end bins.
// 8000 bins → 0.00025 resolution, well below one 8-bit step of any useful stretch.
const HIST_MIN = -0.25;
const HIST_MAX = 1.75;
const HIST_BINS = 8000;
const BIN_WIDTH = (HIST_MAX - HIST_MIN) / HIST_BINS;

function bandIndices(block: RasterBlock, rgb: readonly string[]): number[] {
  return rgb.map((name) => {
    const i = block.bandNames.indexOf(name);
    if (i < 0) throw new OutputError('MISSING_BAND', `Band "${name}" needed for the chip is not in the block (has ${block.bandNames.join(', ')})`, { band: name });
    return i;
  });
}

/**
 * Per-band stretch from the `pLow`/`pHigh` percentiles of the valid, finite pixels of `samples`
 * (typically the before and after windows of a scene, or a sample of tiles, so every chip of a
 * run uses the same stretch and colours are comparable). Uses a fixed 8000-bin histogram over
 * −0.25..1.75 reflectance (values outside are counted in the end bins) with linear interpolation
 * inside the bin, so cost is one pass and memory is constant. Without any valid pixel returns
 * {@link FALLBACK_STRETCH}. A band whose percentiles coincide gets `max = min + 1e-3`.
 */
export function computeStretch(samples: readonly RasterBlock[], rgb: readonly string[] = DEFAULT_RGB, pLow = 2, pHigh = 98): BandStretch {
  if (!(pLow >= 0 && pHigh <= 100 && pLow < pHigh)) throw new ConfigError('CONFIG_INVALID', `Stretch percentiles must satisfy 0 ≤ pLow < pHigh ≤ 100 (got ${pLow}, ${pHigh})`, { field: 'stretch' });
  const hists = rgb.map(() => new Float64Array(HIST_BINS));
  const counts = rgb.map(() => 0);
  for (const block of samples) {
    const idx = bandIndices(block, rgb);
    const n = block.window.width * block.window.height;
    idx.forEach((bi, k) => {
      const data = block.data[bi];
      const hist = hists[k];
      let c = 0;
      for (let p = 0; p < n; p++) {
        if (!block.valid[p]) continue;
        const v = data[p];
        if (!Number.isFinite(v)) continue;
        let b = Math.floor((v - HIST_MIN) / BIN_WIDTH);
        if (b < 0) b = 0;
        else if (b >= HIST_BINS) b = HIST_BINS - 1;
        hist[b]++;
        c++;
      }
      counts[k] += c;
    });
  }
  if (counts.some((c) => c === 0)) return { min: [...FALLBACK_STRETCH.min], max: [...FALLBACK_STRETCH.max] };
  const percentile = (hist: Float64Array, total: number, p: number): number => {
    const target = (p / 100) * total;
    let cum = 0;
    for (let b = 0; b < HIST_BINS; b++) {
      const c = hist[b];
      if (c > 0 && cum + c >= target) return HIST_MIN + (b + (target - cum) / c) * BIN_WIDTH;
      cum += c;
    }
    return HIST_MAX;
  };
  const min: number[] = [];
  const max: number[] = [];
  hists.forEach((h, k) => {
    const lo = percentile(h, counts[k], pLow);
    let hi = percentile(h, counts[k], pHigh);
    if (!(hi > lo)) hi = lo + 1e-3;
    min.push(lo);
    max.push(hi);
  });
  return { min, max };
}

/** 8-bit RGB raster of a block; invalid or non-finite pixels are black. */
function toRgb8(block: RasterBlock, rgb: readonly string[], stretch: BandStretch): Buffer {
  const { width, height } = block.window;
  const n = width * height;
  const idx = bandIndices(block, rgb);
  for (const bi of idx)
    if (block.data[bi].length < n) throw new OutputError('OUTPUT_FAILED', `Band "${block.bandNames[bi]}" holds ${block.data[bi].length} values, window needs ${n}`, { band: block.bandNames[bi] });
  if (block.valid.length < n) throw new OutputError('OUTPUT_FAILED', `Validity mask holds ${block.valid.length} values, window needs ${n}`, {});
  const out = Buffer.alloc(n * 3); // zero-filled: pixels skipped below stay black
  const [r, g, b] = idx.map((i) => block.data[i]);
  const lo = stretch.min;
  const scale = stretch.max.map((hi, k) => (hi > lo[k] ? 255 / (hi - lo[k]) : 0));
  const to8 = (v: number, k: number): number => {
    const s = Math.round((v - lo[k]) * scale[k]);
    return s < 0 ? 0 : s > 255 ? 255 : s;
  };
  for (let p = 0; p < n; p++) {
    const vr = r[p];
    const vg = g[p];
    const vb = b[p];
    // A non-finite value in any band makes the pixel unusable, like valid = 0.
    if (!block.valid[p] || !Number.isFinite(vr) || !Number.isFinite(vg) || !Number.isFinite(vb)) continue;
    out[p * 3] = to8(vr, 0);
    out[p * 3 + 1] = to8(vg, 1);
    out[p * 3 + 2] = to8(vb, 2);
  }
  return out;
}

/** SVG path data of the outline rings, scaled by `k`. */
function outlinePath(outline: PixelPolygon, k: number): string {
  const fmt = (v: number): string => String(Math.round(v * k * 100) / 100);
  return outline
    .filter((ring) => ring.length >= 2)
    .map((ring) => 'M' + ring.map(([x, y]) => `${fmt(x)} ${fmt(y)}`).join(' L') + ' Z')
    .join(' ');
}

async function renderOne(block: RasterBlock, rgb: readonly string[], stretch: BandStretch, k: number, svg: Buffer): Promise<Buffer> {
  const { width, height } = block.window;
  const raw = toRgb8(block, rgb, stretch);
  // sharp resizes before it composites: the image is enlarged first (nearest neighbour keeps every
  // image pixel a crisp k×k square, which is what an inspector wants to count), then the outline SVG
  // is drawn at output resolution so the line stays 2 px whatever k is.
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .resize(width * k, height * k, { kernel: 'nearest' })
    .composite([{ input: svg, top: 0, left: 0 }])
    .removeAlpha()
    .png()
    .toBuffer();
}

/**
 * Renders the before/after evidence chips of one patch as 8-bit RGB PNGs.
 *
 * Both blocks must cover windows of the same size; `outline` is in window pixel coordinates
 * (x = col − window.col, y = row − window.row, pixel corners at integers). Bands `opts.rgb` are
 * stretched linearly with `stretch.before` / `stretch.after` (clamped to 0..255), invalid pixels are
 * black, and the image is enlarged by the integer factor k = ⌈minSize / shorter side⌉ (capped so the
 * longer side stays ≤ maxSize, never below 1) with nearest-neighbour sampling. The outline is a
 * yellow 2 px line (no anti-aliasing) centred on the polygon edges.
 */
export async function renderChipPair(
  before: RasterBlock,
  after: RasterBlock,
  outline: PixelPolygon,
  stretch: { before: BandStretch; after: BandStretch },
  opts: ChipOptions = {},
): Promise<{ before: Buffer; after: Buffer }> {
  const { width, height } = before.window;
  if (after.window.width !== width || after.window.height !== height)
    throw new OutputError('OUTPUT_FAILED', `Chip windows differ in size: before ${width}×${height}, after ${after.window.width}×${after.window.height}`, {});
  if (width < 1 || height < 1) throw new OutputError('OUTPUT_FAILED', `Empty chip window ${width}×${height}`, {});
  for (const [name, st] of Object.entries(stretch))
    if (!st || st.min.length < 3 || st.max.length < 3 || [...st.min.slice(0, 3), ...st.max.slice(0, 3)].some((v) => !Number.isFinite(v)))
      throw new ConfigError('CONFIG_INVALID', `Stretch "${name}" needs three finite min and max values`, { field: 'stretch' });
  const minSize = opts.minSize ?? 256;
  const maxSize = Math.max(opts.maxSize ?? 2048, minSize);
  const rgb = opts.rgb ?? DEFAULT_RGB;
  let k = Math.max(1, Math.ceil(minSize / Math.min(width, height)));
  while (k > 1 && Math.max(width, height) * k > maxSize) k--;
  const W = width * k;
  const H = height * k;
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
      `<path d="${outlinePath(outline, k)}" fill="none" stroke="${opts.outlineColor ?? '#ffff00'}" stroke-width="${opts.outlineWidth ?? 2}" ` +
      `stroke-linejoin="miter" shape-rendering="crispEdges"/></svg>`,
  );
  const [b, a] = await Promise.all([renderOne(before, rgb, stretch.before, k, svg), renderOne(after, rgb, stretch.after, k, svg)]);
  return { before: b, after: a };
}
