/**
 * Land-cover confusion of a model on the synthetic sample county, against the generator's true
 * land cover (`truthRasters`), for both dates and several seeds.
 *
 *   npx tsx models/eval/sample-confusion.ts [--model models/spectral-v1] [--seeds 20261123,7]
 *       [--size 2000] [--dir /tmp/farmwatch-confusion] [--reuse] [--landcover <run dir>]
 *
 * The counties go to `--dir` (never into the repo); `--reuse` keeps a county already generated
 * there (only safe while samples/ is unchanged). The images are classified as written (surface
 * reflectance; the after image carries the generator's haze offset and gain), i.e. WITHOUT the
 * relative normalisation a change run applies first. `--landcover <run dir>` instead scores the
 * `landcover_before.tif` / `landcover_after.tif` a `demo --landcover` run wrote (normalised
 * after image, default seed only).
 *
 * A development tool, not an accuracy claim: the truth is the generator's own material map, and
 * a 2 m pixel of mixed materials is scored against its majority material.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fromFile } from 'geotiff';
import { ClassifyConfigSchema } from '../../config/classify.js';
import { NormalizeSchema } from '../../config/pipeline.js';
import { classifyScene } from '../../pipeline/landcover.js';
import { LandCover, landCoverName, type StageContext } from '../../pipeline/types.js';
import { LANDCOVER_TRUTH_FILES, MANIFEST_FILE, generateCounty } from '../../samples/index.js';

/** Classes scored (codes 1..10); 0 (no data) in either raster is not scored. */
export const CLASS_CODES: readonly number[] = Object.values(LandCover).filter((c) => c > 0);

/** Confusion counts: `m[truth][pred]` over class codes 0..10 (row/column 0 unused). */
export type Confusion = number[][];

/** Per-class and overall scores of a confusion matrix. */
export interface Scores {
  pixels: number;
  overall: number;
  perClass: { name: string; support: number; predicted: number; recall: number | null; precision: number | null }[];
}

/** Counts truth × predicted over pixels where both are non-zero. */
export function confusion(truth: ArrayLike<number>, pred: ArrayLike<number>): Confusion {
  const m = Array.from({ length: 11 }, () => new Array<number>(11).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = pred[i];
    if (t && p) m[t][p]++;
  }
  return m;
}

/** Overall accuracy and per-class recall (of truth) and precision (of predictions). */
export function scores(m: Confusion): Scores {
  let pixels = 0;
  let right = 0;
  for (const t of CLASS_CODES) for (const p of CLASS_CODES) (pixels += m[t][p]), t === p && (right += m[t][p]);
  const perClass = CLASS_CODES.map((c) => {
    const support = CLASS_CODES.reduce((s, p) => s + m[c][p], 0);
    const predicted = CLASS_CODES.reduce((s, t) => s + m[t][c], 0);
    return { name: landCoverName(c), support, predicted, recall: support ? m[c][c] / support : null, precision: predicted ? m[c][c] / predicted : null };
  });
  return { pixels, overall: pixels ? right / pixels : 0, perClass };
}

const ABBR: Record<string, string> = { water: 'water', tree: 'tree', orchard: 'orch', herbaceous: 'herb', bare: 'bare', disturbed: 'dist', built: 'built', greenhouse: 'green', cloud: 'cloud', shadow: 'shad' };
const pct = (x: number | null) => (x === null ? '    –' : (100 * x).toFixed(1).padStart(5));

/** Renders a confusion matrix (rows truth, columns predicted) with recall and precision. */
export function formatConfusion(title: string, m: Confusion): string {
  const s = scores(m);
  const w = 8;
  const lines = [`${title}: overall accuracy ${(100 * s.overall).toFixed(1)} % on ${s.pixels} px (rows truth, columns predicted)`];
  lines.push('truth\\pred'.padEnd(11) + CLASS_CODES.map((c) => ABBR[landCoverName(c)].padStart(w)).join('') + '   recall');
  for (const t of CLASS_CODES) {
    const pc = s.perClass[t - 1];
    lines.push(ABBR[landCoverName(t)].padEnd(11) + CLASS_CODES.map((p) => String(m[t][p]).padStart(w)).join('') + '   ' + pct(pc.recall));
  }
  lines.push('precision'.padEnd(11) + s.perClass.map((pc) => pct(pc.precision).padStart(w)).join(''));
  return lines.join('\n');
}

/** Reads band 1 of a single-band GeoTIFF. */
async function readBand(path: string): Promise<Uint8Array> {
  const tiff = await fromFile(path);
  try {
    const image = await tiff.getImage();
    const [band] = (await image.readRasters({ samples: [0] })) as unknown as Uint8Array[];
    return band;
  } finally {
    tiff.close();
  }
}

const quietCtx: StageContext = { log: { info() {}, warn() {}, debug() {} }, now: Date.now };

/** Generates (or reuses) the county of one seed with truth rasters; returns its folder. */
async function county(dir: string, seed: number, sizePx: number, reuse: boolean): Promise<string> {
  const out = join(dir, `seed-${seed}-${sizePx}`);
  if (reuse && existsSync(join(out, MANIFEST_FILE)) && existsSync(join(out, LANDCOVER_TRUTH_FILES.after))) return out;
  await mkdir(out, { recursive: true });
  await generateCounty({ outDir: out, seed, sizePx, vectors: false, truthRasters: true });
  return out;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const model = resolve(arg('model') ?? 'models/spectral-v1');
  const seeds = (arg('seeds') ?? '20261123,7').split(',').map(Number);
  const size = Number(arg('size') ?? 2000);
  const dir = resolve(arg('dir') ?? '/tmp/farmwatch-confusion');
  const reuse = process.argv.includes('--reuse');
  const runDir = arg('landcover');
  const classify = ClassifyConfigSchema.parse({ model, workers: 1, threadsPerWorker: 2 });
  const total: Record<string, Confusion> = {};
  for (const seed of runDir ? [20261123] : seeds) {
    const c = await county(dir, seed, size, reuse || !!runDir);
    for (const date of ['before', 'after'] as const) {
      const truth = await readBand(join(c, LANDCOVER_TRUTH_FILES[date]));
      let predPath: string;
      if (runDir) predPath = join(runDir, `landcover_${date}.tif`);
      else {
        predPath = join(c, `landcover_${date}.tif`);
        await classifyScene(join(c, `${date}.tif`), {}, classify, predPath, quietCtx, NormalizeSchema.parse({}));
      }
      const m = confusion(truth, await readBand(predPath));
      console.log(`\n${formatConfusion(`seed ${seed} ${date}${runDir ? ` (${predPath})` : ''}`, m)}`);
      const acc = (total[date] ??= confusion([], []));
      for (let t = 0; t < 11; t++) for (let p = 0; p < 11; p++) acc[t][p] += m[t][p];
    }
  }
  console.log('\nsummary (overall accuracy):');
  for (const [date, m] of Object.entries(total)) console.log(`  ${date}, all seeds: ${(100 * scores(m).overall).toFixed(1)} %`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) await main();
