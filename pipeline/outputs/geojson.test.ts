import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEOJSON_CRS_NOTE, toGeoJsonGeometry, writeJsonAtomic, writePatchesGeoJSON, writeFileAtomic } from './index.js';
import { OutputError } from '../errors.js';
import { makePatch, square } from './test-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fw-geojson-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Twice the signed area, positive for counter-clockwise. */
const signed = (ring: number[][]): number => {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s;
};

describe('writePatchesGeoJSON', () => {
  it('round-trips properties, reorients rings (outer CCW, holes CW) and rounds to 1e-7°', async () => {
    // Outer clockwise and hole counter-clockwise: both wrong for RFC 7946.
    const outer = square(119.100000012345, 34.2, 0.01, true);
    const hole = square(119.102, 34.202, 0.002, false);
    const single = makePatch({ JCBH: 'A1', HF: true, PZWH: '苏政地〔2025〕12号' }, [[outer, hole]]);
    const multi = makePatch({ JCBH: 'A2', TBLX: 'outflow_pond', TBLXMC: '耕地流出-坑塘' }, [[square(119.3, 34.3, 0.001, true)], [square(119.4, 34.4, 0.001)]]);
    const path = join(dir, 'patches.geojson');
    await writePatchesGeoJSON([single, multi], path, { runId: 'run-42' });

    const fc = JSON.parse(await readFile(path, 'utf8'));
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.farmwatch).toEqual({ runId: 'run-42', crs: GEOJSON_CRS_NOTE });
    expect(fc.features).toHaveLength(2);

    const [f1, f2] = fc.features;
    expect(f1.id).toBe('A1');
    expect(f1.properties).toEqual({ ...single.attributes });
    expect(f1.properties.PZWH).toBe('苏政地〔2025〕12号');
    expect(f1.geometry.type).toBe('Polygon');
    const [o, h] = f1.geometry.coordinates as number[][][];
    expect(signed(o)).toBeGreaterThan(0);
    expect(signed(h)).toBeLessThan(0);
    expect(o[0]).toEqual(o[o.length - 1]);
    // 119.100000012345 → 119.1000000 at 7 decimals.
    for (const ring of [o, h]) for (const [x, y] of ring) {
      expect(Math.abs(x * 1e7 - Math.round(x * 1e7))).toBeLessThan(1e-6);
      expect(Math.abs(y * 1e7 - Math.round(y * 1e7))).toBeLessThan(1e-6);
    }
    expect(o.some(([x]) => x === 119.1)).toBe(true);

    expect(f2.geometry.type).toBe('MultiPolygon');
    expect(f2.geometry.coordinates).toHaveLength(2);
    for (const poly of f2.geometry.coordinates as number[][][][]) expect(signed(poly[0])).toBeGreaterThan(0);
    expect(f2.properties.TBLX).toBe('outflow_pond');

    expect((await readdir(dir)).filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it('writes an empty collection', async () => {
    const path = join(dir, 'empty.geojson');
    await writePatchesGeoJSON([], path);
    const fc = JSON.parse(await readFile(path, 'utf8'));
    expect(fc.features).toEqual([]);
    expect(fc.farmwatch.crs).toBe(GEOJSON_CRS_NOTE);
  });

  it('drops rings that rounding collapses and closes open rings', () => {
    const open = [[1, 1], [2, 1], [2, 2], [1, 2]];
    const tiny = square(1.5, 1.5, 1e-9);
    const g = toGeoJsonGeometry([[open, tiny]]);
    expect(g).toEqual({ type: 'Polygon', coordinates: [[[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]] });
    expect(toGeoJsonGeometry([[tiny]])).toBeNull();
  });
});

describe('atomic writes', () => {
  it('writeJsonAtomic keeps key order, pretty-prints and replaces an existing file', async () => {
    const path = join(dir, 'summary.json');
    await writeFile(path, 'old');
    await writeJsonAtomic(path, { z: 1, a: { y: 2, b: [1, 2] }, m: Number.NaN });
    const text = await readFile(path, 'utf8');
    expect(text).toBe('{\n  "z": 1,\n  "a": {\n    "y": 2,\n    "b": [\n      1,\n      2\n    ]\n  },\n  "m": null\n}\n');
    expect(Object.keys(JSON.parse(text))).toEqual(['z', 'a', 'm']);
  });

  it('creates missing folders', async () => {
    const path = join(dir, 'deep', 'er', 'x.json');
    await writeJsonAtomic(path, [1]);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([1]);
  });

  it('fails with OutputError and leaves no partial file', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'a file, not a folder');
    const err = await writeFileAtomic(join(blocker, 'x.json'), 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as OutputError).code).toBe('OUTPUT_FAILED');
    // A failing producer leaves neither the partial nor the target.
    const target = join(dir, 'never.json');
    const { writeViaPartial } = await import('./index.js');
    await expect(
      writeViaPartial(target, async (partial) => {
        await writeFile(partial, 'half');
        throw new Error('disk full');
      }),
    ).rejects.toThrow(/disk full/);
    const names = await readdir(dir);
    expect(names).not.toContain('never.json');
    expect(names).not.toContain('never.json.partial');
  });
});
