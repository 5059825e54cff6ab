/** GeoJSON, KML and CSV exports parsed back (by JSON.parse and by GDAL's drivers). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportClues } from '../../ledger/export/index.js';
import { csvCell } from '../../ledger/export/csv.js';
import { xmlEscape } from '../../ledger/export/kml.js';
import { ellipsoidalArea } from '../../pipeline/geo/area.js';
import { CASES } from './fixtures.js';
import { featureCount, gdal, hasGdal, layerEpsg, ogrinfoSummary, readWithGdal } from './gdal.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-ledger-text-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ringArea2 = (r: number[][]): number => {
  let s = 0;
  for (let i = 0; i < r.length - 1; i++) s += r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1];
  return s;
};
const relErr = (a: number, b: number): number => Math.abs(a - b) / b;

describe.skipIf(!hasGdal)('GeoJSON export', () => {
  it('writes RFC 7946 MultiPolygons (outer CCW, holes CW) with the field codes as properties', async () => {
    const path = join(dir, 'clues.geojson');
    await exportClues(CASES, 'geojson', path, { epsg: 4528 }); // lon/lat whatever the epsg
    const fc = JSON.parse(await readFile(path, 'utf8'));
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.crs).toBeUndefined();
    expect(fc.features.map((f: { id: string }) => f.id)).toEqual(CASES.map((c) => c.fields.JCBH));
    for (const [i, f] of fc.features.entries()) {
      expect(f.geometry.type).toBe('MultiPolygon');
      for (const poly of f.geometry.coordinates as number[][][][]) {
        expect(ringArea2(poly[0])).toBeGreaterThan(0);
        for (const hole of poly.slice(1)) expect(ringArea2(hole)).toBeLessThan(0);
      }
      const area = (f.geometry.coordinates as number[][][][]).reduce((s, p) => s + ellipsoidalArea(p), 0);
      expect(relErr(area, CASES[i].fields.MJ)).toBeLessThan(0.001);
    }
    const p2 = fc.features[1].properties;
    expect(p2).toMatchObject({ JCBH: '3212042026Q10002', XZQMC: '俞垛镇', SFJBNT: true, QX: '2026-03-31', XZDL: '水面', YJJBNTMJ: 5000.5 });
    expect(fc.features[1].geometry.coordinates[0]).toHaveLength(2); // shell + hole
    expect(fc.features[2].geometry.coordinates).toHaveLength(2); // two parts
    const summary = await ogrinfoSummary(path);
    expect(featureCount(summary)).toBe(5);
    expect(layerEpsg(summary)).toBe(4326);
  });

  it('an empty export is an empty FeatureCollection GDAL opens', async () => {
    const path = join(dir, 'empty.geojson');
    await exportClues([], 'geojson', path);
    expect(JSON.parse(await readFile(path, 'utf8')).features).toEqual([]);
    expect(featureCount(await ogrinfoSummary(path))).toBe(0);
  });
});

describe.skipIf(!hasGdal)('KML export', () => {
  it('one placemark per case named by JCBH, folders per township, styles per type, Chinese ExtendedData (GDAL LIBKML)', async () => {
    const path = join(dir, 'clues.kml');
    await exportClues(CASES, 'kml', path, { title: '姜堰区2026年第一季度线索' });
    const text = await readFile(path, 'utf8');
    expect(text.match(/<Placemark>/g)).toHaveLength(5);
    expect(text.match(/<Style id=/g)).toHaveLength(3); // building, pond, idle
    expect(text).toContain('<name>姜堰区2026年第一季度线索</name>');
    expect(text).toContain('苏政地〔2025〕第12号, &quot;批次&quot; &lt;A&amp;B&gt;');
    expect(text).toContain('<displayName>面积(亩)</displayName>');

    const layers = [...(await gdal('ogrinfo', ['-ro', '-q', path])).matchAll(/^\d+: (.+?)(?: \(.*\))?$/gm)].map((m) => m[1]);
    expect(layers.sort()).toEqual(['俞垛镇', '未知乡镇', '溱潼镇']);
    const all = (await Promise.all(layers.map((layer) => readWithGdal(path, { layer })))).flat();
    expect(all.map((f) => f.properties.Name).sort()).toEqual(CASES.map((c) => c.fields.JCBH).sort());
    const p4 = all.find((f) => f.properties.Name === '3212042026Q10004')!;
    expect(p4.properties.PZWH).toBe('苏政地〔2025〕第12号, "批次" <A&B>');
    expect(p4.properties.XZQMC).toBe('溱潼镇');
    expect(p4.properties.ZT).toBe('合法');
    expect(p4.properties.MJ).toBe(CASES[3].fields.MJ.toFixed(2));
    expect(String(p4.properties.description)).toContain('<td>批准文号</td>');
    // Pin at the centroid plus the outline; the outline's area is MJ.
    for (const f of all) {
      const c = CASES.find((x) => x.fields.JCBH === f.properties.Name)!;
      const g = f.geometry as unknown as { type: string; geometries: { type: string; coordinates: unknown }[] };
      expect(g.type).toBe('GeometryCollection');
      expect(g.geometries[0]).toEqual({ type: 'Point', coordinates: [Number(c.fields.JD.toFixed(7)), Number(c.fields.WD.toFixed(7))] });
      const area = g.geometries.slice(1).reduce((s, p) => s + ellipsoidalArea(p.coordinates as number[][][]), 0);
      expect(relErr(area, c.fields.MJ)).toBeLessThan(0.001);
    }
    const pond = all.find((f) => f.properties.Name === '3212042026Q10002')!.geometry as unknown as { geometries: { coordinates: unknown[] }[] };
    expect(pond.geometries[1].coordinates).toHaveLength(2); // outer + inner boundary
  });

  it('an empty export is a valid document', async () => {
    const path = join(dir, 'empty.kml');
    await exportClues([], 'kml', path);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('<Placemark>');
    await gdal('ogrinfo', ['-ro', '-q', path]);
  });
});

describe.skipIf(!hasGdal)('CSV export', () => {
  it('UTF-8 with BOM, CRLF, Chinese headers, quoting, WKT column (GDAL CSV reads it back)', async () => {
    const path = join(dir, 'clues.csv');
    await exportClues(CASES, 'csv', path, { wkt: true });
    const bytes = await readFile(path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8').slice(1);
    expect(text.split('\r\n')[0]).toBe(
      '监测图斑编号,行政区代码,乡镇,村,前时相,后时相,图斑类型编码,图斑类型,原地类编码,原地类名称,现状地类,面积(平方米),面积(亩),耕地面积(平方米),永久基本农田面积(平方米),是否涉及永久基本农田,中心点X,中心点Y,经度,纬度,批准文号,置信度,状态,核查结果,整改状态,整改期限,WKT',
    );
    expect(text).toContain('"苏政地〔2025〕第12号, ""批次"" <A&B>"');
    expect(text).toContain('"溱湖村\n二组"');

    const rows = await readWithGdal(path, { openOptions: ['GEOM_POSSIBLE_NAMES=WKT', 'KEEP_GEOM_COLUMNS=NO', 'AUTODETECT_TYPE=NO'] });
    expect(rows).toHaveLength(5);
    const r4 = rows[3].properties;
    expect(r4['监测图斑编号']).toBe('3212042026Q10004');
    expect(r4['批准文号']).toBe('苏政地〔2025〕第12号, "批次" <A&B>');
    expect(r4['村']).toBe('溱湖村\n二组');
    expect(r4['经度']).toBe(CASES[3].fields.JD.toFixed(7));
    expect(rows[1].properties['是否涉及永久基本农田']).toBe('是');
    expect(rows[1].properties['整改期限']).toBe('2026-03-31');
    rows.forEach((r, i) => {
      const g = r.geometry!;
      expect(g.type).toBe('MultiPolygon');
      const area = (g.coordinates as number[][][][]).reduce((s, p) => s + ellipsoidalArea(p), 0);
      expect(relErr(area, CASES[i].fields.MJ)).toBeLessThan(0.001);
    });
  });

  it('an empty export is the header line', async () => {
    const path = join(dir, 'empty.csv');
    await exportClues([], 'csv', path);
    const text = (await readFile(path, 'utf8')).slice(1);
    expect(text.split('\r\n')).toHaveLength(2);
    expect(text.endsWith('整改期限\r\n')).toBe(true);
  });
});

describe('escaping', () => {
  it('escapes XML and drops characters XML cannot carry', () => {
    expect(xmlEscape('a<b>&"\'\u0001\uFFFF\uD800z')).toBe('a&lt;b&gt;&amp;&quot;&apos;z');
    expect(xmlEscape('𠀀')).toBe('𠀀'); // a valid surrogate pair stays
  });

  it('quotes only what needs quoting', () => {
    expect(csvCell('abc')).toBe('abc');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('a"b')).toBe('"a""b"');
    expect(csvCell(' x')).toBe('" x"');
    expect(csvCell('a\rb')).toBe('"a\rb"');
  });
});
