import { dilate, orFilter } from './morphology.js';

/**
 * Which classes occur within a square neighbourhood of each pixel: bit k of the result is set
 * when a pixel of class k lies within `radius` (Chebyshev) of it, pixels outside the array
 * counting as absent. One OR filter answers "was class k already there within r px in the other
 * date?" for every class at once: the mis-registration tolerance of the change rules.
 * Classes must be 0..15 (the land-cover codes are); others throw a RangeError.
 */
export function neighbourhoodClassMask(classes: Uint8Array, w: number, h: number, radius: number): Uint16Array {
  if (classes.length !== w * h) throw new RangeError(`raster of ${classes.length} values does not match ${w}×${h}`);
  const bits = new Uint16Array(classes.length);
  let bad = 0;
  for (let p = 0; p < classes.length; p++) {
    const c = classes[p];
    bad |= c;
    bits[p] = 1 << c;
  }
  if (bad > 15) {
    const p = classes.findIndex((c) => c > 15);
    throw new RangeError(`neighbourhoodClassMask: class ${classes[p]} at pixel ${p} does not fit in 16 bits (classes 0..15)`);
  }
  return orFilter(bits, w, h, radius);
}

/** 1 where a pixel of `code` lies within the square of half-size `radius` (outside the array: absent). */
export function presentWithin(classes: Uint8Array, w: number, h: number, radius: number, code: number): Uint8Array {
  const m = new Uint8Array(classes.length);
  for (let p = 0; p < classes.length; p++) m[p] = classes[p] === code ? 1 : 0;
  return dilate(m, w, h, radius);
}

/** 1 where any pixel whose class satisfies `wanted` lies within the square of half-size `radius`. */
export function anyInNeighbourhood(classes: Uint8Array, w: number, h: number, radius: number, wanted: (code: number) => boolean): Uint8Array {
  const lut = new Uint8Array(256);
  for (let c = 0; c < 256; c++) lut[c] = wanted(c) ? 1 : 0;
  const m = new Uint8Array(classes.length);
  for (let p = 0; p < classes.length; p++) m[p] = lut[classes[p]];
  return dilate(m, w, h, radius);
}
