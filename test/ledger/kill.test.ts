/**
 * Killing the process in the middle of an ingest leaves the ledger exactly as it was: a child
 * process ingests a large run and is SIGKILLed at a random moment after it started writing (seen on
 * its progress lines) and before it committed; the ledger is then compared with a snapshot taken
 * before. Embedded (PGlite data directory, recovered on reopen) and server.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../ledger/index.js';
import { repoRoot } from '../helpers/paths.js';
import { bigRun } from './big-run.js';
import { dropServerSchemas, newSchema, SERVER_URL } from './helpers.js';

afterAll(dropServerSchemas);

const N = 3000;

/** Everything the ledger holds, as one comparable value. */
async function snapshot(l: Ledger) {
  const tables = ['runs', 'cases', 'observations', 'case_links', 'events', 'case_seq', 'townships', 'projects'];
  const out: Record<string, unknown> = {};
  for (const t of tables) {
    const r = await l.db.query<{ n: number; h: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM ${t} AS x`);
    out[t] = r.rows[0];
  }
  return out;
}

/** Runs the child, kills it on the `killAt`-th progress line plus 0–20 ms; returns its stdout lines. */
function ingestAndKill(where: string, schema: string, killAt: number): Promise<{ lines: string[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'ledger', 'ingest-child.ts'), where, schema, String(N)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let progress = 0;
    let buf = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('progress') && ++progress === killAt) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 20));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal || code === 0 ? resolve({ lines, signal }) : reject(new Error(`ingest child failed (${code}): ${err}`))));
  });
}

describe.each(['embedded', 'server'] as const)('kill during ingest (%s)', (backend) => {
  it('leaves the ledger as it was before the run, and the run can be ingested afterwards', async () => {
    const schema = newSchema();
    const where = backend === 'server' ? SERVER_URL : join(await mkdtemp(join(tmpdir(), 'fw-kill-')), 'ledger');
    const open = () => openLedger({ ...(backend === 'server' ? { url: where } : { dir: where }), schema });
    let l = await open();
    await l.ingest(bigRun(100, '2026-05-27', 0));
    await l.transition('32128220262' + '0001', { to: 'dispatched', actor: 'x' });
    const before = await snapshot(l);
    await l.close();

    // Progress lines: run, 12 observation batches, identity, cases, 3 event batches. Kill after a random
    // one of the first 14 (at least the case inserts and all events are still to come, so the commit is far).
    const killAt = 2 + Math.floor(Math.random() * 13);
    const { lines, signal } = await ingestAndKill(where, schema, killAt);
    expect(signal).toBe('SIGKILL');
    expect(lines.filter((x) => x.startsWith('progress')).length).toBeGreaterThanOrEqual(killAt);
    expect(lines).not.toContain('committed');

    l = await open();
    try {
      expect(await snapshot(l)).toEqual(before);
      // Nothing half-done blocks the next attempt.
      const r = await l.ingest(bigRun(N, '2026-08-20'));
      expect(r).toMatchObject({ status: 'ingested', patches: N, continued: 100, created: N - 100 });
    } finally {
      await l.close();
    }
  }, 180_000);
});
