/** The audit data are files of their own: the county's images, layers and truth do not change with them. */
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPENSATION_FILES, type CompensationTruth } from '../../samples/compensation.js';
import { generateCounty } from '../../samples/index.js';

describe('sample compensation data', () => {
  it('adds the register, pre-project scene, DEM, red line, quotas and uses without changing anything else', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fw-compdata-'));
    const [a, b] = [join(root, 'with'), join(root, 'without')];
    const ma = await generateCounty({ outDir: a, sizePx: 600 });
    const mb = await generateCounty({ outDir: b, sizePx: 600, compensation: false });
    expect(mb.files.compensation).toBeUndefined();
    expect(ma.files.compensation).toEqual(COMPENSATION_FILES);
    const extra = (await readdir(a)).filter((f) => !(new Set(ma.files.compensation ? Object.values(ma.files.compensation) : [])).has(f as never)).sort();
    expect(extra).toEqual((await readdir(b)).sort());
    for (const f of extra.filter((x) => x !== 'county.json')) expect((await readFile(join(a, f))).equals(await readFile(join(b, f))), f).toBe(true);
    // A small county has no room for every role: what is missing is said, not silently dropped.
    const t: CompensationTruth = JSON.parse(await readFile(join(a, COMPENSATION_FILES.truth), 'utf8'));
    expect(t.projects.length + t.notPlanted.length).toBeGreaterThanOrEqual(12);
    expect(t.projects.filter((p) => p.role === 'idle_project').map((p) => p.XMBH)).toEqual(ma.projects.map((p) => p.XMBH));
  }, 120_000);
});
