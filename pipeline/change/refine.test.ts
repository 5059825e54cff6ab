import { describe, expect, it } from 'vitest';
import { LandCover, type LandCoverBlock, type RasterBlock } from '../types.js';
import { depthInside, distanceFrom, refineOutlines, type RefineOptions } from './refine.js';

const W = 40;
const H = 40;
const window = { col: 0, row: 0, width: W, height: H };
const field = [0.08, 0.1, 0.12, 0.2]; // a harvested field
const stand = [0.02, 0.04, 0.03, 0.3]; // a dark young stand
const crown = [0.02, 0.04, 0.03, 0.35];
const grass = [0.05, 0.09, 0.07, 0.3];

function block(spectrum: (x: number, y: number) => number[]): RasterBlock {
  const data = [0, 1, 2, 3].map(() => new Float32Array(W * H));
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) spectrum(x, y).forEach((v, i) => (data[i][y * W + x] = v));
  return { window, bandNames: ['blue', 'green', 'red', 'nir'], data, valid: new Uint8Array(W * H).fill(1) };
}
const cover = (c: number): LandCoverBlock => ({ window, classes: new Uint8Array(W * H).fill(c), confidence: new Float32Array(W * H).fill(0.9) });
const inBox = (x: number, y: number, x0: number, x1: number) => x >= x0 && x <= x1 && y >= x0 && y <= x1;
const square = (x0: number, x1: number, c = 1) => {
  const codes = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (inBox(x, y, x0, x1)) codes[y * W + x] = c;
  return codes;
};
const count = (codes: Uint8Array, c = 1) => codes.reduce((s, v) => s + (v === c ? 1 : 0), 0);
const herbaceousBit = 1 << LandCover.herbaceous;
const opts = (o: Partial<RefineOptions> = {}): RefineOptions => ({ reachPx: 5, windowPx: 12, texturePx: [0], misregistrationPx: 1, fromClasses: [herbaceousBit], ...o });
const all = () => new Uint8Array(W * H).fill(1);

