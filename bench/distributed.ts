/**
 * Distributed benchmark (the last step of `npm run bench`, after the others have printed;
 * FW_BENCH_DISTRIBUTED=0 skips it; alone: `node dist/bench/distributed.js`; needs Redis): a
 * generated scene of ≥ 10 000² px on a local S3 server (s3rver), run through BullMQ with one and
 * then two worker processes, each with one classifier thread and one tile job in flight, each
 * on a core of its own (taskset: worker i on core i, as containers with a 1-CPU limit; the S3
 * server, Redis and this driver float). A worker is then a
 * fixed budget of one core: unpinned, one worker's helper threads (zlib inflate, GC) already keep
 * ≈ 1.3 cores busy, so "two workers" would not be twice the budget of one. Prints throughput of
 * each, their ratio, and the imagery bytes the workers fetched with ranged GETs against the
 * compressed bytes of the TIFF blocks the plan's sample windows and the tiles' read windows
 * (core + halo) cover — what any ranged reader must fetch. Chips and overviews are off so only
 * planning and tiles read imagery. Redis: FARMWATCH_REDIS_URL or 127.0.0.1:6379 (own key prefix).
 * Environment: FW_BENCH_DIST_SIZE (default 10000), FW_BENCH_DIST_WORKERS (default "1,2"),
 * FW_BENCH_DIST_CONCURRENCY (tile jobs in flight per worker, default 1), FW_BENCH_DIST_PIN=0 (workers
 * not pinned), FW_BENCH_WORKER_NODE_ARGS (node flags for the worker processes).
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { defaultModelDir, packageRoot } from '../cli/paths.js';
import { closeScene, openScene } from '../pipeline/imagery/index.js';
import { sceneInternals } from '../pipeline/imagery/scene.js';
import type { RunPlan } from '../pipeline/run.js';
import { sampleWindows } from '../pipeline/tiling/index.js';
import type { Window } from '../pipeline/types.js';
import { countyRunInput, generateCounty, readManifest } from '../samples/index.js';
import { readJson, resetS3Client, s3 } from '../storage/index.js';
import { Queues } from '../workers/queues.js';

if (process.env.FW_BENCH_DISTRIBUTED === '0') {
  console.log('distributed benchmark skipped (FW_BENCH_DISTRIBUTED=0)');
  process.exit(0);
}

const size = Number(process.env.FW_BENCH_DIST_SIZE ?? 10000);
const workerCounts = (process.env.FW_BENCH_DIST_WORKERS ?? '1,2').split(',').map(Number);
const concurrency = process.env.FW_BENCH_DIST_CONCURRENCY ?? '1';
const pin = process.env.FW_BENCH_DIST_PIN !== '0';
const root = packageRoot();
const redisUrl = process.env.FARMWATCH_REDIS_URL || 'redis://127.0.0.1:6379';
const BUCKET = 'bench';

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

async function ensureScene(): Promise<string> {
  const dir = join(root, '.cache', 'bench', String(size));
  if (existsSync(join(dir, 'county.json'))) return dir;
  process.stderr.write(`generating a ${size}×${size} scene in ${dir} (cached for later runs)…\n`);
  await generateCounty({ outDir: dir, sizePx: size });
  return dir;
}

/** Compressed bytes of the blocks of `file` that the windows touch (each window counted on its own). */
async function blockBytes(file: string, windows: readonly Window[]): Promise<number> {
  const scene = await openScene(file);
  try {
    const r = sceneInternals(scene).image as unknown as { counts: Float64Array; bw: number; bh: number; width: number; height: number; planar: number; spp: number };
    const across = Math.ceil(r.width / r.bw);
    const down = Math.ceil(r.height / r.bh);
    const planes = r.planar === 2 ? r.spp : 1;
    let total = 0;
    for (const w of windows) {
      const c0 = Math.max(0, Math.floor(w.col / r.bw));
      const c1 = Math.min(across - 1, Math.floor((w.col + w.width - 1) / r.bw));
      const r0 = Math.max(0, Math.floor(w.row / r.bh));
      const r1 = Math.min(down - 1, Math.floor((w.row + w.height - 1) / r.bh));
      for (let p = 0; p < planes; p++) for (let by = r0; by <= r1; by++) for (let bx = c0; bx <= c1; bx++) total += r.counts[p * across * down + by * across + bx];
    }
    return total;
  } finally {
    await closeScene(scene);
  }
}

