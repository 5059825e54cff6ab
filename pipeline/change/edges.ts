import { dilate } from '../raster/morphology.js';
import { neighbours8 } from '../raster/neighbours.js';
import { LandCover, type LandCoverBlock, type RasterBlock } from '../types.js';

/**
 * Mixed pixels at the edge of a change. A pixel on a patch boundary sees part new cover, part old
 * cover; the classifier calls it by whichever dominates its spectrum, which for a bright roof in a
 * green field is often neither (or the old cover), so patches come out one pixel short all round
 * and small patches lose a third of their area.
 *
 * Under linear mixing the pixel's after spectrum is a = f·n + (1 − f)·o, with n the new material
 * (the mean after spectrum of the changed pixels next to it) and o the old surface as it looks on
 * the same date (the mean after spectrum of unchanged pixels two pixels out, clear of the edge).
 * Taking both end-members from the after image makes the estimate immune to seasonal change and
 * to mis-registration between the dates: a pixel that merely ripened with its field looks like
 * its field (f ≈ 0). The old surface is the pixel's own: of the unchanged pixels two out, the
 * OLD_SURFACE_K that were most like it on the before date. Where a strip of another surface lies
 * between the change and the field (a soil margin, a verge), the field two out is not what the
 * pixel was, and unmixing the strip between the change and the field would read it as new
 * material; when not even those nearest were the pixel's surface (before spectra differing by
 * minContrast or more), its old surface is not in sight and it is left alone. The least-squares
 * fraction is
 *   f = ⟨a − o, n − o⟩ / |n − o|²
 * and the pixel belongs to the change when most of it is new material: f ≥ 0.5. This is the
 * convention a pixel-centre-in-polygon raster of the true outline follows, so areas become
 * unbiased. Nothing here depends on the sensor: reflectances of any band set, and the contrast
 * guard is relative.
 *
 * A change is often more than one material (crowns and their shade, a roof and its yard, a stand's
 * sunlit and shaded side), and a pixel at its edge mixes the old surface with whichever of them lies
 * there, not with their mean. So, as in multiple-endmember unmixing (MESMA, Roberts et al. 1998),
 * the new material is taken from several candidates, the mean and each changed neighbour alone, and
 * the one whose two-material mixture explains the pixel best (least squared residual, with f
 * clamped to 0..1) gives the fraction.
 */
export interface EdgeOptions {
  /** Rings of boundary pixels examined (each ring needs f ≥ 0.5 against its own neighbours). */
  readonly rings: number;
  /**
   * Smallest relative contrast |n − o| / max(|n|, |o|) at which f is trusted; on the before date,
   * a pixel and its old surface that differ by this much are not the same surface.
   */
  readonly minContrast: number;
  /** Smallest fraction of new material for a pixel to join. */
  readonly minFraction: number;
  /**
   * Per code (index = code − 1): pixels a connected change must already have for its edges to
   * grow. Patches below the minimum mapping unit are not reported, and edge growth must not turn
   * the classifier's sub-unit specks into patches: only changes that reach the unit as classified
   * get their mixed edges back.
   */
  readonly seedMinPx?: readonly number[];
}

/**
 * Unchanged pixels two out whose after spectra make a pixel's old surface: those most like it on
 * the before date. As many as the outline refinement's nearest-neighbour decisions use (refine.ts).
 */
const OLD_SURFACE_K = 4;

/**
 * Grows each change code into adjacent unchanged pixels whose spectra are mostly the new material
 * (see above). `codes`, `allowed` and the blocks share one window. The grown pixels' after class
 * is set, in place, to the after class most common among the changed neighbours they joined (a
 * pixel that is mostly roof is roof), so patch attributes read the new cover. Returns the count
 * of pixels added.
 */
