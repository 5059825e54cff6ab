/**
 * Rules of idle (闲置撂荒) and non-grain (非粮化) decisions, as config: zod with defaults and what
 * each number means. No national threshold exists (DOMAIN.md): the defaults are the published
 * starting points — a cultivated season greens up past NDVI ≈ 0.5 and swings by more than ≈ 0.2;
 * an idle parcel stays bare (NDVI ≈ 0.1–0.25, the soil line) or flat-weedy — to be calibrated per
 * region, never fitted to a sample.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const MonthDay = z.string().regex(/^\d{2}-\d{2}$/, 'a month-day MM-DD');

export const SeasonSchema = z.object({
  name: z.string().min(1).describe('Season name, e.g. "main" or "summer"'),
  start: MonthDay.describe('First day (MM-DD); a start after the end spans the new year'),
  end: MonthDay.describe('Last day (MM-DD)'),
});
export type Season = z.infer<typeof SeasonSchema>;

export const CalendarSchema = z.object({
  description: z.string().optional(),
  seasons: z.array(SeasonSchema).min(1).describe('Growing seasons to judge separately; uncultivated in any one of them counts as idle'),
});

export const IdleConfigSchema = z.object({
  minClearFraction: z
    .number()
    .min(0)
    .max(1)
    .default(0.6)
    .describe('Share of a parcel that must be clear (not cloud, shadow, no-data) for an observation to be usable: below it the clear part may be an unrepresentative edge'),
  minClearPixels: z.number().int().min(1).default(20).describe('Fewest clear pixels for a usable observation (a statistic of a handful of mixed edge pixels is noise)'),
  ndviStatistic: z.enum(['mean', 'p50', 'p90']).default('p50').describe('Which parcel NDVI statistic the rules read: the median resists field-edge and cloud-edge pixels'),
  calendars: z
    .record(z.string(), CalendarSchema)
    .default({
      '32': { description: 'Jiangsu: winter wheat/rapeseed heading Apr–May, rice or maize Jun–Oct', seasons: [{ name: 'main', start: '03-01', end: '11-30' }] },
      '*': { description: 'Default: one growing season, March–November (northern-hemisphere temperate)', seasons: [{ name: 'main', start: '03-01', end: '11-30' }] },
    })
    .describe('Crop calendars by region-code prefix (longest matching prefix wins; "*" is the fallback)'),
  minUsable: z.number().int().min(2).default(4).describe('Fewest usable observations in a season for any decision; fewer → insufficient data'),
  maxGapDays: z
    .number()
    .int()
    .min(1)
    .default(60)
    .describe('Longest gap in days between usable observations (and to the season bounds) for an idle verdict: the green phase of the crops of a season (wheat March–May, rice or maize July–September) lasts 8–10 weeks or more, so a shorter gap cannot hide a whole green-up'),
  greenUpNdvi: z.number().min(0).max(1).default(0.5).describe('Peak NDVI a cultivated season reaches (DOMAIN.md: idle peaks below about 0.4–0.5)'),
  minAmplitude: z.number().min(0).max(1).default(0.2).describe('Seasonal NDVI swing (peak − lowest) of sowing, green-up and harvest; flat weedy cover swings less'),
  harvestDrop: z.number().min(0).max(1).default(0.2).describe('NDVI fall after a green peak that is reported as a harvest (evidence, not required)'),
  nonGrain: z
    .object({
      minFraction: z.number().min(0).max(1).default(0.5).describe('Share of the clear parcel in one cover (woody, water, greenhouse + built) that marks a conversion'),
      minConsecutive: z.number().int().min(1).default(3).describe('Latest usable observations in a row that must all show it (a flooded paddy or a crop at peak is one or two dates, not three)'),
    })
    .prefault({})
    .describe('Non-grain use: woody (orchard, nursery, forest), water (pond) or facility (greenhouse, buildings)'),
  careYears: z.number().int().min(1).default(5).describe('管护期 after acceptance (YSRQ) during which a 补充耕地 parcel is watched'),
});
export type IdleConfig = z.infer<typeof IdleConfigSchema>;
export type IdleConfigInput = z.input<typeof IdleConfigSchema>;

export function parseIdleConfig(input: unknown = {}, where = 'idle config'): IdleConfig {
  const r = IdleConfigSchema.safeParse(input ?? {});
  if (!r.success)
    throw new ConfigError('CONFIG_INVALID', `${where}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { field: r.error.issues[0]?.path.join('.') });
  return r.data;
}

/** The calendar of a region code: longest matching prefix, else "*". */
export function calendarFor(cfg: IdleConfig, regionCode: string): z.infer<typeof CalendarSchema> {
  let best: string | null = null;
  for (const k of Object.keys(cfg.calendars)) if (k !== '*' && regionCode.startsWith(k) && (best === null || k.length > best.length)) best = k;
  const cal = cfg.calendars[best ?? '*'];
  if (!cal) throw new ConfigError('CONFIG_INVALID', `no crop calendar for region ${regionCode} and no "*" fallback`, { field: 'calendars' });
  return cal;
}
