import { dilate } from '../raster/morphology.js';
import { neighbours8 } from '../raster/neighbours.js';
import type { LandCoverBlock, RasterBlock } from '../types.js';

/**
 * Outline refinement against the after image. The classifier's outline of a change is only as
 * good as its per-pixel decisions: a dark young stand read as tree in its middle and as crop
 * towards its edges, dug ground read "disturbed" where it is driest and "bare" where it is not,
 * an orchard whose crown texture is read in one half. The after image itself usually shows the
 * object whole: its pixels look like the confidently changed ones, not like the surface around.
 *
 * A pixel next to a change joins it when, in the after image, it lies nearer its K nearest pixels
 * of the change's interior than its K nearest unchanged pixels beyond the growth's reach (so the
 * part of the object still to be found does not count as old surface), both within `windowPx`:
 * a local nearest-neighbour decision between the change and what surrounds it. Growth is geodesic
 * (only from pixels already in the change, one ring per step, at most `reachPx` rings), so it
 * follows the object and stays local to a tile's halo. A pixel must also have been a starting
 * class of the change's rule on the before date, so a change never grows into what was already
 * there. Where the object reaches beyond the reach, the old-surface side holds pixels like it and
 * nothing grows: the refinement fails safe.
 *
 * Texture covers (crowns and gaps: orchards, stands) are compared on box means of the after image
 * over `texturePx`, since a single pixel is either crown or gap. Their classified outline comes
 * from a texture window too and overshoots into the field by up to its half-size, so their
 * boundary pixels are also tested the other way: a boundary pixel nearer the old surface leaves it.
 * Their interior is the pixels whose box stays a pixel clear of the outline, or, where the texture
 * was read in too thin a strip of itself to have K of those near a pixel, those whose box lies
 * inside it.
 *
 * Where the gaps between the crowns are the material of the field around (an orchard planted in
 * bare soil, or with grass rows in grass), the after image alone cannot tell a gap from the field
 * at the rim; between the dates it can, since the crowns are new and the field is not. So texture
 * covers are also compared on their change: one more feature, box-averaged like the bands, the
 * mean absolute band difference of a pixel's after spectrum from the nearest before spectrum
 * within the mis-registration allowance (reflectance units, like the bands).
 * Nothing depends on the sensor: any band set.
 *
 * Nearer is not enough: where a third surface lies between the change and the field beyond the
 * reach (a strip of another crop, a verge), it may be nearer the change than that field and still
 * be neither. So a pixel must also be a member of the change: as close to its K nearest interior
 * pixels as the interior's own pixels are to theirs (median of a sample), up to MEMBER_SPREAD.
 * Mixed rim pixels fail that too; the mixed-edge growth (edges.ts), run after this, decides them
 * on the refined outline. Without the membership test, orchards on true land cover grew by up to
 * 56 % (test/e2e/oracle.test.ts); with it they stay within 10 %. An object that grades away from
 * its interior (dug soil drying from moist to dry) is no tight cluster either; its pixels join
 * where no edge separates them from the change (CONTINUITY). Rules of one change type that split
 * one object between them are refined as one (RefineOptions.family).
 */
export interface RefineOptions {
  /** Rings a change may grow (px); 0 disables the refinement. */
  readonly reachPx: number;
  /** Half-size (px) of the square from which a pixel's nearest pixels of each side are taken. */
  readonly windowPx: number;
  /** Per code (index = code − 1): half-size (px) of the box mean for texture covers; 0 = per pixel. */
  readonly texturePx: readonly number[];
  /** Before-date pixels within this distance count as a pixel's before state (texture covers' change feature). */
  readonly misregistrationPx: number;
  /** Per code (index = code − 1): bit k set when before-date class k may start this change. */
  readonly fromClasses: readonly number[];
  /**
   * Per code (index = code − 1): the code it is refined as (itself when absent). Rules of one
   * change type that interleave in one object (dug ground read "disturbed" where dry and
   * "brightened bare" where moist) are one object here: its interior is all of them, and pixels
   * it gains take the family's code.
   */
  readonly family?: readonly number[];
}

/** Nearest pixels of each side a pixel is compared with. */
const K = 4;

/**
 * A pixel joins only if it lies as close to the interior as the interior's own pixels lie to each
 * other, up to this factor (in squared distance): nearer the change than the old surface is not
 * enough where a third surface (another crop, a strip of grass) lies between them. On five sample
 * counties 1.5, 2 and 3 leave 25, 22 and 22 matched areas more than 10 % off; at 3 an orchard on
 * true land cover grows by 11 %.
 */
