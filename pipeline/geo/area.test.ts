import { describe, expect, it } from 'vitest';
import { crsFromEpsg, makeTransform, CGCS2000 } from './crs.js';
import { GRS80, MU_PER_M2, densify, ellipsoidalArea, ellipsoidalAreaInCrs, planarArea, planarCentroid, ringEllipsoidalArea } from './area.js';

const e2 = GRS80.f * (2 - GRS80.f);
const e = Math.sqrt(e2);
const rad = Math.PI / 180;

/** Snyder's q(φ): the area between the equator and φ over Δλ radians is a²·Δλ·q/2. */
const q = (phi: number): number => {
  const s = Math.sin(phi);
  return (1 - e2) * (s / (1 - e2 * s * s) - (1 / (2 * e)) * Math.log((1 - e * s) / (1 + e * s)));
};

describe('ellipsoidalArea', () => {
  it('matches the closed form for a 1°×1° quadrangle (parallels densified so edges follow them)', () => {
    const [lon0, lat0] = [120, 32];
    const ring: number[][] = [];
    const n = 1000;
    for (let i = 0; i <= n; i++) ring.push([lon0 + i / n, lat0]); // along the southern parallel
    for (let i = n; i >= 0; i--) ring.push([lon0 + i / n, lat0 + 1]); // back along the northern one
    ring.push(ring[0]);
    const expected = (GRS80.a ** 2 * (1 * rad) * (q((lat0 + 1) * rad) - q(lat0 * rad))) / 2;
    const got = ellipsoidalArea([ring]);
    // Sanity: ≈ 94.0 km of longitude × 110.9 km of latitude.
    expect(expected).toBeGreaterThan(1.04e10);
    expect(expected).toBeLessThan(1.045e10);
    expect(Math.abs(got - expected) / expected).toBeLessThan(1e-8);
    // Orientation does not matter.
    expect(ellipsoidalArea([[...ring].reverse()])).toBeCloseTo(got, 3);
  });

  it('subtracts holes whatever their orientation, and converts to 亩', () => {
    const shell = [[120, 32], [120.01, 32], [120.01, 32.01], [120, 32.01], [120, 32]];
    const hole = [[120.002, 32.002], [120.004, 32.002], [120.004, 32.004], [120.002, 32.004], [120.002, 32.002]];
    const a = ringEllipsoidalArea(shell);
    const h = ringEllipsoidalArea(hole);
    expect(ellipsoidalArea([shell, hole])).toBeCloseTo(a - h, 6);
    expect(ellipsoidalArea([shell, [...hole].reverse()])).toBeCloseTo(a - h, 6);
    expect(ellipsoidalArea([[...shell].reverse(), hole])).toBeCloseTo(a - h, 6);
    expect(MU_PER_M2 * 2000).toBeCloseTo(3, 12);
    expect(666.6666666 * MU_PER_M2).toBeCloseTo(1, 6);
    expect(ellipsoidalArea([[[120, 32], [120.1, 32]]])).toBe(0);
  });
});

