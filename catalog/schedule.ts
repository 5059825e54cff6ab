/**
 * The quarterly scheduler: a BullMQ job scheduler (cron from config, quarterly by default) ticks
 * once per region; a tick picks the newest usable scene of the period that just ended and the
 * newest earlier one from the STAC catalog and submits the run, or records the period as skipped
 * with its reason. Periods are quarters, counted in China time (UTC+8).
 */
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import { LedgerTargetSchema } from '../workers/config.js';
import type { JsonLogger } from '../workers/log.js';
import type { Queues, ScheduleJob } from '../workers/queues.js';
import { loadCatalog, type CatalogScene } from './stac.js';

export const RegionScheduleSchema = z.object({
  code: z.string().regex(/^\d{6,12}$/).describe('Administrative code (JCBH prefix)'),
  name: z.string().optional(),
  bbox: z.array(z.number()).length(4).describe('Region extent, minLon, minLat, maxLon, maxLat: a scene must cover it'),
  out: z.string().min(1).describe('URI prefix; each period writes <out>/<period>'),
  detect: z.record(z.string(), z.unknown()).default({}).describe('Detection config for the region without before/after/out (layers, rules, tiling, classify)'),
  ledger: LedgerTargetSchema.optional(),
});

export const ScheduleConfigSchema = z
  .object({
    catalog: z.string().min(1).describe('STAC catalog URI (file or s3)'),
    cron: z.string().default('0 3 1 1,4,7,10 *').describe('When to tick (default 03:00 on the first day of each quarter)'),
    tz: z.string().default('Asia/Shanghai'),
    maxCloudCover: z.number().min(0).max(100).default(20).describe('Scenes above this eo:cloud_cover (%) are not usable'),
    lookbackPeriods: z.number().int().min(1).max(8).default(4).describe('How many earlier quarters may supply the before scene'),
    minGapDays: z.number().int().min(1).default(30).describe('The before scene is at least this many days older than the after scene (it may lie in the same quarter)'),
    regions: z.array(RegionScheduleSchema).min(1),
  })
  .describe('Scheduled quarterly runs');
export type ScheduleConfig = z.output<typeof ScheduleConfigSchema>;

export function parseScheduleConfig(input: unknown, source = 'schedule config'): ScheduleConfig {
  const r = ScheduleConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError('CONFIG_INVALID', `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`, { field: i.path.join('.') });
  }
  return r.data;
}

