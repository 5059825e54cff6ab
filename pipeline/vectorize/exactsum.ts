/**
 * Exact, order-independent sums of Float32 values.
 *
 * Why: a component's `sums` must not depend on how the scene was tiled, but floating-point
 * addition is not associative, so summing per tile and then across tiles would give results that
 * differ in the last bits with the tile size. Every finite float32 is an integer multiple of
 * 2^-149, so the exact sum is an integer in units of 2^-149; we keep it as base-256 limbs held in
 * doubles (exact while |limb| < 2^53), carry-normalise to a canonical form, and round to a double
 * only at the end. Equal exact sums give equal limbs and therefore bit-identical results.
 */

/** Limb count: float32 exponents reach limb 31; the rest absorbs carries of up to ~2^56 additions. */
export const LIMBS = 44;
/** Limb d carries the weight 2^(8d - 149). */
const LIMB_WEIGHT = Array.from({ length: LIMBS }, (_, d) => 2 ** (8 * d - 149));
/** 2^t for the bit offset of a value inside its limb. */
export const POW2_8 = new Float64Array([1, 2, 4, 8, 16, 32, 64, 128]);
/**
 * Additions of at most 2^31 each before a limb may leave the exact-integer range of a double
 * (2^21 × 2^31 = 2^52); callers normalise at least this often.
 */
export const ADDS_BEFORE_CARRY = 1 << 20;

/**
 * Adds the float32 whose IEEE bits are `bits` to `limbs` (offset `base`). Non-finite values
 * (NaN, ±Infinity: NoData in practice) are skipped. Returns 1 if something was added, else 0.
 */
export function addFloat32Bits(limbs: Float64Array, base: number, bits: number): number {
  const e = (bits >>> 23) & 0xff;
  if (e === 0xff) return 0;
  let m = bits & 0x7fffff;
  let s: number;
  if (e === 0) {
    if (m === 0) return 0;
    s = 0;
  } else {
    m |= 0x800000;
    s = e - 1;
  }
  const v = m * POW2_8[s & 7];
  if (bits >>> 31) limbs[base + (s >>> 3)] -= v;
  else limbs[base + (s >>> 3)] += v;
  return 1;
}

/**
 * Propagates carries so every limb but the top one lies in [0, 256): a canonical form, so equal
 * exact sums have equal limbs however they were accumulated.
 */
export function carry(limbs: Float64Array, base = 0): void {
  for (let d = base; d < base + LIMBS - 1; d++) {
    const v = limbs[d];
    if (v >= 0 && v < 256) continue;
    const c = Math.floor(v / 256);
    limbs[d] = v - c * 256;
    limbs[d + 1] += c;
  }
}

/**
 * Sparse, plain form of canonical limbs: `[index, value, index, value, ...]` for non-zero limbs
 * (what crosses worker boundaries inside TileComponents).
 */
export function toSparse(limbs: Float64Array, base = 0): number[] {
  const out: number[] = [];
  for (let d = 0; d < LIMBS; d++) {
    const v = limbs[base + d];
    if (v !== 0) out.push(d, v);
  }
  return out;
}

/** Adds a sparse limb list into dense `limbs` (no carrying: call `carry` before reading). */
export function addSparse(limbs: Float64Array, sparse: ArrayLike<number>, base = 0): void {
  for (let k = 0; k + 1 < sparse.length; k += 2) limbs[base + sparse[k]] += sparse[k + 1];
}

/** The double nearest (to a few ulp, deterministically) the exact sum held in canonical limbs. */
export function limbsValue(limbs: Float64Array, base = 0): number {
  let s = 0;
  for (let d = 0; d < LIMBS; d++) {
    const v = limbs[base + d];
    if (v !== 0) s += v * LIMB_WEIGHT[d];
  }
  return s;
}

/** Value of a sparse canonical limb list. */
export function sparseValue(sparse: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k + 1 < sparse.length; k += 2) s += sparse[k + 1] * LIMB_WEIGHT[sparse[k]];
  return s;
}
