/**
 * Deterministic randomness for the sample generator.
 *
 * Two kinds: a sequential PRNG for layout decisions (made once, in a fixed order), and stateless
 * hashes of integer coordinates for anything evaluated per pixel. Pixel noise must be a function
 * of (position, band, seed) only, never of the order tiles are rendered in, so that any tile size
 * produces identical images.
 */

/** MurmurHash3 finaliser: a fast, well-mixed 32-bit avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of three integers (any sign). */
export function hash3(a: number, b: number, c: number): number {
  let h = fmix32((a | 0) ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(b | 0, 0x85ebca77) ^ 0x27d4eb2f);
  return fmix32(h ^ Math.imul(c | 0, 0xc2b2ae3d) ^ 0x165667b1);
}

/**
 * Cheap hash of two integers and a salt (one avalanche round after multiplicative mixing): good
 * enough for noise lattices and per-pixel texture, three times cheaper than {@link hash3}.
 */
export const hash2 = (x: number, y: number, salt: number): number => fmix32(Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul((y | 0) ^ 0x165667b1, 0x9e3779b1) ^ salt);

/** Hash of four integers. */
export const hash4 = (a: number, b: number, c: number, d: number): number => fmix32(hash3(a, b, c) ^ Math.imul(d | 0, 0x27d4eb2f));

/** A hash mapped to [0, 1). */
export const unit = (h: number): number => h / 4294967296;

/**
 * A hash mapped to an approximately standard normal value (Irwin–Hall of its four bytes, rescaled
 * to unit variance; bounded to ±3.46, which is what we want for noise).
 */
export const gauss = (h: number): number => ((h & 255) + ((h >>> 8) & 255) + ((h >>> 16) & 255) + (h >>> 24) - 510) * (1.7320508 / 255);

/** Hash of a string (FNV-1a), for naming random streams. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/**
 * Smooth value noise in [-1, 1] on an integer lattice (scale 1 = one lattice cell). Used for
 * within-field variation, cloud texture and village patterns.
 */
export function vnoise(x: number, y: number, salt: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hash2(ix, iy, salt);
  const b = hash2(ix + 1, iy, salt);
  const c = hash2(ix, iy + 1, salt);
  const d = hash2(ix + 1, iy + 1, salt);
  const top = a + (b - a) * sx;
  const bot = c + (d - c) * sx;
  return (top + (bot - top) * sy) / 2147483648 - 1;
}

/** Two-octave value noise in about [-1, 1]. */
export const fbm2 = (x: number, y: number, salt: number): number => 0.67 * vnoise(x, y, salt) + 0.33 * vnoise(x * 2.7 + 17.3, y * 2.7 - 9.1, salt ^ 0x5bd1e995);

/** Sequential PRNG (sfc32) for layout decisions. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream named `stream` under `seed`: independent streams keep one decision from shifting another. */
  constructor(seed: number, stream: string) {
    this.a = fmix32(seed ^ 0x243f6a88);
    this.b = hashString(stream);
    this.c = fmix32(this.a ^ this.b ^ 0x13198a2e);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform in [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer in [a, b] inclusive. */
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Log-uniform in [a, b): sizes spread evenly across orders of magnitude. */
  logRange(a: number, b: number): number {
    return Math.exp(this.range(Math.log(a), Math.log(b)));
  }

  /** Approximately standard normal. */
  gauss(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508;
  }

  /** A fresh 32-bit seed. */
  u32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
