import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSharedData, shared } from '../../test/helpers/paths.js';
import { crsFromEpsg } from '../geo/crs.js';
import type { Grid } from '../types.js';
import { writeGeoTiff } from './geotiff-writer.js';
import { closeScene, openScene, readRawWindow } from './scene.js';
import { stackBands } from './stack.js';

const grid: Grid = { width: 300, height: 200, transform: [500000, 10, 0, 3400000, 0, -10], crs: crsFromEpsg(32650) };
const plane = (k: number) => Uint16Array.from({ length: grid.width * grid.height }, (_, p) => (p * 7 + k * 1000) % 60000);

describe('stackBands', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-stack-'));
    for (const k of [1, 2, 3]) await writeGeoTiff(join(dir, `b${k}.tif`), grid, [plane(k)], { dtype: 'uint16', nodata: 0 });
    await writeGeoTiff(join(dir, 'shifted.tif'), { ...grid, transform: [500010, 10, 0, 3400000, 0, -10] }, [plane(4)], { dtype: 'uint16' });
    await writeGeoTiff(join(dir, 'bytes.tif'), grid, [new Uint8Array(grid.width * grid.height)], { dtype: 'uint8' });
  });

  it('writes every band, pixel for pixel, named by its band, on the first file\'s grid', async () => {
    const out = join(dir, 'stack.tif');
    const r = await stackBands(
      [
        { name: 'red', uri: join(dir, 'b1.tif') },
        { name: 'green', uri: join(dir, 'b2.tif') },
        { name: 'nir', uri: join(dir, 'b3.tif') },
      ],
      out,
      { date: '2026-05-01', tileSize: 64 },
    );
    expect(r).toMatchObject({ width: 300, height: 200, dtype: 'uint16', bands: ['red', 'green', 'nir'], acquired: '2026-05-01' });
    const s = await openScene(out);
    try {
      expect(s.info.bands.map((b) => b.name)).toEqual(['red', 'green', 'nir']);
      expect(s.info.grid.transform).toEqual(grid.transform);
      expect(s.info.grid.crs.epsg).toBe(32650);
      expect(s.info.acquired).toBe('2026-05-01');
      expect(s.info.nodata).toBe(0);
      const block = await readRawWindow(s, { col: 0, row: 0, width: grid.width, height: grid.height }, ['nir', 'red']);
      expect(Array.from(block.data[0])).toEqual(Array.from(plane(3)));
      expect(Array.from(block.data[1])).toEqual(Array.from(plane(1)));
    } finally {
      await closeScene(s);
    }
  });

  it('records a scale and offset for every band, which the reader then applies', async () => {
    const out = join(dir, 'scaled.tif');
    await stackBands([{ name: 'red', uri: join(dir, 'b1.tif') }, { name: 'nir', uri: join(dir, 'b2.tif') }], out, { scaleOffset: { scale: 2e-5, offset: -0.1 } });
    const s = await openScene(out);
    try {
      expect(s.info.scaleSource).toBe('file');
      expect(s.info.bands.map((b) => [b.name, b.scale, b.offset])).toEqual([
        ['red', 2e-5, -0.1],
        ['nir', 2e-5, -0.1],
      ]);
    } finally {
      await closeScene(s);
    }
  });

  it('refuses a file off the first one\'s grid or of another sample type, naming it, and writes nothing', async () => {
    const out = join(dir, 'bad.tif');
    await expect(stackBands([{ name: 'red', uri: join(dir, 'b1.tif') }, { name: 'nir', uri: join(dir, 'shifted.tif') }], out)).rejects.toMatchObject({ code: 'GRID_MISMATCH', message: expect.stringContaining('shifted.tif') });
    await expect(stackBands([{ name: 'red', uri: join(dir, 'b1.tif') }, { name: 'nir', uri: join(dir, 'bytes.tif') }], out)).rejects.toMatchObject({ code: 'GRID_MISMATCH', message: expect.stringMatching(/bytes\.tif holds uint8/) });
    await expect(stackBands([{ name: 'red', uri: join(dir, 'b1.tif') }, { name: 'red', uri: join(dir, 'b2.tif') }], out)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('"red" is given twice') });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it.skipIf(!hasSharedData)('stacks the real Landsat 8 bands and refuses the 15 m panchromatic band', async () => {
    const band = (b: string) => shared('landsat8-l1t-2015-08-04-p020r039', `l8_${b}.tif`);
    const r = await stackBands([{ name: 'blue', uri: band('B2') }, { name: 'nir', uri: band('B5') }], join(dir, 'l8.tif'));
    expect(r).toMatchObject({ width: 627, height: 603, dtype: 'uint16' });
    await expect(stackBands([{ name: 'blue', uri: band('B2') }, { name: 'pan', uri: band('B8') }], join(dir, 'l8-pan.tif'))).rejects.toThrow(/l8_B8\.tif is 1254×1207 px at 15 .*resample it first/);
  });
});
