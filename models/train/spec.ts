/**
 * The training spec (`train.json`): where labels come from and how the forest is grown. Validated
 * at the door; paths are relative to the spec file, `$DATA` stands for the shared data folder.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../pipeline/errors.js';
import type { TargetName } from './data.js';

const target = z.enum(['water', 'tree', 'orchard', 'herbaceous', 'bare', 'disturbed', 'built', 'greenhouse', 'green-or-bare']);

/**
 * GB/T 21010-2017 (三调) land-use classes → land cover, for weak labels. Classes whose cover varies
 * too much inside (rural roads, ditches, 田坎, 空闲地, mining, wetlands) are left out, not guessed.
 * Cropland is "green-or-bare": green if its NDVI says so, else bare (a ploughed or harvested field).
 */
export const DEFAULT_DLBM_TARGETS: Readonly<Record<string, TargetName>> = {
  '01': 'green-or-bare',
  '02': 'orchard',
  '03': 'tree',
  '04': 'herbaceous',
  '05': 'built',
  '0601': 'built',
  '07': 'built',
  '08': 'built',
  '09': 'built',
  '1001': 'built',
  '1002': 'built',
  '1003': 'built',
  '1004': 'built',
  '1101': 'water',
  '1102': 'water',
  '1103': 'water',
  '1104': 'water',
  '1109': 'built',
  '1202': 'greenhouse',
  '1206': 'bare',
};

const read = z
  .object({
    bands: z.record(z.string(), z.number().int().positive()).optional(),
    scale: z.number().finite().optional(),
    offset: z.number().finite().optional(),
    calibration: z.enum(['auto', 'reflectance', 'percentile']).default('auto'),
    calibrateOver: z.enum(['image', 'source']).default('image'),
  })
  .default({ calibration: 'auto', calibrateOver: 'image' });

const labelsSource = z.object({
  kind: z.literal('labels'),
  name: z.string().min(1),
  images: z.array(z.object({ image: z.string(), label: z.string(), name: z.string() })).min(1),
  read,
  classes: z.record(z.string().regex(/^\d+$/), z.object({ name: z.string(), target })),
  groups: z.enum(['image', 'quadrants']).default('image'),
  maxPerClass: z.number().int().positive().default(100_000),
});

const baselineSource = z.object({
  kind: z.literal('baseline'),
  name: z.string().min(1),
  images: z.array(z.string()).min(1),
  baseline: z.string(),
  read,
  field: z.string().default('DLBM'),
  dlbm: z.record(z.string().regex(/^\d{2,4}$/), target).default(DEFAULT_DLBM_TARGETS),
  erodePx: z.number().int().min(0).max(5).default(1),
  consistency: z.boolean().default(true).describe('Keep a survey label only where the spectral-v1 rules see a compatible surface'),
  maxPerClass: z.number().int().positive().default(20_000),
  tileSize: z.number().int().min(64).default(512),
});

export const SourceSchema = z.discriminatedUnion('kind', [labelsSource, baselineSource]);

export const TrainSpecSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  description: z.string().min(1),
  seed: z.number().int().default(1),
  forest: z
    .object({
      trees: z.number().int().min(1).max(500).default(48),
      maxDepth: z.number().int().min(1).max(30).default(16),
      minSamplesSplit: z.number().int().min(2).default(10),
      samplesPerClass: z.number().int().min(10).default(4000),
    })
    .default({ trees: 48, maxDepth: 16, minSamplesSplit: 10, samplesPerClass: 4000 }),
  learner: z.enum(['forest', 'mlp', 'cnn']).default('forest').describe('Per-pixel random forest (ONNX-ML trees), small network (1×1 convolutions) or small convolutional model (k×k convolution, then 1×1)'),
  mlp: z
    .object({
      hidden: z.array(z.number().int().min(2).max(256)).min(1).default([32, 32]),
      epochs: z.number().int().min(1).default(30),
      samplesPerClass: z.number().int().min(10).default(6000),
      batchSize: z.number().int().min(1).default(256),
      learningRate: z.number().positive().default(0.003),
      weightDecay: z.number().nonnegative().default(1e-4),
    })
    .default({ hidden: [32, 32], epochs: 30, samplesPerClass: 6000, batchSize: 256, learningRate: 0.003, weightDecay: 1e-4 }),
  cnn: z
    .object({
      kernel: z.union([z.literal(3), z.literal(5), z.literal(7)]).default(3).describe('Size of the first (k×k) convolution over the feature planes'),
      hidden: z.array(z.number().int().min(2).max(256)).min(1).default([32, 32]).describe('Channels of the k×k layer, then of each 1×1 layer'),
      epochs: z.number().int().min(1).default(30),
      samplesPerClass: z.number().int().min(10).default(6000),
      batchSize: z.number().int().min(1).default(256),
      learningRate: z.number().positive().default(0.003),
      weightDecay: z.number().nonnegative().default(1e-4),
      tile: z.number().int().min(32).default(256).describe('Fixed input tile of the exported model (card input.tile.size); its overlap is the receptive field'),
    })
    .default({ kernel: 3, hidden: [32, 32], epochs: 30, samplesPerClass: 6000, batchSize: 256, learningRate: 0.003, weightDecay: 1e-4, tile: 256 }),
  sources: z.array(SourceSchema).min(1),
  /** Sources scored by leaving each of their groups out in turn. */
  evaluate: z.array(z.string()).default([]),
  licence: z.string().default('Apache-2.0'),
});
export type TrainSpec = z.infer<typeof TrainSpecSchema>;

/** Reads and validates a spec; resolves its paths. */
export function loadTrainSpec(file: string, dataRoot: string): TrainSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError('CONFIG_INVALID', `${file}: cannot read the training spec: ${(e as Error).message}`, { file });
  }
  const parsed = TrainSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError('CONFIG_INVALID', `${file}: ${issues}`, { file });
  }
  const spec = parsed.data;
  for (const name of spec.evaluate)
    if (!spec.sources.some((s) => s.name === name)) throw new ConfigError('CONFIG_INVALID', `${file}: evaluate names "${name}", which is not a source`, { file });
  const here = dirname(resolve(file));
  const path = (p: string) => {
    const q = p.replaceAll('$DATA', dataRoot);
    return isAbsolute(q) ? q : resolve(here, q);
  };
  return {
    ...spec,
    sources: spec.sources.map((s) =>
      s.kind === 'labels' ? { ...s, images: s.images.map((i) => ({ ...i, image: path(i.image), label: path(i.label) })) } : { ...s, images: s.images.map(path), baseline: path(s.baseline) },
    ),
  };
}