const MEMBER_SPREAD = 2;

/**
 * A pixel that is not such a member still joins a per-pixel change if nothing separates it from
 * the change: its step to its most alike neighbour in the change is at most CONTINUITY times the
 * same step inside the interior (median of a sample; squared distances), and it is clearly nearer
 * the interior than the old surface (by CONTINUITY_MARGIN in squared distance). Dug ground grades
 * from dry to moist soil: the moist end is far from the dry interior in spectra but joined to it
 * by a gradient, whereas a third surface meets the change at an edge. Texture covers are compared
 * on box means, which smooth every edge into a gradient, so they do not take this path. On five
 * sample counties CONTINUITY 4, 6, 8 and 16 (margin 2) leave 21, 21, 21 and 22 matched areas
 * more than 10 % off (22 without the path); below 8 a greenhouse read in a cloud's edge keeps an
 * outline sharp enough to stay a (false) patch, and with no margin another greenhouse grows 14 %
 * into a bright field beside it.
 */
const CONTINUITY = 8;
const CONTINUITY_MARGIN = 2;

/** Interior pixels sampled for a window's spread. */
const SPREAD_SAMPLES = 16;

/** Mean squared distance of a pixel to the K nearest interior pixels and to the K nearest old-surface pixels. */
interface Side {
  readonly toNew: number;
  readonly toOld: number;
}

/** Squared Euclidean distance between pixels p and q over the feature planes F. */
function squaredDistance(F: readonly Float32Array[], p: number, q: number): number {
  let d = 0;
  for (let i = 0; i < F.length; i++) {
    const v = F[i][q] - F[i][p];
    d += v * v;
  }
  return d;
}

/** Scratch for neighbours8 (the functions here are synchronous and not re-entrant). */
const around = new Int32Array(8);

/** Inserts d into the ascending array `best` if it is smaller than its largest entry. */
function keepSmallest(best: Float64Array, d: number): void {
  let i = best.length - 1;
  if (!(d < best[i])) return;
  while (i > 0 && best[i - 1] > d) {
    best[i] = best[i - 1];
    i--;
  }
  best[i] = d;
}

const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;

/**
 * Refines, in place, the outlines of the changes in `codes` (see above). `allowed` marks the
 * pixels that may change (clear on both dates, cropland with a baseline). Grown pixels take, in
 * `afterCover`, the after class most common among the change's pixels around them. Returns the
 * pixels added and removed.
 */
export function refineOutlines(
  codes: Uint8Array,
  allowed: Uint8Array,
  w: number,
  h: number,
  before: RasterBlock,
  after: RasterBlock,
  beforeCover: LandCoverBlock,
  afterCover: LandCoverBlock,
  opts: RefineOptions,
): { added: number; removed: number } {
  const none = { added: 0, removed: 0 };
  if (opts.reachPx <= 0) return none;
  const n = w * h;
  const bands = after.bandNames.filter((b) => before.bandNames.includes(b));
  if (bands.length === 0) return none;
  const valid = new Uint8Array(n);
  for (let p = 0; p < n; p++) valid[p] = before.valid[p] & after.valid[p];
  const raw = bands.map((b) => after.data[after.bandNames.indexOf(b)]);
  const beforeRaw = bands.map((b) => before.data[before.bandNames.indexOf(b)]);
  let change: Float32Array | undefined;
  const changeOf = () => (change ??= changeMagnitude(raw, beforeRaw, valid, w, h, opts.misregistrationPx));

  const work = opts.family ? codes.map((c) => (c ? (opts.family![c - 1] ?? c) : 0)) : codes.slice();
  const result = refineFamilies(work, allowed, valid, w, h, raw, changeOf, beforeCover, afterCover, opts);
  for (let p = 0; p < n; p++) {
    if (!work[p]) codes[p] = 0;
    else if (!codes[p]) codes[p] = work[p];
  }
  return result;
}