/** Quarter `YYYYQn` of an instant, in China time. */
export function periodOf(at: Date): string {
  const d = new Date(at.getTime() + 8 * 3600_000);
  return `${d.getUTCFullYear()}Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}
/** First day of the period and of the next one (YYYY-MM-DD). */
export function periodRange(period: string): [string, string] {
  const m = /^(\d{4})Q([1-4])$/.exec(period);
  if (!m) throw new ConfigError('CONFIG_INVALID', `period ${period}: expected YYYYQn`, { field: 'period' });
  const y = Number(m[1]);
  const q = Number(m[2]);
  const iso = (yy: number, mm: number) => `${yy}-${String(mm).padStart(2, '0')}-01`;
  return [iso(y, 3 * q - 2), q === 4 ? iso(y + 1, 1) : iso(y, 3 * q + 1)];
}
export function shiftPeriod(period: string, by: number): string {
  const m = /^(\d{4})Q([1-4])$/.exec(period)!;
  const n = Number(m[1]) * 4 + Number(m[2]) - 1 + by;
  return `${Math.floor(n / 4)}Q${(n % 4) + 1}`;
}

export type Selection = { before: CatalogScene; after: CatalogScene } | { skipped: string };

/**
 * The newest usable scene of `period` (covers the region, cloud cover within the limit) and the
 * newest usable one at least `minGapDays` older (within the lookback), the previous acquisition
 * the change is measured against.
 */
export function selectScenes(scenes: readonly CatalogScene[], bbox: readonly number[], period: string, cfg: Pick<ScheduleConfig, 'maxCloudCover' | 'lookbackPeriods' | 'minGapDays'>): Selection {
  const [start, end] = periodRange(period);
  const [lookStart] = periodRange(shiftPeriod(period, -cfg.lookbackPeriods));
  const covers = (s: CatalogScene) => s.bbox[0] <= bbox[0] && s.bbox[1] <= bbox[1] && s.bbox[2] >= bbox[2] && s.bbox[3] >= bbox[3];
  const inPeriod = scenes.filter((s) => s.date >= start && s.date < end);
  const covering = inPeriod.filter(covers);
  const clear = covering.filter((s) => (s.cloudCover ?? 0) <= cfg.maxCloudCover);
  const newest = (xs: CatalogScene[]) => [...xs].sort((a, b) => b.datetime.localeCompare(a.datetime))[0];
  if (!clear.length) {
    if (!inPeriod.length) return { skipped: `no scene acquired in ${period} (${start} to ${end}) in the catalog (${scenes.length} scenes in all)` };
    if (!covering.length) return { skipped: `${inPeriod.length} scene(s) acquired in ${period}, none covers the region` };
    return { skipped: `all ${covering.length} scene(s) of ${period} covering the region exceed ${cfg.maxCloudCover} % cloud cover (${covering.map((s) => `${s.id} ${s.cloudCover} %`).join(', ')})` };
  }
  const after = newest(clear);
  const latest = new Date(Date.parse(`${after.date}T00:00:00Z`) - cfg.minGapDays * 86_400_000).toISOString().slice(0, 10);
  const usable = (s: CatalogScene) => covers(s) && (s.cloudCover ?? 0) <= cfg.maxCloudCover;
  const earlier = scenes.filter((s) => s.date >= lookStart && s.date <= latest && usable(s));
  if (!earlier.length) return { skipped: `no usable scene to compare ${after.id} (${after.date}) with: none from ${lookStart} to ${latest} covers the region within ${cfg.maxCloudCover} % cloud cover` };
  return { before: newest(earlier), after };
}

/**
 * One tick for one region: the period is the quarter before `asOf` (a tick on 1 April runs Q1).
 * Submits the run (id `<code>-<period>`, so a repeated tick does not run it twice) or records the
 * skipped period with its reason.
 */
export async function runSchedule(data: ScheduleJob, asOf: Date, queues: Queues, log: JsonLogger): Promise<Record<string, unknown>> {
  const cfg = parseScheduleConfig(data.schedule);
  const region = cfg.regions.find((r) => r.code === data.region);
  if (!region) throw new ConfigError('CONFIG_INVALID', `schedule: no region ${data.region}`, { field: 'regions' });
  const period = shiftPeriod(periodOf(asOf), -1);
  const scenes = await loadCatalog(cfg.catalog);
  const sel = selectScenes(scenes, region.bbox, period, cfg);
  const at = new Date().toISOString();
  if ('skipped' in sel) {
    const outcome = { status: 'skipped', period, region: region.code, reason: sel.skipped, at };
    await queues.store.recordPeriod(region.code, period, outcome);
    log.warn('period skipped', outcome);
    return outcome;
  }
  const scene = (s: CatalogScene) => ({ uri: s.uri, date: s.date, ...(Object.keys(s.bands).length ? { bands: s.bands } : {}) });
  const spec = {
    runId: `${region.code}-${period}`,
    detect: { ...region.detect, before: scene(sel.before), after: scene(sel.after), out: `${region.out.replace(/\/+$/, '')}/${period}`, regionCode: region.code },
    ...(region.ledger ? { ledger: region.ledger } : {}),
  };
  const r = await queues.submit(spec, { source: `schedule ${region.code} ${period}` });
  const outcome = { status: r.status, period, region: region.code, runId: r.runId, before: sel.before.id, after: sel.after.id, at };
  await queues.store.recordPeriod(region.code, period, outcome);
  log.info('period run submitted', outcome);
  return outcome;
}

/** Registers (or updates) one job scheduler per region; returns their ids. */
export async function registerSchedules(cfg: ScheduleConfig, queues: Queues): Promise<string[]> {
  const ids: string[] = [];
  for (const region of cfg.regions) {
    const id = `schedule.${region.code}`;
    await queues.runs.upsertJobScheduler(id, { pattern: cfg.cron, tz: cfg.tz }, { name: 'schedule', data: { schedule: cfg, region: region.code } satisfies ScheduleJob });
    ids.push(id);
  }
  return ids;
}

/** A tick now, acting as of `asOf` (catch up a missed quarter, or test the schedule). */
export async function tickNow(cfg: ScheduleConfig, region: string, asOf: Date, queues: Queues): Promise<void> {
  await queues.runs.add('schedule', { schedule: cfg, region, asOf: asOf.toISOString() } satisfies ScheduleJob, { removeOnComplete: 100, removeOnFail: 100 });
}
