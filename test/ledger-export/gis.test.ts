/**
 * Shapefile and GeoPackage exports read back with GDAL (ogrinfo/ogr2ogr 3.6, the reference the
 * issue names): CRS identified as the EPSG code asked for, feature count, field names and types,
 * Chinese text, holes and multi-part cases, and ellipsoidal areas within 0.1 % of MJ.
 */
import { readFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import initSqlJs from 'sql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportClues, esriWkt } from '../../ledger/export/index.js';
import { ellipsoidalArea } from '../../pipeline/geo/area.js';
import { CASES, makeCase, rect } from './fixtures.js';
import { VALIDATE_GPKG, featureCount, hasGdal, fieldTypes, gdal, layerEpsg, ogrinfoSummary, readWithGdal, type GdalFeature } from './gdal.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-ledger-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const byJcbh = (fs: GdalFeature[]): Map<string, GdalFeature> => new Map(fs.map((f) => [String(f.properties.JCBH), f]));

/** Ellipsoidal area of a GeoJSON Polygon/MultiPolygon in lon/lat. */
function areaOf(g: GdalFeature['geometry']): number {
  if (!g) return 0;
  const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as number[][][][];
  return polys.reduce((s, p) => s + ellipsoidalArea(p), 0);
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / b;

/** Field names and GDAL types both formats must show (the shapefile has width-typed equivalents). */
const SHP_FIELDS: [string, string][] = [
  ['JCBH', 'String'], ['XZQDM', 'String'], ['XZQMC', 'String'], ['CJMC', 'String'], ['QSX', 'Date'], ['HSX', 'Date'],
  ['TBLX', 'String'], ['TBLXMC', 'String'], ['DLBM', 'String'], ['DLMC', 'String'], ['XZDL', 'String'],
  ['MJ', 'Real'], ['MJM', 'Real'], ['GDMJ', 'Real'], ['YJJBNTMJ', 'Real'], ['SFJBNT', 'Integer'],
  ['ZXX', 'Real'], ['ZXY', 'Real'], ['JD', 'Real'], ['WD', 'Real'], ['PZWH', 'String'], ['ZXD', 'Real'],
  ['ZT', 'String'], ['HCJG', 'String'], ['ZGZT', 'String'], ['QX', 'Date'],
];

/** Attribute checks common to Shapefile and GeoPackage read back through GDAL. */
function expectAttributes(features: GdalFeature[]): void {
  expect(features).toHaveLength(CASES.length);
  const got = byJcbh(features);
  const p2 = got.get('3212042026Q10002')!.properties;
  expect(p2.XZQMC).toBe('俞垛镇');
  expect(p2.TBLXMC).toBe('耕地流出-坑塘水面');
  expect(p2.XZDL).toBe('水面'); // land-cover class name shown in Chinese
  expect(p2.SFJBNT).toSatisfy((v) => v === 1 || v === true);
  expect(p2.YJJBNTMJ).toBe(5000.5);
  expect(p2.QX).toBe('2026-03-31');
  expect(p2.ZT).toBe('已下发');
  const p4 = got.get('3212042026Q10004')!.properties;
  expect(p4.PZWH).toBe('苏政地〔2025〕第12号, "批次" <A&B>');
  expect(p4.DLMC).toBe('水田'.repeat(40)); // 240 UTF-8 bytes, intact
  expect(p4.CJMC).toBe('溱湖村\n二组');
  const p1 = got.get('3212042026Q10001')!.properties;
  expect(p1.SFJBNT).toSatisfy((v) => v === 0 || v === false);
  expect(p1.QSX).toBe('2025-10-12');
  expect(p1.DLBM).toBe('0101'); // text: the leading zero survives
  expect(p1.MJ).toBe(Math.round(CASES[0].fields.MJ * 100) / 100);
  expect(p1.ZXX).toBeCloseTo(CASES[0].fields.ZXX, 3);
  expect(p1.JD).toBeCloseTo(CASES[0].fields.JD, 7);
  expect(p1.ZXD).toBe(0.8765);
  const p5 = got.get('3212042026Q10005')!.properties;
  for (const k of ['XZQDM', 'XZQMC', 'QSX', 'DLBM', 'XZDL', 'PZWH', 'QX']) expect(p5[k] ?? null, k).toBeNull();
}

/** Part structure and areas of the features read back in lon/lat. */
function expectGeometries(features: GdalFeature[]): void {
  const got = byJcbh(features);
  for (const c of CASES) {
    const g = got.get(c.fields.JCBH)!.geometry!;
    const area = areaOf(g);
    expect(relErr(area, c.fields.MJ), `${c.fields.JCBH}: ${area} vs MJ ${c.fields.MJ}`).toBeLessThan(0.001);
    const mj = got.get(c.fields.JCBH)!.properties.MJ as number;
    expect(relErr(area, mj)).toBeLessThan(0.001);
  }
  const hole = got.get('3212042026Q10002')!.geometry!;
  const holeRings = (hole.type === 'Polygon' ? hole.coordinates : (hole.coordinates as unknown[])[0]) as unknown[];
  expect(holeRings).toHaveLength(2);
  const multi = got.get('3212042026Q10003')!.geometry!;
  expect(multi.type).toBe('MultiPolygon');
  expect(multi.coordinates as unknown[]).toHaveLength(2);
}

/** Signed shoelace area (positive counter-clockwise) of shapefile part `k` of record `rec` (1-based). */
function shpPartOrientation(shp: Buffer, shx: Buffer, rec: number): number[] {
  const off = shx.readInt32BE(100 + 8 * (rec - 1)) * 2 + 8;
  expect(shp.readInt32LE(off)).toBe(5);
  const nParts = shp.readInt32LE(off + 36);
  const nPoints = shp.readInt32LE(off + 40);
  const starts = Array.from({ length: nParts }, (_, i) => shp.readInt32LE(off + 44 + 4 * i));
  const pts = off + 44 + 4 * nParts;
  const pt = (i: number): [number, number] => [shp.readDoubleLE(pts + 16 * i), shp.readDoubleLE(pts + 16 * i + 8)];
  return starts.map((s, k) => {
    const e = k + 1 < nParts ? starts[k + 1] : nPoints;
    const [ox, oy] = pt(s);
    let a = 0;
    for (let i = s; i < e - 1; i++) {
      const [x0, y0] = pt(i);
      const [x1, y1] = pt(i + 1);
      a += (x0 - ox) * (y1 - oy) - (x1 - ox) * (y0 - oy);
    }
    return a / 2;
  });
}

describe.skipIf(!hasGdal)('Shapefile export', () => {
  it('EPSG:4490: zip members, .prj/.cpg, fields and types, Chinese text, rings, areas (GDAL)', async () => {
    const path = join(dir, '线索.zip');
    const res = await exportClues(CASES, 'shp', path, { layerName: 'clues' });
    expect(res).toEqual({ path, format: 'shp', count: 5, warnings: [] });
    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);

    const zip = await JSZip.loadAsync(await readFile(path));
    expect(Object.keys(zip.files).sort()).toEqual(['clues.cpg', 'clues.dbf', 'clues.prj', 'clues.shp', 'clues.shx']);
    expect(await zip.file('clues.cpg')!.async('string')).toBe('UTF-8');
    expect(await zip.file('clues.prj')!.async('string')).toBe(esriWkt(4490));
    // Outer rings clockwise, holes counter-clockwise (record 2 is the pond with an island).
    const shp = await zip.file('clues.shp')!.async('nodebuffer');
    const shx = await zip.file('clues.shx')!.async('nodebuffer');
    const [outer, hole] = shpPartOrientation(shp, shx, 2);
    expect(outer).toBeLessThan(0);
    expect(hole).toBeGreaterThan(0);
    expect(shpPartOrientation(shp, shx, 3).every((a) => a < 0)).toBe(true);
    // DBF text widths are UTF-8 bytes: 俞垛镇/溱潼镇 = 9 bytes, 40×水田 = 240.
    const dbf = await zip.file('clues.dbf')!.async('nodebuffer');
    const width = (name: string): number => {
      for (let o = 32; dbf[o] !== 0x0d; o += 32) if (dbf.toString('latin1', o, o + 11).replace(/\0+$/, '') === name) return dbf[o + 16];
      return -1;
    };
    expect(width('XZQMC')).toBe(9);
    expect(width('DLMC')).toBe(240);
    expect(width('SFJBNT')).toBe(1);

    const vsi = `/vsizip/${path}`;
    const summary = await ogrinfoSummary(vsi);
    expect(layerEpsg(summary)).toBe(4490);
    expect(featureCount(summary)).toBe(5);
    expect(summary).toMatch(/^Geometry: Polygon$/m);
    expect(fieldTypes(summary)).toEqual(SHP_FIELDS);
    for (const [name] of fieldTypes(summary)) expect(name.length).toBeLessThanOrEqual(10);

    const features = await readWithGdal(vsi);
    expectAttributes(features);
    expectGeometries(features);

    // GDAL's own ellipsoidal area (SpatiaLite ST_Area(geom, 1)) agrees too.
    const sql = await gdal('ogrinfo', ['-ro', '-q', '-dialect', 'SQLite', '-sql', 'SELECT JCBH, ST_Area(geometry, 1) AS A FROM clues', vsi]);
    const areas = [...sql.matchAll(/A \(Real\) = ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(areas).toHaveLength(5);
    areas.forEach((a, i) => expect(relErr(a, CASES[i].fields.MJ)).toBeLessThan(0.001));
  });

  it.each([4528, 4549])('Gauss–Krüger EPSG:%i: GDAL identifies the zone; areas after reprojection within 0.1 %%', async (epsg) => {
    const path = join(dir, `gk${epsg}.zip`);
    await exportClues(CASES, 'shp', path, { epsg });
    const vsi = `/vsizip/${path}`;
    const summary = await ogrinfoSummary(vsi);
    expect(layerEpsg(summary)).toBe(epsg);
    expect(summary).not.toMatch(/Confidence/);
    // Eastings carry the zone number only for 4513–4533.
    const minX = Number(/^Extent: \(([\d.]+),/m.exec(summary)![1]);
    if (epsg === 4528) expect(minX).toBeGreaterThan(40_000_000);
    else expect(minX).toBeLessThan(1_000_000);
    expect(featureCount(summary)).toBe(5);
    const features = await readWithGdal(vsi, { tSrs: 'EPSG:4490' });
    expectGeometries(features);
    const f1 = byJcbh(features).get('3212042026Q10001')!;
    const lon0 = ((f1.geometry!.coordinates as number[][][])[0][0] as number[])[0];
    expect(lon0).toBeCloseTo(120.1, 6); // back where it started: no axis swap, right false easting
  });

  it('cuts text beyond the 254-byte dBASE limit at a character boundary and says so', async () => {
    const long = makeCase([[rect(120.2, 32.4, 30, 30)]], { JCBH: 'LONG1', PZWH: '批'.repeat(100) }); // 300 bytes
    const path = join(dir, 'long.zip');
    const res = await exportClues([long], 'shp', path);
    expect(res.warnings).toEqual(['LONG1: PZWH cut to 254 bytes (dBASE limit)']);
    const [f] = await readWithGdal(`/vsizip/${path}`);
    expect(f.properties.PZWH).toBe('批'.repeat(84)); // 252 bytes: the 85th character would be split
  });

  it('an empty export is a valid shapefile with the CRS and no features', async () => {
    const path = join(dir, 'empty.zip');
    expect((await exportClues([], 'shp', path, { epsg: 4528 })).count).toBe(0);
    const summary = await ogrinfoSummary(`/vsizip/${path}`);
    expect(featureCount(summary)).toBe(0);
    expect(layerEpsg(summary)).toBe(4528);
    expect(fieldTypes(summary).map(([n]) => n)).toEqual(SHP_FIELDS.map(([n]) => n));
  });
});

describe.skipIf(!hasGdal)('GeoPackage export', () => {
  const GPKG_FIELDS = SHP_FIELDS.map(([n, t]): [string, string] => [n, n === 'SFJBNT' ? 'Integer(Boolean)' : t]);

  it.each([4490, 4528])('EPSG:%i: GDAL reads CRS, fields, Chinese text, holes, parts and areas; the validator passes', async (epsg) => {
    const path = join(dir, `clues-${epsg}.gpkg`);
    const res = await exportClues(CASES, 'gpkg', path, { epsg, layerName: '线索' });
    expect(res.warnings).toEqual([]);
    const summary = await ogrinfoSummary(path);
    expect(summary).toMatch(/^Layer name: 线索$/m);
    expect(summary).toMatch(/^Geometry: Multi Polygon$/m);
    expect(layerEpsg(summary)).toBe(epsg);
    expect(featureCount(summary)).toBe(5);
    expect(fieldTypes(summary)).toEqual(GPKG_FIELDS);
    if (VALIDATE_GPKG) await gdal('/usr/bin/python3', [VALIDATE_GPKG, path]); // throws on any finding

    const features = await readWithGdal(path, { tSrs: 'EPSG:4490' });
    expectAttributes(features);
    expectGeometries(features);
    if (epsg === 4490) {
      const sql = await gdal('ogrinfo', ['-ro', '-q', '-dialect', 'SQLite', '-sql', 'SELECT ST_Area(geom, 1) AS A FROM "线索"', path]);
      const areas = [...sql.matchAll(/A \(Real\) = ([\d.]+)/g)].map((m) => Number(m[1]));
      expect(areas).toHaveLength(5);
      areas.forEach((a, i) => expect(relErr(a, CASES[i].fields.MJ)).toBeLessThan(0.001));
    }

    // The GeoPackage tables themselves.
    const SQL = await initSqlJs();
    const db = new SQL.Database(await readFile(path));
    try {
      const one = (q: string): unknown[] => db.exec(q)[0]?.values[0] ?? [];
      expect(one('PRAGMA application_id')).toEqual([0x47504b47]);
      expect(one('PRAGMA user_version')).toEqual([10200]);
      expect(db.exec('SELECT srs_id FROM gpkg_spatial_ref_sys ORDER BY srs_id')[0].values.flat()).toEqual(epsg === 4490 ? [-1, 0, 4326, 4490] : [-1, 0, 4326, 4490, 4528]);
      expect(one("SELECT data_type, srs_id FROM gpkg_contents WHERE table_name = '线索'")).toEqual(['features', epsg]);
      expect(one("SELECT geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name = '线索'")).toEqual(['MULTIPOLYGON', epsg]);
      expect(one("SELECT title FROM gpkg_data_columns WHERE column_name = 'MJM'")).toEqual(['面积(亩)']);
      const [minX, maxY] = one("SELECT min_x, max_y FROM gpkg_contents WHERE table_name = '线索'") as number[];
      const ext = /^Extent: \(([\d.]+), [\d.]+\) - \([\d.]+, ([\d.]+)\)$/m.exec(summary)!;
      expect(minX).toBeCloseTo(Number(ext[1]), 5);
      expect(maxY).toBeCloseTo(Number(ext[2]), 5);
      // Geometry blob header: 'GP', version 0, flags little-endian + xy envelope, srs_id.
      const blob = one("SELECT geom FROM \"线索\" WHERE JCBH = '3212042026Q10002'")[0] as Uint8Array;
      const b = Buffer.from(blob);
      expect(b.toString('latin1', 0, 2)).toBe('GP');
      expect([b[2], b[3], b.readInt32LE(4)]).toEqual([0, 3, epsg]);
      expect([b[40], b.readUInt32LE(41), b.readUInt32LE(45)]).toEqual([1, 6, 1]); // LE WKB MultiPolygon, 1 part
    } finally {
      db.close();
    }
  });

  it('an empty export is a valid GeoPackage with its layer, CRS and fields', async () => {
    const path = join(dir, 'empty.gpkg');
    await exportClues([], 'gpkg', path, { epsg: 4549 });
    const summary = await ogrinfoSummary(path);
    expect(featureCount(summary)).toBe(0);
    expect(layerEpsg(summary)).toBe(4549);
    expect(fieldTypes(summary)).toEqual(GPKG_FIELDS);
    if (VALIDATE_GPKG) await gdal('/usr/bin/python3', [VALIDATE_GPKG, path]);
  });
});
