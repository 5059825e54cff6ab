import type { RasterBlock, Window } from '../types.js';

/**
 * Does a change's outline follow a boundary the before image already showed?
 *
 * Ploughing and harvest go field by field: the soil they expose stops at the field's own edges
 * (ridges, ditches, roads, the neighbour's different crop), which were there before. Digging and
 * piling cut into a field: on the before date the crop ran on unbroken across where the outline
 * now is. Baseline survey parcels cannot tell the two apart, since one survey parcel often holds
 * several farmers' fields; the before image can.
 *
 * For every outline step of a change pixel p (a 4-neighbour q = p + d that did not change), the
 * before image is sampled at a = p − d (inside, past the mixed pixel of the outline) and b = p + 2d
 * (outside, past the mixed pixel), each as a 3×3 mean, and again 3 px further on each side (a′, b′).
 * The step lies on a prior edge when the contrast across it, rel(a, b), is at least `ratio` times the
 * contrast at the same spacing within either side, max(rel(a, a′), rel(b, b′)), and at least
 * `minContrast`: a real boundary stands out of the texture of both fields; sensor noise and in-field
 * texture do not. rel is the relative L1 difference Σ|x − y| / Σ(x + y)/2 over all bands, so it
 * holds for any sensor, band set and scaling. Steps onto pixels not seen clearly on both dates, and
 * steps whose samples leave the window or touch no-data, are not judged (a field cut by the scene
 * edge or a cloud is judged on the rest of its outline).
 */
/** Samples sit past the outline's mixed pixels: IN px inside, OUT px outside, then SPACING px further on. */
const IN = 1;
const OUT = 2;
const SPACING = 3;
/** Farthest pixel the samples of an outline step read, from the outline pixel (plus the 3×3 mean). */
export const PRIOR_EDGE_REACH_PX = OUT + SPACING + 2;

export interface PriorEdgeOptions {
  /** Across-contrast over within-contrast for a step to count as a prior edge. */
  readonly ratio: number;
  /** Smallest relative across-contrast that counts. */
  readonly minContrast: number;
}

export interface OutlineEvidence {
  /** Judged outline steps per core pixel. */
  readonly steps: Float32Array;
  /** Of those, steps on a prior edge. */
  readonly priorEdges: Float32Array;
}

/**
 * Outline evidence over the core window. `codes` (change codes, 0 = none), `clear` (1 where both
 * dates were seen clearly) and `before` share the read window; the core lies inside it. A step
 * onto an unclear pixel (cloud, shadow, no-data) is not judged: the change may go on beneath.
 */
export function outlinePriorEdges(codes: Uint8Array, clear: Uint8Array, read: Window, core: Window, before: RasterBlock, opts: PriorEdgeOptions): OutlineEvidence {
  const w = read.width;
  const h = read.height;
  const bands = before.data;
  const nb = bands.length;
  const steps = new Float32Array(core.width * core.height);
  const priorEdges = new Float32Array(core.width * core.height);
  const dx0 = core.col - read.col;
  const dy0 = core.row - read.row;
  const a = new Float64Array(nb);
  const a2 = new Float64Array(nb);
  const b = new Float64Array(nb);
  const b2 = new Float64Array(nb);
  // 3×3 mean of every band around (x, y) into out; false when it leaves the window or has no-data.
  const mean3 = (x: number, y: number, out: Float64Array): boolean => {
    if (x < 1 || y < 1 || x >= w - 1 || y >= h - 1) return false;
    out.fill(0);
    for (let yy = y - 1; yy <= y + 1; yy++)
      for (let xx = x - 1; xx <= x + 1; xx++) {
        const p = yy * w + xx;
        if (!before.valid[p]) return false;
        for (let k = 0; k < nb; k++) out[k] += bands[k][p];
      }
    return true;
  };
  const rel = (x: Float64Array, y: Float64Array): number => {
    let d = 0;
    let s = 0;
    for (let k = 0; k < nb; k++) {
      d += Math.abs(x[k] - y[k]);
      s += Math.abs(x[k] + y[k]);
    }
    return s > 0 ? (2 * d) / s : 0;
  };
  const dirs = [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ] as const;
  for (let cy = 0; cy < core.height; cy++) {
    const y = cy + dy0;
    for (let cx = 0; cx < core.width; cx++) {
      const x = cx + dx0;
      if (!codes[y * w + x]) continue;
      let judged = 0;
      let edges = 0;
      for (const [ux, uy] of dirs) {
        const qx = x + ux;
        const qy = y + uy;
        if (qx < 0 || qy < 0 || qx >= w || qy >= h || codes[qy * w + qx] || !clear[qy * w + qx]) continue;
        if (!mean3(x - IN * ux, y - IN * uy, a) || !mean3(x - (IN + SPACING) * ux, y - (IN + SPACING) * uy, a2) || !mean3(x + OUT * ux, y + OUT * uy, b) || !mean3(x + (OUT + SPACING) * ux, y + (OUT + SPACING) * uy, b2)) continue;
        judged++;
        const across = rel(a, b);
        if (across >= opts.minContrast && across >= (opts.ratio * (rel(a, a2) + rel(b, b2))) / 2) edges++;
      }
      steps[cy * core.width + cx] = judged;
      priorEdges[cy * core.width + cx] = edges;
    }
  }
  return { steps, priorEdges };
}