describe('refineOutlines', () => {
  // The stand covers x, y in 12..27 (16 × 16 px); the classifier found only 15..24.
  const after = block((x, y) => (inBox(x, y, 12, 27) ? stand : field));
  const before = block(() => grass);

  it('grows a change to the object the after image shows, and no further', () => {
    const codes = square(15, 24);
    const lcA = cover(LandCover.herbaceous);
    for (let p = 0; p < W * H; p++) if (codes[p]) lcA.classes[p] = LandCover.tree;
    const { added, removed } = refineOutlines(codes, all(), W, H, before, after, cover(LandCover.herbaceous), lcA, opts());
    expect(removed).toBe(0);
    expect(added).toBe(16 * 16 - 10 * 10);
    expect(codes).toEqual(square(12, 27));
    // Grown pixels read the new cover, for the patch's attributes.
    expect(lcA.classes[12 * W + 12]).toBe(LandCover.tree);
  });

  it('grows at most reachPx rings', () => {
    // The stand 13..26 lies within 2 rings of the core; the surface beyond is field.
    const near = block((x, y) => (inBox(x, y, 13, 26) ? stand : field));
    const codes = square(15, 24);
    refineOutlines(codes, all(), W, H, before, near, cover(LandCover.herbaceous), cover(LandCover.tree), opts({ reachPx: 2 }));
    expect(codes).toEqual(square(13, 26));
    const one = square(15, 24);
    refineOutlines(one, all(), W, H, before, near, cover(LandCover.herbaceous), cover(LandCover.tree), opts({ reachPx: 1 }));
    // One ring: the surface just beyond it is still the stand, which is then no old surface to
    // tell the stand from, so nothing grows (the refinement fails safe).
    expect(count(one)).toBeLessThanOrEqual(12 * 12);
    expect(count(one)).toBeGreaterThanOrEqual(10 * 10);
  });

  it('does not grow into what the before image already showed as the new cover, nor where changes are not allowed', () => {
    const lcB = cover(LandCover.herbaceous);
    for (let x = 0; x < W; x++) for (let y = 0; y < 15; y++) lcB.classes[y * W + x] = LandCover.tree; // rows above: a stand already
    const allowed = all();
    for (let y = 0; y < H; y++) allowed[y * W + 12] = allowed[y * W + 13] = allowed[y * W + 14] = 0; // columns left: not cropland
    const codes = square(15, 24);
    refineOutlines(codes, allowed, W, H, before, after, lcB, cover(LandCover.tree), opts());
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) expect(codes[y * W + x], `${x},${y}`).toBe(x >= 15 && x <= 27 && y >= 15 && y <= 27 ? 1 : 0);
  });

  it('leaves a change alone when the after image shows no contrast around it', () => {
    const flat = block(() => field);
    const codes = square(15, 24);
    const { added, removed } = refineOutlines(codes, all(), W, H, before, flat, cover(LandCover.herbaceous), cover(LandCover.tree), opts());
    expect([added, removed]).toEqual([0, 0]);
  });

  it('does not take a third surface that is nearer the change than the field but unlike the change', () => {
    // A stand with some noise over 15..24, found whole; round it a 2-px strip of another crop a
    // third of the way from the stand to the field beyond.
    const noise = (x: number, y: number) => 0.004 * (((x * 7 + y * 13) % 5) - 2);
    const strip = stand.map((v, i) => v + (field[i] - v) / 3);
    const img = block((x, y) => (inBox(x, y, 15, 24) ? stand.map((v) => v + noise(x, y)) : inBox(x, y, 13, 26) ? strip : field));
    const codes = square(15, 24);
    const { added } = refineOutlines(codes, all(), W, H, before, img, cover(LandCover.herbaceous), cover(LandCover.tree), opts());
    expect(added).toBe(0);
    // The same strip cut from the stand itself (stand spectra, as noisy) does join.
    const whole = block((x, y) => (inBox(x, y, 13, 26) ? stand.map((v) => v + noise(x, y)) : field));
    const grown = square(15, 24);
    refineOutlines(grown, all(), W, H, before, whole, cover(LandCover.herbaceous), cover(LandCover.tree), opts());
    expect(grown).toEqual(square(13, 26));
  });

  it('takes the rim of an object that grades away from its interior without an edge (moist dug soil)', () => {
    // Dry subsoil found over 15..24; beyond it the same ground grows moister ring by ring (6 % of
    // the way to moist topsoil per pixel) out to 12..27, then a green crop.
    const dry = [0.11, 0.16, 0.21, 0.26];
    const moist = [0.056, 0.076, 0.096, 0.135];
    const crop = [0.04, 0.08, 0.05, 0.35];
    const noise = (x: number, y: number) => 0.004 * (((x * 7 + y * 13) % 5) - 2);
    const ring = (x: number, y: number) => Math.max(15 - x, x - 24, 15 - y, y - 24, 0);
    const img = block((x, y) => (inBox(x, y, 12, 27) ? dry.map((v, i) => v + 0.06 * ring(x, y) * (moist[i] - v) + noise(x, y)) : crop));
    const bare = cover(LandCover.bare);
    const codes = square(15, 24);
    const { added } = refineOutlines(codes, all(), W, H, before, img, bare, cover(LandCover.disturbed), opts({ fromClasses: [1 << LandCover.bare] }));
    expect(added).toBe(16 * 16 - 10 * 10);
    expect(codes).toEqual(square(12, 27));
  });

  it('refines the rules of one family (dug ground read by two rules) as one object', () => {
    // The stand of the first test, found as a checkerboard of two rules' pixels; rule 2 may not
    // start a change itself (fromClasses 0), so alone neither has an interior to grow from.
    const codes = square(15, 24);
    for (let p = 0; p < W * H; p++) if (codes[p] && ((p % W) + Math.floor(p / W)) % 2) codes[p] = 2;
    const o = opts({ texturePx: [0, 0], fromClasses: [herbaceousBit, 0] });
    const apart = codes.slice();
    expect(refineOutlines(apart, all(), W, H, before, after, cover(LandCover.herbaceous), cover(LandCover.tree), o).added).toBe(0);
    const { added } = refineOutlines(codes, all(), W, H, before, after, cover(LandCover.herbaceous), cover(LandCover.tree), { ...o, family: [1, 1] });
    expect(added).toBe(16 * 16 - 10 * 10);
    // The found pixels keep their rules; the grown ones take the family's.
    expect([codes[15 * W + 15], codes[15 * W + 16], codes[12 * W + 12], codes[27 * W + 20]]).toEqual([1, 2, 1, 1]);
  });

  it('gives back the rim a texture window spilled into the field (texture covers)', () => {
    // An orchard over 12..27: crowns on a 2-px grid with grass between; the classifier's texture
    // window read it 2 px too wide all round.
    const orchard = block((x, y) => (inBox(x, y, 12, 27) ? (x % 2 === 0 && y % 2 === 0 ? crown : grass) : field));
    const codes = square(10, 29);
    const { removed } = refineOutlines(codes, all(), W, H, before, orchard, cover(LandCover.herbaceous), cover(LandCover.orchard), opts({ texturePx: [1] }));
    expect(removed).toBeGreaterThan(0);
    expect(codes).toEqual(square(12, 27));
    // Without the texture reading, single crown and grass pixels decide and the rim stays.
    const plain = square(10, 29);
    expect(refineOutlines(plain, all(), W, H, before, orchard, cover(LandCover.herbaceous), cover(LandCover.orchard), opts()).removed).toBe(0);
  });

  it('grows a texture read in a thin strip of itself', () => {
    // The orchard of the previous test over 12..27, read only in a band 4 px wide (x 18..21): no
    // pixel's 3 × 3 box stays a pixel clear of the band's outline, but the middle columns' boxes
    // lie inside it.
    const orchard = block((x, y) => (inBox(x, y, 12, 27) ? (x % 2 === 0 && y % 2 === 0 ? crown : grass) : field));
    const codes = new Uint8Array(W * H);
    for (let y = 12; y <= 27; y++) for (let x = 18; x <= 21; x++) codes[y * W + x] = 1;
    refineOutlines(codes, all(), W, H, before, orchard, cover(LandCover.herbaceous), cover(LandCover.orchard), opts({ texturePx: [1] }));
    // It grows the reach (5 rings) each way; the orchard's last ring is beyond it.
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) expect(codes[y * W + x], `${x},${y}`).toBe((x >= 18 && x <= 21 && y >= 12 && y <= 27) || inBox(x, y, 13, 26) ? 1 : 0);
  });

  it('compares texture covers on their change between the dates too', () => {
    // A stand planted on a bare field over 12..27, with grass around that was grass before. The
    // classifier found 15..24; the sparser rows 12..14 and 25..27 are a little nearer the grass
    // than the stand, so on the after date alone only the ring next to the stand (3 × 3 means two
    // thirds stand) would join. Between the dates they changed as the stand did (bare →
    // vegetation) and the grass did not, so they join.
    const soil = [0.12, 0.16, 0.2, 0.26];
    const sparse = stand.map((v, i) => v + 0.55 * (grass[i] - v));
    const img = block((x, y) => (inBox(x, y, 15, 24) ? stand : inBox(x, y, 12, 27) ? sparse : grass));
    const bareField = block((x, y) => (inBox(x, y, 12, 27) ? soil : grass));
    const texture = opts({ texturePx: [1], fromClasses: [herbaceousBit | (1 << LandCover.bare)] });
    const codes = square(15, 24);
    refineOutlines(codes, all(), W, H, bareField, img, cover(LandCover.herbaceous), cover(LandCover.tree), texture);
    // The rings 13..14 and 25..26 join (their 3 × 3 means hold no grass); the outermost, a third
    // grass in its means, is the mixed-edge growth's to decide (edges.ts).
    const corner = (x: number, y: number) => (x === 13 || x === 26) && (y === 13 || y === 26);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const v = codes[y * W + x];
        if (inBox(x, y, 13, 26) && !corner(x, y)) expect(v, `${x},${y}`).toBe(1);
        if (!inBox(x, y, 12, 27)) expect(v, `${x},${y}`).toBe(0);
      }
    // Had the rim looked the same before (no change there), none of it joins, not even that ring.
    const grassBefore = block((x, y) => (inBox(x, y, 15, 24) ? soil : inBox(x, y, 12, 27) ? sparse : grass));
    const unchanged = square(15, 24);
    refineOutlines(unchanged, all(), W, H, grassBefore, img, cover(LandCover.herbaceous), cover(LandCover.tree), texture);
    // The core's corners, five ninths unchanged rim in their 3 × 3 means, may go.
    for (let p = 0; p < W * H; p++) if (!square(15, 24)[p]) expect(unchanged[p]).toBe(0);
    expect(count(unchanged)).toBeGreaterThanOrEqual(88);
  });
});

describe('distance helpers', () => {
  it('measures chessboard distance from changes and depth inside them, capped', () => {
    const codes = square(10, 14);
    const away = distanceFrom(codes, W, H, 4);
    expect([away[12 * W + 12], away[12 * W + 15], away[12 * W + 17], away[12 * W + 30]]).toEqual([0, 1, 3, 4]);
    const depth = depthInside(codes, W, H, 5);
    expect([depth[10 * W + 10], depth[11 * W + 12], depth[12 * W + 12], depth[0]]).toEqual([1, 2, 3, 0]);
  });
});
