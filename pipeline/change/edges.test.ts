import { describe, expect, it } from 'vitest';
import { LandCover, type LandCoverBlock, type RasterBlock } from '../types.js';
import { growMixedEdges } from './edges.js';

const W = 20;
const H = 20;
const window = { col: 0, row: 0, width: W, height: H };
const crop = [0.04, 0.08, 0.05, 0.4];
const roof = [0.3, 0.32, 0.33, 0.36];
const opts = { rings: 2, minContrast: 0.15, minFraction: 0.5 };

/** A block whose pixel spectrum is `spectrum(x, y)`. */
function block(spectrum: (x: number, y: number) => number[]): RasterBlock {
  const data = [0, 1, 2, 3].map(() => new Float32Array(W * H));
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) spectrum(x, y).forEach((v, i) => (data[i][y * W + x] = v));
  return { window, bandNames: ['blue', 'green', 'red', 'nir'], data, valid: new Uint8Array(W * H).fill(1) };
}
const mix = (f: number) => crop.map((c, i) => f * roof[i] + (1 - f) * c);
const cover = (): LandCoverBlock => ({ window, classes: new Uint8Array(W * H).fill(LandCover.herbaceous), confidence: new Float32Array(W * H).fill(0.9) });

describe('growMixedEdges', () => {
  // A roof over x 5..12 (8 px) whose edge columns x = 4 and x = 13 are 70 % and 30 % roof; the
  // classifier found only x 5..12 (the core).
  const after = block((x) => (x >= 5 && x <= 12 ? roof : x === 4 ? mix(0.7) : x === 13 ? mix(0.3) : crop));
  const before = block(() => crop);
  const core = () => {
    const codes = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 5; x <= 12; x++) codes[y * W + x] = 1;
    return codes;
  };

  it('adds edge pixels that are mostly new material and relabels their after class', () => {
    const codes = core();
    const lc = cover();
    for (let y = 0; y < H; y++) for (let x = 5; x <= 12; x++) lc.classes[y * W + x] = LandCover.built;
    const added = growMixedEdges(codes, new Uint8Array(W * H).fill(1), W, H, before, after, lc, opts);
    expect(added).toBe(H);
    for (let y = 0; y < H; y++) {
      expect(codes[y * W + 4]).toBe(1);
      expect(lc.classes[y * W + 4]).toBe(LandCover.built);
      expect(codes[y * W + 13]).toBe(0);
      expect(codes[y * W + 3]).toBe(0);
    }
  });

  it('ignores a field that changed as a whole (season), and changes smaller than their mapping unit', () => {
    // Everything ripened alike: the neighbours look like their surroundings, f ≈ 0.
    const ripe = block((x) => (x >= 5 && x <= 12 ? roof : [0.06, 0.09, 0.09, 0.3]));
    const codes = core();
    expect(growMixedEdges(codes, new Uint8Array(W * H).fill(1), W, H, before, ripe, cover(), opts)).toBe(0);
    const small = core();
    expect(growMixedEdges(small, new Uint8Array(W * H).fill(1), W, H, before, after, cover(), { ...opts, seedMinPx: [W * 8 + 1] })).toBe(0);
  });

  it('unmixes an edge pixel with the material of the change that lies there, not their mean', () => {
    // A change of two materials in rows (roof on even rows, its soil yard on odd rows) over x 5..12.
    // Column x = 4 is 60 % of its row's material, column x = 13 is 40 %. Against the mean of its
    // changed neighbours (two roofs, one yard) a 60 % yard pixel reads f ≈ 0.32; as yard alone, 0.6.
    const yard = [0.12, 0.14, 0.17, 0.22];
    const rowMaterial = (y: number) => (y % 2 ? yard : roof);
    const part = (f: number, y: number) => crop.map((c, i) => f * rowMaterial(y)[i] + (1 - f) * c);
    const striped = block((x, y) => (x >= 5 && x <= 12 ? rowMaterial(y) : x === 4 ? part(0.6, y) : x === 13 ? part(0.4, y) : crop));
    const codes = core();
    expect(growMixedEdges(codes, new Uint8Array(W * H).fill(1), W, H, before, striped, cover(), opts)).toBe(H);
    for (let y = 0; y < H; y++) {
      expect(codes[y * W + 4], `row ${y}`).toBe(1);
      expect(codes[y * W + 13], `row ${y}`).toBe(0);
    }
  });

  it('leaves alone a strip of another surface between the change and the field', () => {
    // A one-pixel soil margin (x = 4 and x = 13, soil on both dates) between the roof and the crop.
    // Two pixels out lies crop, which the margin never was: unmixed between roof and crop, bright
    // soil reads two-thirds roof (f ≈ 0.66), but its own old surface is not in sight.
    const soil = [0.2, 0.22, 0.25, 0.3];
    const margin = (x: number) => x === 4 || x === 13;
    const withMargin = block((x) => (x >= 5 && x <= 12 ? roof : margin(x) ? soil : crop));
    const marginBefore = block((x) => (margin(x) ? soil : crop));
    const codes = core();
    expect(growMixedEdges(codes, new Uint8Array(W * H).fill(1), W, H, marginBefore, withMargin, cover(), opts)).toBe(0);
    // A margin as wide as the unmixing looks (two pixels and more) is its own old surface: f ≈ 0.
    const wide = (x: number) => (x >= 2 && x <= 4) || (x >= 13 && x <= 15);
    const wideCodes = core();
    expect(growMixedEdges(wideCodes, new Uint8Array(W * H).fill(1), W, H, block((x) => (wide(x) ? soil : crop)), block((x) => (x >= 5 && x <= 12 ? roof : wide(x) ? soil : crop)), cover(), opts)).toBe(0);
  });

  it('never claims pixels that are not allowed (masked, not cropland)', () => {
    const codes = core();
    expect(growMixedEdges(codes, new Uint8Array(W * H), W, H, before, after, cover(), opts)).toBe(0);
  });
});
