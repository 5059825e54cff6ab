import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGCS2000, crsFromEpsg, makeTransform } from '../pipeline/geo/crs.js';
import { writeGeoTiff } from '../pipeline/imagery/index.js';
import { hornSlope, loadPolygonLayer, parsePolygonLayer, projectOverlaps, slopeAudit, zoneAudit } from './geometry.js';

// EPSG:4528: CGCS2000 3° Gauss–Krüger zone 40 (CM 120°E, x₀ = 40 500 000). At the central meridian
// the scale factor is 1, so ellipsoidal areas equal planar ones to ~1e-6.
const X0 = 40_500_000;
const Y0 = 3_500_000;
const EPSG = 4528;

const square = (x: number, y: number, w: number, h = w): number[][][] => [
  [
    [X0 + x, Y0 + y],
    [X0 + x + w, Y0 + y],
    [X0 + x + w, Y0 + y + h],
    [X0 + x, Y0 + y + h],
    [X0 + x, Y0 + y],
  ],
];

const fc = (epsg: number, features: { props: Record<string, unknown>; rings: number[][][] }[]) => ({
  type: 'FeatureCollection',
  crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${epsg}` } },
  features: features.map((f) => ({ type: 'Feature', properties: f.props, geometry: { type: 'Polygon', coordinates: f.rings } })),
});

const relClose = (actual: number, expected: number, rel = 1e-4) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * rel + 0.01);

describe('projectOverlaps', () => {
  it('reports the overlap of two projects with its area', () => {
    const reg = parsePolygonLayer(
      'projects',
      fc(EPSG, [
        { props: { XMBH: 'P1' }, rings: square(0, 0, 100) },
        { props: { XMBH: 'P2' }, rings: square(50, 50, 100) },
        { props: { XMBH: 'P3' }, rings: square(500, 500, 100) }, // apart from both
        { props: { XMBH: 'P3' }, rings: square(520, 520, 10) }, // overlaps its own project: not reported
      ]),
      'mem',
    );
    const r = projectOverlaps(reg);
    expect(r.crs).toBe('EPSG:4528');
    expect(r.areaMethod).toMatch(/ellipsoidal/);
    expect(r.overlaps).toHaveLength(1);
    const o = r.overlaps[0];
    expect([o.a, o.b, o.parcelsA, o.parcelsB]).toEqual(['P1', 'P2', [0], [1]]);
    relClose(o.areaM2, 2500);
    relClose(o.areaMu, 2500 * 0.0015);
    // The overlap geometry is the 50 m square [50,100]² in EPSG:4528.
    const xs = o.geometry[0][0].map((p) => p[0] - X0);
    const ys = o.geometry[0][0].map((p) => p[1] - Y0);
    expect([Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]).toEqual([50, 100, 50, 100]);
  });

  it('unions the overlaps of several parcels of a project pair ', () => {
    // P1 has two parcels, each overlapping P2's one parcel by 10×100 m.
    const reg = parsePolygonLayer(
      'projects',
      fc(EPSG, [
        { props: { XMBH: 'B' }, rings: square(0, 0, 100) },
        { props: { XMBH: 'A' }, rings: square(-50, 0, 60) },
        { props: { XMBH: 'A' }, rings: square(90, 0, 60) },
      ]),
      'mem',
    );
    const r = projectOverlaps(reg);
    expect(r.overlaps).toHaveLength(1);
    expect([r.overlaps[0].a, r.overlaps[0].b, r.overlaps[0].parcelsA, r.overlaps[0].parcelsB]).toEqual(['A', 'B', [1, 2], [0]]);
    // 10×60 + 10×60 = 1200 m².
    relClose(r.overlaps[0].areaM2, 1200);
  });
});

describe('zoneAudit', () => {
  it('gives the area and share of a parcel inside each zone layer, zones in any CRS', async () => {
    const reg = parsePolygonLayer(
      'projects',
      fc(EPSG, [
        { props: { XMBH: 'P1' }, rings: square(0, 0, 100) },
        { props: { XMBH: 'P2' }, rings: square(1000, 0, 100) },
      ]),
      'mem',
    );
    // Red line: two overlapping features that together cover exactly the west half of P1.
    const red = parsePolygonLayer(
      '生态保护红线',
      fc(EPSG, [
        { props: { HXBH: 'R1' }, rings: square(-100, -100, 150, 300) },
        { props: { HXBH: 'R2' }, rings: square(-20, 0, 50, 100) },
      ]),
      'mem',
      { idField: 'HXBH' },
    );
    // Water-source zone in CGCS2000 longitude/latitude: a box well around P2 only.
    const dir = await mkdtemp(join(tmpdir(), 'fw-audit-zone-'));
    try {
      const toLL = makeTransform(crsFromEpsg(EPSG), CGCS2000);
      const [w, s] = toLL(X0 + 900, Y0 - 100);
      const [e, n] = toLL(X0 + 1200, Y0 + 200);
      const water = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'W' }, geometry: { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } }] };
      const file = join(dir, 'water.geojson');
      await writeFile(file, JSON.stringify(water));
      const waterLayer = await loadPolygonLayer('水源保护区', file, { idField: 'name' });
      expect(waterLayer.crs.epsg).toBe(4326);

      const r = zoneAudit(reg, [red, waterLayer]);
      expect(r.crs).toBe('EPSG:4528');
      expect(r.hits).toHaveLength(2);
      const [h1, h2] = r.hits;
      expect([h1.zone, h1.project, h1.parcel, h1.zoneFeatures]).toEqual(['生态保护红线', 'P1', 0, ['R1', 'R2']]);
      relClose(h1.parcelAreaM2, 10_000);
      relClose(h1.insideAreaM2, 5000);
      expect(h1.share).toBeCloseTo(0.5, 4);
      expect([h2.zone, h2.project, h2.parcel, h2.zoneFeatures]).toEqual(['水源保护区', 'P2', 1, ['W']]);
      expect(h2.share).toBeCloseTo(1, 4);
      relClose(h2.insideAreaM2, 10_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hornSlope', () => {
  it('gives the slope of a plane and NaN on the border and around NoData', () => {
    const [w, h] = [5, 4];
    const z = Array.from({ length: w * h }, (_, i) => 3 * (i % w) + 4 * Math.floor(i / w)); // dz/dx = 3/10, dz/dy = 4/10
    const valid = new Uint8Array(w * h).fill(1);
    valid[w * 2 + 3] = 0;
    const s = hornSlope(z, w, h, 10, 10, valid);
    const expected = (Math.atan(0.5) * 180) / Math.PI;
    expect(s[w + 1]).toBeCloseTo(expected, 4);
    expect(Number.isNaN(s[0])).toBe(true);
    expect(Number.isNaN(s[w + 3])).toBe(true); // neighbour of the NoData pixel
  });
});

describe('slopeAudit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-audit-slope-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // 10 m DEM, 100×60 pixels from (X0, Y0 + 600): a surface rising eastwards at 30° over columns
  // 0–49 (x < 500 m) and at 10° beyond: the fold is at x = 500 m.
  const RES = 10;
  const [W, H] = [100, 60];
  const demGrid = (epsg: number, transform: readonly [number, number, number, number, number, number]) => ({ width: W, height: H, transform, crs: crsFromEpsg(epsg) });
  const surface = (): Float32Array => {
    const z = new Float32Array(W * H);
    const t30 = Math.tan((30 * Math.PI) / 180);
    const t10 = Math.tan((10 * Math.PI) / 180);
    for (let r = 0; r < H; r++)
      for (let c = 0; c < W; c++) {
        const x = (c + 0.5) * RES;
        z[r * W + c] = 100 + (x < 500 ? t30 * x : t30 * 500 + t10 * (x - 500));
      }
    return z;
  };

  it('measures the area of a parcel on slopes over 25° and states the resolution', async () => {
    const file = join(dir, 'dem.tif');
    await writeGeoTiff(file, demGrid(EPSG, [X0, RES, 0, Y0 + H * RES, 0, -RES]), [surface()], { dtype: 'float32' });
    const reg = parsePolygonLayer(
      'projects',
      fc(EPSG, [
        { props: { XMBH: 'HALF' }, rings: square(300, 100, 400, 300) }, // x 300..700: half on 30°, half on 10°
        { props: { XMBH: 'FLAT' }, rings: square(600, 100, 300, 300) }, // x 600..900: all 10°
        { props: { XMBH: 'STEEP' }, rings: square(50, 100, 200, 300) }, // x 50..250: all 30°
      ]),
      'mem',
    );
    const r = await slopeAudit(file, reg);
    expect(r.demCrs).toBe('EPSG:4528');
    expect(r.resolutionM).toEqual([10, 10]);
    expect(r.thresholdDeg).toBe(25);
    expect(r.method).toMatch(/Horn/);
    const [half, flat, steep] = r.parcels;
    // HALF: 400×300 m = 120 000 m², truth on > 25°: 200×300 = 60 000 m²; one pixel column = 3000 m².
    expect(half.project).toBe('HALF');
    expect(half.pixels).toBe(40 * 30);
    relClose(half.parcelAreaM2, 120_000);
    expect(Math.abs(half.steepAreaM2 - 60_000)).toBeLessThanOrEqual(300 * RES);
    expect(Math.abs(half.steepShare - 0.5)).toBeLessThanOrEqual(1 / 40);
    expect(flat.steepPixels).toBe(0);
    expect(flat.steepAreaM2).toBe(0);
    expect(flat.meanSlopeDeg).toBeCloseTo(10, 2);
    expect(steep.steepShare).toBe(1);
    relClose(steep.steepAreaM2, 60_000);
    expect(steep.meanSlopeDeg).toBeCloseTo(30, 2);
  });

  it('refuses a DEM in a geographic CRS, naming the file', async () => {
    const file = join(dir, 'dem-4490.tif');
    await writeGeoTiff(file, demGrid(4490, [120, 0.0001, 0, 31.6, 0, -0.0001]), [surface()], { dtype: 'float32' });
    const reg = parsePolygonLayer('projects', fc(EPSG, [{ props: { XMBH: 'P' }, rings: square(0, 0, 10) }]), 'mem');
    await expect(slopeAudit(file, reg)).rejects.toThrow(/dem-4490\.tif.*geographic CRS/);
    await expect(slopeAudit(file, reg)).rejects.toMatchObject({ code: 'UNSUPPORTED_CRS' });
  });
});