/** Worker `index` as a process, on core `index` alone unless FW_BENCH_DIST_PIN=0. */
function startWorkerProc(prefix: string, env: Record<string, string>, index: number) {
  const args = [...(process.env.FW_BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean), join(root, 'dist', 'cli', 'main.js'), 'worker', '--redis', redisUrl, '--prefix', prefix, '--concurrency', concurrency, '--classify-threads', '1'];
  const [cmd, argv] = pin ? ['taskset', ['-c', String(index % cpus().length), process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(cmd, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stderr.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) if (l.startsWith('{')) lines.push(JSON.parse(l));
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return { child, lines, exited };
}

const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<unknown>; close(): Promise<unknown> };
const dir = await ensureScene();
const m = await readManifest(dir);
const s3dir = await mkdtemp(join(tmpdir(), 'fw-bench-s3-'));
const port = await freePort();
const server = new S3rver({ port, address: '127.0.0.1', directory: s3dir, silent: true, configureBuckets: [{ name: BUCKET }] });
await server.run();
const env = { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
Object.assign(process.env, env);
resetS3Client();
const prefix = `fwbench-${process.pid}`;
const q = new Queues({ url: redisUrl, prefix });
try {
  console.log(`farmwatch distributed benchmark — ${cpus().length} cores, scene ${size}×${size} px (${((size * size) / 1e6).toFixed(0)} Mpx per date), s3rver on :${port}`);
  let t0 = performance.now();
  for (const f of await readdir(dir)) {
    if (f === 'run' || f === 'truth.geojson') continue;
    const p = join(dir, f);
    const st = await stat(p);
    if (!st.isFile()) continue;
    await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: `county/${f}`, Body: createReadStream(p), ContentLength: st.size }));
  }
  console.log(`uploaded the scene in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const local = countyRunInput('/county', m);
  const toS3 = (p: string) => `s3://${BUCKET}${p}`;
  const rows: Record<string, Record<string, number | string>> = {};
  const rates: Record<number, number> = {};
  const stageRows: Record<string, Record<string, number>> = {};
  for (const n of workerCounts) {
    const workers = Array.from({ length: n }, (_, i) => startWorkerProc(prefix, env, i));
    await Promise.all(workers.map((w) => new Promise<void>((res) => {
      const t = setInterval(() => {
        if (w.lines.some((l) => l.msg === 'worker ready')) {
          clearInterval(t);
          res();
        }
      }, 100);
    })));
    const spec = {
      runId: `bench-${n}w-${process.pid}`,
      detect: {
        before: { uri: toS3(local.before.uri) },
        after: { uri: toS3(local.after.uri) },
        layers: Object.fromEntries(Object.entries(local.layers).map(([k, v]) => [k, toS3(v as string)])),
        regionCode: local.regionCode,
        out: `s3://${BUCKET}/runs/${n}w`,
        classify: { model: defaultModelDir() },
        chips: { enabled: false, max: 0, marginPx: 0 },
        overview: { enabled: false, maxPx: 64 },
      },
    };
    t0 = performance.now();
    const sub = await q.submit(spec, { force: true });
    let rec = await q.store.get(sub.runId);
    while (!rec || !['complete', 'partial', 'failed'].includes(rec.state)) {
      await new Promise((r) => setTimeout(r, 500));
      rec = await q.store.get(sub.runId);
    }
    const wall = (performance.now() - t0) / 1000;
    if (rec.state !== 'complete') throw new Error(`bench run ${rec.runId} ended ${rec.state}: ${rec.error}`);
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    const stats = workers.map((w) => (w.lines.find((l) => l.msg === 'stopped')?.storage ?? {}) as Record<string, number>);
    const rangeBytes = stats.reduce((s, x) => s + (x.s3RangeBytesRead ?? 0), 0);
    const rangeReqs = stats.reduce((s, x) => s + (x.s3RangeRequests ?? 0), 0);
    const plan = await readJson<RunPlan>(`${spec.detect.out}.work/plan.json`);
    const sample = sampleWindows(plan.grid, plan.config.normalize.sampleTiles);
    const windows = [...sample, ...plan.tiles.map((t) => t.read)];
    // The after scene shares the before grid here, so its windows are the same pixels.
    const needed = (await blockBytes(join(dir, m.files.before), windows)) + (await blockBytes(join(dir, m.files.after), windows));
    // Stricter: only the blocks under the tiles' cores (each scene block once) plus the sample.
    const coreWindows = [...sample, ...plan.tiles.map((t) => t.core)];
    const neededCore = (await blockBytes(join(dir, m.files.before), coreWindows)) + (await blockBytes(join(dir, m.files.after), coreWindows));
    const tileSec = (rec.finishedAt! - rec.plannedAt!) / 1000;
    const cpuSec = workers.reduce((s, w) => s + Number(w.lines.find((l) => l.msg === 'stopped')?.cpuMs ?? 0), 0) / 1000;
    const tilesBy = workers.map((w) => w.lines.filter((l) => l.msg === 'tile done').length);
    const summary = await readJson<{ timings: { stages: Record<string, { ms: number }> } }>(`${spec.detect.out}/summary.json`);
    stageRows[`${n}w`] = Object.fromEntries(Object.entries(summary.timings.stages).map(([k, v]) => [k, Number((v.ms / 1000).toFixed(1))]));
    const mpx = (2 * size * size) / 1e6;
    rates[n] = mpx / wall;
    rows[`${n} worker${n > 1 ? 's' : ''}`] = {
      'wall s': Number(wall.toFixed(1)),
      'plan s': Number(((rec.plannedAt! - rec.startedAt!) / 1000).toFixed(1)),
      'tiles+finish s': Number(tileSec.toFixed(1)),
      'Mpx/s (2 dates, wall)': Number((mpx / wall).toFixed(2)),
      tiles: rec.tilesTotal,
      patches: rec.patches ?? 0,
      'S3 image MB read': Number((rangeBytes / 1e6).toFixed(1)),
      'block MB needed': Number((needed / 1e6).toFixed(1)),
      'read / needed': Number((rangeBytes / needed).toFixed(3)),
      'core block MB': Number((neededCore / 1e6).toFixed(1)),
      'read / core': Number((rangeBytes / neededCore).toFixed(3)),
      'range GETs': rangeReqs,
      'worker CPU s': Number(cpuSec.toFixed(0)),
      'cores busy': Number((cpuSec / wall).toFixed(2)),
      'tiles per worker': tilesBy.join('/'),
      'tiles run twice+': Object.values(rec.tries).filter((t) => t > 1).length,
    };
  }
  console.table(rows);
  console.log('stage seconds summed over tiles (summary.json):');
  console.table(stageRows);
  console.log(`machine load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other processes share the cores)`);
  if (rates[1] && rates[2]) console.log(`two workers / one worker: ${(rates[2] / rates[1]).toFixed(2)}× (each worker process: ${concurrency} tile job(s) in flight, 1 classifier thread${pin ? ', pinned to one core' : ''})`);
  const files = await Promise.all([m.files.before, m.files.after].map((f) => stat(join(dir, f))));
  console.log(`whole scenes: ${((files[0].size + files[1].size) / 1e6).toFixed(0)} MB. "needed": the blocks under every tile's read window (core + halo, overlaps counted per tile), what a ranged reader without a cache fetches; "core": the blocks under the tile cores only (each once) — the workers' block caches save part of the halo overlap`);
} finally {
  // The benchmark's own keys only (its prefix).
  const keys: string[] = [];
  for (let cursor = '0'; ; ) {
    const [next, batch] = await q.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    if ((cursor = next) === '0') break;
  }
  for (let i = 0; i < keys.length; i += 500) await q.redis.del(...keys.slice(i, i + 500));
  await q.close();
  await server.close();
  await rm(s3dir, { recursive: true, force: true });
}
