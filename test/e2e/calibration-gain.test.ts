/**
 * Land-cover issue, acceptance 2, as a user runs it: calibrate the default trained model
 * (landcover-rf-v1) on a county's own survey with `farmwatch train --baseline`, detect with the
 * generic and the calibrated model, and let `farmwatch eval change` compare both runs.
 *
 * Measured (1000 px county, default seed, 2026-11-26): generic patch F1 0.025 (1 of 35 planted
 * matched, 44 patches), calibrated 0.971 (34 of 35, 35 patches); the rules 0.957.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCounty } from '../../samples/index.js';
import { repoRoot } from '../helpers/paths.js';

function farmwatch(...args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), '--quiet', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`farmwatch ${args[0]} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

interface EvalRow {
  run: string;
  patch: { planted: number; detected: number; matched: number; f1: number };
}

describe('calibrating the default trained model on the county survey', () => {
  let dir: string;
  let rows: EvalRow[];
  let card: { id: string; provenance: { trainedOn: { source: string }[] } };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-calibration-'));
    const county = (f: string) => join(dir, 'county', f);
    await generateCounty({ outDir: join(dir, 'county'), sizePx: 1000 });
    const model = join(dir, 'calibrated');
    farmwatch('train', '--baseline', county('landuse.geojson'), '--image', county('before.tif'), '--image', county('after.tif'), '--out', model);
    card = JSON.parse(await readFile(join(model, 'card.json'), 'utf8'));
    const layers = ['--before', county('before.tif'), '--after', county('after.tif'), '--baseline', county('landuse.geojson'), '--townships', county('townships.geojson'), '--pbf', county('pbf.geojson'), '--approved', county('approved.geojson'), '--filings', county('filings.geojson')];
    farmwatch('detect', ...layers, '--model', 'landcover-rf-v1', '--out', join(dir, 'generic'));
    farmwatch('detect', ...layers, '--model', model, '--out', join(dir, 'run-calibrated'));
    farmwatch('eval', 'change', '--run', join(dir, 'generic'), '--run', join(dir, 'run-calibrated'), '--truth', county('truth.geojson'), '--out', join(dir, 'eval.json'));
    rows = JSON.parse(await readFile(join(dir, 'eval.json'), 'utf8'));
  }, 600_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('trains on the survey alone, under its own id', () => {
    expect(card.id).toBe('landcover-rf-v1-calibrated');
    expect(card.provenance.trainedOn.map((s) => s.source)).toEqual(['county-baseline']);
  });

  it('eval shows both runs, and calibration lifts patch F1 from near zero to ≥ 0.9', () => {
    expect(rows.map((r) => r.run)).toEqual([join(dir, 'generic'), join(dir, 'run-calibrated')]);
    const [generic, calibrated] = rows.map((r) => r.patch);
    expect(generic.planted).toBe(calibrated.planted);
    expect(generic.planted).toBeGreaterThanOrEqual(30);
    expect(generic.f1).toBeLessThan(0.3);
    expect(calibrated.f1).toBeGreaterThanOrEqual(0.9);
    expect(calibrated.matched).toBeGreaterThanOrEqual(Math.ceil(0.9 * calibrated.planted));
  });
});
