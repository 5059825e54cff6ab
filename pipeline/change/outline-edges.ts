import type { RasterBlock, Window } from '../types.js';

/**
 * What the images show along a change's outline, on each date.
 *
 * Before: did the outline follow a boundary that was already there? Ploughing and harvest go
 * field by field: the soil they expose stops at the field's own edges (ridges, ditches, roads, the
 * neighbour's different crop), which were there before. Digging and piling cut into a field: on the
 * before date the crop ran on unbroken across where the outline now is. Baseline survey parcels
 * cannot tell the two apart, since one survey parcel often holds several farmers' fields; the
 * before image can.
 *
 * After: is the outline a sharp edge? A new roof, film or pond ends within a pixel or two; the
 * fringe of a thin cloud or haze, which pixel by pixel reads as film or concrete, fades over tens
 * of metres, so where the classifier flips there is no edge at all.
 *
 * For every outline step of a change pixel p (a 4-neighbour q = p + d that did not change), each
 * image is sampled at a = p − d (inside, past the outline's mixed pixel) and b = p + 2d (outside,
 * past the mixed pixel), each as a 3×3 mean, and again 3 px further on each side (a′, b′). The step
 * lies on an edge of that image when the contrast across it, rel(a, b), is at least `ratio` times
 * the mean contrast at the same spacing within the two sides, (rel(a, a′) + rel(b, b′)) / 2, and
 * at least `minContrast`: a boundary stands out of the texture on both sides; noise, texture and
 * smooth gradients do not. rel is the relative L1 difference Σ|x − y| / (Σ(x + y) / 2) over all
 * bands, so it holds for any sensor, band set and scaling. Where the change does not reach a′ (a
 * road three pixels wide), a′ lies beyond its far side and measures the object against its
 * surroundings, not its texture, so the strict test fails every thin object; `sharpEdgesThin`
 * judges such steps against the outside's texture alone, for sites thin by definition (roads). Steps onto pixels not seen clearly on
 * both dates, and steps whose samples leave the window or touch no-data on either date, are not
 * judged (a field cut by the scene edge or a cloud is judged on the rest of its outline).
 */
export interface EdgeTestOptions {
  /** Across-contrast over within-contrast for a step to count as an edge. */
  readonly ratio: number;
  /** Smallest relative across-contrast that counts. */
  readonly minContrast: number;
}

/** Samples sit past the outline's mixed pixels: IN px inside, OUT px outside, then SPACING px further on. */
const IN = 1;
const OUT = 2;
const SPACING = 3;
/** Farthest pixel the samples of an outline step read, from the outline pixel (plus the 3×3 mean). */
export const OUTLINE_REACH_PX = OUT + SPACING + 2;

export interface OutlineEvidence {
  /** Judged outline steps per core pixel. */
  readonly steps: Float32Array;
  /** Of those, steps on an edge the before image already showed. */
  readonly priorEdges: Float32Array;
  /** Of those, steps on an edge in the after image. */
  readonly sharpEdges: Float32Array;
  /** As `sharpEdges`, but where the change is thinner than the inside samples reach, against the outside's texture alone. */
  readonly sharpEdgesThin: Float32Array;
}

/**
 * Outline evidence over the core window. `codes` (change codes, 0 = none), `clear` (1 where both
 * dates were seen clearly) and both images share the read window; the core lies inside it.
 */
export function outlineEdges(codes: Uint8Array, clear: Uint8Array, read: Window, core: Window, images: { before: RasterBlock; after: RasterBlock }, opts: EdgeTestOptions): OutlineEvidence {
  const w = read.width;
  const h = read.height;
  const size = core.width * core.height;
  const steps = new Float32Array(size);
  const priorEdges = new Float32Array(size);
  const sharpEdges = new Float32Array(size);
  const sharpEdgesThin = new Float32Array(size);
  const dx0 = core.col - read.col;
  const dy0 = core.row - read.row;
  const samplers = [images.before, images.after].map((img) => new StepSampler(img, w, h));
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
      const k = cy * core.width + cx;
      for (const [ux, uy] of dirs) {
        const qx = x + ux;
        const qy = y + uy;
        if (qx < 0 || qy < 0 || qx >= w || qy >= h || codes[qy * w + qx] || !clear[qy * w + qx]) continue;
        if (!samplers.every((s) => s.sample(x, y, ux, uy))) continue;
        const ix = x - (IN + SPACING) * ux;
        const iy = y - (IN + SPACING) * uy;
        const thin = codes[iy * w + ix] === 0;
        steps[k]++;
        if (samplers[0].isEdge(opts)) priorEdges[k]++;
        const sharp = samplers[1].isEdge(opts);
        if (sharp) sharpEdges[k]++;
        if (sharp || (thin && samplers[1].isEdge(opts, true))) sharpEdgesThin[k]++;
      }
    }
  }
  return { steps, priorEdges, sharpEdges, sharpEdgesThin };
}

/** The four 3×3 samples of one outline step in one image, and the edge test on them. */
class StepSampler {
  private readonly a: Float64Array;
  private readonly a2: Float64Array;
  private readonly b: Float64Array;
  private readonly b2: Float64Array;

  constructor(
    private readonly img: RasterBlock,
    private readonly w: number,
    private readonly h: number,
  ) {
    const nb = img.data.length;
    [this.a, this.a2, this.b, this.b2] = [0, 1, 2, 3].map(() => new Float64Array(nb));
  }

  /** Samples the step from (x, y) towards (ux, uy); false when a sample leaves the window or has no-data. */
  sample(x: number, y: number, ux: number, uy: number): boolean {
    return (
      this.mean3(x - IN * ux, y - IN * uy, this.a) &&
      this.mean3(x - (IN + SPACING) * ux, y - (IN + SPACING) * uy, this.a2) &&
      this.mean3(x + OUT * ux, y + OUT * uy, this.b) &&
      this.mean3(x + (OUT + SPACING) * ux, y + (OUT + SPACING) * uy, this.b2)
    );
  }

  /** `thin`: the inside sample a′ lies beyond the change, so only the outside's texture counts. */
  isEdge(opts: EdgeTestOptions, thin = false): boolean {
    const across = rel(this.a, this.b);
    const within = thin ? rel(this.b, this.b2) : (rel(this.a, this.a2) + rel(this.b, this.b2)) / 2;
    return across >= opts.minContrast && across >= opts.ratio * within;
  }

  /** Sum (the scale cancels in rel) of every band over the 3×3 window around (x, y). */
  private mean3(x: number, y: number, out: Float64Array): boolean {
    if (x < 1 || y < 1 || x >= this.w - 1 || y >= this.h - 1) return false;
    const { data, valid } = this.img;
    out.fill(0);
    for (let yy = y - 1; yy <= y + 1; yy++)
      for (let xx = x - 1; xx <= x + 1; xx++) {
        const p = yy * this.w + xx;
        if (!valid[p]) return false;
        for (let k = 0; k < data.length; k++) out[k] += data[k][p];
      }
    return true;
  }
}

/** Relative L1 difference of two spectra. */
function rel(x: Float64Array, y: Float64Array): number {
  let d = 0;
  let s = 0;
  for (let k = 0; k < x.length; k++) {
    d += Math.abs(x[k] - y[k]);
    s += Math.abs(x[k] + y[k]);
  }
  return s > 0 ? (2 * d) / s : 0;
}
