/**
 * The queues of distributed runs. A run is: a `plan` job (runs queue) that fits the plan once and
 * then adds a BullMQ flow — one `tile` job per tile (tiles queue) as children of one `finish` job
 * (runs queue) that BullMQ starts when every tile is done or has failed for good.
 *
 * Job ids carry the run id and its attempt, so adding the same flow twice (a planner that died
 * after adding it) adds nothing.
 */
import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { removePrefix } from '../storage/index.js';
import { parseRunSpec, type RedisConfig, type RunSpec } from './config.js';
import { redisConnection, RunStore, TERMINAL, type RunRecord } from './state.js';

export const RUNS_QUEUE = 'runs';
export const TILES_QUEUE = 'tiles';

export interface PlanJob {
  runId: string;
  attempt: number;
}
export interface TileJob {
  runId: string;
  attempt: number;
  tile: string;
  index: number;
}
/** A scheduler tick: the region config and, for manual ticks, the instant to act as of. */
export interface ScheduleJob {
  schedule: unknown;
  region: string;
  asOf?: string;
}

export const tileJobId = (runId: string, tile: string, attempt: number) => `${runId}.tile.${tile}.${attempt}`;
/** Tile id from a job id or BullMQ job key (`<prefix>:tiles:<jobId>`). */
export const tileOfJobKey = (key: string): string | null => /\.tile\.([^.]+)\.\d+$/.exec(key)?.[1] ?? null;

export type SubmitOutcome =
  | { status: 'submitted'; runId: string; attempt: number }
  | { status: 'already-complete' | 'in-progress'; runId: string; record: RunRecord };

/** Connections to the queues and run records of one prefix. Close when done. */
export class Queues {
  readonly redis: Redis;
  readonly store: RunStore;
  readonly runs: Queue;
  readonly flow: FlowProducer;
  private readonly connections: Redis[];

  constructor(readonly cfg: RedisConfig) {
    this.redis = redisConnection(cfg.url);
    this.store = new RunStore(this.redis, cfg.prefix);
    // BullMQ leaves connections it was given open on close(): they are closed here.
    this.connections = [redisConnection(cfg.url), redisConnection(cfg.url)];
    this.runs = new Queue(RUNS_QUEUE, { connection: this.connections[0], prefix: cfg.prefix });
    this.flow = new FlowProducer({ connection: this.connections[1], prefix: cfg.prefix });
    // Connection errors during a Redis outage: commands wait and go through after the reconnect.
    this.runs.on('error', () => undefined);
    this.flow.on('error', () => undefined);
  }

  /**
   * Submits a run. A run already complete is left alone (`already-complete`) unless `force`, which
   * also drops its stored tile results; a run still in flight is not started twice; a partial or
   * failed run starts a new attempt that reuses the tile results already stored.
   */
  async submit(input: unknown, opts: { force?: boolean; source?: string } = {}): Promise<SubmitOutcome> {
    const spec = parseRunSpec(input, opts.source);
    return this.submitSpec(spec, opts);
  }

  async submitSpec(spec: RunSpec, opts: { force?: boolean } = {}): Promise<SubmitOutcome> {
    const existing = await this.store.get(spec.runId);
    if (existing && !opts.force) {
      if (existing.state === 'complete') return { status: 'already-complete', runId: spec.runId, record: existing };
      if (!TERMINAL.has(existing.state)) return { status: 'in-progress', runId: spec.runId, record: existing };
    }
    if (opts.force) await removePrefix(spec.work);
    const attempt = (existing?.attempt ?? 0) + 1;
    await this.store.create(spec, attempt, Date.now());
    await this.runs.add('plan', { runId: spec.runId, attempt } satisfies PlanJob, {
      jobId: `${spec.runId}.plan.${attempt}`,
      attempts: 3,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
    return { status: 'submitted', runId: spec.runId, attempt };
  }

  /** Adds the tile jobs and their finishing parent of a planned run. */
  async addRunFlow(spec: RunSpec, attempt: number, tiles: readonly { id: string; index: number }[]): Promise<void> {
    await this.flow.add({
      name: 'finish',
      queueName: RUNS_QUEUE,
      data: { runId: spec.runId, attempt } satisfies PlanJob,
      opts: { jobId: `${spec.runId}.finish.${attempt}`, attempts: 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 1000 },
      children: tiles.map((t) => ({
        name: 'tile',
        queueName: TILES_QUEUE,
        data: { runId: spec.runId, attempt, tile: t.id, index: t.index } satisfies TileJob,
        opts: {
          jobId: tileJobId(spec.runId, t.id, attempt),
          attempts: spec.tiles.attempts,
          backoff: { type: 'exponential', delay: spec.tiles.backoffMs },
          // A tile that fails for good must not leave the run waiting forever: the finishing job
          // starts anyway and marks the run partial, naming the tile and the reason.
          ignoreDependencyOnFailure: true,
        },
      })),
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.runs.close(), this.flow.close()]);
    for (const c of [this.redis, ...this.connections]) c.disconnect();
  }
}
