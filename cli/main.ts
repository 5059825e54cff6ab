#!/usr/bin/env node
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseDetectConfig, readConfigFile, type DetectConfigInput } from '../config/index.js';
import { ClassifyConfigSchema } from '../config/classify.js';
import { NormalizeSchema } from '../config/pipeline.js';
import { parseBandMapping, SceneOptionsSchema } from '../config/imagery.js';
import { classifyScene } from '../pipeline/landcover.js';
import { resolveModelDir } from '../pipeline/classify/load.js';
import { ConfigError, isAppError } from '../pipeline/errors.js';
import { stackBands } from '../pipeline/imagery/stack.js';
import { runDetection, type RunSummary } from '../pipeline/run.js';
import { countyRunInput, generateCounty } from '../samples/index.js';
import { createLogger } from './log.js';
import { defaultModelDir } from './paths.js';
import { ingestIntoLedger, ledgerCommand } from './ledger.js';
import { registerTrain } from './train.js';
import { registerEval } from './eval.js';
import { registerRuns } from './runs.js';
import { registerIdle } from './idle.js';
import { auditCommand } from './audit.js';
import { registerServe } from './serve.js';

const program = new Command();
program.name('farmwatch').description('Satellite monitoring of farmland: change patches, clue lists, ledger').version('0.1.0');
program.option('--log-json', 'log JSON lines to stderr').option('--quiet', 'only warnings and errors');

const logger = () => createLogger({ json: program.opts().logJson, quiet: program.opts().quiet });

program
  .command('sample')
  .description('Generate the sample county (imagery of two dates, survey layers, planted changes)')
  .requiredOption('--out <dir>', 'output folder')
  .option('--size <px>', 'scene size in pixels (2 m each)', '2000')
  .option('--seed <n>', 'random seed', '20261123')
  .action(async (o) => {
    const manifest = await generateCounty({ outDir: o.out, sizePx: Number(o.size), seed: Number(o.seed) });
    console.log(JSON.stringify(manifest, null, 2));
  });

program
  .command('detect')
  .description('Detect changes between two scenes (with a baseline: farmland change types; without: land-cover transitions)')
  .requiredOption('--before <tif>', 'earlier scene (GeoTIFF)')
  .requiredOption('--after <tif>', 'later scene (GeoTIFF)')
  .requiredOption('--out <dir>', 'run output folder')
  .option('--baseline <geojson>', 'baseline land-use survey with DLBM')
  .option('--townships <geojson>', 'township boundaries (XZQDM, XZQMC)')
  .option('--pbf <geojson>', 'permanent basic farmland')
  .option('--approved <geojson>', 'approved construction land (PZWH)')
  .option('--filings <geojson>', 'facility-agriculture filings (BABH)')
  .option('--projects <geojson>', '补充耕地 project register (XMBH, YSRQ): with --ledger, its parcels are observed for idle monitoring')
  .option('--truth <geojson>', 'ground truth to score against')
  .option('--bands <map>', 'band mapping for both scenes, e.g. blue=3,green=2,red=1,nir=4')
  .option('--before-bands <map>', 'band mapping of the before scene')
  .option('--after-bands <map>', 'band mapping of the after scene')
  .option('--before-date <date>', 'acquisition date of the before scene, when the file has none')
  .option('--after-date <date>', 'acquisition date of the after scene, when the file has none')
  .option('--scale <k>', 'multiply raw values by k to get reflectance (both scenes)')
  .option('--offset <c>', 'add c after scaling (both scenes; Landsat Collection 2 Level-2: --scale 0.0000275 --offset -0.2)')
  .option('--region-code <code>', 'administrative code that starts every patch id')
  .option('--tile-size <px>', 'core tile size')
  .option('--model <dir>', 'model folder (card.json + model.onnx)')
  .option('--config <json>', 'config file; flags override it')
  .option('--landcover', 'also write the land-cover maps of both dates')
  .option('--before-landcover <tif>', 'land-cover map of the before date to use instead of the model')
  .option('--after-landcover <tif>', 'land-cover map of the after date to use instead of the model')
  .addOption(new Option('--all-transitions', 'without a baseline, also report herbaceous↔bare (the cultivation cycle)'))
  .option('--ledger', 'record the run in the ledger (embedded, or DATABASE_URL)')
  .option('--db <dir>', 'embedded ledger data directory (default as `farmwatch ledger`)')
  .action(async (o) => {
    const file = o.config ? await readConfigFile(o.config) : {};
    const scene = (uri: string, bands: string | undefined, date: string | undefined, base: unknown, landcover?: string) => ({
      ...(base as object),
      uri,
      ...(landcover ? { landcover } : {}),
      ...(bands ? { bands: parseBandMapping(bands) } : {}),
      ...(date ? { date } : {}),
      ...(o.scale ? { scale: Number(o.scale) } : {}),
      ...(o.offset ? { offset: Number(o.offset) } : {}),
    });
    const input: DetectConfigInput = {
      ...(file as object),
      before: scene(o.before, o.beforeBands ?? o.bands, o.beforeDate, file.before, o.beforeLandcover),
      after: scene(o.after, o.afterBands ?? o.bands, o.afterDate, file.after, o.afterLandcover),
      out: o.out,
      layers: {
        ...((file.layers as object) ?? {}),
        ...pick(o, ['baseline', 'townships', 'pbf', 'approved', 'filings', 'projects']),
      },
      ...(o.truth ? { truth: o.truth } : {}),
      ...(o.landcover ? { landcover: true } : {}),
      ...(o.regionCode ? { regionCode: o.regionCode } : {}),
      ...(o.tileSize ? { tiling: { ...((file.tiling as object) ?? {}), tileSize: Number(o.tileSize) } } : {}),
      classify: { model: defaultModelDir(), ...((file.classify as object) ?? {}), ...(o.model ? { model: o.model } : {}) },
      ...(o.allTransitions ? { rules: { ...((file.rules as object) ?? {}), ignoreTransitions: [] } } : {}),
    } as DetectConfigInput;
    const config = parseDetectConfig(input, o.config ?? 'detect options');
    const result = await runDetection(config, { log: logger(), now: Date.now });
    printSummary(result.summary, result.outDir);
    if (o.ledger) await ingestIntoLedger(result, o.db);
  });

