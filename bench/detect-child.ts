/**
 * One benchmark run in its own process, so its peak RSS is its own: runs detection on a generated
 * scene folder and prints one JSON line with the summary timings and the process's peak RSS.
 * Usage: node dist/bench/detect-child.js <countyDir> <outDir>
 */
import { parseDetectConfig } from '../config/index.js';
import { defaultModelDir } from '../cli/paths.js';
import { runDetection } from '../pipeline/run.js';
import { countyRunInput, readManifest } from '../samples/index.js';

const [countyDir, outDir] = process.argv.slice(2);
const m = await readManifest(countyDir);
const { truth: _ignored, ...input } = countyRunInput(countyDir, m);
const config = parseDetectConfig({
  ...input,
  out: outDir,
  classify: { model: defaultModelDir(), workers: Number(process.env.FW_WORKERS ?? 1) },
  chips: { enabled: true, max: 2000, marginPx: 24 },
});
const quiet = { info: () => {}, warn: () => {}, debug: () => {} };
const t0 = performance.now();
const result = await runDetection(config, { log: quiet, now: Date.now });
process.stdout.write(
  `${JSON.stringify({
    wallMs: Math.round(performance.now() - t0),
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    patches: result.patches.length,
    timings: result.summary.timings,
  })}\n`,
);
