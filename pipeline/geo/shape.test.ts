import { describe, expect, it } from 'vitest';
import { componentShape } from './shape.js';
import { labelTile, mergeTiles, type Component } from '../vectorize/index.js';

/** The single component of a mask drawn by `inside(x, y)` on a W×H window. */
function component(W: number, H: number, inside: (x: number, y: number) => boolean): Component {
  const codes = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (inside(x, y)) codes[y * W + x] = 1;
  const comps = mergeTiles([labelTile({ window: { col: 100, row: 50, width: W, height: H }, codes })]);
  expect(comps).toHaveLength(1);
  return comps[0];
}

describe('componentShape', () => {
  it('measures axis-aligned strips exactly, odd and even widths', () => {
    for (const w of [1, 2, 3, 4, 5, 6]) {
      const s = componentShape(component(60, w, () => true));
      expect(s.areaPx).toBe(60 * w);
      expect(s.perimeterPx).toBe(2 * (60 + w));
      expect(s.maxInscribedWidthPx).toBeCloseTo(w, 12);
      const vertical = componentShape(component(w, 60, () => true));
      expect(vertical.maxInscribedWidthPx).toBeCloseTo(w, 12);
      expect(vertical.meanWidthPx).toBeCloseTo(s.meanWidthPx, 12);
    }
    // Mean width of a strip: 4 × mean centre distance = w for even w, w + 1/w for odd w (ends aside).
    const s4 = componentShape(component(400, 4, () => true));
    expect(s4.meanWidthPx).toBeGreaterThan(3.98);
    expect(s4.meanWidthPx).toBeLessThanOrEqual(4);
    const s3 = componentShape(component(400, 3, () => true));
    expect(s3.meanWidthPx).toBeGreaterThan(3.3);
    expect(s3.meanWidthPx).toBeLessThanOrEqual(3 + 1 / 3);
    expect(s4.elongation).toBeGreaterThan(90);
  });

  it('tells a diagonal road from a building', () => {
    // A 5 px wide road at 30°, 300 px long, and a 40 × 30 building.
    const a = Math.PI / 6;
    const road = componentShape(
      component(280, 170, (x, y) => {
        const u = (x - 5) * Math.cos(a) + (y - 5) * Math.sin(a);
        const v = -(x - 5) * Math.sin(a) + (y - 5) * Math.cos(a);
        return u >= 0 && u <= 300 && v >= -2.5 && v < 2.5;
      }),
    );
    expect(road.maxInscribedWidthPx).toBeGreaterThan(4);
    expect(road.maxInscribedWidthPx).toBeLessThan(6.5);
    expect(road.lengthPx).toBeGreaterThan(270);
    expect(road.lengthPx).toBeLessThan(330);
    expect(road.elongation).toBeGreaterThan(40);
    const building = componentShape(component(40, 30, () => true));
    expect(building.maxInscribedWidthPx).toBeCloseTo(30, 12);
    expect(building.elongation).toBeLessThan(3);
    expect(building.elongation).toBeGreaterThan(1.5);
  });

  it('finds the largest inscribed disc of a disc and accounts for holes', () => {
    const R = 20;
    const disc = componentShape(component(41, 41, (x, y) => (x - 20) ** 2 + (y - 20) ** 2 <= R * R));
    // The staircase's concave corners poke in by up to √½ px.
    expect(disc.maxInscribedWidthPx).toBeGreaterThan(2 * R - 1.5);
    expect(disc.maxInscribedWidthPx).toBeLessThanOrEqual(2 * R + 1);
    expect(disc.elongation).toBeGreaterThan(1.5);
    expect(disc.elongation).toBeLessThan(2.2);
    // A 21×21 square with a 7×7 hole: the widest part is the 7 px frame's corner region.
    const frame = componentShape(component(21, 21, (x, y) => !(x >= 7 && x < 14 && y >= 7 && y < 14)));
    expect(frame.areaPx).toBe(21 * 21 - 49);
    expect(frame.perimeterPx).toBe(4 * 21 + 4 * 7);
    // Largest disc in a corner of the frame: centre on the diagonal, touching the outer edges and the hole's corner.
    const r = (7 * Math.SQRT2) / (1 + Math.SQRT2) + 0; // distance balance along the diagonal
    expect(frame.maxInscribedWidthPx).toBeGreaterThanOrEqual(7);
    expect(frame.maxInscribedWidthPx).toBeLessThan(2 * 7 + 1);
    expect(r).toBeGreaterThan(0);
    const dot = componentShape(component(1, 1, () => true));
    expect(dot).toMatchObject({ areaPx: 1, perimeterPx: 4, maxInscribedWidthPx: 1, meanWidthPx: 2 });
  });
});
