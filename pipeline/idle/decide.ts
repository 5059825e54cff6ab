/**
 * Season rules: from a parcel's observations to one decision per growing season. Positive evidence
 * decides on what was seen (a green-up with a seasonal swing is cultivation, a persistent woody,
 * water or facility cover is non-grain use); a negative verdict (idle) also needs the season to be
 * covered — enough usable observations and no gap long enough to hide a whole crop. Otherwise the
 * answer is "insufficient data", never a guess. Each decision lists the observations it rests on.
 */
import type { IdleConfig, Season } from './config.js';
import type { CoverGroup, ParcelObservation } from './observe.js';

export const VERDICTS = ['cultivated', 'idle', 'non_grain', 'insufficient_data'] as const;
export type Verdict = (typeof VERDICTS)[number];
export type NonGrainKind = 'woody' | 'water' | 'facility';

export interface SeasonWindow {
  name: string;
  /** yyyy-mm-dd, inclusive. */
  start: string;
  end: string;
}

export interface SeasonSignals {
  total: number;
  usable: number;
  peakNdvi: number | null;
  peakDate: string | null;
  lowNdvi: number | null;
  amplitude: number | null;
  /** First usable date at or above the green-up threshold. */
  greenUpDate: string | null;
  /** First date after the peak where NDVI fell by ≥ harvestDrop. */
  harvestDate: string | null;
  /** Longest gap in days between usable observations, season bounds included. */
  maxGapDays: number;
}

export interface ParcelDecision {
  parcel: string;
  season: SeasonWindow;
  verdict: Verdict;
  nonGrainKind: NonGrainKind | null;
  reason: string;
  signals: SeasonSignals;
  /** The usable observations the decision rests on (date and scene), in date order. */
  restsOn: { date: string; scene: string; ndvi: number | null }[];
}

const DAY = 86_400_000;
const days = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / DAY);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** The concrete windows of a season that meet some dates (a season spanning the new year starts the year before). */
export function seasonWindows(season: Season, dates: readonly string[]): SeasonWindow[] {
  const years = new Set(dates.map((d) => Number(d.slice(0, 4))));
  const wraps = season.end < season.start;
  const out = new Map<string, SeasonWindow>();
  for (const y of years)
    for (const y0 of wraps ? [y - 1, y] : [y]) {
      const w = { name: season.name, start: `${y0}-${season.start}`, end: `${wraps ? y0 + 1 : y0}-${season.end}` };
      if (dates.some((d) => d >= w.start && d <= w.end)) out.set(w.start, w);
    }
  return [...out.values()].sort((a, b) => a.start.localeCompare(b.start));
}

const ndviOf = (o: ParcelObservation, stat: IdleConfig['ndviStatistic']): number | null => (o.ndvi ? o.ndvi[stat] : null);

/** Cover share of a non-grain kind in one observation. */
function share(o: ParcelObservation, kind: NonGrainKind): number {
  const c = o.cover;
  if (!c) return 0;
  const g = (k: CoverGroup) => c[k] ?? 0;
  return kind === 'woody' ? g('woody') : kind === 'water' ? g('water') : g('greenhouse') + g('built');
}

