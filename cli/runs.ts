/**
 * Distributed runs from the command line: `worker`, `submit [--follow]`, `runs`, `schedule`.
 * Redis from --redis / FARMWATCH_REDIS_URL, queue prefix from --prefix / FARMWATCH_QUEUE_PREFIX.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseScheduleConfig, registerSchedules, tickNow } from '../catalog/schedule.js';
import { ConfigError } from '../pipeline/errors.js';
import { readText, storageStats } from '../storage/index.js';
import { RedisConfigSchema, WorkerConfigSchema } from '../workers/config.js';
import { jsonLogger } from '../workers/log.js';
import { followRun, progressLine } from '../workers/progress.js';
import { Queues } from '../workers/queues.js';
import { startWorker } from '../workers/worker.js';

const redisOf = (o: { redis?: string; prefix?: string }) => RedisConfigSchema.parse({ ...(o.redis ? { url: o.redis } : {}), ...(o.prefix ? { prefix: o.prefix } : {}) });

async function readJsonArg(uri: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(uri.startsWith('s3://') ? await readText(uri) : await readFile(uri, 'utf8'));
  } catch (e) {
    throw new ConfigError('CONFIG_INVALID', `${uri}: cannot read the ${what} (${(e as Error).message})`, { file: uri });
  }
}

export function registerRuns(program: Command): void {
  const withRedis = (c: Command) => c.option('--redis <url>', 'Redis URL (default FARMWATCH_REDIS_URL or redis://127.0.0.1:6379)').option('--prefix <p>', 'queue key prefix (default FARMWATCH_QUEUE_PREFIX or fw)');

  withRedis(program.command('worker'))
    .description('Process distributed runs: tile, plan, finish and scheduler jobs (JSON logs on stderr; SIGTERM finishes the active jobs and exits)')
    .option('--concurrency <n>', 'tile jobs in flight', '2')
    .option('--classify-threads <n>', 'classifier threads of this process', '1')
    .option('--lock-ms <ms>', 'tile job lock (a dead worker’s tile is taken over after about this long)')
    .option('--stalled-ms <ms>', 'stalled-job check interval')
    .option('--no-schedules', 'do not process scheduler ticks')
    .action(async (o) => {
      const cfg = WorkerConfigSchema.parse({
        concurrency: Number(o.concurrency),
        classifyThreads: Number(o.classifyThreads),
        ...(o.lockMs ? { lockMs: Number(o.lockMs) } : {}),
        ...(o.stalledMs ? { stalledCheckMs: Number(o.stalledMs) } : {}),
        schedules: o.schedules,
      });
      const log = jsonLogger({ worker: process.pid });
      const w = await startWorker(redisOf(o), cfg, { log });
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) process.exit(130); // a second signal: do not wait
        stopping = true;
        log.info('stopping: finishing active jobs', { signal: sig });
        void w.close().then(() => {
          log.info('stopped', { storage: storageStats, cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000) });
          process.exit(0);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });

  withRedis(program.command('submit'))
    .description('Submit a run to the workers: a run spec { detect: <detect config>, ledger?, runId?, tiles? } (file or s3 URI)')
    .requiredOption('--spec <uri>', 'run spec JSON')
    .option('--force', 'run again even if this run already completed (recomputes every tile)')
    .option('--follow', 'show progress until the run ends')
    .action(async (o) => {
      const q = new Queues(redisOf(o));
      try {
        const r = await q.submit(await readJsonArg(o.spec, 'run spec'), { force: o.force, source: o.spec });
        console.log(JSON.stringify({ status: r.status, runId: r.runId, ...('record' in r ? { state: r.record.state } : {}) }));
        if (o.follow) {
          const rec = await followRun(q.store, r.runId);
          if (rec.error) process.stderr.write(`${rec.error}\n`);
          process.exitCode = rec.state === 'complete' ? 0 : 3;
        }
      } finally {
        await q.close();
      }
    });

  withRedis(program.command('runs'))
    .description('List distributed runs: state, tiles done/total, failures, timings')
    .option('--json', 'JSON instead of a table')
    .option('--limit <n>', 'newest n runs', '50')
    .action(async (o) => {
      const q = new Queues(redisOf(o));
      try {
        const recs = (await Promise.all((await q.store.list(Number(o.limit))).map((id) => q.store.get(id)))).filter((r) => r !== null);
        if (o.json) console.log(JSON.stringify(recs, null, 2));
        else if (!recs.length) console.log('no runs');
        else {
          const s = (a: number | null, b: number | null) => (a && b ? `${((b - a) / 1000).toFixed(1)}` : '');
          console.table(
            recs.map((r) => ({
              run: r.runId,
              state: r.state,
              tiles: `${r.tilesDone}/${r.tilesTotal}`,
              failed: Object.keys(r.tilesFailed).length,
              patches: r.patches ?? '',
              submitted: r.submittedAt ? new Date(r.submittedAt).toISOString().slice(0, 19) : '',
              'plan s': s(r.startedAt, r.plannedAt),
              'total s': s(r.submittedAt, r.finishedAt),
              error: r.error ? r.error.slice(0, 80) : '',
            })),
          );
          for (const r of recs.filter((x) => x.state !== 'complete' && x.state !== 'partial' && x.state !== 'failed')) console.log(progressLine(r, Date.now()));
        }
        const periods = await q.store.periods();
        if (!o.json && Object.keys(periods).length) console.table(Object.entries(periods).map(([k, v]) => ({ period: k, status: v.status, run: v.runId ?? '', reason: v.reason ?? '' })));
      } finally {
        await q.close();
      }
    });

  withRedis(program.command('schedule'))
    .description('Register quarterly runs from a STAC catalog (one BullMQ job scheduler per region); --as-of ticks once now')
    .requiredOption('--config <uri>', 'schedule config JSON (catalog, cron, regions)')
    .option('--as-of <date>', 'tick every region now, as if on this date (runs the quarter before it)')
    .action(async (o) => {
      const cfg = parseScheduleConfig(await readJsonArg(o.config, 'schedule config'), o.config);
      const q = new Queues(redisOf(o));
      try {
        if (o.asOf) {
          const at = new Date(o.asOf);
          if (Number.isNaN(at.getTime())) throw new ConfigError('CONFIG_INVALID', `--as-of ${o.asOf}: not a date`, { field: 'as-of' });
          for (const r of cfg.regions) await tickNow(cfg, r.code, at, q);
          console.log(JSON.stringify({ ticked: cfg.regions.map((r) => r.code), asOf: at.toISOString() }));
        } else console.log(JSON.stringify({ schedulers: await registerSchedules(cfg, q), cron: cfg.cron, tz: cfg.tz }));
      } finally {
        await q.close();
      }
    });
}
