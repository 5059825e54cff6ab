import type { PixelPolygon } from '../geo/rasterize.js';
import type { Component } from './types.js';

const TOP = 1; // boundary above a pixel row: traversed leftwards
const BOTTOM = 2; // boundary below a pixel row: traversed rightwards

/**
 * Traces a component's boundary into one polygon: the shell first, then the holes ordered by their
 * topmost-leftmost edge; each ring starts at its topmost-leftmost vertex. Coordinates are pixel corners in global pixel coordinates (x = column,
 * y = row, y down); rings are closed (first vertex repeated last) and every vertex is a corner
 * (collinear vertices removed).
 *
 * Orientation: the shell runs counter-clockwise as displayed with y down (negative shoelace sum
 * over the raw (col, row) numbers), holes clockwise (positive). Through a north-up geotransform
 * (negative row step) that becomes the RFC 7946 convention: shell counter-clockwise, holes clockwise.
 *
 * Validity: the component is 4-connected, so where two of its pixels touch only at a corner the
 * tracer treats the background as 4-connected and turns away from the component there. Every ring
 * is then simple; a hole touching the shell or another hole at a corner becomes a separate ring
 * meeting it at that single vertex (valid OGC), never a ring that pinches itself.
 * Exactness: |shell area| − Σ|hole area| equals `pixelCount`.
 */
