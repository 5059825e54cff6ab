import { describe, expect, it } from 'vitest';
import { Rng } from '../../samples/rng.js';
import type { RasterBlock, Window } from '../types.js';
import { outlineEdges } from './outline-edges.js';

const W = 80;
const read: Window = { col: 0, row: 0, width: W, height: W };
const core: Window = { col: 10, row: 10, width: 60, height: 60 };
const opts = { ratio: 2, minContrast: 0.05 };

/** A before image of two fields (left: a green crop, right: a different, brighter crop) with 3 % noise. */
function twoFields(seed = 1): RasterBlock {
  const rng = new Rng(seed, 'prior-edges');
  const left = [0.04, 0.08, 0.05, 0.4];
  const right = [0.06, 0.1, 0.09, 0.3];
  const data = left.map(() => new Float32Array(W * W));
  for (let y = 0; y < W; y++)
    for (let x = 0; x < W; x++) {
      const s = x < 40 ? left : right;
      for (let k = 0; k < 4; k++) data[k][y * W + x] = s[k] * (1 + 0.03 * (rng.next() * 2 - 1));
    }
  return { window: read, bandNames: ['blue', 'green', 'red', 'nir'], data, valid: new Uint8Array(W * W).fill(1) };
}

function rect(c0: number, r0: number, w: number, h: number): Uint8Array {
  const codes = new Uint8Array(W * W);
  for (let y = r0; y < r0 + h; y++) for (let x = c0; x < c0 + w; x++) codes[y * W + x] = 3;
  return codes;
}

/** The before image as given, the after image a uniform new surface (so only the before image has edges). */
const pair = (before: RasterBlock) => ({ before, after: uniform(before.valid) });
function uniform(valid: Uint8Array): RasterBlock {
  const data = [0.2, 0.22, 0.24, 0.27].map((v) => new Float32Array(W * W).fill(v));
  return { window: read, bandNames: ['blue', 'green', 'red', 'nir'], data, valid };
}
const allClear = new Uint8Array(W * W).fill(1);
const share = (e: { steps: Float32Array; priorEdges: Float32Array }) => e.priorEdges.reduce((a, b) => a + b, 0) / e.steps.reduce((a, b) => a + b, 0);

describe('outlineEdges', () => {
  it('finds no prior edge around a patch dug into the middle of one field', () => {
    const e = outlineEdges(rect(15, 25, 14, 14), allClear, read, core, pair(twoFields()), opts);
    expect(e.steps.reduce((a, b) => a + b, 0)).toBe(4 * 14); // every outline step judged
    expect(share(e)).toBeLessThan(0.05);
  });

  it('finds the field edge along the side of a patch that stops at it', () => {
    // Columns 26..39: the east side (14 steps of 56) is the boundary between the fields.
    const e = outlineEdges(rect(26, 25, 14, 14), allClear, read, core, pair(twoFields()), opts);
    expect(share(e)).toBeGreaterThan(0.2);
    expect(share(e)).toBeLessThan(0.3);
    // Only the east outline pixels carry prior edges.
    for (let y = 0; y < core.height; y++)
      for (let x = 0; x < core.width; x++) if (e.priorEdges[y * core.width + x] > 0) expect(x + core.col).toBe(39);
  });

  it('does not judge steps onto pixels hidden on either date (the change may go on beneath a cloud)', () => {
    const clear = allClear.slice();
    for (let y = 0; y < W; y++) for (let x = 29; x < W; x++) clear[y * W + x] = 0; // cloud east of column 28
    const e = outlineEdges(rect(15, 25, 14, 14), clear, read, core, pair(twoFields()), opts);
    expect(e.steps.reduce((a, b) => a + b, 0)).toBe(3 * 14);
  });

  it('does not judge steps whose samples reach no-data or leave the window', () => {
    const before = twoFields();
    for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) if (y < 30) before.valid[y * W + x] = 0;
    const e = outlineEdges(rect(15, 30, 14, 14), allClear, read, core, pair(before), opts);
    // The south side and rows 31..43 of the west and east sides are judged (their 3×3 samples start at row 30); the north side is not.
    expect(e.steps.reduce((a, b) => a + b, 0)).toBe(14 + 2 * 13);
    // A patch whose east side's outer sample (5 px out, plus its 3×3) runs past the window's last column.
    const east = outlineEdges(rect(66, 40, 10, 10), allClear, read, { col: 60, row: 35, width: 20, height: 20 }, pair(twoFields()), opts);
    expect(east.steps.reduce((a, b) => a + b, 0)).toBe(3 * 10);
  });

  it('finds a new roof sharp-edged in the after image and the fringe of a thin cloud soft', () => {
    const before = twoFields();
    // After: a bright square (a new roof) at columns 10..23, and brightness that rises smoothly
    // (5 % per pixel: a cloud fringe) from column 40 on; each read as change where brighter than 1.6×.
    const after = twoFields(2);
    for (let y = 0; y < W; y++)
      for (let x = 0; x < W; x++) {
        const gain = x >= 10 && x < 24 && y >= 25 && y < 39 ? 3 : x >= 40 ? 1 + 0.05 * (x - 40) : 1;
        for (const band of after.data) band[y * W + x] *= gain;
      }
    const roof = outlineEdges(rect(10, 25, 14, 14), allClear, read, core, { before, after }, opts);
    expect(roof.sharpEdges.reduce((a, b) => a + b, 0) / roof.steps.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.9);
    // The fringe "change" starts where the gain passes 1.6 (column 52) and runs to the core's east edge.
    const fringe = outlineEdges(rect(52, 25, 18, 14), allClear, read, core, { before, after }, opts);
    expect(fringe.steps.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(fringe.sharpEdges.reduce((a, b) => a + b, 0) / fringe.steps.reduce((a, b) => a + b, 0)).toBeLessThan(0.1);
  });

  it('judges a road three pixels wide sharp only against the outside texture (sharpEdgesThin), and a thin fringe still soft', () => {
    const before = twoFields();
    // After: a dark asphalt strip, rows 40..42, across the left field.
    const after = twoFields(2);
    const asphalt = [0.05, 0.055, 0.06, 0.08];
    for (let y = 40; y < 43; y++) for (let x = 12; x < 38; x++) for (let k = 0; k < 4; k++) after.data[k][y * W + x] = asphalt[k];
    const road = outlineEdges(rect(12, 40, 26, 3), allClear, read, core, { before, after }, opts);
    const sum = (a: Float32Array) => a.reduce((x, y) => x + y, 0);
    // Strict: along the long sides the inside sample 4 px in lies beyond the far side, in the crop
    // again, so the road looks like texture of its own contrast; mostly the ends count.
    expect(sum(road.sharpEdges) / sum(road.steps)).toBeLessThan(0.5);
    expect(sum(road.sharpEdgesThin) / sum(road.steps)).toBeGreaterThan(0.9);
    // A three-pixel strip of the smooth fringe (gain 1 + 5 %/px) is no edge against its outside either.
    const fringeAfter = twoFields(2);
    for (let y = 0; y < W; y++) for (let x = 40; x < W; x++) for (const band of fringeAfter.data) band[y * W + x] *= 1 + 0.05 * (x - 40);
    const sliver = outlineEdges(rect(52, 25, 3, 20), allClear, read, core, { before, after: fringeAfter }, opts);
    expect(sum(sliver.steps)).toBeGreaterThan(0);
    expect(sum(sliver.sharpEdgesThin) / sum(sliver.steps)).toBeLessThan(0.1);
  });
});
