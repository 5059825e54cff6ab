/**
 * A run's result does not depend on how it is tiled: the halo covers every neighbourhood the
 * stages use, and the scene statistics (calibration, co-registration, normalisation) come from a
 * sample that is not tied to the tile size. The same county, tiled at 256 and at 1024 px (one
 * tile), gives the same change raster, pixel for pixel, and the same patches.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { closeScene, openScene, readRawWindow } from '../../pipeline/imagery/index.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';

const quiet = { info() {}, warn() {}, debug() {} };
const SIZE = 1000;

describe('tile size', () => {
  let dir: string;
  const runs: RunResult[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-tile-size-'));
    const m = await generateCounty({ outDir: join(dir, 'county'), sizePx: SIZE, seed: 42 });
    for (const tileSize of [256, 1024]) {
      const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), m), out: join(dir, `run-${tileSize}`), tiling: { tileSize }, chips: { enabled: false } });
      runs.push(await runDetection(config, { log: quiet, now: Date.now }));
    }
  }, 600_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('fits the same scene statistics from the same sample', () => {
    const [a, b] = runs.map((r) => r.summary);
    expect(a.normalization).toEqual(b.normalization);
    expect(a.coregistration).toEqual(b.coregistration);
  });

  it('writes the same change raster and the same patches at 256 px tiles as in one tile', async () => {
    const rasters = [];
    for (const r of runs) {
      const s = await openScene(join(r.outDir, 'change.tif'));
      rasters.push((await readRawWindow(s, { col: 0, row: 0, width: SIZE, height: SIZE })).data[0]);
      await closeScene(s);
    }
    let differ = 0;
    let changed = 0;
    for (let p = 0; p < rasters[0].length; p++) {
      if (rasters[0][p] !== rasters[1][p]) differ++;
      if (rasters[0][p]) changed++;
    }
    expect(changed).toBeGreaterThan(1000);
    expect(differ).toBe(0);
    const patches = await Promise.all(runs.map(async (r) => JSON.parse(await readFile(join(r.outDir, 'patches.geojson'), 'utf8')).features.map((f: { properties: Record<string, unknown> }) => [f.properties.JCBH, f.properties.TBLX, f.properties.MJ])));
    expect(patches[0].length).toBeGreaterThan(10);
    expect(patches[0]).toEqual(patches[1]);
  });
});
