/**
 * Writes to `out` (length ≥ 8) the indices of the 8-neighbours of pixel p of a row-major w × h
 * raster that lie inside it, row by row; returns how many. Allocation-free, for the per-pixel
 * loops of region growing and labelling.
 */
export function neighbours8(p: number, w: number, h: number, out: Int32Array): number {
  const x = p % w;
  const y = (p - x) / w;
  let k = 0;
  for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++)
    for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) if (xx !== x || yy !== y) out[k++] = yy * w + xx;
  return k;
}
