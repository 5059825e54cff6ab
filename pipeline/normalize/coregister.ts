import type { Grid, RasterBlock } from '../types.js';

/**
 * Co-registration of the after image onto the before image: the whole-pixel shift that best
 * aligns their structure.
 *
 * Orthorectified scenes of two dates are often a pixel or two apart (different sensors, DEMs,
 * ground control). Every boundary then moves: thin new roads lose half their overlap with the
 * truth, and a shifted field edge looks like a one-pixel change all round. Seasons change
 * colours, not where field edges, roads, ditches and buildings are, so the shift is estimated on
 * gradient magnitude (of brightness, the sum of all bands): for each candidate shift within
 * ±maxShiftPx the Pearson correlation of the before gradient with the shifted after gradient, on
 * pixels valid in both. Each sampled tile votes for its best shift; a shift is applied only when
 * at least half of the tiles with enough structure agree (one tile's texture or a cloud cannot
 * move the scene). Whole pixels only: a sub-pixel resampling would blur both the change and the
 * edges the rules use, and the change rules already tolerate `misregistrationPx`.
 */
export interface Coregistration {
  /** After-image pixels that show what the before image shows at (0, 0): read after at (col + dx, row + dy). */
  readonly dx: number;
  readonly dy: number;
  /** Tiles that voted for (dx, dy), and tiles with enough structure to vote. */
  readonly agreed: number;
  readonly voting: number;
  /** Mean correlation of the chosen shift over the agreeing tiles, and of no shift over the same tiles. */
  readonly correlation: number;
  readonly correlationUnshifted: number;
  readonly note?: string;
}

export const NO_SHIFT: Coregistration = { dx: 0, dy: 0, agreed: 0, voting: 0, correlation: 0, correlationUnshifted: 0, note: 'disabled in config' };

/** Pixels with a valid gradient a tile needs to vote. */
const MIN_PIXELS = 2000;

/** Estimates the whole-pixel shift of the after image against the before image from sample pairs on one grid. */
export function estimateShift(pairs: readonly { b: RasterBlock; a: RasterBlock }[], maxShiftPx: number): Coregistration {
  const votes = new Map<string, { dx: number; dy: number; tiles: { best: number; zero: number }[] }>();
  let voting = 0;
  for (const { b, a } of pairs) {
    const gb = gradient(b);
    const ga = gradient(a);
    const { width: w, height: h } = b.window;
    let best = { dx: 0, dy: 0, r: -Infinity, n: 0 };
    let zero = 0;
    for (let dy = -maxShiftPx; dy <= maxShiftPx; dy++)
      for (let dx = -maxShiftPx; dx <= maxShiftPx; dx++) {
        const { r, n } = correlation(gb, ga, w, h, dx, dy);
        if (dx === 0 && dy === 0) zero = r;
        // Ties go to the smaller shift.
        if (n >= MIN_PIXELS && (r > best.r + 1e-9 || (Math.abs(r - best.r) <= 1e-9 && Math.hypot(dx, dy) < Math.hypot(best.dx, best.dy)))) best = { dx, dy, r, n };
      }
    if (!Number.isFinite(best.r)) continue;
    voting++;
    const key = `${best.dx},${best.dy}`;
    const v = votes.get(key) ?? { dx: best.dx, dy: best.dy, tiles: [] };
    v.tiles.push({ best: best.r, zero });
    votes.set(key, v);
  }
  const top = [...votes.values()].sort((x, y) => y.tiles.length - x.tiles.length || Math.hypot(x.dx, x.dy) - Math.hypot(y.dx, y.dy))[0];
  if (!top) return { ...NO_SHIFT, note: 'no sampled tile had enough structure to align on' };
  const mean = (f: (t: { best: number; zero: number }) => number) => round(top.tiles.reduce((s, t) => s + f(t), 0) / top.tiles.length);
  const result = { dx: top.dx, dy: top.dy, agreed: top.tiles.length, voting, correlation: mean((t) => t.best), correlationUnshifted: mean((t) => t.zero) };
  if (2 * top.tiles.length < voting) return { ...result, dx: 0, dy: 0, note: `tiles disagree on the shift (most common ${top.dx},${top.dy} from ${top.tiles.length} of ${voting}): not applied` };
  return result;
}

/** The grid to read the after scene on so that it lines up with `grid` (see {@link Coregistration}); a plan from before co-registration has none. */
export function shiftedGrid(grid: Grid, shift: Pick<Coregistration, 'dx' | 'dy'> | undefined): Grid {
  if (!shift || (!shift.dx && !shift.dy)) return grid;
  const [x0, a, b, y0, d, e] = grid.transform;
  const [ox, oy] = shiftOffset(grid.transform, shift);
  return { ...grid, transform: [x0 + ox, a, b, y0 + oy, d, e] };
}

/** The shift in world units of a grid with this geotransform: (dx, dy) of its pixels. */
export function shiftOffset(transform: readonly number[], shift: Pick<Coregistration, 'dx' | 'dy'>): [x: number, y: number] {
  const [, a, b, , d, e] = transform;
  return [shift.dx * a + shift.dy * b, shift.dx * d + shift.dy * e];
}

/** Gradient magnitude of brightness (sum of bands); NaN where it or a neighbour is invalid. */
function gradient(block: RasterBlock): Float32Array {
  const { width: w, height: h } = block.window;
  const bright = new Float32Array(w * h);
  for (let p = 0; p < w * h; p++) {
    if (!block.valid[p]) {
      bright[p] = NaN;
      continue;
    }
    let s = 0;
    for (const band of block.data) s += band[p];
    bright[p] = s;
  }
  const g = new Float32Array(w * h).fill(NaN);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const p = y * w + x;
      g[p] = Math.abs(bright[p + 1] - bright[p - 1]) + Math.abs(bright[p + w] - bright[p - w]);
    }
  return g;
}

/** Pearson correlation of g1(x, y) with g2(x + dx, y + dy) over pixels valid in both. */
function correlation(g1: Float32Array, g2: Float32Array, w: number, h: number, dx: number, dy: number): { r: number; n: number } {
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  let s11 = 0;
  let s22 = 0;
  let s12 = 0;
  for (let y = Math.max(0, -dy); y < Math.min(h, h - dy); y++)
    for (let x = Math.max(0, -dx); x < Math.min(w, w - dx); x++) {
      const u = g1[y * w + x];
      const v = g2[(y + dy) * w + x + dx];
      if (Number.isNaN(u) || Number.isNaN(v)) continue;
      n++;
      s1 += u;
      s2 += v;
      s11 += u * u;
      s22 += v * v;
      s12 += u * v;
    }
  if (n < 2) return { r: -Infinity, n };
  const cov = s12 - (s1 * s2) / n;
  const var1 = s11 - (s1 * s1) / n;
  const var2 = s22 - (s2 * s2) / n;
  return { r: var1 > 0 && var2 > 0 ? cov / Math.sqrt(var1 * var2) : -Infinity, n };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