describe('ellipsoidalAreaInCrs', () => {
  // EPSG:4528: CGCS2000 3° Gauss–Krüger zone 40, central meridian 120°E, false easting 40 500 000.
  const gk = crsFromEpsg(4528);
  const toLonLat = makeTransform(gk, CGCS2000);
  const X0 = 40_500_000;

  /**
   * Independent expectation: Gauss–Krüger is conformal with point scale
   * k(E) = 1 + E²/(2ρν) + E⁴/(24ρ²ν²) (E = easting from the central meridian), so the ellipsoidal
   * area of a projected rectangle is ∫∫ dE dN / k². ρν varies by < 1e-6 relative over a few km of
   * northing, so it is taken at the rectangle's latitude; the integral over E is Simpson's rule.
   */
  function expectedArea(e1: number, e2_: number, height: number, latDeg: number): number {
    const s = Math.sin(latDeg * rad);
    const w = 1 - e2 * s * s;
    const rho = (GRS80.a * (1 - e2)) / w ** 1.5;
    const nu = GRS80.a / Math.sqrt(w);
    const R2 = rho * nu;
    const k = (E: number) => 1 + (E * E) / (2 * R2) + E ** 4 / (24 * R2 * R2);
    const n = 2000;
    const hStep = (e2_ - e1) / n;
    let sum = 0;
    for (let i = 0; i <= n; i++) {
      const E = e1 + i * hStep;
      const wgt = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
      sum += wgt / k(E) ** 2;
    }
    return ((sum * hStep) / 3) * height;
  }

  it('a 1 km square 150 km east of the central meridian near 32°N carries the GK scale distortion', () => {
    const [x, y] = [X0 + 150_000, 3_543_000];
    const square = [[x, y], [x + 1000, y], [x + 1000, y + 1000], [x, y + 1000], [x, y]];
    const lat = toLonLat(x + 500, y + 500)[1];
    expect(lat).toBeGreaterThan(31.9);
    expect(lat).toBeLessThan(32.1);
    const expected = expectedArea(150_000, 151_000, 1000, lat);
    const got = ellipsoidalAreaInCrs([square], toLonLat);
    // The distortion is ~5.6e-4 (k ≈ 1 + E²/2R²): far outside the 0.01 % tolerance, so it is really measured.
    expect(1 - expected / 1e6).toBeGreaterThan(5e-4);
    expect(Math.abs(got - expected) / expected).toBeLessThan(1e-4);
    // In fact much closer than the requirement:
    expect(Math.abs(got - expected) / expected).toBeLessThan(2e-6);
    // And on the central meridian, the square is 1e6 m² (k = 1 there).
    const cm = [[X0, y], [X0 + 1000, y], [X0 + 1000, y + 1000], [X0, y + 1000]];
    expect(Math.abs(ellipsoidalAreaInCrs([cm], toLonLat) - expectedArea(0, 1000, 1000, lat))).toBeLessThan(0.5);
  });

  it('densifies long projected edges so the curve they map to is followed', () => {
    // A 40 km × 40 km square far from the central meridian: its straight GK edges are curves on the
    // ellipsoid; geodesics between the corners alone cut across them.
    const [x, y] = [X0 + 100_000, 3_500_000];
    const sq = [[x, y], [x + 40_000, y], [x + 40_000, y + 40_000], [x, y + 40_000]];
    const lat = toLonLat(x + 20_000, y + 20_000)[1];
    const expected = expectedArea(100_000, 140_000, 40_000, lat);
    const dense = ellipsoidalAreaInCrs([sq], toLonLat);
    const coarse = ellipsoidalAreaInCrs([sq], toLonLat, { maxSegment: 1e9 });
    expect(Math.abs(dense - expected) / expected).toBeLessThan(2e-6);
    expect(Math.abs(dense - expected)).toBeLessThan(Math.abs(coarse - expected));
    expect(densify([[0, 0], [100, 0], [100, 10]], 50)).toHaveLength(6);
  });
});

describe('planar area and centroid', () => {
  it('handles holes, orientation and zone-prefixed eastings', () => {
    const x0 = 40_512_345.5;
    const y0 = 3_543_210.25;
    const shell = [[x0, y0], [x0 + 10, y0], [x0 + 10, y0 + 10], [x0, y0 + 10], [x0, y0]];
    // Hole [x0+1, x0+3] × [y0+1, y0+3], clockwise or counter-clockwise.
    const hole = [[x0 + 1, y0 + 1], [x0 + 1, y0 + 3], [x0 + 3, y0 + 3], [x0 + 3, y0 + 1], [x0 + 1, y0 + 1]];
    expect(planarArea([shell, hole])).toBe(96);
    // Centroid: (100·5 − 4·2) / 96 from the origin, in both axes.
    const c = (100 * 5 - 4 * 2) / 96;
    for (const poly of [[shell, hole], [shell, [...hole].reverse()], [[...shell].reverse(), hole]]) {
      const [cx, cy] = planarCentroid(poly);
      expect(cx - x0).toBeCloseTo(c, 9);
      expect(cy - y0).toBeCloseTo(c, 9);
    }
    // L shape: squares [0,2]×[0,1] and [0,1]×[1,2] → centroid (5/6, 5/6).
    const [lx, ly] = planarCentroid([[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]]);
    expect(lx).toBeCloseTo(5 / 6, 12);
    expect(ly).toBeCloseTo(5 / 6, 12);
    expect(planarCentroid([[[1, 1], [3, 3], [1, 1]]])).toEqual([2, 2]); // degenerate: mean of the distinct vertices
  });
});
