/**
 * Config of distributed runs, validated at the door: what a submitted run is (RunSpec), how a
 * worker process behaves (WorkerConfig) and where Redis is.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseDetectConfig, type DetectConfig } from '../config/index.js';
import { ConfigError } from '../pipeline/errors.js';

export const RedisConfigSchema = z
  .object({
    url: z.string().default(process.env.FARMWATCH_REDIS_URL || 'redis://127.0.0.1:6379').describe('Redis URL (env FARMWATCH_REDIS_URL)'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .default(process.env.FARMWATCH_QUEUE_PREFIX || 'fw')
      .describe('Key prefix of the queues and run records (env FARMWATCH_QUEUE_PREFIX); one per deployment or test'),
  })
  .describe('Where the queues live');
export type RedisConfig = z.output<typeof RedisConfigSchema>;

export const LedgerTargetSchema = z
  .object({
    dir: z.string().optional().describe('Embedded ledger data directory (PGlite) on the machine that finishes the run'),
    url: z.string().optional().describe('PostgreSQL URL of the ledger'),
    schema: z.string().optional().describe('Database schema of the ledger'),
  })
  .refine((l) => Boolean(l.dir) !== Boolean(l.url), 'give exactly one of dir or url')
  .describe('Ledger the finished run is ingested into');

export const RunSpecSchema = z
  .object({
    detect: z.record(z.string(), z.unknown()).describe('The detection config (config/index.ts); before/after/layers/out may be s3:// URIs'),
    runId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,120}$/, 'letters, digits, _ . - only')
      .optional()
      .describe('Run id; default region code + after date + a hash of the config, so the same run submitted twice is one run'),
    work: z.string().optional().describe('URI prefix for plan and tile results; default `<out>.work`'),
    ledger: LedgerTargetSchema.optional(),
    tiles: z
      .object({
        attempts: z.number().int().min(1).max(20).default(3).describe('Tries per tile before it fails for good'),
        backoffMs: z.number().int().min(0).default(2000).describe('First retry delay; doubles per retry'),
      })
      .default({ attempts: 3, backoffMs: 2000 }),
  })
  .describe('A run submitted to the queues');
export type RunSpecInput = z.input<typeof RunSpecSchema>;

export interface RunSpec {
  readonly runId: string;
  readonly detect: DetectConfig;
  readonly work: string;
  readonly ledger?: z.output<typeof LedgerTargetSchema>;
  readonly tiles: { attempts: number; backoffMs: number };
}

/** JSON with sorted keys: equal configs hash equally. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** Validates a submitted run and fixes its id and work prefix. @throws ConfigError naming the field */
export function parseRunSpec(input: unknown, source = 'run spec'): RunSpec {
  const r = RunSpecSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError('CONFIG_INVALID', `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`, { field: i.path.join('.') });
  }
  const detect = parseDetectConfig(r.data.detect as never, `${source} detect`);
  if (detect.landcover)
    throw new ConfigError('CONFIG_INVALID', `${source}: detect.landcover: land-cover maps are written by in-process runs only (farmwatch detect --landcover)`, { field: 'detect.landcover' });
  const hash = createHash('sha256').update(canonical(detect)).digest('hex').slice(0, 12);
  const runId = r.data.runId ?? `${detect.regionCode}-${hash}`;
  return { runId, detect, work: r.data.work ?? `${detect.out.replace(/\/+$/, '')}.work`, ...(r.data.ledger ? { ledger: r.data.ledger } : {}), tiles: r.data.tiles };
}

export const WorkerConfigSchema = z
  .object({
    concurrency: z.number().int().min(1).max(64).default(2).describe('Tile jobs in flight per worker process (I/O of one overlaps compute of another)'),
    classifyThreads: z.number().int().min(1).max(64).default(1).describe('Classifier worker threads per process; processes × threads should not exceed the cores'),
    lockMs: z.number().int().min(1000).default(30_000).describe('Tile job lock; a killed worker’s tile is taken over after about this long'),
    stalledCheckMs: z.number().int().min(500).default(15_000).describe('How often stalled tile jobs are looked for'),
    finishLockMs: z.number().int().min(1000).default(120_000).describe('Lock of plan/finish jobs (they merge and write the whole run)'),
    cacheDir: z.string().optional().describe('Local copies of vector layers read from object storage; default a temp folder'),
    schedules: z.boolean().default(true).describe('Also process scheduler jobs'),
  })
  .describe('A worker process');
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
