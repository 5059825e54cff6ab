/**
 * Binary and grey-level morphology on row-major rasters with a square (Chebyshev) structuring
 * element of half-size `radius` ((2r+1) × (2r+1) pixels). Every filter is separable (a row pass,
 * then a column pass) and O(1) per pixel whatever the radius: running counts for binary masks,
 * van Herk/Gil-Werman for max filters. The column pass walks whole rows at a time so memory is
 * read sequentially.
 *
 * Borders: pixels outside the array are background for `dilate` (nothing grows in from outside)
 * and neutral for `erode` (the array edge does not eat into the foreground). `open` and `close`
 * inherit both. Callers that need exact results at a tile's edge pass a halo of at least the
 * radius and crop it away afterwards.
 *
 * Masks: any non-zero value is foreground; outputs are 0/1.
 */

function check(mask: ArrayLike<number>, w: number, h: number, radius: number): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || mask.length !== w * h)
    throw new RangeError(`raster of ${mask.length} values does not match ${w}×${h}`);
  if (!Number.isInteger(radius) || radius < 0) throw new RangeError(`radius must be a non-negative integer, got ${radius}`);
}

/**
 * Row pass of a binary filter: out[x] = 1 when the count of "hits" in [x-r, x+r] ∩ row is > 0.
 * `hitValue` selects what is counted: foreground (dilate) or background (erode, then inverted).
 */
function rowPass(src: ArrayLike<number>, w: number, h: number, r: number, countBackground: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  const fg = countBackground ? 0 : 1;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let count = 0;
    const lead = Math.min(r, w - 1);
    for (let x = 0; x <= lead; x++) count += (src[o + x] !== 0 ? 1 : 0) ^ (1 - fg);
    for (let x = 0; x < w; x++) {
      out[o + x] = count > 0 ? fg : 1 - fg;
      const add = x + r + 1;
      if (add < w) count += (src[o + add] !== 0 ? 1 : 0) ^ (1 - fg);
      const sub = x - r;
      if (sub >= 0) count -= (src[o + sub] !== 0 ? 1 : 0) ^ (1 - fg);
    }
  }
  return out;
}

/** Column pass on a 0/1 array: same semantics as rowPass, processed a row at a time. */
function colPass(src: Uint8Array, w: number, h: number, r: number, countBackground: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  const counts = new Int32Array(w);
  const flip = countBackground ? 1 : 0;
  const fgOut = countBackground ? 0 : 1;
  const lead = Math.min(r, h - 1);
  for (let y = 0; y <= lead; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) counts[x] += src[o + x] ^ flip;
  }
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) out[o + x] = counts[x] > 0 ? fgOut : 1 - fgOut;
    const add = y + r + 1;
    if (add < h) {
      const oa = add * w;
      for (let x = 0; x < w; x++) counts[x] += src[oa + x] ^ flip;
    }
    const sub = y - r;
    if (sub >= 0) {
      const os = sub * w;
      for (let x = 0; x < w; x++) counts[x] -= src[os + x] ^ flip;
    }
  }
  return out;
}

/** Binary dilation: 1 where any foreground pixel lies within the square of half-size `radius`. */
export function dilate(mask: ArrayLike<number>, w: number, h: number, radius: number): Uint8Array {
  check(mask, w, h, radius);
  return colPass(rowPass(mask, w, h, radius, false), w, h, radius, false);
}

/** Binary erosion: 1 where every in-array pixel within the square is foreground (outside is neutral). */
export function erode(mask: ArrayLike<number>, w: number, h: number, radius: number): Uint8Array {
  check(mask, w, h, radius);
  return colPass(rowPass(mask, w, h, radius, true), w, h, radius, true);
}

/** Opening (erode, then dilate): removes foreground parts narrower than 2·radius + 1. */
export function open(mask: ArrayLike<number>, w: number, h: number, radius: number): Uint8Array {
  return dilate(erode(mask, w, h, radius), w, h, radius);
}

/** Closing (dilate, then erode): fills background gaps narrower than 2·radius + 1. */
export function close(mask: ArrayLike<number>, w: number, h: number, radius: number): Uint8Array {
  return erode(dilate(mask, w, h, radius), w, h, radius);
}

