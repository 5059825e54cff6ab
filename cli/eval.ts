/**
 * `farmwatch eval landcover|change`: accuracy of a land-cover map against a label raster, and of
 * one or more detection runs against planted (or field-checked) changes. Writes JSON (and, for
 * land cover, a confusion-matrix PNG) besides printing a table.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { confusionMatrixPng } from '../pipeline/evaluate/plot.js';
import { evaluateChange, evaluateLandCover, parseClassMap, type ClassMap } from '../pipeline/evaluate/index.js';
import { LandCover, LAND_COVER_NAMES } from '../pipeline/types.js';

/** Our land-cover codes → names, without no-data, cloud and shadow (not scored). */
const OWN_CLASSES: ClassMap = new Map(LAND_COVER_NAMES.filter((n) => !['nodata', 'cloud', 'shadow'].includes(n)).map((n) => [LandCover[n], n]));

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerEval(program: Command): void {
  const evalCmd = program.command('eval').description('Measure land-cover maps and change detections against references');

  evalCmd
    .command('landcover')
    .description('Confusion matrix, overall accuracy, kappa and per-class F1 of a land-cover map against a label raster on the same grid')
    .requiredOption('--pred <tif>', 'land-cover map (e.g. from farmwatch classify)')
    .requiredOption('--truth <tif>', 'reference label raster')
    .option('--pred-map <map>', 'prediction value=class pairs (default: farmwatch land-cover codes)')
    .option('--truth-map <map>', 'reference value=class pairs, e.g. "1=water,2=tree,3=herbaceous" (default: farmwatch codes)')
    .option('--out <dir>', 'folder for eval.json and confusion.png', 'eval')
    .action(async (o) => {
      const acc = await evaluateLandCover(resolve(o.pred), resolve(o.truth), {
        pred: o.predMap ? parseClassMap(o.predMap, '--pred-map') : OWN_CLASSES,
        truth: o.truthMap ? parseClassMap(o.truthMap, '--truth-map') : OWN_CLASSES,
      });
      await mkdir(o.out, { recursive: true });
      await writeFile(join(o.out, 'eval.json'), `${JSON.stringify({ pred: o.pred, truth: o.truth, ...acc }, null, 2)}\n`);
      await confusionMatrixPng(acc, `${o.pred} vs ${o.truth}`, join(o.out, 'confusion.png'));
      console.log(`overall accuracy ${acc.overallAccuracy.toFixed(4)}, kappa ${acc.kappa.toFixed(4)} over ${acc.pixels} px`);
      console.table(acc.perClass);
      console.log(`→ ${resolve(o.out, 'eval.json')}, ${resolve(o.out, 'confusion.png')}`);
    });

  evalCmd
    .command('change')
    .description('Patch- and pixel-level precision, recall and F1 of detection runs against reference changes')
    .requiredOption('--run <dir>', 'run folder (change.tif + patches.geojson); repeat to compare runs', collect, [] as string[])
    .requiredOption('--truth <geojson>', 'reference changes (kind, type, legal; as the sample generator writes truth.geojson)')
    .option('--iou <x>', 'minimum IoU for a patch match', '0.3')
    .option('--out <file>', 'write the results as JSON')
    .action(async (o) => {
      const results = [];
      for (const run of o.run as string[]) results.push(await evaluateChange(resolve(run), resolve(o.truth), Number(o.iou)));
      console.table(
        Object.fromEntries(
          results.map((r) => [
            r.run,
            { 'patch P': r.patch.precision, 'patch R': r.patch.recall, 'patch F1': r.patch.f1, detected: r.patch.detected, planted: r.patch.planted, 'pixel P': r.pixel.precision, 'pixel R': r.pixel.recall, 'pixel F1': r.pixel.f1, 'hard-case FP': r.patch.falsePatchesOnHardCases },
          ]),
        ),
      );
      for (const r of results) {
        console.log(r.run);
        console.table(r.patch.byType);
      }
      if (o.out) await writeFile(o.out, `${JSON.stringify(results, null, 2)}\n`);
    });
}
