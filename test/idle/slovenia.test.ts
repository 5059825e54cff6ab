/**
 * Issue 7 on real data: the 68-date Sentinel-2 NDVI series of the eo-learn Slovenia patch. Parcel
 * statistics (valid pixels only) and the season decisions are computed for the cultivated area
 * (LULC 1) and for grassland (LULC 3), and their curves are drawn to out/idle-slovenia/.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeScene, openScene, readRawWindow } from '../../pipeline/imagery/index.js';
import { calendarFor, parseIdleConfig } from '../../pipeline/idle/config.js';
import { decideParcels } from '../../pipeline/idle/decide.js';
import { ObservationAccumulator, type ParcelObservation } from '../../pipeline/idle/observe.js';
import { seriesPng } from '../../pipeline/idle/plot.js';
import { packageRoot } from '../../cli/paths.js';

const DATA = '/work/shared/data/eolearn-slovenia-s2-lulc';
const OUT = join(packageRoot(), 'out', 'idle-slovenia');

/** Stored values, unscaled (labels and masks are codes; the NDVI is stored as NDVI). */
async function readAll(file: string): Promise<Float32Array[]> {
  const s = await openScene(file);
  try {
    const { width, height } = s.info.grid;
    const names = s.info.bands.map((_, i) => `b${i + 1}`);
    return (await readRawWindow(s, { col: 0, row: 0, width, height }, names)).data.map((a) => Float32Array.from(a));
  } finally {
    await closeScene(s);
  }
}

describe.skipIf(!existsSync(join(DATA, 'ndvi_timeseries_68dates.tif')))('idle rules on the Slovenia NDVI series', () => {
  it('computes parcel statistics and the cultivation signal of a cultivated and a grassland area, and plots them', async () => {
    const cfg = parseIdleConfig({});
    const dates = (JSON.parse(await readFile(join(DATA, 'ndvi_timestamps.json'), 'utf8')) as string[]).map((t) => t.slice(0, 10));
    const ndvi = await readAll(join(DATA, 'ndvi_timeseries_68dates.tif'));
    const valid = await readAll(join(DATA, 'is_valid_timeseries_68dates.tif'));
    const [lulc] = await readAll(join(DATA, 'lulc_labels.tif'));
    expect(ndvi.length).toBe(68);
    expect(dates.length).toBe(68);
    // Areas: LULC 1 (cultivated) → parcel 1, LULC 3 (grassland) → parcel 2.
    const parcelIndex = Int32Array.from(lulc, (c) => (c === 1 ? 1 : c === 3 ? 2 : 0));
    const names = ['cultivated (LULC 1)', 'grassland (LULC 3)'];
    const obs: ParcelObservation[] = [];
    for (let k = 0; k < 68; k++) {
      // 11 cultivated pixels only: accept small areas here.
      const acc = new ObservationAccumulator(names, { minClearFraction: cfg.minClearFraction, minClearPixels: 5 });
      acc.add({ parcelIndex, ndvi: ndvi[k], clear: Uint8Array.from(valid[k], (v) => (v > 0 ? 1 : 0)) });
      obs.push(...acc.finish(dates[k], `t${String(k).padStart(2, '0')}`));
    }
    expect(obs.length).toBe(136);
    const cult = obs.filter((o) => o.parcel === names[0]);
    const grass = obs.filter((o) => o.parcel === names[1]);
    expect(cult.every((o) => o.pixels === 11)).toBe(true);
    expect(grass.every((o) => o.pixels === 1777)).toBe(true);
    for (const o of obs) if (o.ndvi) expect(o.ndvi.p10 <= o.ndvi.p50 && o.ndvi.p50 <= o.ndvi.p90).toBe(true);
    const decisions = decideParcels(obs, calendarFor(cfg, 'SI').seasons, cfg);
    expect(decisions.map((d) => d.season.start).sort()).toEqual(['2015-03-01', '2015-03-01', '2016-03-01', '2016-03-01', '2017-03-01', '2017-03-01']);
    await mkdir(OUT, { recursive: true });
    for (const [i, name] of names.entries()) {
      const mine = decisions.filter((d) => d.parcel === name);
      const d2016 = mine.find((d) => d.season.start === '2016-03-01')!;
      console.log(`${name}: ` + mine.map((d) => `${d.season.start.slice(0, 4)} ${d.verdict} (usable ${d.signals.usable}, peak ${d.signals.peakNdvi} on ${d.signals.peakDate}, swing ${d.signals.amplitude}, harvest ${d.signals.harvestDate})`).join('; '));
      const file = join(OUT, i === 0 ? 'cultivated.png' : 'grassland.png');
      await seriesPng({ title: `Slovenia S2 NDVI 2015–2017: ${name}`, observations: obs.filter((o) => o.parcel === name), decision: d2016, cfg }, file);
      expect((await stat(file)).size).toBeGreaterThan(5000);
      for (const d of mine) expect(d.restsOn.length).toBe(d.signals.usable);
    }
    // The cultivated area greens up and is harvested in 2016 (a seasonal cycle); the signal exists for both.
    const c2016 = decisions.find((d) => d.parcel === names[0] && d.season.start === '2016-03-01')!;
    expect(c2016.signals.peakNdvi).toBeGreaterThan(0.5);
    expect(c2016.verdict).not.toBe('insufficient_data');
  }, 60_000);
});
