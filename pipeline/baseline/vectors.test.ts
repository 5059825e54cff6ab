import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crsFromEpsg, makeTransform } from '../geo/crs.js';
import type { Grid } from '../types.js';
import { burnLayer, cleanGeometry, loadVectorLayer } from './vectors.js';

// 100 × 100 px of 2 m in CGCS2000 GK zone 40, near 120.3°E 32°N.
const grid: Grid = { width: 100, height: 100, transform: [40528000, 2, 0, 3542200, 0, -2], crs: crsFromEpsg(4528) };
const sq = (x0: number, y0: number, s: number) => [[[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]]];

async function write(doc: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fw-vec-'));
  const f = join(dir, 'layer.geojson');
  await writeFile(f, JSON.stringify(doc));
  return f;
}

describe('cleanGeometry', () => {
  it('repairs a bow-tie into two triangles and closes unclosed rings', () => {
    const bow = cleanGeometry({ type: 'Polygon', coordinates: [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]] });
    expect('polygons' in bow && bow.polygons.length).toBe(2);
    expect('repaired' in bow && bow.repaired).toMatch(/self-intersecting/);
    const open = cleanGeometry({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] });
    expect('polygons' in open && open.polygons[0][0].length).toBe(5);
  });
  it('reports what it cannot use', () => {
    expect(cleanGeometry({ type: 'Point', coordinates: [0, 0] })).toEqual({ problem: 'geometry type Point is not a polygon' });
    expect(cleanGeometry({ type: 'Polygon', coordinates: [[[0, 0], [1, 'x'], [1, 1], [0, 0]]] })).toEqual({ problem: 'non-numeric coordinate' });
    expect(cleanGeometry(null)).toHaveProperty('problem');
  });
});

describe('loadVectorLayer', () => {
  it('reprojects a longitude/latitude layer to the image grid and burns it at the right pixels', async () => {
    // A 40 m square whose corners are given in CGCS2000 longitude/latitude.
    const toLonLat = makeTransform(crsFromEpsg(4528), crsFromEpsg(4490));
    const ring = sq(40528020, 3542100, 40)[0].map(([x, y]) => toLonLat(x, y));
    const file = await write({
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4490' } },
      features: [
        { type: 'Feature', properties: { DLBM: '0101' }, geometry: { type: 'Polygon', coordinates: [ring] } },
        { type: 'Feature', properties: { DLBM: 'bad' }, geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] } },
        { type: 'Feature', properties: { DLBM: 'bow' }, geometry: { type: 'Polygon', coordinates: [[[120.3, 32], [120.31, 32.01], [120.31, 32], [120.3, 32.01], [120.3, 32]]] } },
      ],
    });
    const layer = await loadVectorLayer('baseline', file, grid);
    expect(layer.stats).toMatchObject({ read: 3, kept: 2, repaired: 1, skipped: 1 });
    const out = new Uint8Array(100 * 100);
    burnLayer(layer, { col: 0, row: 0, width: 100, height: 100 }, out, (i) => (i === 0 ? 1 : 0));
    // x 40528020..40528060 → cols 10..29; y 3542100..3542140 → rows 30..49 (north up).
    let n = 0;
    for (let r = 0; r < 100; r++) for (let c = 0; c < 100; c++) if (out[r * 100 + c] === 1) {
      n++;
      expect(c).toBeGreaterThanOrEqual(10);
      expect(c).toBeLessThanOrEqual(29);
      expect(r).toBeGreaterThanOrEqual(30);
      expect(r).toBeLessThanOrEqual(49);
    }
    expect(n).toBe(400);
  });

  it('names the file when it is not GeoJSON or declares an unknown CRS', async () => {
    const notJson = await write('not json');
    await expect(loadVectorLayer('baseline', notJson.replace('.geojson', '.missing'), grid)).rejects.toThrow(/cannot read/);
    const f = await write({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:99999' } }, features: [] });
    await expect(loadVectorLayer('baseline', f, grid)).rejects.toThrow(/EPSG:99999 is not supported/);
    const g = await write({ type: 'Feature' });
    await expect(loadVectorLayer('pbf', g, grid)).rejects.toThrow(/pbf layer: .* is not a GeoJSON FeatureCollection/);
  });
});