program
  .command('classify')
  .description('Write a land-cover map (GeoTIFF of class codes) of one scene')
  .requiredOption('--image <tif>', 'scene (GeoTIFF)')
  .requiredOption('--out <tif>', 'land-cover GeoTIFF to write')
  .option('--bands <map>', 'band mapping, e.g. blue=3,green=2,red=1,nir=4')
  .option('--scale <k>', 'multiply raw values by k to get reflectance')
  .option('--offset <c>', 'add c after scaling (Landsat Collection 2 Level-2: --scale 0.0000275 --offset -0.2)')
  .option('--model <dir>', 'model folder (card.json + model.onnx)')
  .addOption(
    new Option('--calibration <mode>', 'how stored values become reflectance: auto (8-bit input is percentile-calibrated, as detect does), reflectance or percentile')
      .choices(['auto', 'reflectance', 'percentile'])
      .default('auto'),
  )
  .action(async (o) => {
    const sceneOptions = SceneOptionsSchema.parse({ ...(o.bands ? { bands: parseBandMapping(o.bands) } : {}), ...(o.scale ? { scale: Number(o.scale) } : {}), ...(o.offset ? { offset: Number(o.offset) } : {}) });
    const classify = ClassifyConfigSchema.parse({ model: o.model ?? defaultModelDir() });
    const { calibration, reference, sampleTiles } = NormalizeSchema.parse({ calibration: o.calibration });
    const counts = await classifyScene(o.image, sceneOptions, classify, o.out, { log: logger(), now: Date.now }, { calibration, reference, sampleTiles });
    console.table(counts);
  });

