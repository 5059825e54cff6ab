import { describe, expect, it } from 'vitest';
import { close, dilate, erode, maxFilter, open, orFilter } from './morphology.js';
import { anyInNeighbourhood, neighbourhoodClassMask, presentWithin } from './neighbourhood.js';
import { rng } from '../vectorize/testutil.js';

/** Naive reference: visits the whole square for every pixel. */
function naive(mask: ArrayLike<number>, w: number, h: number, r: number, kind: 'dilate' | 'erode'): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let any = false;
      let all = true;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue; // outside: background for dilate, neutral for erode
          if (mask[yy * w + xx]) any = true;
          else all = false;
        }
      out[y * w + x] = kind === 'dilate' ? +any : +all;
    }
  return out;
}

function naiveMax(v: ArrayLike<number>, w: number, h: number, r: number, or: boolean): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const a = v[yy * w + xx];
          acc = or ? acc | a : Math.max(acc, a);
        }
      out.push(acc);
    }
  return out;
}

const cases: Array<[w: number, h: number, r: number, density: number]> = [
  [1, 1, 0, 0.5],
  [1, 9, 2, 0.3],
  [9, 1, 3, 0.3],
  [17, 13, 1, 0.1],
  [17, 13, 1, 0.9],
  [31, 29, 2, 0.5],
  [40, 23, 5, 0.05],
  [40, 23, 5, 0.97],
  [12, 7, 20, 0.3], // radius larger than the raster
  [64, 50, 6, 0.02], // sparse, word-skipping, van Herk/Gil-Werman column pass
  [64, 50, 6, 0.98],
  [33, 61, 9, 0.5],
];

describe('binary morphology against a naive reference', () => {
  for (const [w, h, r, d] of cases)
    it(`${w}×${h} r=${r} density ${d}`, () => {
      const rand = rng(w * 1000 + h * 10 + r);
      const mask = new Uint8Array(w * h).map(() => (rand() < d ? 1 + Math.floor(rand() * 3) : 0)); // any non-zero is foreground
      const bin = mask.map((v) => (v ? 1 : 0));
      expect(Array.from(dilate(mask, w, h, r))).toEqual(Array.from(naive(mask, w, h, r, 'dilate')));
      // Unaligned views (the word-at-a-time scan must not depend on alignment) and plain arrays.
      for (const shift of [1, 2, 3]) {
        const buf = new Uint8Array(w * h + shift);
        buf.set(mask, shift);
        const view = buf.subarray(shift);
        expect(Array.from(dilate(view, w, h, r))).toEqual(Array.from(naive(mask, w, h, r, 'dilate')));
        expect(Array.from(erode(view, w, h, r))).toEqual(Array.from(naive(mask, w, h, r, 'erode')));
      }
      expect(Array.from(erode(Array.from(mask), w, h, r))).toEqual(Array.from(naive(mask, w, h, r, 'erode')));
      expect(Array.from(erode(mask, w, h, r))).toEqual(Array.from(naive(mask, w, h, r, 'erode')));
      expect(Array.from(open(mask, w, h, r))).toEqual(Array.from(naive(naive(bin, w, h, r, 'erode'), w, h, r, 'dilate')));
      expect(Array.from(close(mask, w, h, r))).toEqual(Array.from(naive(naive(bin, w, h, r, 'dilate'), w, h, r, 'erode')));
    });

  it('documents the border rules on a full mask and a single pixel', () => {
    const full = new Uint8Array(25).fill(1);
    expect(Array.from(erode(full, 5, 5, 2))).toEqual(Array.from(full)); // the edge does not erode
    const one = new Uint8Array(25);
    one[12] = 1;
    expect(Array.from(dilate(one, 5, 5, 1))).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(open(one, 5, 5, 1))).toEqual(new Array(25).fill(0));
  });

  it('rejects a size mismatch and a bad radius', () => {
    expect(() => dilate(new Uint8Array(5), 2, 2, 1)).toThrow(RangeError);
    expect(() => erode(new Uint8Array(4), 2, 2, -1)).toThrow(RangeError);
  });
});

describe('max / OR filters and class neighbourhoods', () => {
  for (const [w, h, r] of [
    [1, 1, 1],
    [13, 11, 1],
    [13, 11, 2],
    [30, 17, 4],
    [5, 40, 7],
    [14, 9, 3],
    [3, 12, 2],
  ] as const)
    it(`${w}×${h} r=${r}`, () => {
      const rand = rng(7 + w + h + r);
      const v8 = new Uint8Array(w * h).map(() => Math.floor(rand() * 256));
      expect(Array.from(maxFilter(v8, w, h, r))).toEqual(naiveMax(v8, w, h, r, false));
      const v16 = new Uint16Array(w * h).map(() => 1 << Math.floor(rand() * 16));
      expect(Array.from(orFilter(v16, w, h, r))).toEqual(naiveMax(v16, w, h, r, true));
      const classes = new Uint8Array(w * h).map(() => Math.floor(rand() * 11));
      const mask = neighbourhoodClassMask(classes, w, h, r);
      for (const code of [0, 3, 7, 10]) {
        const want = naive(classes.map((c) => (c === code ? 1 : 0)), w, h, r, 'dilate');
        expect(Array.from(mask, (b) => (b >> code) & 1)).toEqual(Array.from(want));
        expect(Array.from(presentWithin(classes, w, h, r, code))).toEqual(Array.from(want));
      }
      const built = anyInNeighbourhood(classes, w, h, r, (c) => c === 7 || c === 8);
      expect(Array.from(built)).toEqual(Array.from(naive(classes.map((c) => (c === 7 || c === 8 ? 1 : 0)), w, h, r, 'dilate')));
    });

  it('rejects classes above 15', () => {
    expect(() => neighbourhoodClassMask(new Uint8Array([16]), 1, 1, 1)).toThrow(RangeError);
  });
});