type UintArray = Uint8Array | Uint16Array | Uint32Array;

/**
 * Square max filter (grey dilation) of unsigned values; outside the array counts as 0.
 * van Herk/Gil-Werman: about three comparisons per pixel per pass for any radius.
 */
export function maxFilter<T extends UintArray>(values: T, w: number, h: number, radius: number): T {
  check(values, w, h, radius);
  return vhgw(values, w, h, radius, false);
}

/** Square OR filter of bit masks (bit k set in the output when set anywhere within the square). */
export function orFilter<T extends UintArray>(values: T, w: number, h: number, radius: number): T {
  check(values, w, h, radius);
  return vhgw(values, w, h, radius, true);
}

function vhgw<T extends UintArray>(src: T, w: number, h: number, r: number, or: boolean): T {
  const Ctor = src.constructor as new (n: number) => T;
  const k = 2 * r + 1;
  if (r === 0 || w === 0 || h === 0) {
    const copy = new Ctor(src.length);
    copy.set(src);
    return copy;
  }
  // Row pass. The row is padded with r identity (0) values on each side and cut into blocks of k:
  // g is the running max from each block's start, hs from its end; window [x-r, x+r] of the row
  // is padded [x, x+k-1], which spans at most two blocks: max(hs[x], g[x+k-1]).
  const n = Math.ceil((w + 2 * r) / k) * k;
  const g = new Ctor(n);
  const hs = new Ctor(n);
  const tmp = new Ctor(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let b = 0; b < n; b += k) {
      let acc = 0;
      for (let i = b; i < b + k; i++) {
        const x = i - r;
        const v = x >= 0 && x < w ? src[o + x] : 0;
        acc = or ? acc | v : acc > v ? acc : v;
        g[i] = acc;
      }
      acc = 0;
      for (let i = b + k - 1; i >= b; i--) {
        const x = i - r;
        const v = x >= 0 && x < w ? src[o + x] : 0;
        acc = or ? acc | v : acc > v ? acc : v;
        hs[i] = acc;
      }
    }
    for (let x = 0; x < w; x++) {
      const a = hs[x];
      const b = g[x + k - 1];
      tmp[o + x] = or ? a | b : a > b ? a : b;
    }
  }
  // Column pass, whole rows at a time: G and HS hold padded rows (same block scheme along y).
  const m = Math.ceil((h + 2 * r) / k) * k;
  const G = new Ctor(m * w);
  const HS = new Ctor(m * w);
  for (let i = 0; i < m; i++) {
    const y = i - r;
    const inRow = y >= 0 && y < h;
    const o = i * w;
    if (i % k === 0) {
      if (inRow) G.set(tmp.subarray(y * w, y * w + w), o);
    } else {
      const p = o - w;
      if (inRow) {
        const s = y * w;
        if (or) for (let x = 0; x < w; x++) G[o + x] = G[p + x] | tmp[s + x];
        else
          for (let x = 0; x < w; x++) {
            const a = G[p + x];
            const b = tmp[s + x];
            G[o + x] = a > b ? a : b;
          }
      } else G.copyWithin(o, p, p + w);
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    const y = i - r;
    const inRow = y >= 0 && y < h;
    const o = i * w;
    if (i % k === k - 1) {
      if (inRow) HS.set(tmp.subarray(y * w, y * w + w), o);
    } else {
      const p = o + w;
      if (inRow) {
        const s = y * w;
        if (or) for (let x = 0; x < w; x++) HS[o + x] = HS[p + x] | tmp[s + x];
        else
          for (let x = 0; x < w; x++) {
            const a = HS[p + x];
            const b = tmp[s + x];
            HS[o + x] = a > b ? a : b;
          }
      } else HS.copyWithin(o, p, p + w);
    }
  }
  const out = new Ctor(w * h);
  for (let y = 0; y < h; y++) {
    const oh = y * w;
    const og = (y + k - 1) * w;
    const oo = y * w;
    if (or) for (let x = 0; x < w; x++) out[oo + x] = HS[oh + x] | G[og + x];
    else
      for (let x = 0; x < w; x++) {
        const a = HS[oh + x];
        const b = G[og + x];
        out[oo + x] = a > b ? a : b;
      }
  }
  return out;
}