program
  .command('stack')
  .description('Stack single-band GeoTIFFs of one acquisition (Landsat, Sentinel-2 deliveries) into one multi-band GeoTIFF whose bands are named')
  .requiredOption('--band <name=file>', 'a band and its file, e.g. blue=LC08_B2.TIF (repeat for each band)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .requiredOption('--out <tif>', 'multi-band GeoTIFF to write')
  .option('--date <date>', 'acquisition date to record (YYYY-MM-DD), when the files have none')
  .option('--scale <k>', 'record k as every band\'s scale to reflectance (with --offset; Landsat Collection 2 Level-2: --scale 0.0000275 --offset -0.2)')
  .option('--offset <c>', 'record c as every band\'s offset (with --scale)')
  .action(async (o) => {
    if ((o.scale === undefined) !== (o.offset === undefined)) throw new ConfigError('CONFIG_INVALID', 'stack: --scale and --offset go together (a scale alone would drop the file\'s offset)', { field: '--scale' });
    const scaleOffset = o.scale === undefined ? undefined : { scale: Number(o.scale), offset: Number(o.offset) };
    if (scaleOffset && !(Number.isFinite(scaleOffset.scale) && scaleOffset.scale > 0 && Number.isFinite(scaleOffset.offset)))
      throw new ConfigError('CONFIG_INVALID', `stack: --scale must be a positive number and --offset a number (got ${o.scale}, ${o.offset})`, { field: '--scale' });
    const bands = (o.band as string[]).map((item) => {
      const m = /^([A-Za-z_][\w.-]*)=(.+)$/.exec(item);
      if (!m) throw new ConfigError('CONFIG_INVALID', `--band: "${item}" is not name=file (expected e.g. "blue=LC08_B2.TIF")`, { field: '--band' });
      return { name: m[1].toLowerCase(), uri: m[2] };
    });
    const r = await stackBands(bands, o.out, { ...(o.date ? { date: o.date } : {}), ...(scaleOffset ? { scaleOffset } : {}) });
    console.log(`${o.out}: ${r.width}×${r.height} px, ${r.dtype}, bands ${r.bands.join(', ')}${r.acquired ? `, acquired ${r.acquired}` : ''}`);
  });

program
  .command('demo')
  .description('Generate the sample county and run detection on it with every layer and the ground truth')
  .option('--out <dir>', 'output folder', 'out/demo')
  .option('--size <px>', 'scene size in pixels', '2000')
  .option('--seed <n>', 'random seed', '20261123')
  .option('--landcover', 'also write the land-cover maps of both dates')
  .option('--model <dir>', 'model folder (card.json + model.onnx) or model id under models/')
  .option('--db <dir>', 'ledger data directory to record the run in (default as `farmwatch ledger`)')
  .option('--no-ledger', 'do not record the run in the ledger')
  .action(async (o) => {
    const log = logger();
    const countyDir = join(o.out, 'county');
    log.info('generating the sample county', { dir: countyDir, size: o.size });
    const m = await generateCounty({ outDir: countyDir, sizePx: Number(o.size), seed: Number(o.seed) });
    const config = parseDetectConfig({
      ...countyRunInput(countyDir, m),
      out: join(o.out, 'run'),
      classify: { model: o.model ? resolveModelDir(o.model) : defaultModelDir() },
      landcover: Boolean(o.landcover),
    });
    const result = await runDetection(config, { log, now: Date.now });
    printSummary(result.summary, result.outDir);
    if (o.ledger) await ingestIntoLedger(result, o.db);
  });

program.addCommand(ledgerCommand());
program.addCommand(auditCommand());

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function printSummary(s: RunSummary, outDir: string) {
  const rows = Object.entries(s.counts.byType).map(([type, c]) => ({ type, patches: c.count, legal: c.legal, 'area m²': c.areaM2, 'area 亩': c.areaMu }));
  console.log(`\nfarmwatch ${s.mode} run: ${s.counts.total} patches (${s.counts.legal} legal) → ${resolve(outDir)}`);
  if (rows.length) console.table(rows);
  if (s.score) {
    console.log(`score (patch level, IoU ≥ ${s.score.iouThreshold}):`);
    console.table(
      Object.fromEntries(
        Object.entries(s.score.byType).map(([t, v]) => [t, { planted: v.planted, detected: v.detected, recall: v.recall, precision: v.precision, 'area ratio': v.meanAreaRatio }]),
      ),
    );
    console.log(`false patches on hard cases: ${s.score.hardCaseFalsePatches}; legal changes reported legal: ${s.score.legalReportedAsLegal.correct}/${s.score.legalReportedAsLegal.planted}`);
  }
  const st = s.timings.stages;
  console.log(`time ${(s.timings.totalMs / 1000).toFixed(1)} s for ${s.timings.megapixels.toFixed(1)} Mpx/date; ${Object.entries(st).map(([k, v]) => `${k} ${(v.ms / 1000).toFixed(1)}s`).join(', ')}`);
}

registerTrain(program);
registerEval(program);
registerRuns(program);
registerIdle(program);
registerServe(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isAppError(e)) {
    process.stderr.write(`farmwatch: error [${e.code}]: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`farmwatch: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
