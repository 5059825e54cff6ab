import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { defaultModelDir } from '../../cli/paths.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { CHANGE_TYPE_NAMES } from '../../pipeline/types.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

/**
 * The change rules, vectorisation and patch logic on their own: the sample county's true land
 * cover of both dates (as the generator rendered it, mis-registration, mixed pixels, clouds and
 * the no-data edge included) replaces the model. What is left to fail is everything after the
 * classifier, so this must be perfect.
 */
describe('rules and patches on true land cover', () => {
  let result: RunResult;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-oracle-'));
    const m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 1500, seed: 7, truthRasters: true });
    const f = (name: string) => join(dir, 'county', name);
    const input = countyRunInput(join(dir, 'county'), m);
    const config = parseDetectConfig({
      ...input,
      before: { ...input.before, landcover: f('landcover_truth_before.tif') },
      after: { ...input.after, landcover: f('landcover_truth_after.tif') },
      out: join(dir, 'run'),
      classify: { model: defaultModelDir() },
      chips: { enabled: false },
      overview: { enabled: false },
    });
    result = await runDetection(config, { log: quiet, now: Date.now });
  }, 300_000);

  it('finds every planted change, with its area within 10 %, and nothing else', () => {
    const score = result.summary.score!;
    for (const type of CHANGE_TYPE_NAMES.filter((t) => t !== 'outflow_grass')) {
      const s = score.byType[type];
      expect(s.planted, type).toBeGreaterThanOrEqual(3);
      expect([type, s.recall, s.precision]).toEqual([type, 1, 1]);
      expect(s.maxAreaError!, type).toBeLessThanOrEqual(0.1);
    }
    expect(score.falsePatches).toEqual([]);
    expect(score.legalReportedAsLegal.correct).toBe(score.legalReportedAsLegal.planted);
  });
});
