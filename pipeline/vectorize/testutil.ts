import type { Window } from '../types.js';
import type { TileMaskInput } from './types.js';

/** Small seeded PRNG (mulberry32) so test masks are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Copies a window of a full-scene array. */
export function crop<T extends Uint8Array | Uint16Array | Uint32Array | Float32Array>(src: T, W: number, win: Window): T {
  const out = new (src.constructor as new (n: number) => T)(win.width * win.height);
  for (let r = 0; r < win.height; r++) out.set(src.subarray((win.row + r) * W + win.col, (win.row + r) * W + win.col + win.width), r * win.width);
  return out;
}

/** Splits a full scene into tiles of `size` (ragged at the right and bottom). */
export function tilesOf(
  W: number,
  H: number,
  size: number,
  codes: Uint8Array,
  layers: Record<string, Uint8Array | Uint16Array | Uint32Array> = {},
  weights: Record<string, Float32Array> = {},
  offset: { col: number; row: number } = { col: 0, row: 0 },
): TileMaskInput[] {
  const out: TileMaskInput[] = [];
  for (let row = 0; row < H; row += size)
    for (let col = 0; col < W; col += size) {
      const local = { col, row, width: Math.min(size, W - col), height: Math.min(size, H - row) };
      out.push({
        window: { ...local, col: col + offset.col, row: row + offset.row },
        codes: crop(codes, W, local),
        layers: Object.fromEntries(Object.entries(layers).map(([k, v]) => [k, crop(v, W, local)])),
        weights: Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, crop(v, W, local)])),
      });
    }
  return out;
}

/**
 * A realistic sparse change mask: rectangles (buildings), thin polylines (roads) and ragged blobs
 * until about `fraction` of the pixels are set.
 */
export function sparseMask(W: number, H: number, fraction: number, seed: number): Uint8Array {
  const r = rng(seed);
  const m = new Uint8Array(W * H);
  let set = 0;
  const put = (x: number, y: number, c: number) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const p = y * W + x;
    if (!m[p]) set++;
    m[p] = c;
  };
  while (set < fraction * W * H) {
    const kind = r();
    const code = 1 + Math.floor(r() * 8);
    const x0 = Math.floor(r() * W);
    const y0 = Math.floor(r() * H);
    if (kind < 0.6) {
      const w = 3 + Math.floor(r() * 30);
      const h = 3 + Math.floor(r() * 30);
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) put(x, y, code);
    } else if (kind < 0.8) {
      const len = 50 + Math.floor(r() * 300);
      const a = r() * Math.PI;
      const width = 2 + Math.floor(r() * 4);
      for (let t = 0; t < len; t++)
        for (let k = 0; k < width; k++) put(Math.round(x0 + t * Math.cos(a) - k * Math.sin(a)), Math.round(y0 + t * Math.sin(a) + k * Math.cos(a)), code);
    } else {
      const rad = 4 + r() * 12;
      for (let y = -rad; y <= rad; y++)
        for (let x = -rad; x <= rad; x++) if (x * x + y * y < rad * rad * (0.6 + 0.4 * r())) put(Math.round(x0 + x), Math.round(y0 + y), code);
    }
  }
  return m;
}
