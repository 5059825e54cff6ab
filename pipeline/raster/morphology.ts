/**
 * Binary and grey-level morphology on row-major rasters with a square (Chebyshev) structuring
 * element of half-size `radius` ((2r+1) × (2r+1) pixels). Every filter is separable (a row pass,
 * then a column pass) and costs O(1) per pixel whatever the radius: binary row passes fill runs
 * natively, binary column passes combine four pixels per 32-bit word (directly for small radii,
 * van Herk/Gil-Werman for large ones), and max filters use van Herk/Gil-Werman. Column passes
 * walk whole rows at a time so memory is read sequentially.
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

/** Bytes per padded row: a multiple of 4 so rows can be processed as Uint32 words (4 pixels each). */
const strideOf = (w: number): number => (w + 3) & ~3;

/** Whether a 32-bit word has a zero byte (the classic bit trick). */
const hasZeroByte = (v: number): boolean => ((v - 0x01010101) & ~v & 0x80808080) !== 0;

/**
 * Row pass. Dilate (`fgRuns`): every run of non-zero pixels [a, b) sets [a-r, b+r) to 1 in the
 * output. Erode: the output starts at 1 and every run of zeros clears [a-r, b+r). Runs are found
 * four bytes at a time where the mask is aligned, and the filling is native: sparse masks cost
 * little more than reading them. The output rows are padded to `strideOf(w)` bytes.
 */
function rowPass(src: ArrayLike<number>, w: number, h: number, r: number, dilating: boolean): Uint8Array {
  const S = strideOf(w);
  const out = new Uint8Array(S * h);
  const bytes = src instanceof Uint8Array ? src : null;
  const u32 = bytes !== null && (bytes.byteOffset & 3) === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null;
  /** First index ≥ i (< end) whose pixel is zero (`zero`) or non-zero (`!zero`), else end. */
  const scan = (i: number, end: number, zero: boolean): number => {
    if (u32 !== null) {
      while (i < end && (i & 3) !== 0) {
        if ((bytes![i] === 0) === zero) return i;
        i++;
      }
      // Whole words that cannot contain the pixel looked for.
      if (zero) while (i + 4 <= end && !hasZeroByte(u32[i >>> 2])) i += 4;
      else while (i + 4 <= end && u32[i >>> 2] === 0) i += 4;
    }
    while (i < end && (src[i] === 0) !== zero) i++;
    return i;
  };
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const end = o + w;
    const oo = y * S;
    if (!dilating) out.fill(1, oo, oo + w);
    let i = o;
    while (i < end) {
      // A run of the pixels that act: non-zeros spread when dilating, zeros when eroding.
      const a = scan(i, end, !dilating);
      if (a >= end) break;
      i = scan(a, end, dilating);
      const x0 = a - o - r;
      const x1 = i - o + r;
      out.fill(dilating ? 1 : 0, oo + (x0 > 0 ? x0 : 0), oo + (x1 < w ? x1 : w));
    }
  }
  return out;
}

/**
 * Column pass on padded 0/1 rows, four pixels per 32-bit word: OR (dilate) or AND (erode) of the
 * rows y-r .. y+r that exist. Rows outside the array are simply absent, which is "background" for
 * OR and "neutral" for AND. Direct for small radii, van Herk/Gil-Werman (O(1) per word) for large.
 */
