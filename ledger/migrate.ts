/**
 * Versioned SQL migrations (ledger/migrations/NNN_name.sql), applied in order in one transaction
 * under an advisory lock, so two processes opening a fresh server database do not race. Applied
 * files are recorded with a checksum: editing one after it ran is refused (add a new file instead).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../cli/paths.js';
import type { Db } from './db.js';
import { LedgerError } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Any fixed number: the lock every farmwatch migrator takes (per database). */
const MIGRATION_LOCK = 7_402_611;

export const migrationsDir = (): string => join(packageRoot(), 'ledger', 'migrations');

export async function loadMigrations(dir = migrationsDir()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (f) => {
      const sql = await readFile(join(dir, f), 'utf8');
      return { version: Number(f.slice(0, 3)), name: f, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Brings the schema up to date; returns the names of the migrations applied now. */
export async function migrate(db: Db, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  try {
    return await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      if (db.kind === 'server') await tx.exec(`CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public; CREATE SCHEMA IF NOT EXISTS ${db.schema};`);
      await tx.exec(
        `CREATE TABLE IF NOT EXISTS ${db.schema}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(`SELECT version, name, checksum FROM ${db.schema}.schema_migrations ORDER BY version`);
      const done = new Map(rows.map((r) => [r.version, r]));
      for (const m of all) {
        const d = done.get(m.version);
        if (d && d.checksum !== m.checksum)
          throw new LedgerError('MIGRATION_FAILED', `ledger migration ${m.name} was changed after it was applied to ${db.where} (schema ${db.schema}); add a new migration instead`, { file: m.name });
      }
      const applied: string[] = [];
      for (const m of all) {
        if (done.has(m.version)) continue;
        await tx.exec(`SET LOCAL search_path TO ${db.schema}, public;\n${m.sql}`);
        await tx.query(`INSERT INTO ${db.schema}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
        applied.push(m.name);
      }
      return applied;
    });
  } catch (e) {
    if (e instanceof LedgerError) throw e;
    throw new LedgerError('MIGRATION_FAILED', `ledger migrations on ${db.where} (schema ${db.schema}) failed: ${(e as Error).message}`, {}, { cause: e });
  }
}
