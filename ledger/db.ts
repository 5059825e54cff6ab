/**
 * The ledger's database: one small interface over two backends with the same PostgreSQL + PostGIS
 * schema. `server` is a PostgreSQL given by URL (what a bureau runs, many users); `embedded` is
 * PGlite with its PostGIS extension in a local data directory (no server to install).
 */
import { mkdir } from 'node:fs/promises';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import { LedgerError } from './errors.js';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/** What a statement runs on: the database or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'embedded' | 'server';
  /** A human label: the data directory or the server URL without its password. */
  readonly where: string;
  /** The schema the ledger lives in (search_path first entry). */
  readonly schema: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL URL: selects the server backend. */
  url?: string;
  /** PGlite data directory (embedded backend); `memory://` for a throwaway in-memory database. */
  dir?: string;
  /** Schema for the ledger's tables (default `ledger`); tests use one per test. */
  schema?: string;
  /**
   * An open PGlite (with the postgis extension) to use instead of opening `dir`; the caller owns it
   * and `close()` leaves it open. Tests share one per file (opening costs seconds).
   */
  pglite?: PGlite;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_RE.test(schema)) throw new LedgerError('CONFIG_INVALID', `ledger schema name "${schema}" must match ${SCHEMA_RE}`, { field: 'schema' });
  return schema;
}

/** Opens the database (no migrations: see `openLedger`). */
export async function openDb(opts: DbOptions): Promise<Db> {
  const schema = checkSchemaName(opts.schema ?? 'ledger');
  if (opts.url) return openServer(opts.url, schema);
  if (opts.pglite) return wrapEmbedded(opts.pglite, 'PGlite (shared)', schema, false);
  if (!opts.dir) throw new LedgerError('CONFIG_INVALID', 'ledger: give a data directory (embedded) or a DATABASE_URL (server)', { field: 'dir' });
  return openEmbedded(opts.dir, schema);
}

async function openServer(url: string, schema: string): Promise<Db> {
  // search_path on every pooled connection: the schema first, then public where PostGIS lives.
  const pool = new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema},public` });
  pool.on('error', () => undefined); // idle-client errors surface on the next query instead
  const where = redactUrl(url);
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new LedgerError('DB_UNAVAILABLE', `ledger: cannot connect to ${where}: ${(e as Error).message}`, { url: where }, { cause: e, retryable: true });
  }
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const r = await c.query(sql, params as unknown[]);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  const base = wrap(pool);
  return {
    kind: 'server',
    where,
    schema,
    ...base,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(wrap(client));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openEmbedded(dir: string, schema: string): Promise<Db> {
  if (!dir.startsWith('memory://')) await mkdir(dir, { recursive: true });
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir: dir, extensions: { postgis } });
  } catch (e) {
    throw new LedgerError('DB_UNAVAILABLE', `ledger: cannot open the embedded database in ${dir}: ${(e as Error).message} (is another farmwatch process using it?)`, { dir }, { cause: e });
  }
  return wrapEmbedded(db, dir, schema, true);
}

async function wrapEmbedded(db: PGlite, dir: string, schema: string, owned: boolean): Promise<Db> {  // One connection: set the search path once. PostGIS must exist before the schema's tables use it.
  await db.exec(`CREATE EXTENSION IF NOT EXISTS postgis; CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}, public;`);
  const wrap = (c: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const r = await c.query<T>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string) {
      await c.exec(sql);
    },
  });
  const base = wrap(db);
  return {
    kind: 'embedded',
    where: dir,
    schema,
    ...base,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction((tx) => fn(wrap(tx))),
    close: async () => {
      if (owned) await db.close();
    },
  };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
