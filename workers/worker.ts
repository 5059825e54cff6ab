/**
 * A worker process: takes tile jobs (read, classify, compare, label one tile) and run jobs (plan,
 * finish, scheduler ticks) from the queues and calls the same stage functions as the in-process
 * runner (pipeline/run.ts).
 *
 * The event loop stays free for BullMQ's lock renewal: classification, the heavy step, runs in
 * the classifier's worker threads; the rest of a tile (burning layers, rules, labelling) is tens
 * of milliseconds per tile on the main thread. Plan and finish jobs do more on the main thread,
 * so their queue has a longer lock (finishLockMs).
 *
 * Tile results are stored under the run's work prefix, one object per tile, written before the
 * job completes: a retried or taken-over tile overwrites its own result with the same bytes, so
 * every tile is in the results exactly once however often it ran.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { openLedger } from '../ledger/index.js';
import { isAppError } from '../pipeline/errors.js';
import { finishRun, openRunResources, planRun, processTile, type RunPlan, type RunResources, type TileResult } from '../pipeline/run.js';
import type { StageContext } from '../pipeline/types.js';
import { fromJsonPayload, toJsonPayload } from '../pipeline/vectorize/index.js';
import { exists, isS3, joinUri, localize, readJson, uploadDir, writeBytes, writeJson } from '../storage/index.js';
import type { RedisConfig, RunSpec, WorkerConfig } from './config.js';
import { jsonLogger, type JsonLogger } from './log.js';
import { Queues, RUNS_QUEUE, TILES_QUEUE, tileOfJobKey, type PlanJob, type ScheduleJob, type TileJob } from './queues.js';
import { redisConnection } from './state.js';

export interface RunningWorker {
  /** Stops taking jobs, waits for the active ones, closes everything. */
  close(): Promise<void>;
}

const tilesUri = (spec: RunSpec, tile: string) => joinUri(spec.work, 'tiles', `${tile}.json`);

/** Handles of runs this process is working on, shared by its jobs (opened once per run). */
class ResourceCache {
  private readonly entries = new Map<string, { res: Promise<RunResources>; users: number; used: number }>();
  constructor(private readonly open: (spec: RunSpec, noClassifier: boolean) => Promise<RunResources>) {}

  async use<T>(spec: RunSpec, noClassifier: boolean, f: (res: RunResources) => Promise<T>): Promise<T> {
    const key = `${spec.runId}${noClassifier ? ':finish' : ''}`;
    let e = this.entries.get(key);
    if (!e) {
      e = { res: this.open(spec, noClassifier), users: 0, used: 0 };
      e.res.catch(() => this.entries.delete(key));
      this.entries.set(key, e);
    }
    e.users++;
    e.used = Date.now();
    try {
      return await f(await e.res);
    } finally {
      e.users--;
      await this.evict(2);
    }
  }
  /** Closes idle entries beyond the newest `keep`. */
  async evict(keep: number): Promise<void> {
    const idle = [...this.entries.entries()].sort((a, b) => b[1].used - a[1].used).slice(keep).filter(([, e]) => e.users === 0);
    for (const [k, e] of idle) {
      this.entries.delete(k);
      await (await e.res.catch(() => null))?.close();
    }
  }
  async drop(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e || e.users > 0) return;
    this.entries.delete(key);
    await (await e.res.catch(() => null))?.close();
  }
}