/** refineOutlines on codes already mapped to their families. */
function refineFamilies(
  codes: Uint8Array,
  allowed: Uint8Array,
  valid: Uint8Array,
  w: number,
  h: number,
  raw: readonly Float32Array[],
  changeOf: () => Float32Array,
  beforeCover: LandCoverBlock,
  afterCover: LandCoverBlock,
  opts: RefineOptions,
): { added: number; removed: number } {
  const n = w * h;
  const features = new Map<number, readonly Float32Array[]>([[0, raw]]);
  const featuresFor = (s: number) => {
    let f = features.get(s);
    // Texture covers (s > 0) are also compared on their change between the dates.
    if (!f) features.set(s, (f = [...raw, changeOf()].map((band) => boxMean(band, valid, w, h, s))));
    return f;
  };
  const initial = codes.slice();
  const depth = depthInside(initial, w, h, 2 + 2 * Math.max(0, ...opts.texturePx));
  const away = distanceFrom(initial, w, h, opts.reachPx + 1);
  const oldSurface = new Uint8Array(n);
  for (let p = 0; p < n; p++) oldSurface[p] = !initial[p] && allowed[p] && valid[p] && away[p] > opts.reachPx ? 1 : 0;

  const nearN = new Float64Array(K);
  const nearO = new Float64Array(K);
  const forWindow = (p: number, visit: (q: number) => void) => {
    const x = p % w;
    const y = (p - x) / w;
    const r = opts.windowPx;
    for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++)
      for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) visit(yy * w + xx);
  };
  const isInterior = (q: number, c: number, deep: number) => initial[q] === c && valid[q] && depth[q] > deep;
  const cache = new Map<number, Side | null>();
  /**
   * p against the change's interior pixels (depth > `deep`) and the old surface in the window
   * around it, in the change's features. Null when either side has fewer than K pixels there.
   */
  const sides = (p: number, c: number, deep: number): Side | null => {
    // The interior depends on `deep`: the rim shrink and the growth ask with different depths.
    const key = (p * 256 + c) * 256 + deep;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const F = featuresFor(opts.texturePx[c - 1] ?? 0);
    nearN.fill(Infinity);
    nearO.fill(Infinity);
    let kn = 0;
    let ko = 0;
    forWindow(p, (q) => {
      if (isInterior(q, c, deep)) {
        keepSmallest(nearN, squaredDistance(F, p, q));
        kn++;
      } else if (oldSurface[q]) {
        keepSmallest(nearO, squaredDistance(F, p, q));
        ko++;
      }
    });
    const side = kn >= K && ko >= K ? { toNew: mean(nearN), toOld: mean(nearO) } : null;
    cache.set(key, side);
    return side;
  };
  /** The change's interior pixels in the window around p, and up to SPREAD_SAMPLES of them evenly spaced. */
  const interiorAround = (p: number, c: number, deep: number) => {
    const all: number[] = [];
    forWindow(p, (q) => {
      if (isInterior(q, c, deep)) all.push(q);
    });
    const step = Math.max(1, Math.floor(all.length / SPREAD_SAMPLES));
    return { all, sampled: all.filter((_, i) => i % step === 0) };
  };
  const median = (values: number[]) => (values.sort((u, v) => u - v), values[values.length >> 1]);
  /**
   * How tightly the change's interior pixels around p cluster: the median, over the sampled ones,
   * of the mean squared distance to their own K nearest other-valued interior pixels (Infinity
   * when there are too few).
   */
  const spreadAround = (p: number, c: number, deep: number): number => {
    const F = featuresFor(opts.texturePx[c - 1] ?? 0);
    const { all, sampled } = interiorAround(p, c, deep);
    return median(
      sampled.map((a) => {
        nearN.fill(Infinity);
        for (const q of all) {
          // Exact repeats (quantised data: 8-bit imagery of a uniform cover) say nothing about the
          // spread; a perfectly uniform interior has none, and then nearer-than-the-old-surface decides.
          const d = squaredDistance(F, a, q);
          if (d > 0) keepSmallest(nearN, d);
        }
        return mean(nearN);
      }),
    );
  };
  /** Squared distance from p to its most alike 8-neighbour (exact repeats aside) that is `inside`; Infinity if none. */
  const stepTo = (F: readonly Float32Array[], p: number, inside: (q: number) => boolean): number => {
    let best = Infinity;
    for (let j = neighbours8(p, w, h, around); j-- > 0; ) {
      const q = around[j];
      if (!valid[q] || !inside(q)) continue;
      const d = squaredDistance(F, p, q);
      if (d > 0 && d < best) best = d;
    }
    return best;
  };
  /** The median step between the sampled interior pixels around p and their most alike interior neighbours. */
  const roughness = new Map<number, number>();
  const roughnessAround = (p: number, c: number, deep: number): number => {
    const key = p * 256 + c;
    let r = roughness.get(key);
    if (r === undefined) {
      const F = featuresFor(0);
      const steps = interiorAround(p, c, deep)
        .sampled.map((a) => stepTo(F, a, (q) => initial[q] === c))
        .filter(Number.isFinite);
      roughness.set(key, (r = steps.length ? median(steps) : 0));
    }
    return r;
  };
  /** p is new material of change c: nearer its interior than the old surface, and as close to it as its own pixels are. */
  const members = new Map<number, boolean>();
  const isMember = (p: number, c: number): boolean => {
    const key = p * 256 + c;
    let yes = members.get(key);
    if (yes === undefined) {
      const s = opts.texturePx[c - 1] ?? 0;
      let deep = s + 1;
      let side = sides(p, c, deep);
      // A texture read in a thin strip of itself (an orchard whose crowns the classifier saw in a
      // snake through it) has hardly a pixel whose box stays a pixel clear of the outline: then its
      // interior is the pixels whose box lies inside it.
      if (side === null && s > 0) side = sides(p, c, (deep = s));
      yes = side !== null && side.toNew < side.toOld && side.toNew <= MEMBER_SPREAD * spreadAround(p, c, deep);
      members.set(key, yes);
    }
    return yes;
  };
  /** p continues per-pixel change c (as it stands now) without an edge, and is clearly nearer its interior than the old surface. */
  const continues = (p: number, c: number): boolean => {
    if (opts.texturePx[c - 1]) return false;
    const side = sides(p, c, 1);
    if (side === null || !(side.toNew * CONTINUITY_MARGIN < side.toOld)) return false;
    return stepTo(featuresFor(0), p, (q) => codes[q] === c) <= CONTINUITY * roughnessAround(p, c, 1);
  };

  let removed = 0;
  // Texture covers first give back the rim their texture window spilled into the field.
  const maxTexture = Math.max(0, ...opts.texturePx);
  for (let ring = 0; ring <= maxTexture; ring++) {
    const drop: number[] = [];
    for (let p = 0; p < n; p++) {
      const c = codes[p];
      // A texture window of half-size s spills s + 1 rings at most (the classifier's own window is
      // about as wide).
      const s = c ? (opts.texturePx[c - 1] ?? 0) : 0;
      if (!s || ring > s || !valid[p]) continue;
      if (!touches(codes, w, h, p, (v) => v !== c)) continue;
      const side = sides(p, c, 2 * s + 1);
      if (side && side.toOld < side.toNew) drop.push(p);
    }
    for (const p of drop) codes[p] = 0;
    removed += drop.length;
    if (!drop.length) break;
  }

  let added = 0;
  const votes = new Uint16Array(16);
  const codeVotes = new Uint16Array(256);
  for (let ring = 0; ring < opts.reachPx; ring++) {
    // Pixels that touch a change (8-connected): the only candidates of this ring.
    const near = dilate(codes, w, h, 1);
    const join: [number, number, number][] = [];
    for (let p = 0; p < n; p++) {
      if (codes[p] || !allowed[p] || !valid[p] || initial[p] || near[p] === 0) continue;
      const c = mostCommonAround(w, h, p, codeVotes, (q) => codes[q]);
      if (!c || !((opts.fromClasses[c - 1] >> beforeCover.classes[p]) & 1)) continue;
      if (isMember(p, c) || continues(p, c)) join.push([p, c, mostCommonAround(w, h, p, votes, (q) => (codes[q] === c ? afterCover.classes[q] & 15 : 0))]);
    }
    if (!join.length) break;
    for (const [p, c, cls] of join) {
      codes[p] = c;
      if (cls) afterCover.classes[p] = cls;
    }
    added += join.length;
  }
  return { added, removed };
}