export function traceComponent(c: Component): PixelPolygon {
  const runs = c.runs;
  const nRuns = runs.length / 3;
  if (nRuns === 0) return [];
  const row0 = c.bbox.row;
  const nRows = c.bbox.height;
  const col0 = c.bbox.col;
  const nCols = c.bbox.width;
  const rowStart = new Int32Array(nRows + 2);
  for (let k = 0; k < nRuns; k++) rowStart[runs[3 * k] - row0 + 1]++;
  for (let r = 0; r < nRows; r++) rowStart[r + 1] += rowStart[r];
  rowStart[nRows + 1] = rowStart[nRows];

  /** Whether pixel (x, y) belongs to the component: binary search in its row's runs. */
  const inside = (x: number, y: number): boolean => {
    const r = y - row0;
    if (r < 0 || r >= nRows) return false;
    let lo = rowStart[r];
    let hi = rowStart[r + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (runs[3 * mid + 2] <= x) lo = mid + 1;
      else if (runs[3 * mid + 1] > x) hi = mid - 1;
      else return true;
    }
    return false;
  };

  // Horizontal boundary segments: on the line y, where row y-1 and row y differ. Maximal per type.
  const cap = 4 * nRuns + 4;
  const segY = new Int32Array(cap);
  const segS = new Int32Array(cap); // x of the start vertex (in traversal direction)
  const segE = new Int32Array(cap); // x of the end vertex
  const segT = new Uint8Array(cap);
  let nSeg = 0;
  const emit = (type: number, y: number, a: number, b: number) => {
    segY[nSeg] = y;
    segT[nSeg] = type;
    segS[nSeg] = type === TOP ? b : a;
    segE[nSeg] = type === TOP ? a : b;
    nSeg++;
  };
  for (let r = 0; r <= nRows; r++) {
    const y = row0 + r;
    let ia = r > 0 ? rowStart[r - 1] : 0;
    const aEnd = r > 0 ? rowStart[r] : 0;
    let ib = rowStart[r];
    const bEnd = rowStart[r + 1];
    let inA = false;
    let inB = false;
    let cur = 0;
    let start = 0;
    for (;;) {
      const na = ia < aEnd ? runs[3 * ia + (inA ? 2 : 1)] : Infinity;
      const nb = ib < bEnd ? runs[3 * ib + (inB ? 2 : 1)] : Infinity;
      const x = na < nb ? na : nb;
      if (x === Infinity) break;
      if (na === x) {
        if (inA) ia++;
        inA = !inA;
      }
      if (nb === x) {
        if (inB) ib++;
        inB = !inB;
      }
      const t = inB && !inA ? TOP : inA && !inB ? BOTTOM : 0;
      if (t !== cur) {
        if (cur !== 0) emit(cur, y, start, x);
        cur = t;
        start = x;
      }
    }
  }

  // Segment starts per vertex column, in increasing y (the order they were emitted in).
  const colStart = new Int32Array(nCols + 2);
  for (let s = 0; s < nSeg; s++) colStart[segS[s] - col0 + 1]++;
  for (let x = 0; x <= nCols; x++) colStart[x + 1] += colStart[x];
  const fill = colStart.slice(0, nCols + 1);
  const byCol = new Int32Array(nSeg);
  for (let s = 0; s < nSeg; s++) byCol[fill[segS[s] - col0]++] = s;

  /** The segment that follows s along the boundary. */
  const next = (s: number): number => {
    const x = segE[s];
    const y = segY[s];
    // Leaving the end vertex vertically; at a corner-touch (saddle) turn away from the component.
    const down = segT[s] === TOP ? !inside(x - 1, y - 1) : inside(x, y);
    const lo = colStart[x - col0];
    const hi = colStart[x - col0 + 1];
    // Nearest start strictly below (or above) y on this vertex column: the vertical edge runs there.
    let a = lo;
    let b = hi;
    if (down) {
      while (a < b) {
        const mid = (a + b) >> 1;
        if (segY[byCol[mid]] <= y) a = mid + 1;
        else b = mid;
      }
      if (a >= hi) return -1;
      const s1 = byCol[a];
      // Two starts at one vertex: a saddle; arriving downwards we leave leftwards (a TOP segment).
      if (a + 1 < hi && segY[byCol[a + 1]] === segY[s1] && segT[s1] !== TOP) return byCol[a + 1];
      return s1;
    }
    while (a < b) {
      const mid = (a + b) >> 1;
      if (segY[byCol[mid]] < y) a = mid + 1;
      else b = mid;
    }
    a--;
    if (a < lo) return -1;
    const s1 = byCol[a];
    // Arriving upwards at a saddle we leave rightwards (a BOTTOM segment).
    if (a - 1 >= lo && segY[byCol[a - 1]] === segY[s1] && segT[s1] !== BOTTOM) return byCol[a - 1];
    return s1;
  };

  const visited = new Uint8Array(nSeg);
  const rings: Array<Array<[number, number]>> = [];
  for (let s0 = 0; s0 < nSeg; s0++) {
    if (visited[s0]) continue;
    const ring: Array<[number, number]> = [];
    let s = s0;
    do {
      if (s < 0 || visited[s]) throw new Error(`traceComponent: broken boundary in component ${c.id} at segment ${s}`);
      visited[s] = 1;
      ring.push([segS[s], segY[s]], [segE[s], segY[s]]);
      s = next(s);
    } while (s !== s0);
    // Start at the top-left vertex: a ring's first segment is its topmost-leftmost one, whose left
    // end is the end vertex for a TOP segment (traversed leftwards).
    if (segT[s0] === TOP) ring.push(ring.shift()!);
    ring.push([ring[0][0], ring[0][1]]);
    rings.push(ring);
  }
  return rings;
}

/** Signed shoelace area of a ring (closed or not); negative for a traced shell, positive for a hole. */
export function ringSignedArea(ring: ReadonlyArray<readonly [number, number]> | ReadonlyArray<ReadonlyArray<number>>): number {
  let s = 0;
  const n = ring.length;
  for (let i = 0, j = n - 1; i < n; j = i++) s += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  return s / 2;
}

/** Area of a polygon: |shell| − Σ|holes| (orientation-agnostic). */
export function pixelPolygonArea(polygon: PixelPolygon): number {
  let a = 0;
  polygon.forEach((ring, i) => {
    const r = Math.abs(ringSignedArea(ring));
    a += i === 0 ? r : -r;
  });
  return a;
}
