/**
 * Real services for the distributed tests: an S3-compatible server (s3rver) in a temp folder on a
 * free port, worker processes started through the CLI, and private Redis servers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { resetS3Client } from '../../storage/index.js';
import type { RunRecord, RunStore } from '../../workers/state.js';
import { repoRoot } from '../helpers/paths.js';
import { countyRunInput, type CountyManifest } from '../../samples/index.js';

export const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface S3rverLike {
  run(): Promise<unknown>;
  close(): Promise<unknown>;
}

/** Starts s3rver with one bucket and points this process's AWS environment (and children's) at it. */
export async function startS3(bucket: string): Promise<{ endpoint: string; env: Record<string, string>; close: () => Promise<void> }> {
  const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverLike;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'fw-s3-'));
  const server = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
  await server.run();
  const env = {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  };
  Object.assign(process.env, env);
  resetS3Client();
  return { endpoint: env.AWS_ENDPOINT_URL, env, close: async () => void (await server.close()) };
}

export interface WorkerProc {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A `farmwatch worker` process (TypeScript through tsx), its JSON log lines collected. */
export function spawnWorker(opts: { redis: string; prefix: string; env?: Record<string, string>; args?: string[] }): WorkerProc {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), 'worker', '--redis', opts.redis, '--prefix', opts.prefix, '--lock-ms', '4000', '--stalled-ms', '2000', ...(opts.args ?? [])],
    { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      try {
        lines.push(JSON.parse(l));
      } catch {
        lines.push({ msg: l, raw: true });
      }
    }
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, lines, exited };
}

export async function waitFor<T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 240_000, everyMs = 250): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const waitReady = (w: WorkerProc) => waitFor('worker ready', () => w.lines.some((l) => l.msg === 'worker ready'), 60_000);

export const waitRunEnd = (store: RunStore, runId: string, timeoutMs = 300_000): Promise<RunRecord> =>
  waitFor(`run ${runId} to end`, async () => {
    const r = await store.get(runId);
    return r && ['complete', 'partial', 'failed'].includes(r.state) ? r : null;
  }, timeoutMs, 500);

export async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const t = setTimeout(() => w.child.kill('SIGKILL'), 20_000);
  await w.exited;
  clearTimeout(t);
}

/** A private Redis with an append-only file (state survives a restart, as in production). */
export async function startRedis(dir: string, port?: number): Promise<{ port: number; url: string; stop: () => void; start: () => void }> {
  const p = port ?? (await freePort());
  const start = () => {
    const r = spawnSync('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--daemonize', 'yes']);
    if (r.status !== 0) throw new Error(`redis-server failed: ${r.stderr}`);
  };
  const stop = () => void spawnSync('redis-cli', ['-p', String(p), 'shutdown', 'nosave']);
  start();
  return { port: p, url: `redis://127.0.0.1:${p}`, stop, start };
}

/** Deletes every key of a test's prefix (the shared Redis keeps nothing of a test). */
export async function dropPrefix(redis: import('ioredis').Redis, prefix: string): Promise<void> {
  const keys: string[] = [];
  for (let cursor = '0'; ; ) {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    if ((cursor = next) === '0') break;
  }
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}

/** The sample county's run input with every file as an s3:// URI under `s3://<bucket>/county/`. */
export function s3RunInput(m: CountyManifest, bucket: string) {
  const local = countyRunInput('/county', m);
  const toS3 = (p: string) => `s3://${bucket}${p}`;
  return {
    before: { uri: toS3(local.before.uri) },
    after: { uri: toS3(local.after.uri) },
    layers: Object.fromEntries(Object.entries(local.layers).map(([k, v]) => [k, toS3(v as string)])),
    regionCode: local.regionCode,
  };
}