function colPass(src: Uint8Array, w: number, h: number, r: number, or: boolean): Uint8Array {
  const S = strideOf(w);
  const n = S >>> 2;
  const a = new Uint32Array(src.buffer, src.byteOffset, n * h);
  const out = new Uint8Array(S * h);
  const b = new Uint32Array(out.buffer);
  if (r <= 4 || h <= 2 * r + 1) {
    for (let y = 0; y < h; y++) {
      const lo = y - r > 0 ? y - r : 0;
      const hi = y + r < h - 1 ? y + r : h - 1;
      const o = y * n;
      b.set(a.subarray(lo * n, lo * n + n), o);
      for (let yy = lo + 1; yy <= hi; yy++) {
        const s = yy * n;
        if (or) for (let x = 0; x < n; x++) b[o + x] |= a[s + x];
        else for (let x = 0; x < n; x++) b[o + x] &= a[s + x];
      }
    }
    return out;
  }
  // Blocks of k rows; G: running op from each block's first row, HS: from its last row. The rows
  // y-r .. y+r span at most two blocks: out = HS[y - r] op G[y + r] (clipped at the array edges).
  const k = 2 * r + 1;
  const G = new Uint32Array(n * h);
  const HS = new Uint32Array(n * h);
  for (let y = 0; y < h; y++) {
    const o = y * n;
    if (y % k === 0) G.set(a.subarray(o, o + n), o);
    else if (or) for (let x = 0; x < n; x++) G[o + x] = G[o - n + x] | a[o + x];
    else for (let x = 0; x < n; x++) G[o + x] = G[o - n + x] & a[o + x];
  }
  for (let y = h - 1; y >= 0; y--) {
    const o = y * n;
    if (y % k === k - 1 || y === h - 1) HS.set(a.subarray(o, o + n), o);
    else if (or) for (let x = 0; x < n; x++) HS[o + x] = HS[o + n + x] | a[o + x];
    else for (let x = 0; x < n; x++) HS[o + x] = HS[o + n + x] & a[o + x];
  }
  for (let y = 0; y < h; y++) {
    const o = y * n;
    const top = y - r;
    const bot = y + r;
    if (top < 0 || bot >= h) {
      // Near the array's top or bottom the window is clipped: combine directly (at most 2r rows).
      const lo = top > 0 ? top : 0;
      const hi = bot < h - 1 ? bot : h - 1;
      b.set(a.subarray(lo * n, lo * n + n), o);
      for (let yy = lo + 1; yy <= hi; yy++) {
        const s = yy * n;
        if (or) for (let x = 0; x < n; x++) b[o + x] |= a[s + x];
        else for (let x = 0; x < n; x++) b[o + x] &= a[s + x];
      }
      continue;
    }
    const oh = top * n;
    const og = bot * n;
    if (or) for (let x = 0; x < n; x++) b[o + x] = HS[oh + x] | G[og + x];
    else for (let x = 0; x < n; x++) b[o + x] = HS[oh + x] & G[og + x];
  }
  return out;
}

/** Drops the row padding. */
function unpad(buf: Uint8Array, w: number, h: number): Uint8Array {
  const S = strideOf(w);
  if (S === w) return buf;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(buf.subarray(y * S, y * S + w), y * w);
  return out;
}

/** Binary dilation: 1 where any foreground pixel lies within the square of half-size `radius`. */
export function dilate(mask: ArrayLike<number>, w: number, h: number, radius: number): Uint8Array {
  check(mask, w, h, radius);
  if (w === 0 || h === 0) return new Uint8Array(0);
  return unpad(colPass(rowPass(mask, w, h, radius, true), w, h, radius, true), w, h);
}

/** Binary erosion: 1 where every in-array pixel within the square is foreground (outside is neutral). */
export function erode(mask: ArrayLike<number>, w: number, h: number, radius: number): Uint8Array {
  check(mask, w, h, radius);
  if (w === 0 || h === 0) return new Uint8Array(0);
  return unpad(colPass(rowPass(mask, w, h, radius, false), w, h, radius, false), w, h);
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
  if (values instanceof Uint16Array && radius <= 3) return orSmall16(values, w, h, radius) as T;
  return vhgw(values, w, h, radius, true);
}

/**
 * OR filter of 16-bit masks for the small radii of mis-registration tolerance (1–3 px): 2r shifted
 * ORs per row, then 2r row ORs, two pixels per 32-bit word when rows are word-aligned. Cheaper than
 * van Herk/Gil-Werman's bookkeeping at these radii.
 */
function orSmall16(src: Uint16Array, w: number, h: number, r: number): Uint16Array {
  const tmp = new Uint16Array(w * h);
  tmp.set(src);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let d = 1; d <= r && d < w; d++) {
      for (let x = o + w - 1; x >= o + d; x--) tmp[x] |= src[x - d];
      for (let x = o; x < o + w - d; x++) tmp[x] |= src[x + d];
    }
  }
  const out = new Uint16Array(w * h);
  const words = (w & 1) === 0;
  const n = words ? w >>> 1 : w;
  const a = words ? new Uint32Array(tmp.buffer) : tmp;
  const b = words ? new Uint32Array(out.buffer) : out;
  for (let y = 0; y < h; y++) {
    const lo = y - r > 0 ? y - r : 0;
    const hi = y + r < h - 1 ? y + r : h - 1;
    const o = y * n;
    b.set(a.subarray(lo * n, lo * n + n), o);
    for (let yy = lo + 1; yy <= hi; yy++) {
      const s = yy * n;
      for (let x = 0; x < n; x++) b[o + x] |= a[s + x];
    }
  }
  return out;
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