/** Decides one season of one parcel from its observations (any order; other dates are ignored). */
export function decideSeason(parcel: string, season: SeasonWindow, observations: readonly ParcelObservation[], cfg: IdleConfig): ParcelDecision {
  const inSeason = observations.filter((o) => o.date >= season.start && o.date <= season.end).sort((a, b) => a.date.localeCompare(b.date));
  const used = inSeason.filter((o) => o.usable && ndviOf(o, cfg.ndviStatistic) !== null);
  const v = used.map((o) => ndviOf(o, cfg.ndviStatistic)!);
  const bounds = [season.start, ...used.map((o) => o.date), season.end];
  let maxGap = 0;
  for (let i = 1; i < bounds.length; i++) maxGap = Math.max(maxGap, days(bounds[i - 1], bounds[i]));
  let peak = -Infinity;
  let peakI = -1;
  v.forEach((x, i) => {
    if (x > peak) [peak, peakI] = [x, i];
  });
  const low = v.length ? Math.min(...v) : null;
  const greenI = v.findIndex((x) => x >= cfg.greenUpNdvi);
  let harvestI = -1;
  if (greenI >= 0) {
    let runMax = -Infinity;
    for (let i = greenI; i < v.length && harvestI < 0; i++) {
      runMax = Math.max(runMax, v[i]);
      if (runMax >= cfg.greenUpNdvi && runMax - v[i] >= cfg.harvestDrop) harvestI = i;
    }
  }
  const signals: SeasonSignals = {
    total: inSeason.length,
    usable: used.length,
    peakNdvi: peakI >= 0 ? r3(peak) : null,
    peakDate: peakI >= 0 ? used[peakI].date : null,
    lowNdvi: low === null ? null : r3(low),
    amplitude: low === null ? null : r3(peak - low),
    greenUpDate: greenI >= 0 ? used[greenI].date : null,
    harvestDate: harvestI >= 0 ? used[harvestI].date : null,
    maxGapDays: maxGap,
  };
  const restsOn = used.map((o) => ({ date: o.date, scene: o.scene, ndvi: ndviOf(o, cfg.ndviStatistic) }));
  const decision = (verdict: Verdict, reason: string, nonGrainKind: NonGrainKind | null = null): ParcelDecision => ({ parcel, season, verdict, nonGrainKind, reason, signals, restsOn });

  if (used.length < cfg.minUsable)
    return decision('insufficient_data', `${used.length} usable observations in ${season.name} ${season.start}…${season.end} (${inSeason.length} in all), fewer than ${cfg.minUsable}`);

  // Non-grain: the latest observations in a row all show the same converted cover.
  const k = cfg.nonGrain.minConsecutive;
  if (used.length >= k) {
    const last = used.slice(-k);
    for (const kind of ['woody', 'water', 'facility'] as const)
      if (last.every((o) => share(o, kind) >= cfg.nonGrain.minFraction))
        return decision('non_grain', `${kind} cover ≥ ${cfg.nonGrain.minFraction} on the last ${k} usable dates (${last.map((o) => o.date).join(', ')})`, kind);
  }

  const amp = signals.amplitude ?? 0;
  if (peak >= cfg.greenUpNdvi && amp >= cfg.minAmplitude)
    return decision(
      'cultivated',
      `green-up to NDVI ${r3(peak)} on ${signals.peakDate} (≥ ${cfg.greenUpNdvi}), seasonal swing ${r3(amp)} (≥ ${cfg.minAmplitude})${signals.harvestDate ? `, harvest drop by ${signals.harvestDate}` : ''}`,
    );
  if (maxGap > cfg.maxGapDays)
    return decision('insufficient_data', `no cultivation seen, but a ${maxGap}-day gap without usable observations (> ${cfg.maxGapDays}) could hide a crop`);
  const why = peak < cfg.greenUpNdvi ? `peak NDVI ${r3(peak)} < ${cfg.greenUpNdvi} (no green-up)` : `seasonal swing ${r3(amp)} < ${cfg.minAmplitude} (flat cover, no sowing or harvest)`;
  return decision('idle', `${why} over ${used.length} usable observations, longest gap ${maxGap} days`);
}

/** Decisions for every parcel and every season window its observations meet. */
export function decideParcels(observations: readonly ParcelObservation[], seasons: readonly Season[], cfg: IdleConfig): ParcelDecision[] {
  const byParcel = new Map<string, ParcelObservation[]>();
  for (const o of observations) {
    const list = byParcel.get(o.parcel) ?? [];
    list.push(o);
    byParcel.set(o.parcel, list);
  }
  const dates = [...new Set(observations.map((o) => o.date))];
  const out: ParcelDecision[] = [];
  for (const s of seasons)
    for (const w of seasonWindows(s, dates))
      for (const [parcel, obs] of byParcel) out.push(decideSeason(parcel, w, obs, cfg));
  return out;
}
