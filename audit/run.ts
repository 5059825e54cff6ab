/**
 * One audit of the 补充耕地 register (issue 8, items 2 and 3): the I/O edge that observes the
 * project parcels on every scene with the pipeline classifier (idle monitoring's observeScene),
 * measures the register against itself, the protected-zone layers and the DEM (audit/geometry.ts),
 * applies the rules (audit/findings.ts) and renders the evidence chips. Writing the findings to
 * the ledger is ledger/compensation-audit.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Classifier } from '../pipeline/classify/index.js';
import { VectorError } from '../pipeline/errors.js';
import { CGCS2000, makeTransform } from '../pipeline/geo/crs.js';
import { parseIdleConfig } from '../pipeline/idle/config.js';
import { observeScene, type ParcelObservation } from '../pipeline/idle/observe.js';
import type { AuditConfig } from './config.js';
import { renderParcelChips, type ChipRequest } from '../pipeline/idle/chips.js';
import { geometryFindings, imageryFindings, pickObservations, type AuditProject, type Finding } from './findings.js';
import { loadPolygonLayer, parsePolygonLayer, projectOverlaps, slopeAudit, workingCrs, zoneAudit, type PolygonLayer, type OverlapAudit, type SlopeAudit, type ZoneAudit } from './geometry.js';

export interface AuditScene {
  uri: string;
  /** Acquisition date when the file carries none. */
  date?: string;
}

export interface AuditInputs {
  /** The register as GeoJSON with XMBH (any CRS the layer loaders know; the ledger writes EPSG:4490). */
  registerFile: string;
  projects: readonly AuditProject[];
  scenes: readonly AuditScene[];
  /** DEM GeoTIFF in a projected CRS (metres), for the slope rule. */
  dem?: string;
  /** Protected-zone layers (生态保护红线, 水源保护区, 自然保护区 …): name and GeoJSON file. */
  zones: readonly { name: string; file: string }[];
  outDir: string;
  cfg: AuditConfig;
  classifier: Classifier;
  contextPx: number;
  log?: (msg: string) => void;
}

export interface ProjectAudit {
  xmbh: string;
  before: { date: string; scene: string } | null;
  after: { date: string; scene: string } | null;
  notes: string[];
  findings: string[];
}

export interface AuditResult {
  findings: Finding[];
  projects: ProjectAudit[];
  observations: ParcelObservation[];
  overlaps: OverlapAudit;
  zones: ZoneAudit | null;
  slope: SlopeAudit | null;
  timings: { observeMs: number; geometryMs: number; chipsMs: number; totalMs: number };
}

/** Splits features into groups with no two overlapping projects in one (greedy colouring): each group is observed in its own pass, so every parcel gets all its pixels. */
export function nonOverlappingGroups(ids: readonly string[], overlaps: OverlapAudit): string[][] {
  const nb = new Map<string, Set<string>>(ids.map((i) => [i, new Set()]));
  for (const o of overlaps.overlaps) {
    nb.get(o.a)?.add(o.b);
    nb.get(o.b)?.add(o.a);
  }
  const colour = new Map<string, number>();
  for (const id of [...ids].sort((a, b) => nb.get(b)!.size - nb.get(a)!.size || a.localeCompare(b))) {
    const taken = new Set([...nb.get(id)!].map((n) => colour.get(n)).filter((c) => c !== undefined));
    let c = 0;
    while (taken.has(c)) c++;
    colour.set(id, c);
  }
  const groups: string[][] = [];
  for (const [id, c] of colour) (groups[c] ??= []).push(id);
  return groups.map((g) => g.sort());
}

