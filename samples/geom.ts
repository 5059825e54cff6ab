/**
 * Small planar geometry helpers for the sample generator. Layout coordinates are metres in a
 * local frame: u east from the scene's left edge, v south from its top edge (so pixel = u / size).
 * Rings are open (first point not repeated); a polygon is an outer ring followed by holes.
 */
import Flatbush from 'flatbush';

/** A point (x, y). */
export type Pt = [number, number];
/** An open ring (first point not repeated). */
export type Ring = Pt[];
/** Outer ring, then holes. */
export type Poly = Ring[];
/** [minX, minY, maxX, maxY]. */
export type BBox4 = [number, number, number, number];

/** Signed shoelace area (positive when counter-clockwise in a y-up frame). */
export function ringArea(r: readonly Pt[]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return a / 2;
}

/** Area of a polygon with holes (absolute). */
export const polyArea = (p: Poly): number => p.reduce((s, r, i) => s + (i === 0 ? 1 : -1) * Math.abs(ringArea(r)), 0);

/** Keeps the part of a ring where nx·x + ny·y ≥ c (Sutherland–Hodgman against one half-plane). */
export function clipHalf(r: readonly Pt[], nx: number, ny: number, c: number): Ring {
  const out: Ring = [];
  const n = r.length;
  for (let i = 0; i < n; i++) {
    const p = r[i];
    const q = r[(i + 1) % n];
    const dp = nx * p[0] + ny * p[1] - c;
    const dq = nx * q[0] + ny * q[1] - c;
    if (dp >= 0) out.push([p[0], p[1]]);
    if ((dp >= 0) !== (dq >= 0)) {
      const k = dp / (dp - dq);
      out.push([p[0] + (q[0] - p[0]) * k, p[1] + (q[1] - p[1]) * k]);
    }
  }
  return out;
}

/** Intersection of a ring with a convex ring (any orientation). */
export function clipConvex(subject: readonly Pt[], clip: readonly Pt[]): Ring {
  const sign = ringArea(clip) >= 0 ? 1 : -1;
  let out: Ring = subject.map((p) => [p[0], p[1]]);
  for (let i = 0; i < clip.length && out.length; i++) {
    const a = clip[i];
    const b = clip[(i + 1) % clip.length];
    // Inward normal of edge a→b for a counter-clockwise (sign = 1) ring is (-dy, dx).
    const nx = -(b[1] - a[1]) * sign;
    const ny = (b[0] - a[0]) * sign;
    out = clipHalf(out, nx, ny, nx * a[0] + ny * a[1]);
  }
  return dropDegenerate(out);
}

/** Removes repeated points; returns [] when fewer than three distinct points remain. */
export function dropDegenerate(r: Ring, eps = 1e-9): Ring {
  const out: Ring = [];
  for (const p of r) {
    const q = out[out.length - 1];
    if (!q || Math.abs(q[0] - p[0]) > eps || Math.abs(q[1] - p[1]) > eps) out.push(p);
  }
  while (out.length > 1 && Math.abs(out[0][0] - out[out.length - 1][0]) <= eps && Math.abs(out[0][1] - out[out.length - 1][1]) <= eps) out.pop();
  return out.length >= 3 && Math.abs(ringArea(out)) > 1e-9 ? out : [];
}

/** Shrinks a convex ring by `d` (each edge moved inward); [] when nothing is left. */
export function insetConvex(r: readonly Pt[], d: number): Ring {
  const sign = ringArea(r) >= 0 ? 1 : -1;
  let out: Ring = r.map((p) => [p[0], p[1]]);
  for (let i = 0; i < r.length && out.length; i++) {
    const a = r[i];
    const b = r[(i + 1) % r.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len < 1e-12) continue;
    const nx = (-(b[1] - a[1]) * sign) / len;
    const ny = ((b[0] - a[0]) * sign) / len;
    out = clipHalf(out, nx, ny, nx * a[0] + ny * a[1] + d);
  }
  return dropDegenerate(out);
}

/** Even–odd point-in-ring test. */
export function pointInRing(x: number, y: number, r: readonly Pt[]): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Point in a polygon with holes (even–odd over all rings). */
export function pointInPoly(x: number, y: number, p: Poly): boolean {
  let inside = false;
  for (const r of p) if (pointInRing(x, y, r)) inside = !inside;
  return inside;
}

/** Bounding box [minX, minY, maxX, maxY] of some rings. */
export function bboxOf(rings: readonly (readonly Pt[])[]): BBox4 {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const r of rings)
    for (const [x, y] of r) {
      if (x < minX) minX = x;
      if (y < minY) minY = y;
      if (x > maxX) maxX = x;
      if (y > maxY) maxY = y;
    }
  return [minX, minY, maxX, maxY];
}

/** Distance between two boxes (0 when they touch or overlap). */
export const bboxGap = (a: BBox4, b: BBox4): number =>
  Math.hypot(Math.max(0, a[0] - b[2], b[0] - a[2]), Math.max(0, a[1] - b[3], b[1] - a[3]));

