import { describe, expect, it } from 'vitest';
import { periodOf, periodRange, selectScenes, shiftPeriod } from './schedule.js';
import { resolveHref, type CatalogScene } from './stac.js';

const scene = (id: string, date: string, cloud: number | null = 0, bbox: [number, number, number, number] = [119, 31, 121, 33]): CatalogScene => ({
  id,
  uri: `s3://b/${id}.tif`,
  date,
  datetime: `${date}T03:00:00Z`,
  bbox,
  cloudCover: cloud,
  bands: {},
});
const region = [120, 32, 120.5, 32.5];
const cfg = { maxCloudCover: 20, lookbackPeriods: 4, minGapDays: 30 };

describe('quarters', () => {
  it('counts periods in China time and shifts across years', () => {
    expect(periodOf(new Date('2026-03-31T17:00:00Z'))).toBe('2026Q2'); // 1 April 01:00 in Beijing
    expect(periodOf(new Date('2026-03-31T15:00:00Z'))).toBe('2026Q1');
    expect(periodRange('2026Q4')).toEqual(['2026-10-01', '2027-01-01']);
    expect(shiftPeriod('2026Q1', -1)).toBe('2025Q4');
    expect(shiftPeriod('2025Q4', 1)).toBe('2026Q1');
  });
});

describe('selectScenes', () => {
  it('takes the newest clear scene of the period and the newest clear one at least minGapDays older', () => {
    const s = [scene('a', '2025-11-02'), scene('b', '2026-02-10'), scene('c', '2026-03-20'), scene('d', '2026-03-01', 60), scene('e', '2026-03-05')];
    const r = selectScenes(s, region, '2026Q1', cfg);
    expect('skipped' in r ? r : [r.before.id, r.after.id]).toEqual(['b', 'c']);
  });
  it('records why a period has no run', () => {
    const s = [scene('a', '2025-11-02'), scene('far', '2026-02-01', 0, [100, 20, 101, 21]), scene('cloudy', '2026-02-15', 70)];
    expect(selectScenes(s, region, '2026Q2', cfg)).toEqual({ skipped: 'no scene acquired in 2026Q2 (2026-04-01 to 2026-07-01) in the catalog (3 scenes in all)' });
    expect(selectScenes([s[1]], region, '2026Q1', cfg)).toEqual({ skipped: '1 scene(s) acquired in 2026Q1, none covers the region' });
    expect(selectScenes([s[2]], region, '2026Q1', cfg)).toEqual({ skipped: 'all 1 scene(s) of 2026Q1 covering the region exceed 20 % cloud cover (cloudy 70 %)' });
    expect(selectScenes([scene('x', '2026-02-15')], region, '2026Q1', cfg)).toMatchObject({ skipped: expect.stringMatching(/^no usable scene to compare x \(2026-02-15\) with/) });
  });
});

describe('resolveHref', () => {
  it('resolves relative asset links against the item', () => {
    expect(resolveHref('s3://b/stac/items/x.json', '../../county/a.tif')).toBe('s3://b/county/a.tif');
    expect(resolveHref('/data/stac/x.json', './a.tif')).toBe('/data/stac/a.tif');
    expect(resolveHref('s3://b/stac/x.json', 's3://other/a.tif')).toBe('s3://other/a.tif');
  });
});
