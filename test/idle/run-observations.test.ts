/** A detection run with a 补充耕地 layer feeds idle monitoring: both dates observed per project parcel, once. */
import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordRunObservations } from '../../cli/idle.js';
import { parseDetectConfig } from '../../config/index.js';
import { parcelObservations } from '../../ledger/idle.js';
import { countyRunInput, generateCounty } from '../../samples/index.js';
import { dropServerSchemas, testLedger } from '../ledger/helpers.js';

afterAll(() => dropServerSchemas());

describe('detection runs feed idle monitoring', () => {
  it('records every project parcel on both dates, once however often the run is recorded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fw-runobs-'));
    const m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 600 });
    const config = parseDetectConfig({ ...countyRunInput(join(dir, 'county'), m), out: join(dir, 'run') });
    expect(config.layers.projects).toBeTruthy();
    const projects = JSON.parse(readFileSync(config.layers.projects!, 'utf8')).features.map((f: { properties: { XMBH: string } }) => f.properties.XMBH);
    expect(projects.length).toBeGreaterThan(0);
    const ledger = await testLedger('embedded');
    try {
      const first = await recordRunObservations(ledger, config);
      expect(first).toBe(2 * projects.length);
      await recordRunObservations(ledger, config);
      for (const p of projects) {
        const obs = await parcelObservations(ledger, p);
        expect(obs.map((o) => o.date).sort(), p).toEqual([m.images.before.date, m.images.after.date].sort());
      }
      expect((await ledger.projects()).map((p) => p.xmbh).sort()).toEqual([...projects].sort());
    } finally {
      await ledger.close();
    }
  }, 180_000);
});
