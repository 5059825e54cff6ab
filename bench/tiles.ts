/**
 * `npm run bench` (after bench/run.ts): map tile rendering latency for the review app. On the
 * generated benchmark scene (default 5000² px at 2 m, cached in .cache/bench/<size> and its
 * detection run in …/run, both made here when missing), every tile at z13–z15 and an even spread
 * of up to 150 tiles at each of z16 and z17 is rendered one at a time in a shuffled order (random
 * panning, so neighbours rarely share decoded blocks) for true colour, false colour, the change
 * raster and the land-use layer. Prints p50/p95 of cold renders (nothing cached but the open
 * scene), of memory-cached and of disk-cached tiles. Numbers are for this machine at this moment.
 * Environment: FW_BENCH_TILES_SIZE=5000 to choose the scene size.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../cli/paths.js';
import { spreadSample } from '../pipeline/tiling/index.js';
import { generateCounty, readManifest } from '../samples/index.js';
import { TileRenderer, tilesCovering } from '../server/tiles/index.js';

const size = Number(process.env.FW_BENCH_TILES_SIZE ?? 5000);
const root = packageRoot();
const dir = join(root, '.cache', 'bench', String(size));

async function ensureRun(): Promise<void> {
  if (!existsSync(join(dir, 'county.json'))) {
    process.stderr.write(`generating a ${size}×${size} scene in ${dir} (cached for later runs)…\n`);
    await generateCounty({ outDir: dir, sizePx: size });
  }
  if (!existsSync(join(dir, 'run', 'change.tif'))) {
    process.stderr.write(`running detection on it for change.tif…\n`);
    const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'detect-child.js'), dir, join(dir, 'run')], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`detection run failed: ${r.stderr}`);
  }
}

/** Deterministic shuffle (LCG), so runs compare. */
function shuffle<T>(items: T[], seed = 42): T[] {
  let s = seed >>> 0;
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function time(tiles: { z: number; x: number; y: number }[], render: (t: { z: number; x: number; y: number }) => Promise<Buffer | null>) {
  const ms: number[] = [];
  const byZoom: Record<number, number[]> = {};
  let bytes = 0;
  let empty = 0;
  for (const t of tiles) {
    const t0 = performance.now();
    const png = await render(t);
    ms.push(performance.now() - t0);
    (byZoom[t.z] ??= []).push(ms[ms.length - 1]);
    if (png) bytes += png.length;
    else empty++;
  }
  ms.sort((a, b) => a - b);
  for (const v of Object.values(byZoom)) v.sort((a, b) => a - b);
  return { p50: pct(ms, 50), p95: pct(ms, 95), max: ms[ms.length - 1], kB: bytes / 1024 / Math.max(1, tiles.length - empty), empty, byZoom };
}

await ensureRun();
const m = await readManifest(dir);
const before = join(dir, m.files.before);
const change = join(dir, 'run', 'change.tif');
const landuse = join(dir, 'landuse.geojson');

const probe = new TileRenderer();
const bounds = await probe.sceneBounds(before);
await probe.close();
const tiles = shuffle([13, 14, 15, 16, 17].flatMap((z) => (z <= 15 ? tilesCovering(bounds, z) : spreadSample(tilesCovering(bounds, z), 150))));
const byZoom = Object.fromEntries([13, 14, 15, 16, 17].map((z) => [z, tiles.filter((t) => t.z === z).length]));

const kinds: { name: string; render: (r: TileRenderer, t: { z: number; x: number; y: number }) => Promise<Buffer | null> }[] = [
  { name: 'true colour', render: (r, t) => r.imagery(before, t.z, t.x, t.y, 'true') },
  { name: 'false colour', render: (r, t) => r.imagery(before, t.z, t.x, t.y, 'false') },
  { name: 'change classes', render: (r, t) => r.classes(change, t.z, t.x, t.y) },
  { name: 'land use', render: (r, t) => r.vector(landuse, t.z, t.x, t.y) },
];

console.log(`\nmap tiles — scene ${size}×${size} px (2 m), ${tiles.length} tiles per style (z13–z15 all, z16–z17 spread: ${JSON.stringify(byZoom)}), one at a time`);
const rows: Record<string, Record<string, number | string>> = {};
const zoomRows: Record<string, Record<string, string>> = {};
const cacheRoot = await mkdtemp(join(tmpdir(), 'fw-bench-tiles-'));
try {
  for (const k of kinds) {
    const cacheDir = join(cacheRoot, k.name.replace(/ /g, '-'));
    const r = new TileRenderer({ cacheDir, cacheBytes: 512 * 1024 * 1024 });
    // Opening the source and the per-scene stretch happen once per scene: timed apart.
    const t0 = performance.now();
    const first = tilesCovering(bounds, 17)[0];
    await k.render(r, first);
    const openMs = performance.now() - t0;
    const cold = await time(tiles, (t) => k.render(r, t));
    const warm = await time(tiles, (t) => k.render(r, t));
    await r.close();
    const r2 = new TileRenderer({ cacheDir });
    const disk = await time(tiles, (t) => k.render(r2, t));
    await r2.close();
    const f = (v: number) => Number(v.toFixed(v < 1 ? 3 : 1));
    rows[k.name] = {
      'first tile ms (open, stretch)': f(openMs),
      'cold p50 ms': f(cold.p50),
      'cold p95 ms': f(cold.p95),
      'cold max ms': f(cold.max),
      'memory p50 ms': f(warm.p50),
      'memory p95 ms': f(warm.p95),
      'disk p50 ms': f(disk.p50),
      'disk p95 ms': f(disk.p95),
      'kB/tile': f(cold.kB),
    };
    zoomRows[k.name] = Object.fromEntries(Object.entries(cold.byZoom).map(([z, v]) => [`z${z} p50/p95 ms`, `${f(pct(v, 50))} / ${f(pct(v, 95))}`]));
  }
} finally {
  await rm(cacheRoot, { recursive: true, force: true });
}
console.table(rows);
console.log('cold renders by zoom:');
console.table(zoomRows);
console.log('cold max: zoomed-out tiles (z13–z14) of a region not seen before fill the in-memory overview from full-resolution reads, once per scene.');
