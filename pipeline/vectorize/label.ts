import { VectorError } from '../errors.js';
import { ADDS_BEFORE_CARRY, LIMBS, addFloat32Bits, carry, toSparse } from './exactsum.js';
import type { ColumnarHist, IdLayer, TileComponents, TileMaskInput } from './types.js';
import { createUnionFind } from './union-find.js';

/** A growable Int32 buffer: run counts are unknown until the scan ends. */
class IntBuf {
  a: Int32Array;
  n = 0;
  constructor(cap: number) {
    this.a = new Int32Array(Math.max(16, cap));
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

function invalid(message: string, context: Record<string, unknown>): never {
  throw new VectorError('VECTOR_INVALID', message, { stage: 'vectorize', ...context });
}

/**
 * Labels the 4-connected components of equal non-zero code in one tile.
 *
 * Cost is one pass over the codes (zero pixels are skipped four at a time when the array is
 * 4-byte aligned) plus work proportional to the number of runs and changed pixels; memory is
 * proportional to the runs, never to the tile area beyond the input itself. Components are
 * numbered by their first run (row, then column). Runs touching the window's edges are kept as is:
 * `mergeTiles` joins them with the neighbouring tiles.
 */
export function labelTile(input: TileMaskInput): TileComponents {
  const { window: win, codes } = input;
  const W = win.width;
  const H = win.height;
  const N = W * H;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 0 || H < 0) invalid(`bad window ${JSON.stringify(win)}`, {});
  if (codes.length !== N) invalid(`codes has ${codes.length} values, window needs ${W}×${H} = ${N}`, { field: 'codes' });
  const layers = input.layers ?? {};
  const weights = input.weights ?? {};
  const layerNames = Object.keys(layers).sort();
  const weightNames = Object.keys(weights).sort();
  for (const k of layerNames)
    if (!(layers[k] instanceof Uint8Array || layers[k] instanceof Uint16Array || layers[k] instanceof Uint32Array))
      invalid(`layer ${k} must be a Uint8Array, Uint16Array or Uint32Array`, { field: k });
  for (const k of weightNames) if (!(weights[k] instanceof Float32Array)) invalid(`weight ${k} must be a Float32Array`, { field: k });
  for (const k of layerNames) if (layers[k].length !== N) invalid(`layer ${k} has ${layers[k].length} values, expected ${N}`, { field: k });
  for (const k of weightNames) if (weights[k].length !== N) invalid(`weight ${k} has ${weights[k].length} values, expected ${N}`, { field: k });

  // Pass 1: runs of equal non-zero code, row-major, so runs come out sorted by (row, col).
  const runRow = new IntBuf(1024);
  const runC0 = new IntBuf(1024);
  const runC1 = new IntBuf(1024);
  const rowStart = new Int32Array(H + 1);
  const u32 = (codes.byteOffset & 3) === 0 ? new Uint32Array(codes.buffer, codes.byteOffset, N >>> 2) : null;
  let i = 0;
  let nextRow = 0; // rows < nextRow have rowStart set
  while (i < N) {
    if (codes[i] === 0) {
      // Most pixels are unchanged: skip zero words, then single bytes.
      if (u32 !== null && (i & 3) === 0) {
        let w = i >>> 2;
        const wEnd = N >>> 2;
        while (w < wEnd && u32[w] === 0) w++;
        if (w * 4 !== i) {
          i = w * 4;
          continue;
        }
      }
      i++;
      continue;
    }
    const y = (i / W) | 0;
    const rowEnd = (y + 1) * W;
    const code = codes[i];
    const s = i;
    while (++i < rowEnd && codes[i] === code);
    while (nextRow <= y) rowStart[nextRow++] = runRow.n;
    runRow.push(y);
    runC0.push(s - y * W);
    runC1.push(i - y * W);
  }
  const nRuns = runRow.n;
  while (nextRow <= H) rowStart[nextRow++] = nRuns;
  const rr = runRow.a;
  const r0 = runC0.a;
  const r1 = runC1.a;

  // Pass 2: union-find over runs; a run overlapping (by at least one column) a run of equal code in
  // the previous row is 4-connected to it. Roots are the smallest run index, so a component's root
  // is its first run and components come out numbered in first-run order.
  const { find, union } = createUnionFind(nRuns);
  for (let y = 1; y < H; y++) {
    let a = rowStart[y - 1];
    const aEnd = rowStart[y];
    let b = aEnd;
    const bEnd = rowStart[y + 1];
    while (a < aEnd && b < bEnd) {
      if (r0[a] < r1[b] && r0[b] < r1[a] && codes[y * W - W + r0[a]] === codes[y * W + r0[b]]) union(a, b);
      if (r1[a] <= r1[b]) a++;
      else b++;
    }
  }
  const compOf = new Int32Array(nRuns);
  let count = 0;
  for (let k = 0; k < nRuns; k++) {
    const r = find(k);
    compOf[k] = r === k ? count++ : compOf[r];
  }

  // Pass 3: group runs by component (counting sort keeps (row, col) order inside each group).
  const runOffsets = new Int32Array(count + 1);
  for (let k = 0; k < nRuns; k++) runOffsets[compOf[k] + 1]++;
  for (let c = 0; c < count; c++) runOffsets[c + 1] += runOffsets[c];
  const fill = runOffsets.slice(0, count);
  const order = new Int32Array(nRuns);
  for (let k = 0; k < nRuns; k++) order[fill[compOf[k]]++] = k;
  const runs = new Int32Array(3 * nRuns);
  const compCodes = new Uint8Array(count);
  const pixelCounts = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    let px = 0;
    for (let j = runOffsets[c]; j < runOffsets[c + 1]; j++) {
      const k = order[j];
      runs[3 * j] = rr[k] + win.row;
      runs[3 * j + 1] = r0[k] + win.col;
      runs[3 * j + 2] = r1[k] + win.col;
      px += r1[k] - r0[k];
    }
    pixelCounts[c] = px;
    const first = order[runOffsets[c]];
    compCodes[c] = codes[rr[first] * W + r0[first]];
  }