/** Starts the workers of one process on the queues of `redis.prefix`. */
export async function startWorker(redis: RedisConfig, cfg: WorkerConfig, opts: { log?: JsonLogger } = {}): Promise<RunningWorker> {
  const log = opts.log ?? jsonLogger({ worker: process.pid });
  const queues = new Queues(redis);
  const store = queues.store;
  const cacheDir = cfg.cacheDir ?? (await mkdtemp(join(tmpdir(), 'fw-worker-cache-')));
  const ctxFor = (fields: Record<string, unknown>): StageContext => ({ log: log.child(fields), now: Date.now });

  const resources = new ResourceCache((spec, noClassifier) =>
    openRunResources(spec.detect, ctxFor({ run: spec.runId }), {
      workers: cfg.classifyThreads,
      // A worker process's budget is its classifier threads, one core each: without this, ONNX would
      // start a thread per core inside each of them, and processes on one machine would fight over cores.
      threadsPerWorker: spec.detect.classify.threadsPerWorker ?? 1,
      noClassifier,
      resolveFile: (uri) => localize(uri, cacheDir),
    }),
  );
  const plans = new Map<string, Promise<RunPlan>>();
  const planOf = (spec: RunSpec): Promise<RunPlan> => {
    let p = plans.get(spec.runId);
    if (!p) {
      p = readJson<RunPlan>(joinUri(spec.work, 'plan.json'));
      p.catch(() => plans.delete(spec.runId));
      plans.set(spec.runId, p);
      if (plans.size > 4) plans.delete(plans.keys().next().value as string);
    }
    return p;
  };
  /** The run's spec if `attempt` is still its current attempt (a forced resubmit supersedes old jobs). */
  const current = async (runId: string, attempt: number): Promise<RunSpec | null> => {
    const rec = await store.get(runId);
    if (!rec || rec.attempt !== attempt) return null;
    return store.spec(runId);
  };
  /** Bad input cannot get better by retrying: fail such jobs at once. */
  const rethrow = (e: unknown): never => {
    if (isAppError(e) && !e.retryable) throw new UnrecoverableError(`[${e.code}] ${e.message}`);
    throw e;
  };

  const onTile = async (job: Job<TileJob>) => {
    const { runId, attempt, tile, index } = job.data;
    const spec = await current(runId, attempt);
    if (!spec) return { skipped: 'superseded' };
    const tries = await store.tileStarted(runId, tile);
    const t0 = Date.now();
    log.info('tile started', { run: runId, tile, try: tries });
    const uri = tilesUri(spec, tile);
    try {
      // Stored by an earlier try that died before acknowledging: the same bytes, keep them.
      if (!(await exists(uri))) {
        const plan = await planOf(spec);
        const result = await resources.use(spec, false, (res) => processTile(plan, res, plan.tiles[index], ctxFor({ run: runId, tile })));
        await writeBytes(uri, JSON.stringify(toJsonPayload(result)), 'application/json');
      }
    } catch (e) {
      rethrow(e);
    }
    await store.tileDone(runId, tile);
    log.info('tile done', { run: runId, tile, try: tries, ms: Date.now() - t0 });
    return { tile, ms: Date.now() - t0 };
  };

  const onPlan = async (job: Job<PlanJob>) => {
    const { runId, attempt } = job.data;
    const spec = await current(runId, attempt);
    if (!spec) return { skipped: 'superseded' };
    const startedAt = Date.now();
    await store.set(runId, { state: 'planning', startedAt });
    log.info('planning', { run: runId, attempt });
    try {
      const planUri = joinUri(spec.work, 'plan.json');
      // A plan stored by an earlier attempt is reused: tiles already stored were computed with it.
      let plan: RunPlan;
      if (await exists(planUri)) plan = await readJson<RunPlan>(planUri);
      else {
        plan = await resources.use(spec, false, (res) => planRun(spec.detect, res, ctxFor({ run: runId }), startedAt));
        await writeJson(planUri, plan);
      }
      plans.set(runId, Promise.resolve(plan));
      await store.set(runId, { tilesTotal: plan.tiles.length, plannedAt: Date.now(), state: 'running' });
      await queues.addRunFlow(spec, attempt, plan.tiles);
      log.info('planned', { run: runId, tiles: plan.tiles.length });
      return { tiles: plan.tiles.length };
    } catch (e) {
      return rethrow(e);
    }
  };

  const onFinish = async (job: Job<PlanJob>) => {
    const { runId, attempt } = job.data;
    const spec = await current(runId, attempt);
    if (!spec) return { skipped: 'superseded' };
    await store.set(runId, { state: 'finishing' });
    const plan = await planOf(spec);
    const done = await store.doneTiles(runId);
    const missing = plan.tiles.filter((t) => !done.has(t.id));
    if (missing.length) {
      // Reasons: BullMQ's record of the ignored child failures, else what our failed handler saw.
      const reasons: Record<string, string> = { ...(await store.failedTiles(runId)) };
      for (const [key, reason] of Object.entries(await job.getIgnoredChildrenFailures())) {
        const tile = tileOfJobKey(key);
        if (tile) reasons[tile] = reason;
      }
      const error = `${missing.length} of ${plan.tiles.length} tiles failed: ${missing
        .slice(0, 20)
        .map((t) => `${t.id}: ${reasons[t.id] ?? 'no result'}`)
        .join('; ')}`;
      for (const t of missing) await store.tileFailed(runId, t.id, reasons[t.id] ?? 'no result');
      await store.set(runId, { state: 'partial', finishedAt: Date.now(), error });
      log.warn('run partial', { run: runId, missing: missing.map((t) => t.id), error });
      return { state: 'partial', missing: missing.map((t) => t.id) };
    }
    const ctx = ctxFor({ run: runId });
    try {
      const results: TileResult[] = [];
      for (let i = 0; i < plan.tiles.length; i += 16)
        results.push(...(await Promise.all(plan.tiles.slice(i, i + 16).map(async (t) => fromJsonPayload(await readJson(tilesUri(spec, t.id))) as TileResult))));
      const out = spec.detect.out;
      const local = isS3(out) ? await mkdtemp(join(tmpdir(), 'fw-finish-')) : null;
      let result;
      try {
        result = await resources.use(spec, true, (res) => finishRun(plan, res, results, ctx, { outDir: local ? join(local, 'run') : out }));
        // summary.json last: its presence marks a complete run folder on the object store.
        if (local) await uploadDir(join(local, 'run'), out, { last: 'summary.json' });
      } finally {
        if (local) await rm(local, { recursive: true, force: true });
        await resources.drop(`${runId}:finish`);
      }
      let ledgerStatus = '';
      if (spec.ledger) {
        const ledger = await openLedger(spec.ledger);
        try {
          // Idempotent by run key: a finish retried after the ingest committed changes nothing.
          const report = await ledger.ingestResult(result);
          ledgerStatus = `${report.status}: ${report.created} new, ${report.continued} continued`;
        } finally {
          await ledger.close();
        }
      }
      await store.set(runId, { state: 'complete', finishedAt: Date.now(), patches: result.patches.length, ...(ledgerStatus ? { ledger: ledgerStatus } : {}) });
      log.info('run complete', { run: runId, patches: result.patches.length, ledger: ledgerStatus || null });
      return { state: 'complete', patches: result.patches.length };
    } catch (e) {
      return rethrow(e);
    }
  };

  const onSchedule = async (job: Job<ScheduleJob>) => {
    const { runSchedule } = await import('../catalog/schedule.js');
    return runSchedule(job.data, new Date(job.data.asOf ?? job.timestamp), queues, log);
  };

  const connection = redisConnection(redis.url);
  const tiles = new Worker<TileJob>(TILES_QUEUE, onTile, {
    connection,
    prefix: redis.prefix,
    concurrency: cfg.concurrency,
    lockDuration: cfg.lockMs,
    stalledInterval: cfg.stalledCheckMs,
    // A tile whose worker died twice is taken over again; one that kills workers every time fails.
    maxStalledCount: 2,
  });
  const runsConnection = redisConnection(redis.url);
  const runs = new Worker<PlanJob | ScheduleJob>(
    RUNS_QUEUE,
    async (job) => {
      if (job.name === 'plan') return onPlan(job as Job<PlanJob>);
      if (job.name === 'finish') return onFinish(job as Job<PlanJob>);
      if (job.name === 'schedule') {
        if (!cfg.schedules) throw new Error('this worker does not process scheduler jobs');
        return onSchedule(job as Job<ScheduleJob>);
      }
      throw new UnrecoverableError(`unknown job ${job.name}`);
    },
    { connection: runsConnection, prefix: redis.prefix, concurrency: 1, lockDuration: cfg.finishLockMs, stalledInterval: cfg.stalledCheckMs, maxStalledCount: 2 },
  );

  tiles.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    log[final ? 'warn' : 'info'](final ? 'tile failed for good' : 'tile failed, will retry', { run: job.data.runId, tile: job.data.tile, attempt: job.attemptsMade, error: err.message });
    if (final) void store.tileFailed(job.data.runId, job.data.tile, err.message).catch(() => undefined);
  });
  runs.on('failed', (job, err) => {
    if (!job || job.name === 'schedule') return log.warn('scheduler job failed', { error: err.message });
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    log.warn(`${job.name} failed${final ? ' for good' : ', will retry'}`, { run: (job.data as PlanJob).runId, error: err.message });
    if (final) void store.set((job.data as PlanJob).runId, { state: 'failed', finishedAt: Date.now(), error: `${job.name}: ${err.message}` }).catch(() => undefined);
  });
  for (const w of [tiles, runs]) w.on('error', (err) => log.warn('queue connection problem', { queue: w.name, error: err.message }));
  await Promise.all([tiles.waitUntilReady(), runs.waitUntilReady()]);
  log.info('worker ready', { prefix: redis.prefix, concurrency: cfg.concurrency, classifyThreads: cfg.classifyThreads });

  return {
    async close() {
      await Promise.all([tiles.close(), runs.close()]);
      await resources.evict(0);
      await queues.close();
      connection.disconnect();
      runsConnection.disconnect();
    },
  };
}
