/**
 * `npm run bench`: per-stage throughput and peak memory of a detection run on generated scenes of
 * two sizes (default 5000² and 10000² px, 2 m), beside raw ONNX inference on pixels of the same
 * scene, and the vectoriser's own throughput. Prints tables; numbers are for this machine at this
 * moment: compare ratios within one run. Scenes are cached in .cache/bench/<size>.
 * Environment: FW_BENCH_SIZES="5000,10000" to choose sizes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { packageRoot, defaultModelDir } from '../cli/paths.js';
import { loadModel, rawInferenceBench } from '../pipeline/classify/index.js';
import { closeScene, openScene, readWindow } from '../pipeline/imagery/index.js';
import { planTiles, spreadSample } from '../pipeline/tiling/index.js';
import { generateCounty, readManifest } from '../samples/index.js';
import { benchVectorize } from '../pipeline/vectorize/vectorize.bench.js';

const sizes = (process.env.FW_BENCH_SIZES ?? '5000,10000').split(',').map(Number);
const root = packageRoot();
const cache = join(root, '.cache', 'bench');

interface ChildResult {
  wallMs: number;
  maxRssMB: number;
  patches: number;
  timings: { totalMs: number; megapixels: number; stages: Record<string, { ms: number; mpxPerSec: number | null }> };
}

async function ensureScene(size: number): Promise<string> {
  const dir = join(cache, String(size));
  if (existsSync(join(dir, 'county.json'))) return dir;
  const t0 = performance.now();
  process.stderr.write(`generating a ${size}×${size} scene in ${dir} (cached for later runs)…\n`);
  await generateCounty({ outDir: dir, sizePx: size });
  process.stderr.write(`  generated in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return dir;
}

function runChild(dir: string, workers: number): ChildResult {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'detect-child.js'), dir, join(dir, 'run')], {
    encoding: 'utf8',
    env: { ...process.env, FW_WORKERS: String(workers) },
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`benchmark run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

/** Raw ONNX inference (session.run only) on a spread sample of the scene's own tiles. */
async function rawInference(dir: string, threads: number, modelDir = defaultModelDir()): Promise<number> {
  const m = await readManifest(dir);
  const model = await loadModel(modelDir);
  const scene = await openScene(join(dir, m.files.before));
  try {
    const tiles = spreadSample(planTiles(scene.info.grid, 1024, model.card.contextPx), 6);
    let px = 0;
    let ms = 0;
    for (const t of tiles) {
      const block = await readWindow(scene, t.read, model.card.input.bands.map((b) => b.name));
      const r = await rawInferenceBench(model, block, { threads, runs: 1 });
      px += r.pixels;
      ms += r.medianMs;
    }
    return px / 1e6 / (ms / 1000);
  } finally {
    await closeScene(scene);
  }
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '' : v.toFixed(d));

console.log(`farmwatch benchmark — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);
const results: { size: number; run: ChildResult; raw1: number; raw2: number }[] = [];
for (const size of sizes) {
  const dir = await ensureScene(size);
  const run = runChild(dir, 1);
  const raw1 = await rawInference(dir, 1);
  const raw2 = await rawInference(dir, 2);
  results.push({ size, run, raw1, raw2 });
}
// The trained models (random forest; small network as 1×1 convolutions) on the first scene's tiles.
const firstScene = await ensureScene(sizes[0]);
const trained: { id: string; t1: number; t2: number }[] = [];
for (const id of ['landcover-rf-v1', 'landcover-mlp-v1', 'landcover-cnn-v1']) {
  const dir = join(root, 'models', id);
  trained.push({ id, t1: await rawInference(firstScene, 1, dir), t2: await rawInference(firstScene, 2, dir) });
}

for (const { size, run, raw1, raw2 } of results) {
  const mpx = run.timings.megapixels;
  console.log(`\nscene ${size}×${size} px (${fmt(mpx)} Mpx per date, 2 dates), ${run.patches} patches, wall ${fmt(run.wallMs / 1000)} s, peak RSS ${run.maxRssMB} MB`);
  console.table(
    Object.fromEntries(
      Object.entries(run.timings.stages).map(([stage, v]) => [stage, { 'time s': Number(fmt(v.ms / 1000, 2)), 'Mpx/s (per date)': v.mpxPerSec ?? '' }]),
    ),
  );
  console.log(`raw ONNX inference alone (session.run on 1024² tiles of this scene): ${fmt(raw1)} Mpx/s with 1 thread, ${fmt(raw2)} Mpx/s with 2 threads`);
  console.log(`→ the classify stage (both dates, incl. packing and worker transfer) runs at ${fmt((2 * mpx) / (run.timings.stages.classify.ms / 1000))} Mpx/s`);
}
if (results.length >= 2) {
  const [a, b] = [results[0], results.at(-1)!];
  console.log(`\npeak RSS: ${a.run.maxRssMB} MB at ${a.size}² vs ${b.run.maxRssMB} MB at ${b.size}² (${fmt(b.run.timings.megapixels / a.run.timings.megapixels)}× the pixels, ${fmt(b.run.maxRssMB / a.run.maxRssMB, 2)}× the memory)`);
}
for (const t of trained) console.log(`\ntrained model ${t.id}, raw ONNX inference on 1024² tiles: ${fmt(t.t1)} Mpx/s with 1 thread, ${fmt(t.t2)} Mpx/s with 2 threads (spectral-v1 on the same tiles: ${fmt(results[0].raw1)} / ${fmt(results[0].raw2)})`);
const v = benchVectorize();
console.log(`\nvectoriser alone: ${JSON.stringify(v)}`);

