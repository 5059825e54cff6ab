import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FALLBACK_STRETCH, computeStretch, renderChipPair, type BandStretch } from './index.js';
import type { RasterBlock } from '../types.js';
import type { PixelPolygon } from '../geo/rasterize.js';

const W = 20;
const H = 10;

/** A uniform block with bands in a non-RGB order (selection must go by name); pixel (0,0) invalid. */
function uniformBlock(rgb: [number, number, number]): RasterBlock {
  const n = W * H;
  const band = (v: number): Float32Array => new Float32Array(n).fill(v);
  const valid = new Uint8Array(n).fill(1);
  valid[0] = 0;
  return { window: { col: 100, row: 200, width: W, height: H }, bandNames: ['blue', 'green', 'red', 'nir'], data: [band(rgb[2]), band(rgb[1]), band(rgb[0]), band(0.5)], valid };
}

async function decode(png: Buffer): Promise<{ width: number; height: number; channels: number; px: (x: number, y: number) => number[] }> {
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect(meta.depth).toBe('uchar');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, px: (x, y) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + info.channels)] };
}

describe('renderChipPair', () => {
  // Rectangle from window pixel (5,2) to (15,8).
  const outline: PixelPolygon = [[[5, 2], [15, 2], [15, 8], [5, 8], [5, 2]]];
  const stretch: BandStretch = { min: [0, 0, 0], max: [0.4, 0.4, 0.4] };

  it('renders 8-bit RGB PNGs upscaled by nearest neighbour with a yellow outline and black invalid pixels', async () => {
    const before = uniformBlock([0.1, 0.2, 0.3]);
    const after = uniformBlock([0.3, 0.1, 0.05]);
    const chips = await renderChipPair(before, after, outline, { before: stretch, after: { min: [0.1, 0, 0], max: [0.5, 0.2, 0.1] } }, { minSize: 64 });
    const b = await decode(chips.before);
    const a = await decode(chips.after);
    // k = ceil(64 / 10) = 7 → 140 × 70.
    for (const c of [b, a]) {
      expect([c.width, c.height, c.channels]).toEqual([140, 70, 3]);
      // The left edge x = 5 → 35 px; a 2 px line covers columns 34 and 35. Top edge y = 2 → rows 13, 14.
      expect(c.px(34, 35)).toEqual([255, 255, 0]);
      expect(c.px(35, 35)).toEqual([255, 255, 0]);
      expect(c.px(70, 13)).toEqual([255, 255, 0]);
      expect(c.px(70, 14)).toEqual([255, 255, 0]);
      // Invalid pixel (0,0) → a black 7×7 block.
      expect(c.px(0, 0)).toEqual([0, 0, 0]);
      expect(c.px(6, 6)).toEqual([0, 0, 0]);
    }
    // Interior and exterior pixels carry the stretched colour: round(v / 0.4 × 255).
    expect(b.px(70, 35)).toEqual([64, 128, 191]);
    expect(b.px(20, 35)).toEqual([64, 128, 191]);
    expect(b.px(7, 0)).toEqual([64, 128, 191]); // pixel (1,0): valid
    // After: (0.3−0.1)/0.4 → 128, 0.1/0.2 → 128, 0.05/0.1 → 128 (values are float32, round half up).
    expect(a.px(70, 35)).toEqual([128, 128, 128]);
  });

  it('clamps to 0..255, keeps k = 1 for large windows, and rejects missing bands or mismatched windows', async () => {
    const bright = uniformBlock([2, -1, 0.2]);
    const { before } = await renderChipPair(bright, bright, [], { before: stretch, after: stretch }, { minSize: 8 });
    const d = await decode(before);
    expect([d.width, d.height]).toEqual([20, 10]);
    expect(d.px(3, 3)).toEqual([255, 0, 128]);

    const noRed: RasterBlock = { ...bright, bandNames: ['blue', 'green', 'nir', 'swir'] };
    await expect(renderChipPair(noRed, noRed, [], { before: stretch, after: stretch })).rejects.toMatchObject({ code: 'MISSING_BAND', context: { band: 'red' } });
    const small: RasterBlock = { ...bright, window: { col: 0, row: 0, width: 10, height: 10 } };
    await expect(renderChipPair(bright, small, [], { before: stretch, after: stretch })).rejects.toThrow(/differ in size/);
    await expect(renderChipPair(bright, bright, [], { before: stretch, after: { min: [0, 0], max: [1, 1] } })).rejects.toThrow(/three finite/);
  });

  it('caps the longer side at maxSize for thin windows', async () => {
    const n = 200 * 2;
    const thin: RasterBlock = { window: { col: 0, row: 0, width: 200, height: 2 }, bandNames: ['red', 'green', 'blue'], data: [0, 1, 2].map(() => new Float32Array(n).fill(0.1)), valid: new Uint8Array(n).fill(1) };
    const { after } = await renderChipPair(thin, thin, [], { before: stretch, after: stretch }, { minSize: 256, maxSize: 1000 });
    const meta = await sharp(after).metadata();
    expect([meta.width, meta.height]).toEqual([1000, 10]);
  });
});

