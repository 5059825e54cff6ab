/**
 * `farmwatch ledger …` end to end from source: a run folder ingested (twice), listed, moved along,
 * shown with its history, refused with a clear message and exit code 2; on the embedded ledger
 * (data directory) and on the server (DATABASE_URL).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { dropServerSchemas, newSchema, patch, rect, SERVER_URL } from './helpers.js';

afterAll(dropServerSchemas);

/** A run folder as `farmwatch detect` writes it (the two files the ledger reads). */
async function runFolder(dir: string): Promise<string> {
  const out = join(dir, 'run');
  await mkdir(out, { recursive: true });
  const patches = [patch('3212822026200001', [rect(0, 0, 40, 30)]), patch('3212822026200002', [rect(300, 0, 30, 30)], { TBLX: 'outflow_pond', TBLXMC: '耕地流出-坑塘', SFJBNT: true })];
  await writeFile(
    join(out, 'patches.geojson'),
    JSON.stringify({ type: 'FeatureCollection', features: patches.map((p) => ({ type: 'Feature', id: p.attributes.JCBH, geometry: { type: 'Polygon', coordinates: p.geometryLonLat[0] }, properties: { ...p.attributes, HSX: '2026-05-27', QSX: '2026-04-12' } })) }),
  );
  await writeFile(
    join(out, 'summary.json'),
    JSON.stringify({
      mode: 'baseline',
      inputs: { before: { uri: 'before.tif', date: '2026-04-12' }, after: { uri: 'after.tif', date: '2026-05-27' }, grid: { crs: 'EPSG:4528' } },
      counts: { total: 2 },
      model: { id: 'spectral-v1' },
      config: { regionCode: '321282', out },
    }),
  );
  return out;
}

describe.each(['embedded', 'server'] as const)('farmwatch ledger CLI (%s)', (backend) => {
  it('ingests, lists, transitions, shows and refuses with exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-ledger-cli-'));
    const runDir = await runFolder(dir);
    const env = { ...process.env, FARMWATCH_ACTOR: '测试员', ...(backend === 'server' ? { DATABASE_URL: SERVER_URL, FARMWATCH_LEDGER_SCHEMA: newSchema() } : { FARMWATCH_LEDGER_DIR: join(dir, 'ledger'), DATABASE_URL: '' }) };
    const fw = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'ledger', ...args], { cwd: repoRoot, env, encoding: 'utf8', timeout: 120_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    // Ingest twice (the second is a no-op), then dispatch one case and try an invalid step, in one process each.
    let r = fw('ingest', runDir);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/run 1: 2 patches → 2 new cases/);
    // Each call opens the embedded database (seconds with PostGIS): the embedded run skips the steps the library tests cover.
    if (backend === 'server') {
      r = fw('ingest', runDir);
      expect(r.out).toMatch(/run 1 is already in the ledger .*nothing changed/);
    }
    r = fw('transition', '321282202620002', 'legal');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/INVALID_TRANSITION.*cannot go from 待核查 \(pending\) to 合法 \(legal\)/);
    if (backend === 'embedded') return;
    r = fw('transition', '321282202620002', '已下发', '--deadline', '2026-06-30');
    expect(r.code).toBe(0);
    expect(r.out).toContain('321282202620002: 待核查 → 已下发 (version 2, deadline 2026-06-30)');
    r = fw('transition', '321282202620002', 'legal');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/MISSING_EVIDENCE.*approvalNo \(批准文号\) is required/);
    r = fw('list', '--pbf', '--json');
    const list = JSON.parse(r.out);
    expect(list.total).toBe(1);
    expect(list.rows[0]).toMatchObject({ jcbh: '321282202620002', status: 'dispatched', statusLabel: '已下发', deadline: '2026-06-30', tblx: 'outflow_pond', version: 2 });
    r = fw('show', '321282202620002', '--json');
    const c = JSON.parse(r.out);
    expect(c.events.map((e: { kind: string; actor: string }) => [e.kind, e.actor])).toEqual([['created', '测试员'], ['transition', '测试员']]);
    r = fw('overdue', '--as-of', '2026-07-01', '--json');
    expect(JSON.parse(r.out).rows.map((x: { jcbh: string }) => x.jcbh)).toEqual(['321282202620002']);
  }, 240_000);
});
