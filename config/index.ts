import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import { SceneOptionsSchema } from './imagery.js';
import { ClassifyConfigSchema } from './classify.js';
import { LegalitySchema, MinAreaSchema, NormalizeSchema, RulesSchema, TilingSchema } from './pipeline.js';

export const SceneInputSchema = SceneOptionsSchema.extend({
  uri: z.string().min(1).describe('Path of the GeoTIFF (one file, all bands)'),
  landcover: z
    .string()
    .optional()
    .describe('A land-cover GeoTIFF of this date (class codes of pipeline/types.ts LandCover, 0 = no data) used instead of running the model'),
}).describe('One acquisition');

export const LayersSchema = z
  .object({
    baseline: z.string().optional().describe('Baseline land-use survey (GeoJSON polygons with DLBM, DLMC, ZLDWMC)'),
    townships: z.string().optional().describe('Township boundaries (XZQDM, XZQMC)'),
    pbf: z.string().optional().describe('Permanent basic farmland (永久基本农田)'),
    approved: z.string().optional().describe('Approved construction land with approval numbers (PZWH)'),
    filings: z.string().optional().describe('Facility-agriculture filings (BABH)'),
    projects: z.string().optional().describe('补充耕地 projects (carried for later stages)'),
  })
  .default({})
  .describe('Vector layers, any CRS declared by the GeoJSON crs member (default longitude/latitude)');

export const DetectConfigSchema = z
  .object({
    version: z.literal(1).default(1).describe('Config format version'),
    before: SceneInputSchema,
    after: SceneInputSchema,
    layers: LayersSchema,
    truth: z.string().optional().describe('Ground-truth changes (GeoJSON) to score the run against'),
    out: z.string().min(1).describe('Output folder of the run (replaced atomically)'),
    regionCode: z.string().regex(/^\d{6,12}$/, 'a 6–12 digit administrative code').default('000000').describe('Region code that starts every JCBH'),
    tiling: TilingSchema.default(TilingSchema.parse({})),
    normalize: NormalizeSchema.default(NormalizeSchema.parse({})),
    classify: ClassifyConfigSchema.default(ClassifyConfigSchema.parse({})),
    rules: RulesSchema.default(RulesSchema.parse({})),
    minArea: MinAreaSchema,
    minPixels: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe('A patch must also cover at least this many image pixels, whatever their area: on coarse imagery (30 m Landsat, where 400 m² is under half a pixel) one pixel\'s class is a mixture of its ground and moves with a 1-px mis-registration (1: the area alone decides; at 2 m the areas already ask for 50 px or more)'),
    legality: LegalitySchema,
    chips: z
      .object({
        enabled: z.boolean().default(true).describe('Write before/after PNG chips per patch'),
        max: z.number().int().min(0).default(2000).describe('Most chips written (largest patches first)'),
        marginPx: z.number().int().min(0).default(24).describe('Context around the patch, pixels'),
      })
      .default({ enabled: true, max: 2000, marginPx: 24 }),
    landcover: z.boolean().default(false).describe('Also write the land-cover maps of both dates (landcover_before.tif, landcover_after.tif) as the run saw them'),
    overview: z
      .object({
        enabled: z.boolean().default(true).describe('Write overview_before.png / overview_after.png with every patch outlined'),
        maxPx: z.number().int().min(64).max(8192).default(1600).describe('Long side of the overview images, pixels'),
      })
      .default({ enabled: true, maxPx: 1600 }),
    xlsx: z.object({ sheetPerTownship: z.boolean().default(false).describe('One sheet per township') }).default({ sheetPerTownship: false }),
  })
  .describe('A detection run');

export type DetectConfig = z.output<typeof DetectConfigSchema>;
export type DetectConfigInput = z.input<typeof DetectConfigSchema>;

/** Formats zod issues as "field.path: message" lines, so every error names its field. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * Validates a detection config at the door.
 * @throws ConfigError naming every invalid field.
 */
export function parseDetectConfig(input: unknown, source = 'config'): DetectConfig {
  const r = DetectConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError('CONFIG_INVALID', `${source}: ${formatIssues(r.error)}`, { field: r.error.issues[0]?.path.join('.') });
  return r.data;
}

/** Reads a JSON config file (no validation: merge with flags first, then parse). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('FILE_NOT_FOUND', `config file ${path}: ${(e as Error).message}`, { file: path });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError('CONFIG_INVALID', `config file ${path} is not valid JSON: ${(e as Error).message}`, { file: path });
  }
}
