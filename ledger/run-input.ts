/**
 * What the ledger takes from a detection run: the run's identity (region, imagery dates, model,
 * config) and its patches in CGCS2000 lon/lat. Built from an in-process `RunResult` or from a run
 * folder (summary.json + patches.geojson), validated at the door.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RunResult } from '../pipeline/run.js';
import type { PolygonCoords } from '../pipeline/types.js';
import { LedgerError } from './errors.js';

/** The patch attributes the ledger keeps (a subset of PatchAttributes; extra ones are stored as they are). */
export const LedgerPatchAttributesSchema = z
  .object({
    JCBH: z.string().min(1),
    TBLX: z.string().min(1),
    TBLXMC: z.string(),
    XZQDM: z.string().nullable().default(null),
    XZQMC: z.string().nullable().default(null),
    CJMC: z.string().nullable().default(null),
    QSX: z.string().nullable().default(null),
    HSX: z.string().nullable().default(null),
    DLBM: z.string().nullable().default(null),
    DLMC: z.string().nullable().default(null),
    XZDL: z.string().nullable().default(null),
    MJ: z.number().nonnegative(),
    GDMJ: z.number().nonnegative().default(0),
    YJJBNTMJ: z.number().nonnegative().default(0),
    SFJBNT: z.boolean().default(false),
    PZWH: z.string().nullable().default(null),
    ZXD: z.number().min(0).max(1).default(0),
  })
  .loose();
export type LedgerPatchAttributes = z.output<typeof LedgerPatchAttributesSchema>;

export interface LedgerPatch {
  /** MultiPolygon coordinates, EPSG:4490 longitude/latitude. */
  readonly geometryLonLat: readonly PolygonCoords[];
  readonly attributes: LedgerPatchAttributes;
}

