import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDetectConfig } from '../../config/index.js';
import { defaultModelDir } from '../../cli/paths.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';
import { scoreTotals } from '../helpers/score.js';

const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

/**
 * A county the stages were not developed on (seed 42): new asphalt roads 6–10 m wide, which the
 * classes split into pavement, verges and crown-like texture (patches/join.ts assembles them), and
 * film rows read half as roof (joined as one greenhouse). Floors of today's run, to catch regressions.
 */
describe('another sample county (seed 42)', () => {
  let result: RunResult;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-seed42-'));
    const manifest = await generateCounty({ outDir: join(dir, 'county'), sizePx: 2000, seed: 42 });
    const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), manifest), out: join(dir, 'run'), classify: { model: defaultModelDir() }, chips: { enabled: false } });
    result = await runDetection(config, { log: quiet, now: Date.now });
  }, 600_000);

  it('finds the new roads and keeps false patches on hard cases few (regression floor)', () => {
    const score = result.summary.score!;
    // Today: 6 of 6 roads (3 of 6 before the assembly), F1 0.94, 3 false patches on hard cases.
    expect(score.byType.occupation_road.recall).toBeGreaterThanOrEqual(5 / 6);
    expect(scoreTotals(score).f1).toBeGreaterThanOrEqual(0.9);
    expect(score.hardCaseFalsePatches).toBeLessThanOrEqual(4);
  });
});
