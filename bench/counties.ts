/**
 * `npm run eval:counties`: the detector measured on several generated sample counties, with every
 * layer and the ground truth. Each seed draws its own layout, spectra, planted changes and hard
 * cases, so a change to the rules or the model that helps the demo county only shows up here as
 * what it is. Prints, per county and in total: planted changes matched, missed, extra patches,
 * false patches on hard cases, legal changes reported legal, matched areas more than 10 % off and
 * the mean |area ratio − 1|; then every area that is off. The "five sample counties" numbers in
 * the config descriptions come from this with its default counties. Compare totals of two configs
 * or commits measured by it, never one county.
 *
 * Usage: node dist/bench/counties.js [--counties 20261123:2000,7:1500,…] [--config FILE] [--out DIR] [--json FILE]
 *   --counties  seed:size pairs (size in pixels of 2 m)
 *   --config    JSON detection config merged into every run (e.g. {"rules": {"outlineReachM": 0}})
 *   --out       folder for the counties (cached) and the runs (default .cache/eval)
 *   --json      also write the tallies as JSON
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultModelDir, packageRoot } from '../cli/paths.js';
import { parseDetectConfig, readConfigFile } from '../config/index.js';
import { meanAreaError, sumTallies, tallyScore, type ScoreTally } from '../pipeline/evaluate/tally.js';
import { runDetection } from '../pipeline/run.js';
import { countyRunInput, generateCounty, readManifest } from '../samples/index.js';

const DEFAULT_COUNTIES = '20261123:2000,7:1500,42:1500,1:1500,2023:1500';

const { values } = parseArgs({
  options: {
    counties: { type: 'string', default: DEFAULT_COUNTIES },
    config: { type: 'string' },
    out: { type: 'string', default: join(packageRoot(), '.cache', 'eval') },
    json: { type: 'string' },
  },
});

const counties = values.counties.split(',').map((pair) => {
  const [seed, size] = pair.split(':').map(Number);
  if (!Number.isInteger(seed) || !Number.isInteger(size) || size <= 0) throw new Error(`--counties: "${pair}" is not seed:size (integers)`);
  return { seed, size };
});
const overrides = values.config ? await readConfigFile(values.config) : {};
const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

const rows: { county: string; tally: ScoreTally; seconds: number }[] = [];
for (const { seed, size } of counties) {
  const countyDir = join(values.out, `county-${seed}-${size}`);
  if (!existsSync(join(countyDir, 'truth.geojson'))) {
    process.stderr.write(`generating county seed ${seed}, ${size} px in ${countyDir} (cached for later runs)…\n`);
    await generateCounty({ outDir: countyDir, sizePx: size, seed });
  }
  const m = await readManifest(countyDir);
  const config = parseDetectConfig(
    { ...overrides, ...countyRunInput(countyDir, m), out: join(values.out, `run-${seed}-${size}`), classify: { model: defaultModelDir(), ...(overrides.classify as object | undefined) } },
    values.config ?? 'eval:counties',
  );
  const t0 = performance.now();
  const { summary } = await runDetection(config, { log: quiet, now: Date.now });
  if (!summary.score) throw new Error(`county ${countyDir} has no ground truth to score against`);
  rows.push({ county: `${seed}@${size}`, tally: tallyScore(summary.score), seconds: (performance.now() - t0) / 1000 });
}

const total = sumTallies(rows.map((r) => r.tally));
const line = (t: ScoreTally) => ({
  matched: `${t.matched}/${t.planted}`,
  missed: t.missed,
  extra: t.extra,
  'hard-case false': t.hardCaseFalse,
  legal: `${t.legalReportedLegal}/${t.legalPlanted}`,
  'areas > 10 % off': t.areasOff.length,
  'mean |area ratio − 1|': Number(meanAreaError(t).toFixed(4)),
});
console.table(Object.fromEntries([...rows.map((r) => [r.county, { ...line(r.tally), seconds: Number(r.seconds.toFixed(1)) }]), ['total', line(total)]]));
for (const r of rows) for (const a of r.tally.areasOff) console.log(`${r.county} ${a.planted} ${a.type} area ratio ${a.areaRatio.toFixed(3)}`);
if (values.json) await writeFile(values.json, `${JSON.stringify({ counties: rows, total, config: values.config ?? null }, null, 2)}\n`);
