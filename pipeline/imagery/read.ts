/**
 * Reflectance reads: raw samples → Float32 reflectance with a validity mask.
 */
import type { RasterBlock, Window } from '../types.js';
import { readRasterWindow, resolveBands, sceneInternals, type Scene } from './scene.js';

/**
 * Reads bands of a window as reflectance (raw × scale + offset, per band) with validity.
 * The window may extend beyond the image (halo): outside pixels are invalid. A pixel is invalid
 * (valid 0, every band's data 0) when it is outside the image, any requested band holds the
 * NoData value or NaN, the alpha band is 0, or the internal mask is 0.
 * @param bandNames names from `scene.info.bands` (or `b<n>`), in the order wanted
 * @param signal aborts between blocks
 * @returns Float32 reflectance per band, row-major, `window.width × window.height`
 * @throws ImageryError MISSING_BAND (unknown name, listing the available ones), CORRUPT_FILE
 *   (undecodable or truncated block, naming the file and window), CONFIG_INVALID (non-integer
 *   window), ABORTED
 */
export async function readWindow(scene: Scene, window: Window, bandNames: readonly string[], signal?: AbortSignal): Promise<RasterBlock> {
  const s = sceneInternals(scene);
  const { info } = scene;
  const idx = resolveBands(scene, bandNames);
  const alpha = info.alphaBand;
  const samples = alpha !== null && !idx.includes(alpha) ? [...idx, alpha] : idx;
  const [raw, mask] = await Promise.all([
    readRasterWindow(s, s.image, window, samples, signal),
    s.mask ? readRasterWindow(s, s.mask, window, [0], signal).then((m) => m[0]) : Promise.resolve(null),
  ]);
  const { width: W, height: H } = window;
  const n = W * H;
  const valid = new Uint8Array(n);
  const c0 = Math.max(0, window.col);
  const c1 = Math.min(info.grid.width, window.col + W);
  const r0 = Math.max(0, window.row);
  const r1 = Math.min(info.grid.height, window.row + H);
  for (let y = r0; y < r1; y++) valid.fill(1, (y - window.row) * W + (c0 - window.col), (y - window.row) * W + (c1 - window.col));

  const nd = info.nodata;
  const isFloat = info.dtype.startsWith('float');
  // Compare in the stored precision: a float32 file holds fround(nodata).
  const ndRaw = nd === null || Number.isNaN(nd) ? null : info.dtype === 'float64' ? nd : isFloat ? Math.fround(nd) : nd;
  for (let k = 0; k < idx.length; k++) {
    const a = raw[k];
    if (ndRaw !== null) for (let p = 0; p < n; p++) if (a[p] === ndRaw) valid[p] = 0;
    if (isFloat) for (let p = 0; p < n; p++) if (a[p] !== a[p]) valid[p] = 0;
  }
  if (alpha !== null) {
    const a = raw[samples.indexOf(alpha)];
    for (let p = 0; p < n; p++) if (a[p] === 0) valid[p] = 0;
  }
  if (mask) for (let p = 0; p < n; p++) if (mask[p] === 0) valid[p] = 0;

  const data = idx.map((bi, k) => {
    const a = raw[k];
    const { scale, offset } = info.bands[bi];
    const out = new Float32Array(n);
    for (let p = 0; p < n; p++) if (valid[p]) out[p] = a[p] * scale + offset;
    return out;
  });
  return { window, bandNames: [...bandNames], data, valid };
}
