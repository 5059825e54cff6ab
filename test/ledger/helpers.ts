/**
 * Test helpers for the ledger: both backends (a shared in-memory PGlite per test file, the
 * machine's PostgreSQL), a fresh schema per test, and synthetic runs with real geometry.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import pg from 'pg';
import { openLedger, type Ledger, type LedgerOptions, type LedgerRun, type LedgerPatch } from '../../ledger/index.js';
import type { LedgerPatchAttributes } from '../../ledger/run-input.js';

export const SERVER_URL = process.env.FARMWATCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BACKENDS = ['embedded', 'server'] as const;
export type Backend = (typeof BACKENDS)[number];

let lite: Promise<PGlite> | null = null;
/** One in-memory PGlite per test file (vitest runs each file in its own fork). */
export function sharedPglite(): Promise<PGlite> {
  lite ??= PGlite.create({ dataDir: 'memory://', extensions: { postgis } });
  return lite;
}

const schemas: string[] = [];
export const newSchema = (): string => {
  const s = `t_${randomBytes(6).toString('hex')}`;
  schemas.push(s);
  return s;
};

/** A ledger on a schema of its own. Pass `schema` to open a second handle on the same one. */
export async function testLedger(backend: Backend, opts: Partial<LedgerOptions> = {}): Promise<Ledger> {
  const schema = opts.schema ?? newSchema();
  if (backend === 'server') return openLedger({ ...opts, url: SERVER_URL, schema });
  return openLedger({ ...opts, pglite: await sharedPglite(), schema });
}

/** Drops the server schemas this file made (PGlite memory goes with the process). */
export async function dropServerSchemas(): Promise<void> {
  const c = new pg.Client({ connectionString: SERVER_URL });
  await c.connect();
  try {
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await c.end();
  }
}

/** A mutable clock for deadline tests. */
export function testClock(start: string) {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    set: (iso: string) => void (t = new Date(iso).getTime()),
    addDays: (d: number) => void (t += d * 86_400_000),
  };
}

const M_PER_DEG_LAT = 110_900;
/** An axis-aligned rectangle w × h metres with its south-west corner `dx`, `dy` metres from (120.3 E, 32.0 N). */
export function rect(dx: number, dy: number, w: number, h: number): number[][][] {
  const mLon = M_PER_DEG_LAT * Math.cos((32 * Math.PI) / 180);
  const x0 = 120.3 + dx / mLon;
  const y0 = 32.0 + dy / M_PER_DEG_LAT;
  const x1 = x0 + w / mLon;
  const y1 = y0 + h / M_PER_DEG_LAT;
  return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]];
}

export function patch(id: string, polys: number[][][][], a: Partial<LedgerPatchAttributes> = {}): LedgerPatch {
  return {
    geometryLonLat: polys,
    attributes: {
      JCBH: id,
      TBLX: 'occupation_building',
      TBLXMC: '违法占用-建(构)筑物/硬化',
      XZQDM: '321282001',
      XZQMC: '城东镇',
      CJMC: null,
      QSX: null,
      HSX: null,
      DLBM: '0103',
      DLMC: '旱地',
      XZDL: 'built',
      MJ: 0,
      GDMJ: 0,
      YJJBNTMJ: 0,
      SFJBNT: false,
      PZWH: null,
      ZXD: 0.9,
      ...a,
    },
  };
}

/** A run of `patches` with after date `afterDate`; GDMJ defaults to the patch's area when 0. */
export function run(afterDate: string, beforeDate: string, patches: LedgerPatch[], extra: Partial<LedgerRun> = {}): LedgerRun {
  return {
    regionCode: '321282',
    beforeDate,
    afterDate,
    gkSrid: 4528,
    model: { id: 'test', version: '1' },
    config: { regionCode: '321282', test: true },
    inputs: { before: { date: beforeDate }, after: { date: afterDate } },
    counts: { total: patches.length },
    source: null,
    patches: patches.map((p) => ({ ...p, attributes: { ...p.attributes, QSX: p.attributes.QSX ?? beforeDate, HSX: p.attributes.HSX ?? afterDate } })),
    ...extra,
  };
}
