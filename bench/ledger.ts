/**
 * Ledger benchmark (part of `npm run bench`): 100 000 cases seeded in a scratch schema of the server
 * database (DATABASE_URL, else the local test database) with generate_series, then the case list
 * with filters and paging as the CLI and web app call it, timed per query shape (p50/p95 in ms).
 * The same queue is then timed through the review app's HTTP API (session check, township scope,
 * JSON), as the page asks for it.
 * Environment: FW_BENCH_LEDGER_ROWS to change the row count.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { openLedger, type CaseFilter, type Ledger, type Page } from '../ledger/index.js';
import { buildApp } from '../server/app.js';
import { upsertUser } from '../server/auth.js';
import { fileUri } from '../storage/index.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rows = Number(process.env.FW_BENCH_LEDGER_ROWS ?? 100_000);
const schema = `bench_${randomBytes(4).toString('hex')}`;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main() {
  const l = await openLedger({ url, schema });
  try {
    const t0 = performance.now();
    await l.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO runs (run_key, region_code, before_date, after_date, gk_srid, patch_count, actor) VALUES ('bench', '321282', '2026-01-01', '2026-03-31', 4528, $1, 'bench')`, [rows]);
      // 20 townships, 8 types, every state, areas 200–20 000 m², a 4-year spread of dates, 100 m squares on a grid.
      await tx.query(
        `INSERT INTO cases (jcbh, status, ruling, deadline, tblx, tblxmc, xzqdm, xzqmc, dlbm, area_m2, gdmj, sfjbnt, gk_srid, geom, first_run_id, last_run_id, first_seen, last_seen)
         SELECT '3212822026' || lpad(i::text, 7, '0'),
                (ARRAY['pending','dispatched','legal','illegal','false_change','facility','rural_road','rectifying','rectified','closed'])[1 + (i / 20) % 10],
                NULL, DATE '2026-01-01' + (i % 365), t.tblx, t.tblx, '321282' || lpad((100 + i % 20)::text, 3, '0'), '镇' || (i % 20),
                (ARRAY['0101','0102','0103'])[1 + i % 3], 200 + (i * 7919) % 19800, 200 + (i * 7919) % 19800, i % 7 = 0, 4528,
                ST_Multi(ST_MakeEnvelope(120.0 + (i % 400) * 0.0015, 31.8 + (i / 400) * 0.0015, 120.0 + (i % 400) * 0.0015 + 0.001, 31.8 + (i / 400) * 0.0015 + 0.001, 4490)),
                1, 1, DATE '2023-01-01' + (i % 1460), DATE '2023-01-01' + (i % 1460)
         FROM generate_series(1, $1) AS i,
              LATERAL (SELECT (ARRAY['occupation_building','occupation_road','occupation_soil','outflow_orchard','outflow_forest','outflow_grass','outflow_pond','outflow_greenhouse'])[1 + (i / 3) % 8] AS tblx) AS t`,
        [rows],
      );
      await tx.query(`INSERT INTO observations (run_id, case_id, patch_id, seen_on, role, attributes, area_m2, geom) SELECT 1, id, jcbh, last_seen, 'new', '{}', area_m2, geom FROM cases`);
    });
    await l.db.query('ANALYZE');
    const seedMs = performance.now() - t0;
    const shapes: [string, CaseFilter, Page][] = [
      ['first page, no filter', {}, { limit: 50 }],
      ['township + status, page 11', { xzqdm: ['321282105'], status: ['dispatched', 'false_change'] }, { limit: 50, offset: 500 }],
      ['type + dates + PBF + area, by area', { tblx: ['outflow_pond', 'occupation_building'], from: '2024-01-01', to: '2025-06-30', sfjbnt: true, minAreaM2: 1000 }, { order: 'area_desc', limit: 100 }],
      ['run + status, page 100', { run: 1, status: ['pending'] }, { limit: 50, offset: 5000 }],
      ['overdue, by deadline', { overdueAsOf: '2026-06-30' }, { order: 'deadline', limit: 50 }],
      ['deep page, no filter', {}, { limit: 50, offset: 90_000 }],
    ];
    console.log(`\nledger: ${rows.toLocaleString('en')} cases seeded on the server in ${(seedMs / 1000).toFixed(1)} s (${l.db.where}, schema ${schema})`);
    const table: Record<string, { total: number; rows: number; 'p50 ms': number; 'p95 ms': number }> = {};
    for (const [name, filter, page] of shapes) {
      const ms: number[] = [];
      let res = await l.listCases(filter, page); // warm-up
      for (let k = 0; k < 30; k++) {
        const t = performance.now();
        res = await l.listCases(filter, page);
        ms.push(performance.now() - t);
      }
      table[name] = { total: res.total, rows: res.rows.length, 'p50 ms': Math.round(pct(ms, 50) * 10) / 10, 'p95 ms': Math.round(pct(ms, 95) * 10) / 10 };
    }
    console.table(table);
    await benchApi(l);
  } finally {
    await l.db.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await l.close();
  }
}

/** Case-list latency through the review app over HTTP on localhost, p50/p95 per queue the page asks for. */
async function benchApi(l: Ledger): Promise<void> {
  const password = randomBytes(12).toString('hex');
  await upsertUser(l.db, { username: 'bench-analyst', password, role: 'analyst' }, 'bench');
  await upsertUser(l.db, { username: 'bench-town', password, role: 'township', xzqdm: '321282105' }, 'bench');
  const app = await buildApp({ ledger: l, attachmentsUri: fileUri(tmpdir()) });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const login = async (username: string) => {
      const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
      return (r.headers.get('set-cookie') ?? '').split(';')[0];
    };
    const cookies = { analyst: await login('bench-analyst'), township: await login('bench-town') };
    const queues: [string, keyof typeof cookies, string][] = [
      ['queue by priority, first page', 'analyst', 'order=priority&limit=50'],
      ['pending on PBF ≥ 1 亩, by priority', 'analyst', 'status=pending&sfjbnt=true&minAreaM2=666.67&order=priority&limit=50'],
      ['type + township + status, page 3', 'analyst', 'tblx=outflow_pond,occupation_building&xzqdm=321282103&status=pending&limit=50&offset=100'],
      ['township officer, own queue', 'township', 'order=priority&limit=50'],
      ['deep page by priority', 'analyst', 'order=priority&limit=50&offset=90000'],
    ];
    const table: Record<string, { total: number; 'p50 ms': number; 'p95 ms': number }> = {};
    for (const [name, who, q] of queues) {
      const ms: number[] = [];
      let total = 0;
      for (let k = 0; k < 31; k++) {
        const t = performance.now();
        const r = await fetch(`${base}/api/cases?${q}`, { headers: { cookie: cookies[who] } });
        const body = (await r.json()) as { total: number };
        if (!r.ok) throw new Error(`${name}: HTTP ${r.status} ${JSON.stringify(body)}`);
        if (k > 0) ms.push(performance.now() - t); // the first is a warm-up
        total = body.total;
      }
      table[name] = { total, 'p50 ms': Math.round(pct(ms, 50) * 10) / 10, 'p95 ms': Math.round(pct(ms, 95) * 10) / 10 };
    }
    console.log(`\nreview app: GET /api/cases over HTTP on ${rows.toLocaleString('en')} cases`);
    console.table(table);
  } finally {
    await app.close();
  }
}

main().catch((e) => {
  console.error(`ledger benchmark failed: ${(e as Error).message}`);
  process.exit(1);
});