describe('computeStretch', () => {
  it('takes the 2nd and 98th percentiles of valid pixels per band', () => {
    const n = 1000;
    const ramp = new Float32Array(n).map((_, i) => i / 1000); // 0.000 … 0.999
    const half = ramp.map((v) => v / 2);
    const valid = new Uint8Array(n).fill(1);
    // Invalid pixels with absurd values must not move the percentiles.
    const data = [ramp, half, ramp.map((v) => v + 0.1)].map((b) => {
      const c = new Float32Array(n + 100);
      c.set(b);
      c.fill(50, n);
      return c;
    });
    const block: RasterBlock = { window: { col: 0, row: 0, width: n + 100, height: 1 }, bandNames: ['red', 'green', 'blue'], data, valid: Uint8Array.from([...valid, ...new Uint8Array(100)]) };
    const s = computeStretch([block], ['red', 'green', 'blue']);
    // Within a histogram bin (0.00025) plus one sample step (0.001).
    expect(s.min[0]).toBeCloseTo(0.02, 2);
    expect(s.max[0]).toBeCloseTo(0.98, 2);
    expect(Math.abs(s.min[0] - 0.02)).toBeLessThan(0.0013);
    expect(Math.abs(s.max[0] - 0.98)).toBeLessThan(0.0013);
    expect(Math.abs(s.min[1] - 0.01)).toBeLessThan(0.0013);
    expect(Math.abs(s.max[1] - 0.49)).toBeLessThan(0.0013);
    expect(Math.abs(s.min[2] - 0.12)).toBeLessThan(0.0013);
    expect(Math.abs(s.max[2] - 1.08)).toBeLessThan(0.0013);
  });

  it('pools several blocks, falls back without valid pixels and separates a constant band', () => {
    const mk = (v: number, valid: number): RasterBlock => ({ window: { col: 0, row: 0, width: 10, height: 1 }, bandNames: ['red', 'green', 'blue'], data: [0, 1, 2].map(() => new Float32Array(10).fill(v)), valid: new Uint8Array(10).fill(valid) });
    expect(computeStretch([mk(0.1, 0)])).toEqual(FALLBACK_STRETCH);
    expect(computeStretch([])).toEqual(FALLBACK_STRETCH);
    const c = computeStretch([mk(0.2, 1)]);
    expect(c.max[0]).toBeGreaterThan(c.min[0]);
    expect(Math.abs(c.min[0] - 0.2)).toBeLessThan(0.0003);
    const pooled = computeStretch([mk(0.1, 1), mk(0.3, 1)], ['red', 'green', 'blue'], 10, 90);
    expect(pooled.min[0]).toBeLessThan(0.101);
    expect(pooled.max[0]).toBeGreaterThan(0.299);
    expect(() => computeStretch([mk(0.1, 1)], ['red', 'green', 'blue'], 50, 50)).toThrow(/percentiles/);
  });
});
