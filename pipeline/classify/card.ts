/**
 * The model card: what a model expects and produces, what it is for, and how well it did. Every
 * model directory holds `model.onnx`, `card.json` (validated here) and a human-readable `card.md`.
 */
import { z } from 'zod';
import { CHANGE_TYPE_NAMES, LAND_COVER_NAMES, LandCover } from '../types.js';

const ChangeTypeNameSchema = z.enum(CHANGE_TYPE_NAMES as [string, ...string[]]);

/** One input band: its name in `RasterBlock.bandNames`, and an optional affine map into model units. */
export const CardBandSchema = z.object({
  name: z.string().min(1).describe('Band name as in RasterBlock.bandNames, e.g. "nir"'),
  scale: z.number().optional().describe('Model input = value × scale + offset; omitted = 1'),
  offset: z.number().optional().describe('Model input = value × scale + offset; omitted = 0'),
});

const TensorRefSchema = z.object({
  name: z.string().min(1).describe('ONNX output name'),
  dtype: z.enum(['int32', 'int64', 'uint8', 'float32']).describe('ONNX element type'),
});

/** Accuracy measured on one dataset; a sanity check or an evaluation, as `protocol` says. */
export const CardMetricSchema = z.object({
  dataset: z.string().describe('Dataset folder / subset, e.g. "eolearn-slovenia-s2-lulc scenes 2-4"'),
  protocol: z.string().describe('How the number was obtained and what it is not'),
  pixels: z.number().int().nonnegative(),
  overallAccuracy: z.number().min(0).max(1).describe('Share of pixels whose label is in the accepted set of their reference class'),
  perReference: z
    .record(
      z.string(),
      z.object({
        accepted: z.array(z.string()).describe('Our classes counted as correct for this reference class'),
        recall: z.number().min(0).max(1),
        support: z.number().int().nonnegative(),
      }),
    )
    .describe('Recall per reference class'),
  perPredicted: z
    .record(z.string(), z.object({ precision: z.number().min(0).max(1), count: z.number().int().nonnegative() }))
    .describe('Precision per predicted class: share of its pixels whose reference accepts it'),
  confusion: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())).describe('reference class → predicted class → pixels'),
  kappa: z.number().min(-1).max(1).optional().describe("Cohen's kappa (when reference and predicted classes are the same scheme)"),
  perClassF1: z.record(z.string(), z.number().min(0).max(1)).optional().describe('F1 per class (same scheme)'),
});
export type CardMetric = z.infer<typeof CardMetricSchema>;

/** How a trained model was made. */
export const ProvenanceSchema = z.object({
  learner: z.string(),
  trainedOn: z.array(z.object({ source: z.string(), rows: z.number().int().nonnegative(), byClass: z.record(z.string(), z.number().int().nonnegative()) })),
  seed: z.number().int(),
  command: z.string().describe('Command that reproduces the model'),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
});

/** Schema of `card.json`. */
export const ModelCardSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Model id = directory name under models/'),
  version: z.string().regex(/^\d+\.\d+\.\d+$/).describe('Semantic version of the model'),
  description: z.string().min(1),
  kind: z.enum(['knowledge-based', 'trained']).describe('knowledge-based: hand-set physical rules; trained: fitted to labels'),
  file: z.string().min(1).default('model.onnx').describe('ONNX file, relative to the card (or absolute)'),
  input: z.object({
    name: z.string().min(1).describe('ONNX input name'),
    layout: z.literal('nchw'),
    bands: z.array(CardBandSchema).min(1).describe('Channel order of the input tensor'),
    dtype: z.literal('float32'),
    tile: z
      .object({
        size: z.number().int().min(8).describe('Fixed height and width of the input tensor'),
        overlap: z.number().int().nonnegative().describe('Pixels cut from each side of a tile\'s output where a neighbouring tile covers them (edge effects of the network)'),
      })
      .refine((t) => 2 * t.overlap < t.size, 'overlap must be less than half the tile size')
      .optional()
      .describe('For models with a fixed input size (typical of exported segmentation networks); absent = any size'),
  }),
  outputs: z.union([
    z.object({ label: TensorRefSchema, confidence: TensorRefSchema }).strict().describe('The model outputs LandCover codes and a confidence per pixel'),
    z
      .object({
        scores: z.object({
          name: z.string().min(1).describe('ONNX output name, float32 [1, C, H, W]'),
          activation: z.enum(['softmax', 'sigmoid', 'none']).describe('What the scores already are: softmax/sigmoid probabilities, or raw logits (softmax applied here)'),
          classes: z
            .array(z.object({ index: z.number().int().nonnegative(), class: z.enum(LAND_COVER_NAMES as [string, ...string[]]) }))
            .min(1)
            .describe('Output channel → our land-cover class; unlisted channels become no-data'),
        }),
      })
      .strict()
      .describe('The model outputs a score per class and pixel (typical segmentation network); argmax picks the class'),
  ]),
  contextPx: z.number().int().nonnegative().describe('Halo in pixels the model needs on each side for exact output'),
  classes: z
    .array(
      z.object({
        code: z.number().int().refine((c) => Object.values(LandCover).includes(c as never), 'not a LandCover code'),
        name: z.enum(LAND_COVER_NAMES as [string, ...string[]]),
        feedsChangeTypes: z.array(ChangeTypeNameSchema).describe('DOMAIN change types this class can trigger when it replaces cropland'),
      }),
    )
    .min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).describe('sha256 of model.onnx'),
  metrics: z.array(CardMetricSchema),
  licence: z.string().min(1),
  provenance: ProvenanceSchema.optional().describe('Training data, command and date (trained models)'),
});

/** A validated model card. */
export type ModelCard = z.infer<typeof ModelCardSchema>;