/** True when a 4-neighbour of p (inside the array) satisfies `test`. */
function touches(codes: Uint8Array, w: number, h: number, p: number, test: (v: number) => boolean): boolean {
  const x = p % w;
  return (x > 0 && test(codes[p - 1])) || (x < w - 1 && test(codes[p + 1])) || (p >= w && test(codes[p - w])) || (p + w < w * h && test(codes[p + w]));
}

/**
 * The non-zero value most common among `valueAt(q)` over p's 8-neighbours q (ties: the lower
 * value), 0 if none; `valueAt` returns 0 for a neighbour that does not vote.
 */
function mostCommonAround(w: number, h: number, p: number, votes: Uint16Array, valueAt: (q: number) => number): number {
  votes.fill(0);
  for (let j = neighbours8(p, w, h, around); j-- > 0; ) votes[valueAt(around[j])]++;
  let best = 0;
  for (let v = 1; v < votes.length; v++) if (votes[v] > (best ? votes[best] : 0)) best = v;
  return best;
}

/**
 * Chessboard distance of every pixel from the nearest pixel with a non-zero code, capped at
 * `cap` (pixels farther away read `cap`); changed pixels read 0.
 */
export function distanceFrom(codes: Uint8Array, w: number, h: number, cap: number): Uint8Array {
  const d = new Uint8Array(codes.length).fill(Math.min(cap, 255));
  const frontier: number[] = [];
  for (let p = 0; p < codes.length; p++)
    if (codes[p]) {
      d[p] = 0;
      frontier.push(p);
    }
  return spread(d, frontier, 1, w, h, cap, () => true);
}

