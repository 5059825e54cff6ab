/**
 * Rules of the compensation-farmland audit, as config: zod with defaults and what each number
 * means. Land cover is the pipeline classifier's, grouped as idle monitoring groups it
 * (pipeline/idle/observe.ts); the numbers are conventions (a majority; the idle rules' crop
 * green-up and seasonal amplitude; the 三调 minimum mapping unit; the 25° slope rule), never fitted
 * to a sample.
 */
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import { COVER_GROUPS } from '../pipeline/idle/observe.js';
import { PROJECT_TYPE_NAMES, type ProjectType } from './types.js';

const Group = z.enum(COVER_GROUPS);

export const DEFAULT_EXPECTED_BEFORE: Readonly<Record<ProjectType, readonly (typeof COVER_GROUPS)[number][]>> = {
  pond_ditch: ['water'],
  unused: ['bare', 'green'],
  construction: ['built', 'greenhouse', 'disturbed'],
  consolidation: ['green', 'bare', 'water', 'woody', 'built'],
  other_agri: ['woody', 'green'],
};

export const AuditConfigSchema = z.object({
  minClearFraction: z.number().min(0).max(1).default(0.6).describe('Share of a parcel that must be clear (not cloud, shadow, no-data) for an observation to judge it (as idle monitoring)'),
  minClearPixels: z.number().int().min(1).default(20).describe('Fewest clear pixels for a usable observation (as idle monitoring)'),
  coverShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe('Share of the clear parcel one cover group must hold to say what the parcel is: a majority'),
  cropNdvi: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('Median parcel NDVI of a growing crop (the idle rules\' greenUpNdvi): cropland-like cover at or above it before the start was being cultivated'),
  noWorks: z
    .object({
      maxCoverChange: z
        .number()
        .min(0)
        .max(1)
        .default(0.3)
        .describe('Cover change between the scene before the start and the one after acceptance (half the sum of |Δ fraction| over the cover groups) below which the parcel looks the same'),
      maxNdviChange: z
        .number()
        .min(0)
        .max(2)
        .default(0.2)
        .describe('|Δ median NDVI| below which the parcel looks the same (the idle rules\' seasonal amplitude: less than a crop cycle)'),
    })
    .prefault({}),
  maxDaysBeforeStart: z.number().int().min(1).default(1460).describe('Oldest scene (days before KGRQ) that may show the land before the project'),
  maxDaysAfterAcceptance: z.number().int().min(1).default(1460).describe('Latest scene (days after YSRQ) that may show the land after acceptance'),
  expectedBefore: z
    .partialRecord(z.enum(PROJECT_TYPE_NAMES as [ProjectType, ...ProjectType[]]), z.array(Group))
    .default({})
    .describe('Cover groups each project type reclaims from (what the parcel should show before the start), overriding DEFAULT_EXPECTED_BEFORE per type; cropland-like cover (green, bare) outside them is 存量耕地 even without a crop signal'),
  croplandBeforeAllowed: z
    .array(z.enum(PROJECT_TYPE_NAMES as [ProjectType, ...ProjectType[]]))
    .default(['consolidation'])
    .describe('Project types that work on existing farmland (land consolidation adds cropland from ditches, roads and 田坎): the 存量耕地 rule does not apply'),
  minOverlapM2: z.number().min(0).default(10).describe('Overlaps between projects smaller than this (m²) are digitising noise'),
  minZoneAreaM2: z.number().min(0).default(10).describe('Parcel area inside a protected zone below this (m²) is boundary noise'),
  slopeThresholdDeg: z.number().gt(0).lt(90).default(25).describe('坡度 above which land may not be new cropland (25°)'),
  minSteepAreaM2: z.number().min(0).default(400).describe('Steep area (m²) a parcel must have to be a finding: the 三调 minimum mapping unit of agricultural land'),
});
export type AuditConfig = z.infer<typeof AuditConfigSchema>;
export type AuditConfigInput = z.input<typeof AuditConfigSchema>;

export function parseAuditConfig(input: unknown = {}, where = 'audit config'): AuditConfig {
  const r = AuditConfigSchema.safeParse(input ?? {});
  if (!r.success)
    throw new ConfigError('CONFIG_INVALID', `${where}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { field: r.error.issues[0]?.path.join('.') });
  return r.data;
}

/** The cover groups a project type reclaims from (config, else the default). */
export const expectedBefore = (cfg: AuditConfig, t: ProjectType): readonly (typeof COVER_GROUPS)[number][] => cfg.expectedBefore[t] ?? DEFAULT_EXPECTED_BEFORE[t];
