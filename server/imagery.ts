/**
 * Imagery of a case on the map: which scenes and layers its run has, XYZ tiles of the before and
 * after scenes (true and false colour), of the change raster and of the baseline land-use layer,
 * and the evidence chips. Tiles are asked for through the case, so the case's access check covers
 * them, and only tiles near the case are served: a township officer cannot page through the county.
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SceneOptions } from '../pipeline/imagery/index.js';
import { shiftOffset } from '../pipeline/normalize/coregister.js';
import type { Queryable } from '../ledger/db.js';
import type { Ledger } from '../ledger/index.js';
import { isS3, joinUri, readBytes, readJson } from '../storage/index.js';
import { caseFor } from './cases.js';
import { HttpError, parseOr400, sessionOf } from './app.js';
import { TileRenderer, tileBoundsIntersect, type SceneShift } from './tiles/index.js';

export interface ImageryOptions {
  /** Folder that relative paths recorded in runs (run folder, scene paths) are resolved against; default the working directory. */
  baseDir?: string;
  /** How far around a case its tiles are served, metres. */
  marginM?: number;
  renderer?: TileRenderer;
}

/** What the map needs of a run: its scenes, change raster and baseline layer, as URIs. */
export interface RunImagery {
  runId: number;
  patchId: string;
  beforeUri: string | null;
  afterUri: string | null;
  /** How the run read each scene (band names → numbers), from its summary.json. */
  beforeOptions?: SceneOptions;
  afterOptions?: SceneOptions;
  /** Where the run found the after scene to lie (its co-registration), from its summary.json. */
  afterShift?: SceneShift;
  beforeDate: string | null;
  afterDate: string | null;
  runDir: string | null;
  changeUri: string | null;
  landuseUri: string | null;
}

export const LAYERS = ['before-true', 'before-false', 'after-true', 'after-false', 'change', 'landuse'] as const;
export type Layer = (typeof LAYERS)[number];