/**
 * Chessboard depth of every changed pixel inside its code's area: 1 on the code's boundary
 * (a neighbour of another code, unchanged, or outside the array), capped at `cap`; 0 where
 * unchanged.
 */
export function depthInside(codes: Uint8Array, w: number, h: number, cap: number): Uint8Array {
  const d = new Uint8Array(codes.length);
  const frontier: number[] = [];
  for (let p = 0; p < codes.length; p++) {
    const c = codes[p];
    if (!c) continue;
    const m8 = neighbours8(p, w, h, around);
    let edge = m8 < 8; // on the array's border
    for (let j = 0; j < m8 && !edge; j++) edge = codes[around[j]] !== c;
    if (edge) {
      d[p] = 1;
      frontier.push(p);
    } else d[p] = Math.min(cap, 255);
  }
  // Inwards: a pixel's depth is one more than its shallowest same-code neighbour's.
  return spread(d, frontier, 2, w, h, cap, (p, q) => codes[q] === codes[p]);
}

/**
 * Breadth-first chessboard spread: the pixels q around each pixel p of `frontier` that `follows(p, q)`
 * get `level`, theirs the next, and so on below `cap` (a pixel keeps a smaller value it has).
 */
function spread(d: Uint8Array, frontier: number[], level: number, w: number, h: number, cap: number, follows: (p: number, q: number) => boolean): Uint8Array {
  for (let k = level; k < cap && frontier.length; k++) {
    const next: number[] = [];
    for (const p of frontier)
      for (let j = neighbours8(p, w, h, around); j-- > 0; ) {
        const q = around[j];
        if (d[q] > k && follows(p, q)) {
          d[q] = k;
          next.push(q);
        }
      }
    frontier = next;
  }
  return d;
}

/** Mean of `band` over the valid pixels of the (2s + 1)² box around each pixel (NaN-free: 0 where none). */
function boxMean(band: Float32Array, valid: Uint8Array, w: number, h: number, s: number): Float32Array {
  const W = w + 1;
  const sum = new Float64Array(W * (h + 1));
  const cnt = new Float64Array(W * (h + 1));
  for (let y = 0; y < h; y++) {
    let rs = 0;
    let rc = 0;
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (valid[p]) {
        rs += band[p];
        rc++;
      }
      sum[(y + 1) * W + x + 1] = sum[y * W + x + 1] + rs;
      cnt[(y + 1) * W + x + 1] = cnt[y * W + x + 1] + rc;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - s);
    const y1 = Math.min(h, y + s + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - s);
      const x1 = Math.min(w, x + s + 1);
      const c = cnt[y1 * W + x1] - cnt[y0 * W + x1] - cnt[y1 * W + x0] + cnt[y0 * W + x0];
      out[y * w + x] = c > 0 ? (sum[y1 * W + x1] - sum[y0 * W + x1] - sum[y1 * W + x0] + sum[y0 * W + x0]) / c : 0;
    }
  }
  return out;
}

/**
 * Mean absolute band difference of each pixel's after spectrum (bands A) from the nearest
 * before-date spectrum (bands B) within `reachPx`; 0 without data.
 */
function changeMagnitude(A: readonly Float32Array[], B: readonly Float32Array[], valid: Uint8Array, w: number, h: number, reachPx: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (!valid[p]) continue;
      let nearest = Infinity;
      for (let yy = Math.max(0, y - reachPx); yy <= Math.min(h - 1, y + reachPx); yy++)
        for (let xx = Math.max(0, x - reachPx); xx <= Math.min(w - 1, x + reachPx); xx++) {
          const q = yy * w + xx;
          if (!valid[q]) continue;
          let d = 0;
          for (let i = 0; i < A.length; i++) d += Math.abs(A[i][p] - B[i][q]);
          nearest = Math.min(nearest, d);
        }
      out[p] = nearest / A.length;
    }
  return out;
}
