/**
 * `farmwatch train`: fits a land-cover model from a training spec, optionally calibrated to a
 * county with weak labels from its own baseline survey (`--baseline` + `--image`).
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { NormalizeSchema } from '../config/pipeline.js';
import { parseBandMapping } from '../config/imagery.js';
import { ConfigError } from '../pipeline/errors.js';
import { loadTrainSpec, SourceSchema, type TrainSpec } from '../models/train/spec.js';
import { trainModel } from '../models/train/train.js';
import { createLogger } from './log.js';
import { packageRoot } from './paths.js';

/** The spec of the default trained model. */
export const defaultTrainSpec = (): string => join(packageRoot(), 'models', 'landcover-rf-v1', 'train.json');
/** The shared real-data folder beside the repository. */
export const defaultDataRoot = (): string => resolve(packageRoot(), '..', 'shared', 'data');

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * Calibrates a spec to a county: weak labels from its baseline survey on its own images replace
 * the spec's labelled sources (kept with `keepGeneric`). Measured on the sample county, mixing in
 * other sensors' pixels cost more than it gave: they describe other spectra than the county's.
 */
export function withBaseline(spec: TrainSpec, o: { baseline: string; images: string[]; field?: string; bands?: Record<string, number>; scale?: number; id?: string; keepGeneric?: boolean }): TrainSpec {
  if (o.images.length === 0) throw new ConfigError('CONFIG_INVALID', '--baseline needs at least one --image of the county', {});
  const source = SourceSchema.parse({
    kind: 'baseline',
    name: 'county-baseline',
    images: o.images.map((i) => resolve(i)),
    baseline: resolve(o.baseline),
    ...(o.field ? { field: o.field } : {}),
    read: { ...(o.bands ? { bands: o.bands } : {}), ...(o.scale !== undefined ? { scale: o.scale } : {}) },
  });
  return {
    ...spec,
    id: o.id ?? `${spec.id}-calibrated`,
    description: `Land-cover model calibrated to one county: weak labels from its baseline survey ${o.baseline} on ${o.images.join(', ')}${o.keepGeneric ? `, with the labelled sources of ${spec.id}` : ''}. Features and rule memberships as in ${spec.id}; classes absent from the survey are decided by the spectral-v1 rules.`,
    sources: o.keepGeneric ? [...spec.sources, source] : [source],
    evaluate: o.keepGeneric ? spec.evaluate : [],
  };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('Train a land-cover model (random forest, small network or small convolutional model — learner in the spec —, exported to ONNX with its card) from labelled rasters and/or a baseline survey')
    .option('--spec <file>', 'training spec (JSON)', defaultTrainSpec())
    .option('--data <dir>', 'folder that $DATA in the spec stands for', defaultDataRoot())
    .option('--out <dir>', 'model folder to write (default: models/<id>)')
    .option('--id <id>', 'model id (default: the spec id, with -calibrated when --baseline is given)')
    .option('--baseline <file>', 'baseline land-use survey (GeoJSON with DLBM) for weak labels on the county images')
    .option('--image <tif>', 'county image for weak labels (repeatable)', collect, [] as string[])
    .option('--field <name>', 'attribute of the baseline holding the land-use code', 'DLBM')
    .option('--keep-generic', 'with --baseline: also keep the spec\'s labelled sources (other sensors)')
    .option('--bands <map>', 'band mapping of the county images, e.g. blue=1,green=2,red=3,nir=4')
    .option('--scale <k>', 'multiplier from stored value to reflectance for the county images')
    .option('--json-log', 'log JSON lines')
    .action(async (o) => {
      const log = createLogger({ json: Boolean(o.jsonLog) });
      let spec = loadTrainSpec(resolve(o.spec), resolve(o.data));
      if (o.baseline)
        spec = withBaseline(spec, { baseline: o.baseline, images: o.image, field: o.field, bands: o.bands ? parseBandMapping(o.bands) : undefined, scale: o.scale !== undefined ? Number(o.scale) : undefined, id: o.id, keepGeneric: Boolean(o.keepGeneric) });
      else if (o.id) spec = { ...spec, id: o.id };
      const outDir = resolve(o.out ?? join('models', spec.id));
      const command = ['npx farmwatch train', ...process.argv.slice(process.argv.indexOf('train') + 1)].join(' ');
      const result = await trainModel(spec, outDir, { reference: NormalizeSchema.parse({}).reference, log, command });
      console.log(`model ${spec.id} → ${outDir} (${result.rows} training rows, ${result.seconds.toFixed(1)} s)`);
      for (const m of result.heldOut) console.log(`held-out ${m.dataset}: overall accuracy ${m.overallAccuracy.toFixed(3)}, kappa ${m.kappa?.toFixed(3)}, F1 ${JSON.stringify(m.perClassF1)}`);
    });
}
