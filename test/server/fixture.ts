/**
 * The review app's test world: the sample county detected for real (with chips and change raster),
 * ingested into a ledger, accounts of every role, and the app over it.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseDetectConfig } from '../../config/index.js';
import type { Ledger } from '../../ledger/index.js';
import { runDetection, type RunResult } from '../../pipeline/run.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';
import { buildApp, type AppOptions } from '../../server/app.js';
import { LoginLimiter, upsertUser } from '../../server/auth.js';
import { fileUri } from '../../storage/index.js';

export const PASSWORD = 'correct horse battery';

export interface World {
  dir: string;
  result: RunResult;
}

/** Generates the 800-px sample county and detects its changes, chips and change raster included. */
export async function detectSample(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'fw-server-'));
  const m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 800 });
  const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), m), out: join(dir, 'run'), overview: { enabled: false } });
  const result = await runDetection(config, { log: { info() {}, warn() {}, debug() {} }, now: Date.now });
  return { dir, result };
}

export interface Accounts {
  /** Township with the most cases, and another one with cases. */
  town: string;
  otherTown: string;
}

/** Ingests the run and adds admin, analyst1, analyst2, viewer and a township officer `town1` of the busiest township. */
export async function seedLedger(ledger: Ledger, world: World): Promise<Accounts> {
  await ledger.ingestResult(world.result);
  const r = await ledger.db.query<{ xzqdm: string; n: number }>('SELECT xzqdm, count(*)::int AS n FROM cases GROUP BY xzqdm ORDER BY n DESC, xzqdm');
  if (r.rows.length < 2) throw new Error(`the sample run should have cases in 2+ townships, got ${JSON.stringify(r.rows)}`);
  const [town, otherTown] = r.rows.map((x) => x.xzqdm);
  for (const [username, role, xzqdm] of [
    ['admin', 'admin', null],
    ['analyst1', 'analyst', null],
    ['analyst2', 'analyst', null],
    ['viewer', 'viewer', null],
    ['town1', 'township', town],
  ] as const)
    await upsertUser(ledger.db, { username, password: PASSWORD, role, xzqdm, displayName: username }, 'test');
  return { town, otherTown };
}

export function appFor(ledger: Ledger, world: World, opts: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  return buildApp({ ledger, attachmentsUri: fileUri(join(world.dir, 'attachments')), loginLimiter: new LoginLimiter(5, 15 * 60_000), ...opts });
}
