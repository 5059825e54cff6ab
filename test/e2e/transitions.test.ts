/**
 * `detect` without a baseline (every land-cover transition, the mode for any pair of scenes) on
 * the sample county, scored against the planted changes whatever their type: a transition patch
 * matches a planted change it overlaps with IoU ≥ 0.3.
 *
 * Measured (1000 px county, default seed, 2026-11-26): 25 of 35 planted changes found, 25 patches,
 * none false; before film rows and roof parts were closed into one object in this mode, 22 of 35
 * with 3 false patches, and 2 of 5 greenhouses missed (their rows' soft inner edges failed the
 * sharp-outline test).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { generateCounty } from '../../samples/index.js';

const quiet = { info() {}, warn() {}, debug() {} };

describe('detect without a baseline on the sample county', () => {
  let dir: string;
  let result: RunResult;
  let plantedType: Map<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-transitions-'));
    const county = (f: string) => join(dir, 'county', f);
    const m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 1000 });
    // The planted changes, each retyped "transition", the one type of this mode.
    const truth = JSON.parse(await readFile(county(m.files.truth!), 'utf8'));
    plantedType = new Map();
    for (const f of truth.features)
      if (f.properties.kind === 'change') {
        plantedType.set(f.properties.id, f.properties.type);
        f.properties.type = 'transition';
      }
    await writeFile(join(dir, 'truth-transitions.geojson'), JSON.stringify(truth));
    const config = parseDetectConfig({ before: { uri: county(m.files.before) }, after: { uri: county(m.files.after) }, truth: join(dir, 'truth-transitions.geojson'), out: join(dir, 'run') });
    result = await runDetection(config, { log: quiet, now: Date.now });
  }, 600_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds most planted changes as transitions, with few false patches', () => {
    expect(result.summary.mode).toBe('transitions');
    const s = result.summary.score!.byType.transition;
    expect(s.planted).toBe(plantedType.size);
    expect(s.matched).toBeGreaterThanOrEqual(24);
    expect(s.precision).toBeGreaterThanOrEqual(0.9);
  });

  it('finds every greenhouse: film rows and roof parts close into one object', () => {
    const missed = result.summary.score!.byType.transition.missed.filter((id) => plantedType.get(id) === 'outflow_greenhouse');
    expect(missed).toEqual([]);
  });

  it('names each patch by the cover it mostly replaced and the new cover', async () => {
    const patches = JSON.parse(await readFile(join(result.outDir, 'patches.geojson'), 'utf8'));
    expect(patches.features.length).toBeGreaterThan(0);
    for (const f of patches.features) {
      expect(f.properties.TBLX).toBe('transition');
      expect(f.properties.TBLXMC).toBe(`${f.properties.QSDL}→${f.properties.XZDL}`);
      expect(f.properties.QSDL).not.toBe(f.properties.XZDL);
    }
  });
});
