/**
 * Run records in Redis, beside the queues: state, tile counts, failures, timings. BullMQ holds
 * the jobs; these keys hold what operators ask about (`farmwatch runs`, `submit --follow`) and
 * what the finishing job checks before it calls a run complete.
 *
 * Keys (prefix p): p:runs (zset by submit time), p:run:<id> (hash), p:run:<id>:done (set of tile
 * ids with a stored result), p:run:<id>:failed (hash tile → reason), p:run:<id>:tries (hash tile →
 * processing starts), p:periods (hash region:period → scheduler outcome).
 */
import { Redis } from 'ioredis';
import type { RunSpec } from './config.js';

export type RunState = 'queued' | 'planning' | 'running' | 'finishing' | 'complete' | 'partial' | 'failed';
export const TERMINAL: ReadonlySet<RunState> = new Set(['complete', 'partial', 'failed']);

export interface RunRecord {
  runId: string;
  state: RunState;
  attempt: number;
  out: string;
  work: string;
  regionCode: string;
  tilesTotal: number;
  tilesDone: number;
  tilesFailed: Record<string, string>;
  /** Processing starts per tile (≥ 1 each; more after retries or a dead worker). */
  tries: Record<string, number>;
  submittedAt: number | null;
  startedAt: number | null;
  plannedAt: number | null;
  finishedAt: number | null;
  patches: number | null;
  error: string | null;
  ledger: string | null;
}

/** A Redis connection that waits through outages instead of failing commands (BullMQ's rule too). */
export function redisConnection(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  // ioredis reconnects by itself and queues commands meanwhile; workers log outages from BullMQ's
  // own 'error' events, so the connection's are not thrown as unhandled.
  r.on('error', () => undefined);
  return r;
}

export class RunStore {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  private key(runId: string, sub?: string) {
    return `${this.prefix}:run:${runId}${sub ? `:${sub}` : ''}`;
  }

  async spec(runId: string): Promise<RunSpec | null> {
    const s = await this.redis.hget(this.key(runId), 'spec');
    return s ? (JSON.parse(s) as RunSpec) : null;
  }

  /** A new run record (or a fresh attempt of an old one): counters cleared. */
  async create(spec: RunSpec, attempt: number, now: number): Promise<void> {
    await this.redis
      .multi()
      .del(this.key(spec.runId), this.key(spec.runId, 'done'), this.key(spec.runId, 'failed'), this.key(spec.runId, 'tries'))
      .hset(this.key(spec.runId), {
        state: 'queued',
        attempt: String(attempt),
        spec: JSON.stringify(spec),
        out: spec.detect.out,
        work: spec.work,
        regionCode: spec.detect.regionCode,
        submittedAt: String(now),
      })
      .zadd(`${this.prefix}:runs`, now, spec.runId)
      .exec();
  }

  async set(runId: string, fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.key(runId), Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])));
  }

  async tileStarted(runId: string, tile: string): Promise<number> {
    return this.redis.hincrby(this.key(runId, 'tries'), tile, 1);
  }
  async tileDone(runId: string, tile: string): Promise<void> {
    await this.redis.multi().sadd(this.key(runId, 'done'), tile).hdel(this.key(runId, 'failed'), tile).exec();
  }
  async tileFailed(runId: string, tile: string, reason: string): Promise<void> {
    await this.redis.hset(this.key(runId, 'failed'), tile, reason);
  }
  async doneTiles(runId: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.key(runId, 'done')));
  }
  async failedTiles(runId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key(runId, 'failed'));
  }

  async get(runId: string): Promise<RunRecord | null> {
    const [h, done, failed, tries] = await Promise.all([
      this.redis.hgetall(this.key(runId)),
      this.redis.scard(this.key(runId, 'done')),
      this.redis.hgetall(this.key(runId, 'failed')),
      this.redis.hgetall(this.key(runId, 'tries')),
    ]);
    if (!h.state) return null;
    const num = (k: string) => (h[k] ? Number(h[k]) : null);
    return {
      runId,
      state: h.state as RunState,
      attempt: Number(h.attempt ?? 1),
      out: h.out ?? '',
      work: h.work ?? '',
      regionCode: h.regionCode ?? '',
      tilesTotal: Number(h.tilesTotal ?? 0),
      tilesDone: done,
      tilesFailed: failed,
      tries: Object.fromEntries(Object.entries(tries).map(([k, v]) => [k, Number(v)])),
      submittedAt: num('submittedAt'),
      startedAt: num('startedAt'),
      plannedAt: num('plannedAt'),
      finishedAt: num('finishedAt'),
      patches: num('patches'),
      error: h.error ?? null,
      ledger: h.ledger ?? null,
    };
  }

  /** Run ids, newest first. */
  async list(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(`${this.prefix}:runs`, 0, limit - 1);
  }

  async recordPeriod(region: string, period: string, outcome: Record<string, unknown>): Promise<void> {
    await this.redis.hset(`${this.prefix}:periods`, `${region}:${period}`, JSON.stringify(outcome));
  }
  async periods(): Promise<Record<string, Record<string, unknown>>> {
    const h = await this.redis.hgetall(`${this.prefix}:periods`);
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as Record<string, unknown>]));
  }
}
