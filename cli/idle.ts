/**
 * `farmwatch idle`: observes watched parcels on a series of scenes, decides each growing season
 * (cultivated / idle / non-grain / insufficient data), writes observations.json, decisions.json and
 * one time-series PNG per flagged parcel, and with --ledger records observations and opens, confirms
 * or closes the idle / non-grain cases of 补充耕地 projects in their care period.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { readConfigFile } from '../config/index.js';
import { ConfigError } from '../pipeline/errors.js';
import { createClassifier, loadModel, resolveModelDir } from '../pipeline/classify/index.js';
import { calendarFor, parseIdleConfig } from '../pipeline/idle/config.js';
import { decideParcels } from '../pipeline/idle/decide.js';
import { observeScene, type ParcelObservation } from '../pipeline/idle/observe.js';
import { seriesPng } from '../pipeline/idle/plot.js';
import { renderKeyDateChips } from '../pipeline/idle/chips.js';
import { openLedger, type Ledger } from '../ledger/index.js';
import type { DetectConfig } from '../config/index.js';
import { applyDecisions, recordObservations } from '../ledger/idle.js';
import { ledgerLocation } from './ledger.js';
import { defaultModelDir } from './paths.js';
import { generateYear } from '../samples/year.js';

export function registerIdle(program: Command): void {
  program
    .command('sample-year')
    .description('Generate the sample year for idle monitoring (12 dates, parcels with truth, 补充耕地 register)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--size <px>', 'scene size in pixels (2 m each)', '640')
    .option('--seed <n>', 'random seed', '20260101')
    .action(async (o) => {
      const m = await generateYear({ outDir: o.out, sizePx: Number(o.size), seed: Number(o.seed) });
      console.log(JSON.stringify({ dates: m.dates, scenes: m.scenes.map((s) => s.file), fields: m.fields.length, files: m.files }, null, 2));
    });
  program
    .command('idle')
    .description('Idle (闲置撂荒) and non-grain (非粮化) parcels from a season of scenes: observations, decisions, plots, ledger cases')
    .requiredOption('--scenes <tifs...>', '4-band scenes (blue, green, red, nir) of one or more seasons, each with its acquisition date')
    .option('--parcels <geojson>', 'parcels to watch: the 补充耕地 register (XMBH, YSRQ) or survey parcels (BSM); default with --ledger: the ledger\'s project register')
    .requiredOption('--out <dir>', 'folder for observations.json, decisions.json and plots/')
    .option('--id-field <name>', 'property naming each parcel (default XMBH, then BSM)')
    .option('--region-code <code>', 'administrative code: picks the crop calendar and prefixes case numbers', '000000')
    .option('--config <json>', 'idle rules config (see pipeline/idle/config.ts; defaults in the README)')
    .option('--model <dir>', 'land-cover model folder (card.json + model.onnx)')
    .option('--ledger', 'record observations and cases in the ledger')
    .option('--db <dir>', 'embedded ledger data directory (DATABASE_URL selects a server)')
    .action(async (o) => {
      const cfg = parseIdleConfig(o.config ? await readConfigFile(o.config) : {}, o.config ?? 'idle config');
      if (!o.parcels && !o.ledger) throw new ConfigError('CONFIG_INVALID', 'farmwatch idle needs --parcels, or --ledger to watch the ledger\'s 补充耕地 register', { field: '--parcels' });
      await mkdir(o.out, { recursive: true });
      if (!o.parcels) {
        // The register as it stands, all projects: the rules keep those in care for each season.
        const l = await openLedger(ledgerLocation(o.db));
        try {
          o.parcels = join(o.out, 'parcels-from-ledger.geojson');
          await writeFile(o.parcels, JSON.stringify(await l.projectsGeoJson()));
        } finally {
          await l.close();
        }
      }
      const model = await loadModel(o.model ? resolveModelDir(o.model) : defaultModelDir());
      const clf = await createClassifier(model, { workers: 1 });
      const obs: ParcelObservation[] = [];
      try {
        for (const s of o.scenes as string[]) {
          const got = await observeScene(s, cfg, { parcelsFile: o.parcels, idField: o.idField, classifier: clf, contextPx: model.card.contextPx });
          obs.push(...got);
          console.error(`${s}: ${got.length} parcels observed, ${got.filter((x) => x.usable).length} usable`);
        }
      } finally {
        await clf.close();
      }
      const decisions = decideParcels(obs, calendarFor(cfg, o.regionCode).seasons, cfg);
      await mkdir(join(o.out, 'plots'), { recursive: true });
      const plots = new Map<string, string>();
      for (const d of decisions.filter((x) => x.verdict === 'idle' || x.verdict === 'non_grain')) {
        const file = join(o.out, 'plots', `${d.parcel.replace(/[^\w.-]+/g, '_')}_${d.season.start.slice(0, 4)}.png`);
        await seriesPng({ title: `${d.parcel} · ${d.season.name} ${d.season.start}…${d.season.end}`, observations: obs.filter((x) => x.parcel === d.parcel), decision: d, cfg }, file);
        plots.set(d.parcel, file);
      }
      const flagged = decisions.filter((x) => x.verdict === 'idle' || x.verdict === 'non_grain');
      const chips = await renderKeyDateChips(flagged, o.scenes, o.parcels, join(o.out, 'chips'), o.idField);
      await writeFile(join(o.out, 'observations.json'), JSON.stringify(obs, null, 1) + '\n');
      await writeFile(join(o.out, 'decisions.json'), JSON.stringify(decisions, null, 1) + '\n');
      const counts: Record<string, number> = {};
      for (const d of decisions) counts[d.verdict] = (counts[d.verdict] ?? 0) + 1;
      const summary: Record<string, unknown> = { observations: obs.length, decisions: counts };
      if (o.ledger) {
        const l = await openLedger(ledgerLocation(o.db));
        try {
          summary.recorded = await recordObservations(l, obs);
          summary.cases = await applyDecisions(l, decisions, { regionCode: o.regionCode, plots, chips, careYears: cfg.careYears });
        } finally {
          await l.close();
        }
      }
      console.log(JSON.stringify(summary, null, 2));
    });
}

/**
 * Every scene a detection run processes also feeds idle monitoring: when the run has a 补充耕地
 * layer, the register is brought up to date in the ledger and both dates are observed per project
 * parcel (only tiles holding parcels are read and classified).
 * @returns observations recorded, or null when the run has no projects layer.
 */
export async function recordRunObservations(l: Ledger, config: DetectConfig): Promise<number | null> {
  const projects = config.layers.projects;
  if (!projects) return null;
  await l.importProjects(projects);
  const cfg = parseIdleConfig({}, 'idle defaults');
  const model = await loadModel(resolveModelDir(config.classify.model));
  const clf = await createClassifier(model, { workers: 1 });
  const obs: ParcelObservation[] = [];
  try {
    for (const scene of [config.before, config.after])
      obs.push(...(await observeScene(scene.uri, cfg, { parcelsFile: projects, classifier: clf, contextPx: model.card.contextPx, ...(scene.date ? { date: scene.date } : {}) })));
  } finally {
    await clf.close();
  }
  return recordObservations(l, obs);
}
