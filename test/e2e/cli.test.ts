import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, writeFile, copyFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeGeoTiff } from '../../pipeline/imagery/index.js';
import { crsFromEpsg } from '../../pipeline/geo/crs.js';
import { generateCounty, type CountyManifest } from '../../samples/index.js';
import { repoRoot } from '../helpers/paths.js';

/** Runs the CLI from source, as `npx farmwatch` would after a build. */
function farmwatch(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'cli', 'main.ts'), '--quiet', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('farmwatch detect on bad input', () => {
  let dir: string;
  let m: CountyManifest;
  const county = (f: string) => join(dir, 'county', f);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fw-cli-'));
    m = await generateCounty({ outDir: join(dir, 'county'), sizePx: 512 });
  }, 120_000);

  it('names a truncated file, exits non-zero and writes nothing', async () => {
    const bad = join(dir, 'truncated.tif');
    await copyFile(county(m.files.after), bad);
    await truncate(bad, 20_000);
    const out = join(dir, 'run-truncated');
    const r = farmwatch('detect', '--before', county(m.files.before), '--after', bad, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CORRUPT_FILE/);
    expect(r.stderr).toContain('truncated.tif');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial-${process.pid}`)).toBe(false);
  });

  it('names a missing band and keeps an earlier run folder intact', async () => {
    const out = join(dir, 'run-existing');
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'earlier run');
    const r = farmwatch('detect', '--before', county(m.files.before), '--after', county(m.files.after), '--bands', 'blue=1,green=2,red=3,nir=9', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MISSING_BAND/);
    expect(r.stderr).toMatch(/nir/);
    expect(await readFile(join(out, 'keep.txt'), 'utf8')).toBe('earlier run');
  });

  it('refuses scenes that do not overlap, naming both', async () => {
    const far = join(dir, 'far.tif');
    const n = 64 * 64;
    const band = () => Uint16Array.from({ length: n }, () => 1000);
    await writeGeoTiff(far, { width: 64, height: 64, transform: [40600000, 2, 0, 3600000, 0, -2], crs: crsFromEpsg(4528) }, [band(), band(), band(), band()], {
      dtype: 'uint16',
      bandDescriptions: ['blue', 'green', 'red', 'nir'],
    });
    const r = farmwatch('detect', '--before', county(m.files.before), '--after', far, '--out', join(dir, 'run-far'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/NO_OVERLAP/);
    expect(r.stderr).toContain('far.tif');
  });

  it('names the config field that is wrong', () => {
    const r = farmwatch('detect', '--before', county(m.files.before), '--after', county(m.files.after), '--tile-size', '10', '--out', join(dir, 'run-cfg'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CONFIG_INVALID.*tiling\.tileSize/);
    const b = farmwatch('detect', '--before', county(m.files.before), '--after', county(m.files.after), '--bands', 'blue=one', '--out', join(dir, 'run-cfg'));
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/"blue=one" is not name=number/);
  });

  it('repairs or skips invalid baseline geometries and counts them', async () => {
    const base = JSON.parse(await readFile(county(m.files.layers.baseline as string), 'utf8'));
    base.features.push(
      { type: 'Feature', properties: { DLBM: '0103' }, geometry: { type: 'Polygon', coordinates: [[[40528000, 3542000], [40528100, 3542100], [40528100, 3542000], [40528000, 3542100], [40528000, 3542000]]] } },
      { type: 'Feature', properties: { DLBM: '0103' }, geometry: { type: 'Polygon', coordinates: [[[1, 2], [3]]] } },
      { type: 'Feature', properties: { DLBM: '0103' }, geometry: null },
    );
    const broken = join(dir, 'broken-baseline.geojson');
    await writeFile(broken, JSON.stringify(base));
    const out = join(dir, 'run-broken');
    const r = farmwatch('detect', '--before', county(m.files.before), '--after', county(m.files.after), '--baseline', broken, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary.layers.baseline.repaired).toBeGreaterThanOrEqual(1);
    expect(summary.layers.baseline.skipped).toBe(2);
    expect(summary.layers.baseline.read).toBe(base.features.length);
  });
});