export function growMixedEdges(
  codes: Uint8Array,
  allowed: Uint8Array,
  w: number,
  h: number,
  before: RasterBlock,
  after: RasterBlock,
  afterCover: LandCoverBlock,
  opts: EdgeOptions,
): number {
  const bands = before.bandNames.filter((b) => after.bandNames.includes(b));
  const A = bands.map((b) => after.data[after.bandNames.indexOf(b)]);
  const B = bands.map((b) => before.data[before.bandNames.indexOf(b)]);
  const nb = bands.length;
  if (nb === 0) return 0;
  let added = 0;
  const n = w * h;
  const mean = new Float64Array(nb);
  const old = new Float64Array(nb);
  const oldBefore = new Float64Array(nb);
  const pBefore = new Float64Array(nb);
  const twoOut: { q: number; unlike: number }[] = [];
  const single = new Float64Array(nb);
  const eligible = seedComponents(codes, w, h, opts.seedMinPx ?? []);
  const classVotes = new Uint16Array(16);
  const around = new Int32Array(8);
  const changed = new Int32Array(8);
  for (let ring = 0; ring < opts.rings; ring++) {
    const next = codes.slice();
    const nextClass: [number, number][] = [];
    // Pixels within one pixel of any change: not pure old surface.
    const near = dilate(codes, w, h, 1);
    for (let p = 0; p < n; p++) {
      if (codes[p] || !allowed[p] || !before.valid[p] || !after.valid[p]) continue;
      if (!near[p]) continue;
      const x = p % w;
      const y = (p - x) / w;
      // The code held by most 8-neighbours (ties: the first met), and those neighbours' mean after spectrum.
      const m8 = neighbours8(p, w, h, around);
      let code = 0;
      let best = 0;
      for (let j = 0; j < m8; j++) {
        const c = eligible[around[j]] ? codes[around[j]] : 0;
        if (!c || c === code) continue;
        let k = 0;
        for (let i = 0; i < m8; i++) if (eligible[around[i]] && codes[around[i]] === c) k++;
        if (k > best) [best, code] = [k, c];
      }
      if (!code) continue;
      mean.fill(0);
      classVotes.fill(0);
      // The changed neighbours of that code: the new material's candidates.
      let k = 0;
      for (let j = 0; j < m8; j++) {
        const q = around[j];
        if (codes[q] !== code || !eligible[q] || !after.valid[q]) continue;
        for (let i = 0; i < nb; i++) mean[i] += A[i][q];
        classVotes[afterCover.classes[q] & 15]++;
        changed[k++] = q;
      }
      if (!k) continue;
      // The old surface: the unchanged pixels two out that were most like p on the before date.
      twoOut.length = 0;
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const q = yy * w + xx;
          if (near[q] || codes[q] || !after.valid[q] || !before.valid[q]) continue;
          let unlike = 0;
          for (let i = 0; i < nb; i++) unlike += (B[i][q] - B[i][p]) ** 2;
          twoOut.push({ q, unlike });
        }
      if (!twoOut.length) continue;
      twoOut.sort((u, v) => u.unlike - v.unlike);
      const m = Math.min(twoOut.length, OLD_SURFACE_K);
      old.fill(0);
      oldBefore.fill(0);
      for (let t = 0; t < m; t++)
        for (let i = 0; i < nb; i++) {
          old[i] += A[i][twoOut[t].q] / m;
          oldBefore[i] += B[i][twoOut[t].q] / m;
        }
      for (let i = 0; i < nb; i++) pBefore[i] = B[i][p];
      if (contrasting(pBefore, oldBefore, opts.minContrast)) continue;
      for (let i = 0; i < nb; i++) mean[i] /= k;
      let fit = unmix(A, p, mean, old, opts.minContrast);
      for (let j = 0; j < k; j++) {
        const q = changed[j];
        for (let i = 0; i < nb; i++) single[i] = A[i][q];
        const alone = unmix(A, p, single, old, opts.minContrast);
        if (alone.residual < fit.residual) fit = alone;
      }
      if (!(fit.fraction >= opts.minFraction)) continue;
      next[p] = code;
      let cls = 0;
      for (let c = 1; c < 16; c++) if (classVotes[c] > classVotes[cls]) cls = c;
      if (cls && cls !== LandCover.nodata) nextClass.push([p, cls]);
      added++;
    }
    if (next.every((v, i) => v === codes[i])) break;
    for (let p = 0; p < n; p++) if (next[p] !== codes[p]) eligible[p] = 1;
    codes.set(next);
    for (const [p, c] of nextClass) afterCover.classes[p] = c;
  }
  return added;
}

/**
 * Fraction f of new material `n` in pixel p of bands A, mixed with old surface `o`
 * (a = o + f·(n − o), least squares), and the squared residual with f clamped to 0..1. No fit
 * (fraction NaN, residual Infinity) when n and o differ by less than `minContrast` of the larger.
 */
function unmix(A: readonly Float32Array[], p: number, n: Float64Array, o: Float64Array, minContrast: number): { fraction: number; residual: number } {
  let num = 0;
  let den = 0;
  for (let i = 0; i < A.length; i++) {
    const d = n[i] - o[i];
    num += (A[i][p] - o[i]) * d;
    den += d * d;
  }
  if (!contrasting(n, o, minContrast)) return { fraction: NaN, residual: Infinity };
  const fraction = num / den;
  const f = Math.min(1, Math.max(0, fraction));
  let residual = 0;
  for (let i = 0; i < A.length; i++) {
    const e = A[i][p] - o[i] - f * (n[i] - o[i]);
    residual += e * e;
  }
  return { fraction, residual };
}

/** 1 for pixels of 8-connected same-code components of at least `minPx[code − 1]` pixels. */
function seedComponents(codes: Uint8Array, w: number, h: number, minPx: readonly number[]): Uint8Array {
  const n = w * h;
  const out = new Uint8Array(n);
  const seen = new Uint8Array(n);
  const stack: number[] = [];
  const around = new Int32Array(8);
  const members: number[] = [];
  for (let s = 0; s < n; s++) {
    const c = codes[s];
    if (!c || seen[s]) continue;
    members.length = 0;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const p = stack.pop()!;
      members.push(p);
      for (let j = neighbours8(p, w, h, around); j-- > 0; ) {
        const q = around[j];
        if (!seen[q] && codes[q] === c) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (members.length >= (minPx[c - 1] ?? 0)) for (const p of members) out[p] = 1;
  }
  return out;
}

/**
 * Whether spectra a and b differ by at least `minContrast` of the larger (Euclidean norms): a
 * contrast to trust between two materials, or, on one date, two different surfaces.
 */
function contrasting(a: Float64Array, b: Float64Array, minContrast: number): boolean {
  let dd = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    dd += d * d;
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return dd > 0 && Math.sqrt(dd) >= minContrast * Math.sqrt(Math.max(aa, bb));
}