  // Pass 4: statistics, one component at a time so scratch buffers are reused.
  const hist: Record<string, ColumnarHist> = {};
  for (const name of layerNames) hist[name] = histogram(layers[name], order, rr, r0, r1, runOffsets, count, W);
  const sumLimbs: Record<string, number[][]> = {};
  for (const name of weightNames) sumLimbs[name] = exactSums(weights[name], order, rr, r0, r1, runOffsets, count, W);

  return { window: { col: win.col, row: win.row, width: W, height: H }, count, codes: compCodes, runOffsets, runs, pixelCounts, hist, sumLimbs };
}

function histogram(
  layer: IdLayer,
  order: Int32Array,
  rr: Int32Array,
  r0: Int32Array,
  r1: Int32Array,
  runOffsets: Int32Array,
  count: number,
  W: number,
): ColumnarHist {
  const offsets = new Int32Array(count + 1);
  const values: number[] = [];
  const counts: number[] = [];
  // Dense scratch for 8/16-bit ids (cleared through the touched list), a Map for 32-bit ones.
  const dense = layer instanceof Uint32Array ? null : new Float64Array(layer instanceof Uint8Array ? 256 : 65536);
  const map = dense === null ? new Map<number, number>() : null;
  const touched: number[] = [];
  for (let c = 0; c < count; c++) {
    for (let j = runOffsets[c]; j < runOffsets[c + 1]; j++) {
      const k = order[j];
      let p = rr[k] * W + r0[k];
      const end = rr[k] * W + r1[k];
      // Id layers are piecewise constant along a row: count stretches, not pixels.
      while (p < end) {
        const v = layer[p];
        const s = p;
        while (++p < end && layer[p] === v);
        if (dense !== null) {
          if (dense[v] === 0) touched.push(v);
          dense[v] += p - s;
        } else {
          const old = map!.get(v);
          if (old === undefined) touched.push(v);
          map!.set(v, (old ?? 0) + p - s);
        }
      }
    }
    touched.sort((a, b) => a - b);
    for (const v of touched) {
      values.push(v);
      if (dense !== null) {
        counts.push(dense[v]);
        dense[v] = 0;
      } else counts.push(map!.get(v)!);
    }
    map?.clear();
    touched.length = 0;
    offsets[c + 1] = values.length;
  }
  return { offsets, values: Float64Array.from(values), counts: Float64Array.from(counts) };
}

function exactSums(
  weight: Float32Array,
  order: Int32Array,
  rr: Int32Array,
  r0: Int32Array,
  r1: Int32Array,
  runOffsets: Int32Array,
  count: number,
  W: number,
): number[][] {
  const bits = new Uint32Array(weight.buffer, weight.byteOffset, weight.length);
  const limbs = new Float64Array(LIMBS);
  const out: number[][] = new Array(count);
  for (let c = 0; c < count; c++) {
    let adds = 0;
    for (let j = runOffsets[c]; j < runOffsets[c + 1]; j++) {
      const k = order[j];
      const end = rr[k] * W + r1[k];
      for (let p = rr[k] * W + r0[k]; p < end; p++) {
        adds += addFloat32Bits(limbs, 0, bits[p]);
        if (adds >= ADDS_BEFORE_CARRY) {
          carry(limbs);
          adds = 0;
        }
      }
    }
    carry(limbs);
    out[c] = toSparse(limbs);
    limbs.fill(0);
  }
  return out;
}