/** One run as the ledger records it. */
export interface LedgerRun {
  readonly regionCode: string;
  readonly beforeDate: string | null;
  readonly afterDate: string | null;
  /** Gauss–Krüger EPSG code of the region (ZXX/ZXY); derived from the patches when null. */
  readonly gkSrid: number | null;
  readonly model: Record<string, unknown>;
  /** Hashed into the run key and stored as its hash. */
  readonly config: unknown;
  readonly inputs: Record<string, unknown>;
  readonly counts: Record<string, unknown>;
  /** Where it came from (run folder), for people; not part of the key. */
  readonly source: string | null;
  readonly patches: readonly LedgerPatch[];
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Hash of the run's config without its output folder (the same run written elsewhere is the same run). */
export function configHash(config: unknown): string {
  const c = config && typeof config === 'object' ? { ...(config as Record<string, unknown>) } : config;
  if (c && typeof c === 'object') delete (c as Record<string, unknown>).out;
  return sha256(canonicalJson(c));
}

/**
 * The run key: a hash of what determines a run's patches (region, imagery and dates, model,
 * config) and of the patch ids, types and areas it produced. Ingesting the same run twice, from
 * memory or from its folder, finds the same key.
 */
export function runKey(run: LedgerRun): string {
  return sha256(
    canonicalJson({
      regionCode: run.regionCode,
      beforeDate: run.beforeDate,
      afterDate: run.afterDate,
      model: run.model,
      config: configHash(run.config),
      inputs: run.inputs,
      // Rounded like patches.geojson so a RunResult and its written folder agree.
      patches: run.patches.map((p) => [p.attributes.JCBH, p.attributes.TBLX, Math.round(p.attributes.MJ * 100) / 100]),
    }),
  );
}

/** EPSG of a CGCS2000 3° Gauss–Krüger zone (4513–4554) named like "EPSG:4528", else null. */
export function gkSridOf(crsName: unknown): number | null {
  const m = typeof crsName === 'string' ? /EPSG:{1,2}(\d{4,5})/.exec(crsName) : null;
  const code = m ? Number(m[1]) : NaN;
  return code >= 4513 && code <= 4554 ? code : null;
}

/** The 3° zone CRS (zone-prefixed eastings, 4513–4533) for a longitude. */
export function gkSridForLon(lon: number): number {
  const zone = Math.min(45, Math.max(25, Math.round(lon / 3)));
  return 4513 + zone - 25;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** From an in-process run. */
export function runFromResult(result: RunResult): LedgerRun {
  const s = result.summary;
  const inputs = s.inputs as { before?: { uri?: string; date?: string | null }; after?: { uri?: string; date?: string | null }; grid?: { crs?: string } };
  return {
    regionCode: s.config.regionCode,
    beforeDate: str(inputs.before?.date),
    afterDate: str(inputs.after?.date),
    gkSrid: gkSridOf(inputs.grid?.crs),
    model: s.model,
    config: s.config,
    inputs: { before: { uri: inputs.before?.uri ?? null, date: inputs.before?.date ?? null }, after: { uri: inputs.after?.uri ?? null, date: inputs.after?.date ?? null }, mode: s.mode },
    counts: s.counts as unknown as Record<string, unknown>,
    source: result.outDir,
    patches: result.patches.map((p) => ({ geometryLonLat: p.geometryLonLat, attributes: LedgerPatchAttributesSchema.parse(p.attributes) })),
  };
}

const SummaryFileSchema = z
  .object({
    mode: z.string(),
    inputs: z
      .object({
        before: z.object({ uri: z.string().optional(), date: z.string().nullable().optional() }).loose(),
        after: z.object({ uri: z.string().optional(), date: z.string().nullable().optional() }).loose(),
        grid: z.object({ crs: z.string().optional() }).loose().optional(),
      })
      .loose(),
    counts: z.record(z.string(), z.unknown()),
    model: z.record(z.string(), z.unknown()),
    config: z.object({ regionCode: z.string() }).loose(),
  })
  .loose();

const PolygonSchema = z.array(z.array(z.array(z.number()).min(2)).min(4)).min(1);
const FeatureSchema = z.object({
  type: z.literal('Feature'),
  geometry: z.discriminatedUnion('type', [
    z.object({ type: z.literal('Polygon'), coordinates: PolygonSchema }),
    z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(PolygonSchema).min(1) }),
  ]),
  properties: LedgerPatchAttributesSchema,
});

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new LedgerError('FILE_NOT_FOUND', `run folder: cannot read ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LedgerError('RUN_INVALID', `run folder: ${path} is not valid JSON: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

const issue = (e: z.ZodError) => e.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

/** From a run folder written by `runDetection` (summary.json + patches.geojson). */
export async function runFromDir(dir: string): Promise<LedgerRun> {
  const summaryPath = join(dir, 'summary.json');
  const patchesPath = join(dir, 'patches.geojson');
  const sres = SummaryFileSchema.safeParse(await readJson(summaryPath));
  if (!sres.success) throw new LedgerError('RUN_INVALID', `${summaryPath}: ${issue(sres.error)}`, { file: summaryPath });
  const s = sres.data;
  const fc = (await readJson(patchesPath)) as { type?: unknown; features?: unknown };
  if (fc?.type !== 'FeatureCollection' || !Array.isArray(fc.features)) throw new LedgerError('RUN_INVALID', `${patchesPath}: not a GeoJSON FeatureCollection`, { file: patchesPath });
  const patches: LedgerPatch[] = fc.features.map((f, i) => {
    const r = FeatureSchema.safeParse(f);
    if (!r.success) throw new LedgerError('RUN_INVALID', `${patchesPath}: feature ${i}: ${issue(r.error)}`, { file: patchesPath, feature: i });
    const g = r.data.geometry;
    return { geometryLonLat: g.type === 'Polygon' ? [g.coordinates] : g.coordinates, attributes: r.data.properties };
  });
  return {
    regionCode: s.config.regionCode,
    beforeDate: str(s.inputs.before.date),
    afterDate: str(s.inputs.after.date),
    gkSrid: gkSridOf(s.inputs.grid?.crs),
    model: s.model,
    config: s.config,
    inputs: { before: { uri: s.inputs.before.uri ?? null, date: s.inputs.before.date ?? null }, after: { uri: s.inputs.after.uri ?? null, date: s.inputs.after.date ?? null }, mode: s.mode },
    counts: s.counts,
    source: dir,
    patches,
  };
}
