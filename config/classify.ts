/**
 * Options of the classify stage. Defaults live only here.
 */
import { z } from 'zod';

/** Schema of the `classify` config section. */
export const ClassifyConfigSchema = z.object({
  model: z
    .string()
    .min(1)
    .default('models/spectral-v1')
    .describe('Model directory (holding card.json and model.onnx), or a model id looked up under models/'),
  workers: z.number().int().min(1).max(64).default(1).describe('Worker threads, each with its own ONNX Runtime session'),
  threadsPerWorker: z
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe('ONNX Runtime intra-op threads per worker; unset = max(1, floor(cores / workers)). Keep workers × threads ≤ cores'),
});

/** Parsed `classify` config section. */
export type ClassifyConfig = z.infer<typeof ClassifyConfigSchema>;