const toUri = (p: string | null | undefined, baseDir: string): string | null => (!p ? null : /^[a-z][a-z0-9+.-]*:\/\//i.test(p) || p.startsWith('file:') ? p : resolve(baseDir, p));

interface RunSummary {
  inputs?: Partial<Record<'before' | 'after', { bands?: { name: string; index: number }[] }>> & { grid?: { crs: string; transform: readonly number[] } };
  coregistration?: { dx: number; dy: number };
  config?: { layers?: { baseline?: string } };
}

/**
 * The run read after-scene pixel (col + dx, row + dy) as the one under its grid's (col, row): drawn
 * in place, the after scene must move back by (dx, dy) of the run grid's pixels.
 */
export function afterShiftOf(summary: RunSummary | null): SceneShift | undefined {
  const { dx = 0, dy = 0 } = summary?.coregistration ?? {};
  const grid = summary?.inputs?.grid;
  if ((!dx && !dy) || !grid) return undefined;
  const [x, y] = shiftOffset(grid.transform, { dx, dy });
  return { crs: grid.crs, x: -x, y: -y };
}

/** Band names → 1-based numbers, as the run read the scene. */
const sceneOptionsOf = (input?: { bands?: { name: string; index: number }[] }): SceneOptions | undefined =>
  input?.bands?.length ? { bands: Object.fromEntries(input.bands.map((b) => [b.name, b.index + 1])) } : undefined;

/** The newest observation's run of a case, with its imagery resolved to URIs. `summaryOf` reads a run folder's summary.json (cached by the caller). */
export async function runImagery(db: Queryable, caseId: number, baseDir: string, summaryOf: (runDir: string) => Promise<RunSummary | null> = readSummary): Promise<RunImagery> {
  const r = await db.query<{ run_id: number; patch_id: string; inputs: { before?: { uri?: string | null }; after?: { uri?: string | null } }; before_date: string | null; after_date: string | null; source: string | null }>(
    `SELECT o.run_id, o.patch_id, r.inputs, r.before_date::text AS before_date, r.after_date::text AS after_date, r.source
     FROM observations o JOIN runs r ON r.id = o.run_id WHERE o.case_id = $1 ORDER BY r.after_date DESC NULLS LAST, o.run_id DESC LIMIT 1`,
    [caseId],
  );
  const o = r.rows[0];
  if (!o) throw new HttpError(404, 'NOT_FOUND', 'no observation of this case');
  const runDir = toUri(o.source, baseDir);
  // The run's own record of how it read its scenes and of its baseline layer.
  const summary = runDir ? await summaryOf(runDir) : null;
  return {
    runId: o.run_id,
    patchId: o.patch_id,
    beforeUri: toUri(o.inputs.before?.uri, baseDir),
    afterUri: toUri(o.inputs.after?.uri, baseDir),
    beforeOptions: sceneOptionsOf(summary?.inputs?.before),
    afterOptions: sceneOptionsOf(summary?.inputs?.after),
    afterShift: afterShiftOf(summary),
    beforeDate: o.before_date,
    afterDate: o.after_date,
    runDir,
    changeUri: runDir ? joinUri(runDir, 'change.tif') : null,
    landuseUri: toUri(summary?.config?.layers?.baseline, baseDir),
  };
}

const readSummary = (runDir: string): Promise<RunSummary | null> => readJson<RunSummary>(joinUri(runDir, 'summary.json')).catch(() => null);

const TileParams = z
  .object({
    jcbh: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
    layer: z.enum(LAYERS),
    z: z.coerce.number().int().min(0).max(24),
    x: z.coerce.number().int().min(0),
    y: z.coerce.number().int().min(0),
  })
  .strict();

export function registerImageryRoutes(app: FastifyInstance, ledger: Ledger, opts: ImageryOptions): void {
  const baseDir = opts.baseDir ?? process.cwd();
  const renderer = opts.renderer ?? new TileRenderer();
  const marginM = opts.marginM ?? 1500;
  // A run folder's summary does not change once written: read it once per run, not once per tile.
  const summaries = new Map<string, Promise<RunSummary | null>>();
  const summaryOf = (runDir: string) => {
    if (!summaries.has(runDir)) summaries.set(runDir, readSummary(runDir));
    return summaries.get(runDir) as Promise<RunSummary | null>;
  };
  app.addHook('onClose', async () => renderer.close?.());

  app.get('/api/cases/:jcbh/imagery', async (req) => {
    const s = sessionOf(req);
    const { jcbh } = parseOr400(z.object({ jcbh: z.string() }).strict(), req.params, 'case');
    const ref = await caseFor(ledger.db, s, jcbh);
    const im = await runImagery(ledger.db, ref.id, baseDir, summaryOf);
    return {
      run: im.runId,
      beforeDate: im.beforeDate,
      afterDate: im.afterDate,
      bbox: ref.bbox,
      layers: LAYERS.filter((l) => (l === 'change' ? im.changeUri : l === 'landuse' ? im.landuseUri : l.startsWith('before') ? im.beforeUri : im.afterUri)),
    };
  });

  app.get('/api/cases/:jcbh/tiles/:layer/:z/:x/:y.png', async (req, reply) => {
    const s = sessionOf(req);
    const p = parseOr400(TileParams, req.params, 'tile');
    const ref = await caseFor(ledger.db, s, p.jcbh);
    const [w, so, e, n] = ref.bbox;
    const dLat = marginM / 111_320;
    const dLon = dLat / Math.cos((((so + n) / 2) * Math.PI) / 180);
    if (!tileBoundsIntersect([w - dLon, so - dLat, e + dLon, n + dLat], p.z, p.x, p.y))
      throw new HttpError(403, 'FORBIDDEN', `瓦片 ${p.z}/${p.x}/${p.y} 不在图斑 ${p.jcbh} 附近 (tile outside the case's surroundings)`);
    const im = await runImagery(ledger.db, ref.id, baseDir, summaryOf);
    let png: Buffer | null = null;
    if (p.layer === 'change') png = im.changeUri ? await renderer.classes(im.changeUri, p.z, p.x, p.y) : null;
    else if (p.layer === 'landuse') png = im.landuseUri ? await renderer.vector(im.landuseUri, p.z, p.x, p.y) : null;
    else {
      const [when, style] = p.layer.split('-') as ['before' | 'after', 'true' | 'false'];
      const uri = when === 'before' ? im.beforeUri : im.afterUri;
      const how = when === 'before' ? { options: im.beforeOptions } : { options: im.afterOptions, shift: im.afterShift };
      png = uri ? await renderer.imagery({ uri, ...how }, p.z, p.x, p.y, style) : null;
    }
    if (!png) return reply.code(204).send();
    reply.header('Content-Type', 'image/png').header('Cache-Control', 'private, max-age=3600');
    return png;
  });

  app.get('/api/cases/:jcbh/chips/:when.png', async (req, reply) => {
    const s = sessionOf(req);
    const p = parseOr400(z.object({ jcbh: z.string(), when: z.enum(['before', 'after']) }).strict(), req.params, 'chip');
    const ref = await caseFor(ledger.db, s, p.jcbh);
    const im = await runImagery(ledger.db, ref.id, baseDir, summaryOf);
    if (!im.runDir) throw new HttpError(404, 'NOT_FOUND', 'the run of this case has no folder with chips');
    const uri = joinUri(im.runDir, 'chips', `${im.patchId}_${p.when}.png`);
    const bytes = await readBytes(uri).catch(() => {
      throw new HttpError(404, 'NOT_FOUND', `no ${p.when} chip for ${p.jcbh} (${isS3(uri) ? uri : 'run folder'})`);
    });
    reply.header('Content-Type', 'image/png').header('Cache-Control', 'private, max-age=3600');
    return Buffer.from(bytes);
  });
}