async function zoneLayer(name: string, file: string): Promise<PolygonLayer> {
  let doc: { features?: { properties?: Record<string, unknown> | null }[] };
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new VectorError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'VECTOR_INVALID', `${name} layer: cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  const props = doc?.features?.[0]?.properties ?? {};
  const idField = ['HXBH', 'BSM', 'BH', 'ID', 'id', 'MC', 'NAME', 'HXMC'].find((k) => props[k] !== undefined && props[k] !== null);
  return parsePolygonLayer(name, doc, file, { idField: idField ?? 'id' });
}

/** Runs the audit; writes observations.json, findings.json and chips/ into `outDir`. */
export async function runAudit(inp: AuditInputs): Promise<AuditResult> {
  const t0 = performance.now();
  const log = inp.log ?? (() => undefined);
  await mkdir(inp.outDir, { recursive: true });
  const layer = await loadPolygonLayer('补充耕地', inp.registerFile);
  const ids = [...new Set(layer.features.map((f) => f.id))];
  const overlaps = projectOverlaps(layer, { minAreaM2: inp.cfg.minOverlapM2 });

  // Imagery: every scene, each group of non-overlapping parcels.
  const idleCfg = parseIdleConfig({ minClearFraction: inp.cfg.minClearFraction, minClearPixels: inp.cfg.minClearPixels }, 'audit observation rules');
  const raw = JSON.parse(await readFile(inp.registerFile, 'utf8')) as { features: { properties?: { XMBH?: unknown } }[] };
  const groups = nonOverlappingGroups(ids, overlaps);
  const groupFiles = await Promise.all(
    groups.map(async (g, k) => {
      const file = join(inp.outDir, `parcels-${k}.geojson`);
      const set = new Set(g);
      await writeFile(file, JSON.stringify({ ...raw, features: raw.features.filter((f) => set.has(String(f.properties?.XMBH))) }));
      return file;
    }),
  );
  const observations: ParcelObservation[] = [];
  for (const s of inp.scenes)
    for (const file of groupFiles) {
      const got = await observeScene(s.uri, idleCfg, { parcelsFile: file, classifier: inp.classifier, contextPx: inp.contextPx, ...(s.date ? { date: s.date } : {}) });
      observations.push(...got);
      log(`${s.uri}: ${got.length} parcels observed, ${got.filter((o) => o.usable).length} usable`);
    }
  const t1 = performance.now();

  const findings: Finding[] = [];
  const projects: ProjectAudit[] = [];
  const byId = new Map(inp.projects.map((p) => [p.xmbh, p]));
  const picks = new Map<string, ReturnType<typeof pickObservations>>();
  for (const p of inp.projects) {
    const picked = pickObservations(p, observations, inp.cfg);
    picks.set(p.xmbh, picked);
    findings.push(...imageryFindings(p, picked, inp.cfg));
  }

  // Geometry.
  const zones = inp.zones.length ? zoneAudit(layer, await Promise.all(inp.zones.map((z) => zoneLayer(z.name, z.file))), { minAreaM2: inp.cfg.minZoneAreaM2 }) : null;
  const slope = inp.dem ? await slopeAudit(inp.dem, layer, { thresholdDeg: inp.cfg.slopeThresholdDeg }) : null;
  const toLonLat = makeTransform(workingCrs(layer), CGCS2000);
  findings.push(...geometryFindings(byId, { overlaps, zones, slope }, inp.cfg, (x, y) => toLonLat(x, y) as [number, number]));
  const t2 = performance.now();

  // Evidence chips of both dates for every finding of a project with observations.
  const requests: ChipRequest[] = [];
  const uriOf = new Map(inp.scenes.map((s) => [s.uri.split('/').pop() ?? s.uri, s.uri]));
  for (const f of findings) {
    const p = picks.get(f.xmbh);
    for (const o of [p?.before, p?.after]) if (o) requests.push({ parcel: f.xmbh, scene: uriOf.get(o.scene) ?? o.scene, date: o.date });
  }
  const chips = await renderParcelChips(requests, inp.registerFile, join(inp.outDir, 'chips'));
  for (const f of findings) {
    const p = picks.get(f.xmbh);
    f.chips = [p?.before, p?.after].flatMap((o) => (o && chips.has(`${f.xmbh}|${o.date}`) ? [{ date: o.date, scene: o.scene, path: chips.get(`${f.xmbh}|${o.date}`)! }] : []));
  }
  const t3 = performance.now();

  for (const p of inp.projects) {
    const k = picks.get(p.xmbh)!;
    projects.push({
      xmbh: p.xmbh,
      before: k.before ? { date: k.before.date, scene: k.before.scene } : null,
      after: k.after ? { date: k.after.date, scene: k.after.scene } : null,
      notes: k.notes,
      findings: findings.filter((f) => f.xmbh === p.xmbh).map((f) => f.type),
    });
  }
  await writeFile(join(inp.outDir, 'observations.json'), JSON.stringify(observations, null, 1) + '\n');
  await writeFile(join(inp.outDir, 'findings.json'), JSON.stringify({ findings, projects }, null, 1) + '\n');
  const ms = (a: number, b: number) => Math.round(b - a);
  return { findings, projects, observations, overlaps, zones, slope, timings: { observeMs: ms(t0, t1), geometryMs: ms(t1, t2), chipsMs: ms(t2, t3), totalMs: ms(t0, t3) } };
}