function segPointDist2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const l2 = dx * dx + dy * dy;
  let t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const qx = ax + t * dx - px;
  const qy = ay + t * dy - py;
  return qx * qx + qy * qy;
}

function segsIntersect(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const o = (p: Pt, q: Pt, r: Pt) => Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  return o(a, b, c) !== o(a, b, d) && o(c, d, a) !== o(c, d, b);
}

/** Minimum distance between the areas of two outer rings (0 when they overlap or one contains the other). */
export function ringDistance(a: readonly Pt[], b: readonly Pt[]): number {
  if (pointInRing(a[0][0], a[0][1], b) || pointInRing(b[0][0], b[0][1], a)) return 0;
  let best = Infinity;
  for (let i = 0, j = a.length - 1; i < a.length; j = i++)
    for (let k = 0, l = b.length - 1; k < b.length; l = k++) {
      if (segsIntersect(a[j], a[i], b[l], b[k])) return 0;
      best = Math.min(
        best,
        segPointDist2(a[i][0], a[i][1], b[l][0], b[l][1], b[k][0], b[k][1]),
        segPointDist2(b[k][0], b[k][1], a[j][0], a[j][1], a[i][0], a[i][1]),
      );
    }
  return Math.sqrt(best);
}

/** Centroid of a ring (area-weighted). */
export function ringCentroid(r: readonly Pt[]): Pt {
  let cx = 0;
  let cy = 0;
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const f = r[j][0] * r[i][1] - r[i][0] * r[j][1];
    cx += (r[j][0] + r[i][0]) * f;
    cy += (r[j][1] + r[i][1]) * f;
    a += f;
  }
  if (Math.abs(a) < 1e-12) return [r[0][0], r[0][1]];
  return [cx / (3 * a), cy / (3 * a)];
}

/**
 * A star-shaped blob: radius r(θ) = R·(1 + Σ a_k cos(kθ + φ_k)). Returned as a function and as a
 * sampled ring; used for soil heaps and clouds.
 */
export interface Blob {
  readonly cx: number;
  readonly cy: number;
  readonly R: number;
  readonly harmonics: readonly (readonly [number, number, number])[]; // [k, amplitude, phase]
}

/** Radius of a blob at angle θ. */
export function blobRadius(b: Blob, theta: number): number {
  let f = 1;
  for (const [k, a, ph] of b.harmonics) f += a * Math.cos(k * theta + ph);
  return b.R * f;
}

/** A blob sampled as a ring of n points, optionally scaled about its centre and displaced. */
export function blobRing(b: Blob, n = 48, scale = 1, dx = 0, dy = 0): Ring {
  const out: Ring = [];
  for (let i = 0; i < n; i++) {
    const th = (i / n) * 2 * Math.PI;
    const r = blobRadius(b, th) * scale;
    out.push([b.cx + dx + r * Math.cos(th), b.cy + dy + r * Math.sin(th)]);
  }
  return out;
}

/**
 * Inserts into every ring the vertices of other rings that lie on its edges (T-junctions), so
 * neighbouring polygons share identical vertex sequences along common boundaries. Without this,
 * rounding output coordinates would open hairline gaps and overlaps where one polygon's corner
 * sits in the middle of its neighbour's edge. Rings are modified in place.
 */
export function insertSharedVertices(rings: Ring[], eps = 1e-6): void {
  const pts: Pt[] = [];
  for (const r of rings) for (const p of r) pts.push(p);
  const index = new Flatbush(Math.max(1, pts.length));
  for (const [x, y] of pts) index.add(x, y, x, y);
  if (!pts.length) index.add(0, 0, 0, 0);
  index.finish();
  for (let k = 0; k < rings.length; k++) {
    const r = rings[k];
    const out: Ring = [];
    for (let i = 0; i < r.length; i++) {
      const a = r[i];
      const b = r[(i + 1) % r.length];
      out.push(a);
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const l2 = dx * dx + dy * dy;
      if (l2 < eps * eps) continue;
      const len = Math.sqrt(l2);
      const hits: [number, Pt][] = [];
      for (const j of index.search(Math.min(a[0], b[0]) - eps, Math.min(a[1], b[1]) - eps, Math.max(a[0], b[0]) + eps, Math.max(a[1], b[1]) + eps)) {
        const p = pts[j];
        const t = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2;
        if (t * len <= eps || (1 - t) * len <= eps) continue;
        if (Math.abs((p[0] - a[0]) * dy - (p[1] - a[1]) * dx) / len > eps) continue;
        if (!hits.some(([, q]) => Math.abs(q[0] - p[0]) <= eps && Math.abs(q[1] - p[1]) <= eps)) hits.push([t, p]);
      }
      hits.sort((x, y) => x[0] - y[0]);
      for (const [, p] of hits) out.push([p[0], p[1]]);
    }
    rings[k] = out;
  }
}
