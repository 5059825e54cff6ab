/**
 * Compensation-farmland (补充耕地) audit data for the sample county (issue 8, item 5), generated as
 * files beside the county's own, never changing them:
 *
 * - `register.geojson`: the complete project register (type, claimed area with paddy/dry split,
 *   立项/开工/验收/入库 dates, township) — the county's three idle-monitoring projects plus planted
 *   audit projects: honest ones (a pond and a construction site turned into cropland), fakes (land
 *   that was already cropland; an orchard that is still an orchard; a fallow field where nothing was
 *   done), an overlapping pair, one on a steep hill and one reaching into an ecological red line;
 * - `history.tif`: a scene of {@link HISTORY_DATE}, before every audited project started: the county
 *   as in the before image except on project parcels, which show what they were (pond water, a
 *   construction site, or unchanged where the project is fake);
 * - `dem.tif`: a 5 m DEM (float32, EPSG:4528) of the plain with one conical hill (35° flanks) under
 *   the steep project;
 * - `redline.geojson`: the 生态保护红线 layer;
 * - `quotas.csv`: the 2023–2025 plan per township; `uses.csv`: indicator uses (核销出库);
 * - `compensation.json`: the planted truth — each project's role and the findings it must raise,
 *   with their areas computed exactly from the geometry.
 *
 * Parcels are chosen from the finished layout by their layout attributes (class, crop state, size,
 * distance to each other) with an RNG stream of their own, so nothing else in the county moves.
 */
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CGCS2000, crsFromEpsg, makeTransform } from '../pipeline/geo/crs.js';
import { MU_PER_M2 } from '../pipeline/geo/area.js';
import { createGeoTiffWriter } from '../pipeline/imagery/geotiff-writer.js';
import type { GeoTransform } from '../pipeline/types.js';
import { bboxGap, bboxOf, clipConvex, ringArea, ringCentroid, type BBox4, type Ring } from './geom.js';
import { CS, P, type Feature, type LandParcel, type Layout } from './layout.js';
import { buildRenderIndex, renderImage } from './render.js';
import { Rng } from './rng.js';
import { GeoJsonWriter, ellipsoidalArea, makeCoordMap, toGeoJsonPolygon } from './vectors.js';

/** Acquisition date of `history.tif`: spring, like the before image, years before the audited projects started. */
export const HISTORY_DATE = '2021-04-16';
/** DEM pixel size, metres. */
export const DEM_PIXEL_M = 5;
/** Flank slope of the planted hill, degrees. */
export const HILL_SLOPE_DEG = 35;
/** Name of the protected-zone layer written to redline.geojson. */
export const REDLINE_ZONE = '生态保护红线';

export const COMPENSATION_FILES = {
  register: 'register.geojson',
  history: 'history.tif',
  dem: 'dem.tif',
  redline: 'redline.geojson',
  quotas: 'quotas.csv',
  uses: 'uses.csv',
  truth: 'compensation.json',
} as const;

/** What a planted project is for. */
export type AuditRole = 'idle_project' | 'honest' | 'existing_cropland' | 'still_orchard' | 'no_works' | 'overlap_first' | 'overlap_second' | 'steep' | 'redline';

/** What a parcel showed before its project, in `history.tif`. */
type History = 'water' | 'built' | 'unchanged';

/** One finding a planted project must raise. */
export interface PlantedFinding {
  type: string;
  /** Exact area of the finding (m², GK-planar, within 0.01 % of ellipsoidal here). */
  areaM2: number;
  /** The other project of an overlap, or the zone layer. */
  subject?: string;
}

export interface PlantedProject {
  XMBH: string;
  role: AuditRole;
  XMLX: string;
  XZQDM: string;
  XZQMC: string;
  XZGDMJ: number;
  XZSTMJ: number;
  XZHDMJ: number;
  LXRQ: string;
  KGRQ: string;
  YSRQ: string;
  RKRQ: string | null;
  DLBM: string;
  history: History;
  /** Register row (feature index in register.geojson). */
  row: number;
  findings: PlantedFinding[];
}

export interface CompensationTruth {
  historyDate: string;
  demPixelM: number;
  hillSlopeDeg: number;
  zone: string;
  projects: PlantedProject[];
  quotas: { XZQDM: string; XZQMC: string; year: number; targetMu: number; paddyTargetMu: number }[];
  uses: { HXBH: string; XMBH: string; date: string; areaMu: number; paddyMu: number; purpose: string }[];
  /** Roles for which the county had no suitable parcel left (small counties). */
  notPlanted: string[];
}

interface Pick {
  parcel: LandParcel;
  ring: Ring;
  role: AuditRole;
  XMLX: string;
  history: History;
  dates: [string, string, string, string | null];
  /** Share of the claimed area that is paddy. */
  paddyShare: number;
}

const r2 = (v: number) => Math.round(v * 100) / 100;
const addDays = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * Chooses the audit projects and writes every compensation file into `dir`.
 * @returns the planted truth (also written to compensation.json).
 */
export async function writeCompensation(dir: string, layout: Layout, transform: GeoTransform, seed: number, epsg: number, regionCode: string): Promise<CompensationTruth> {
  const rng = new Rng(seed, 'compensation');
  const used: BBox4[] = layout.projects.map((p) => bboxOf([layout.parcels[p.parcel].ring]));
  const free = (b: BBox4, gap: number) => used.every((u) => bboxGap(u, b) >= gap);
  const cands = (pred: (p: LandParcel) => boolean) =>
    rng.shuffle(layout.parcels.filter((p) => !p.clipped && !p.reserved && p.area >= 2500 && p.area <= 20_000 && pred(p)));
  const greenCrop = (p: LandParcel) => p.crop !== null && (p.crop.before === CS.wheatGreen || p.crop.before === CS.vegA);
  const notPlanted: string[] = [];
  const choose = (pred: (p: LandParcel) => boolean, gap: number, what: AuditRole): LandParcel | null => {
    const p = cands(pred).find((c) => free(bboxOf([c.ring]), gap)) ?? null;
    if (!p) notPlanted.push(what);
    else used.push(bboxOf([p.ring]));
    return p;
  };

  const picks: Pick[] = [];
  // The steep project first: its hill needs room (no other project on its flanks).
  const steep = cands(greenCrop).find((c) => {
    const h = hillOf(c.ring);
    return free([h.cx - h.R, h.cy - h.R, h.cx + h.R, h.cy + h.R], 40);
  }) ?? null;
  if (!steep) notPlanted.push('steep');
  const hill = steep ? hillOf(steep.ring) : null;
  if (steep && hill) used.push(bboxOf([steep.ring]), [hill.cx - hill.R, hill.cy - hill.R, hill.cx + hill.R, hill.cy + hill.R]);
  const red = choose(greenCrop, 100, 'redline');
  const redline = red ? redlineOf(red.ring) : null;
  if (redline) used.push(bboxOf([redline]));
  const honestPond = choose(greenCrop, 40, 'honest');
  const honestBuilt = choose(greenCrop, 40, 'honest');
  const existing = choose(greenCrop, 40, 'existing_cropland');
  const orchard = choose((p) => p.dlbm === '0201', 40, 'still_orchard');
  const fallow = choose((p) => p.crop !== null && p.crop.before === CS.fallow, 40, 'no_works');
  const ov = choose(greenCrop, 40, 'overlap_first');
  const paddy = (p: LandParcel) => (p.dlbm === '0101' ? 1 : 0);
  const add = (parcel: LandParcel | null, k: Omit<Pick, 'parcel' | 'ring' | 'paddyShare'> & { ring?: Ring; paddyShare?: number }) => {
    if (parcel) picks.push({ parcel, ring: k.ring ?? parcel.ring, paddyShare: k.paddyShare ?? paddy(parcel), ...k } as Pick);
  };
  add(honestPond, { role: 'honest', XMLX: '坑塘复垦', history: 'water', dates: ['2022-03-01', '2022-05-10', '2023-04-20', '2023-06-30'], paddyShare: 0.6 });
  add(honestBuilt, { role: 'honest', XMLX: '建设用地复垦', history: 'built', dates: ['2022-09-01', '2022-11-15', '2023-10-10', '2023-12-15'] });
  add(existing, { role: 'existing_cropland', XMLX: '坑塘复垦', history: 'unchanged', dates: ['2023-02-01', '2023-04-01', '2024-03-15', '2024-05-20'] });
  add(orchard, { role: 'still_orchard', XMLX: '未利用地开发', history: 'unchanged', dates: ['2023-05-01', '2023-07-01', '2024-06-01', '2024-08-01'], paddyShare: 0 });
  add(fallow, { role: 'no_works', XMLX: '未利用地开发', history: 'unchanged', dates: ['2023-08-01', '2023-10-01', '2024-09-15', '2024-11-01'], paddyShare: 0 });
  add(ov, { role: 'overlap_first', XMLX: '坑塘复垦', history: 'water', dates: ['2022-04-01', '2022-06-01', '2023-05-15', '2023-07-01'] });
  if (ov) add(ov, { role: 'overlap_second', ring: halfOf(ov.ring), XMLX: '坑塘复垦', history: 'water', dates: ['2024-01-10', '2024-03-01', '2025-01-20', '2025-03-01'] });
  add(steep, { role: 'steep', XMLX: '建设用地复垦', history: 'built', dates: ['2023-03-01', '2023-05-01', '2024-04-10', '2024-06-10'] });
  add(red, { role: 'redline', XMLX: '坑塘复垦', history: 'water', dates: ['2024-02-01', '2024-04-01', '2025-03-10', null] });

  const X0 = transform[0];
  const Y0 = transform[3];
  const toLonLat = makeTransform(crsFromEpsg(epsg), CGCS2000);
  const gk = makeCoordMap(X0, Y0, 2);
  const llRaw = makeCoordMap(X0, Y0, 12, toLonLat);
  const areaOf = (ring: Ring) => ellipsoidalArea(toGeoJsonPolygon([ring], llRaw));

  // The register: the county's own projects first (their history follows their type), then the planted ones.
  const projects: PlantedProject[] = [];
  const geoms: Ring[] = [];
  const histories = new Map<number, History>();
  const typeOf = (xmmc: string) => (['坑塘复垦', '建设用地复垦', '未利用地开发'].find((t) => xmmc.includes(t)) ?? '土地整理');
  const HIST: Record<string, History> = { 坑塘复垦: 'water', 建设用地复垦: 'built', 未利用地开发: 'unchanged', 土地整理: 'unchanged' };
  for (const p of layout.projects) {
    const parcel = layout.parcels[p.parcel];
    const t = layout.townships[parcel.township];
    const kgrq = addDays(p.YSRQ, -270);
    const claimed = r2(areaOf(parcel.ring));
    const xmlx = typeOf(p.XMMC);
    histories.set(parcel.feature, HIST[xmlx]);
    projects.push({
      XMBH: p.XMBH, role: 'idle_project', XMLX: xmlx, XZQDM: t.code, XZQMC: t.name, XZGDMJ: claimed, XZSTMJ: parcel.dlbm === '0101' ? claimed : 0, XZHDMJ: parcel.dlbm === '0101' ? 0 : claimed,
      LXRQ: addDays(kgrq, -90), KGRQ: kgrq, YSRQ: p.YSRQ, RKRQ: addDays(p.YSRQ, 60), DLBM: parcel.dlbm, history: HIST[xmlx], row: projects.length, findings: [],
    });
    geoms.push(parcel.ring);
  }
  picks.forEach((k, i) => {
    const t = layout.townships[k.parcel.township];
    const year = k.dates[0].slice(0, 4);
    const claimed = r2(areaOf(k.ring));
    const paddyM2 = r2(claimed * k.paddyShare);
    if (k.role !== 'overlap_second') histories.set(k.parcel.feature, k.history);
    const xmbh = `${regionCode}${year}BC${String(101 + i)}`;
    projects.push({
      XMBH: xmbh, role: k.role, XMLX: k.XMLX, XZQDM: t.code, XZQMC: t.name, XZGDMJ: claimed, XZSTMJ: paddyM2, XZHDMJ: r2(claimed - paddyM2),
      LXRQ: k.dates[0], KGRQ: k.dates[1], YSRQ: k.dates[2], RKRQ: k.dates[3], DLBM: k.paddyShare > 0 ? '0101' : k.parcel.dlbm === '0201' ? '0103' : k.parcel.dlbm,
      history: k.history, row: projects.length, findings: [],
    });
    geoms.push(k.ring);
  });
  // Planted findings, with exact areas.
  const byRole = (r: AuditRole) => projects.filter((p) => p.role === r);
  const parcelArea = (p: PlantedProject) => r2(areaOf(geoms[p.row]));
  for (const p of byRole('existing_cropland')) p.findings.push({ type: 'compensation_existing_cropland', areaM2: parcelArea(p) });
  for (const p of byRole('still_orchard')) p.findings.push({ type: 'compensation_still_woody', areaM2: parcelArea(p) });
  for (const p of byRole('no_works')) p.findings.push({ type: 'compensation_no_works', areaM2: parcelArea(p) });
  const first = byRole('overlap_first')[0];
  for (const p of byRole('overlap_second')) p.findings.push({ type: 'compensation_overlap', areaM2: parcelArea(p), subject: first.XMBH });
  for (const p of byRole('steep')) p.findings.push({ type: 'compensation_steep_slope', areaM2: parcelArea(p) });
  for (const p of byRole('redline')) p.findings.push({ type: 'compensation_protected_zone', areaM2: r2(areaOf(clipConvex(geoms[p.row], redline!))), subject: REDLINE_ZONE });

  let w = new GeoJsonWriter(join(dir, COMPENSATION_FILES.register), 'register', epsg);
  for (const p of projects) {
    const { role: _r, history: _h, row: _w, findings: _f, ...props } = p;
    await w.add({ ...props, XMMC: `${p.XZQMC}${p.XMLX}补充耕地项目(${p.XMBH.slice(-5)})` }, { type: 'Polygon', coordinates: toGeoJsonPolygon([geoms[p.row]], gk) });
  }
  await w.close();
  w = new GeoJsonWriter(join(dir, COMPENSATION_FILES.redline), 'redline', epsg);
  if (red && redline) await w.add({ HXBH: `${regionCode}STHX001`, HXMC: `${layout.townships[red.township].name}湿地生态保护红线`, LX: REDLINE_ZONE }, { type: 'Polygon', coordinates: toGeoJsonPolygon([redline], gk) });
  await w.close();

  // Quotas 2023–2025 for every township; uses of three projects' indicators.
  const quotas = layout.townships.flatMap((t, i) =>
    [2023, 2024, 2025].map((year) => {
      const targetMu = 5 * (1 + ((i + year) % 4));
      return { XZQDM: t.code, XZQMC: t.name, year, targetMu, paddyTargetMu: Math.round(targetMu * 0.4 * 2) / 2 };
    }),
  );
  await atomicText(join(dir, COMPENSATION_FILES.quotas), ['乡镇代码,乡镇名称,年度,新增耕地任务(亩),新增水田任务(亩)', ...quotas.map((q) => `${q.XZQDM},${q.XZQMC},${q.year},${q.targetMu},${q.paddyTargetMu}`)].join('\n') + '\n');
  const honest = byRole('honest');
  const fake = byRole('existing_cropland');
  const uses = [
    ...(honest[0] ? [{ HXBH: `${regionCode}HX2024001`, XMBH: honest[0].XMBH, date: '2024-03-01', areaMu: 3, paddyMu: honest[0].XZSTMJ > 0 ? 1.5 : 0, purpose: '县道改建工程' }] : []),
    ...(honest[1] ? [{ HXBH: `${regionCode}HX2024002`, XMBH: honest[1].XMBH, date: '2024-07-15', areaMu: 2, paddyMu: 0, purpose: '工业园区标准厂房' }] : []),
    ...(fake[0] ? [{ HXBH: `${regionCode}HX2025001`, XMBH: fake[0].XMBH, date: '2025-04-01', areaMu: 4, paddyMu: 0, purpose: '农村居民点建设' }] : []),
  ];
  await atomicText(join(dir, COMPENSATION_FILES.uses), ['核销编号,项目编号,核销日期,核销面积(亩),其中水田(亩),用途', ...uses.map((u) => `${u.HXBH},${u.XMBH},${u.date},${u.areaMu},${u.paddyMu},${u.purpose}`)].join('\n') + '\n');

  await renderHistory(join(dir, COMPENSATION_FILES.history), layout, histories, transform, epsg, seed);
  await writeDem(join(dir, COMPENSATION_FILES.dem), layout, hill, transform, epsg);

  const truth: CompensationTruth = { historyDate: HISTORY_DATE, demPixelM: DEM_PIXEL_M, hillSlopeDeg: HILL_SLOPE_DEG, zone: REDLINE_ZONE, projects, quotas, uses, notPlanted };
  await atomicText(join(dir, COMPENSATION_FILES.truth), JSON.stringify(truth, null, 1) + '\n');
  return truth;
}

async function atomicText(path: string, text: string): Promise<void> {
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}

/** The part of a convex ring west of its centroid's vertical (u) line: an overlapping booking of about half the parcel. */
function halfOf(ring: Ring): Ring {
  const [cx] = ringCentroid(ring);
  const b = bboxOf([ring]);
  const clip: Ring = [
    [b[0] - 1, b[1] - 1],
    [cx, b[1] - 1],
    [cx, b[3] + 1],
    [b[0] - 1, b[3] + 1],
  ];
  return clipConvex(ring, ringArea(clip) >= 0 ? clip : [...clip].reverse());
}

/** A red-line block over the eastern 40 % of the parcel and 80 m of land beyond it on three sides. */
function redlineOf(ring: Ring): Ring {
  const b = bboxOf([ring]);
  const x = b[0] + 0.6 * (b[2] - b[0]);
  return [
    [x, b[1] - 80],
    [b[2] + 80, b[1] - 80],
    [b[2] + 80, b[3] + 80],
    [x, b[3] + 80],
  ];
}

/** A cone whose flanks (35°) cover the whole parcel: apex west of it, radius reaching past it. */
function hillOf(ring: Ring): { cx: number; cy: number; R: number; H: number } {
  const b = bboxOf([ring]);
  const [, cy] = ringCentroid(ring);
  const cx = b[0] - 25;
  let far = 0;
  for (const [u, v] of ring) far = Math.max(far, Math.hypot(u - cx, v - cy));
  const R = far + 25;
  return { cx, cy, R, H: R * Math.tan((HILL_SLOPE_DEG * Math.PI) / 180) };
}

/** The before-date world with each project parcel shown as it was before its project. */
async function renderHistory(path: string, layout: Layout, histories: ReadonlyMap<number, History>, transform: GeoTransform, epsg: number, seed: number): Promise<void> {
  const base = layout.base.slice();
  for (const [fi, h] of histories) {
    if (h === 'unchanged') continue;
    const f = base[fi];
    const g: Feature = { ...f, prog: h === 'water' ? P.water : P.industrial, mat0: h === 'water' ? 1 : 0, mat1: h === 'water' ? 1 : 0, p0: 0, p1: 0, p2: 0, p3: 0, p4: 0, p5: 0, line: null, line2: null };
    base[fi] = g;
  }
  const hist: Layout = { ...layout, base };
  await renderImage(hist, buildRenderIndex(hist), {
    date: 0,
    path,
    transform,
    crs: crsFromEpsg(epsg),
    tileSize: 256,
    seed: (seed ^ 0x2021) | 0,
    metadata: { ACQUISITION_DATE: HISTORY_DATE, SENSOR: 'synthetic GF-2-like PMS', SOURCE: 'farmwatch samples/writeCompensation (pre-project scene)' },
  });
}

/** A 5 m float32 DEM of the scene: a plain at 3–5 m with the conical hill. */
async function writeDem(path: string, layout: Layout, hill: { cx: number; cy: number; R: number; H: number } | null, transform: GeoTransform, epsg: number): Promise<void> {
  const n = Math.ceil((layout.sizePx * layout.pixelSize) / DEM_PIXEL_M);
  const T = 256;
  const writer = await createGeoTiffWriter(path, {
    width: n,
    height: n,
    bandCount: 1,
    dtype: 'float32',
    tileSize: T,
    transform: [transform[0], DEM_PIXEL_M, 0, transform[3], 0, -DEM_PIXEL_M],
    crs: crsFromEpsg(epsg),
    nodata: -9999,
    bandDescriptions: ['elevation'],
    metadata: { UNITS: 'metre', SOURCE: 'farmwatch samples/writeCompensation (synthetic DEM)' },
  });
  try {
    for (let tr = 0; tr * T < n; tr++)
      for (let tc = 0; tc * T < n; tc++) {
        const z = new Float32Array(T * T).fill(-9999);
        for (let r = 0; r < T && tr * T + r < n; r++)
          for (let c = 0; c < T && tc * T + c < n; c++) {
            const u = (tc * T + c + 0.5) * DEM_PIXEL_M;
            const v = (tr * T + r + 0.5) * DEM_PIXEL_M;
            const d = hill ? Math.hypot(u - hill.cx, v - hill.cy) : Infinity;
            z[r * T + c] = 3 + (2 * u) / (layout.sizePx * layout.pixelSize) + (hill && d < hill.R ? hill.H * (1 - d / hill.R) : 0);
          }
        await writer.writeTile(tc, tr, [z]);
      }
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** 亩 of m² (for messages). */
export const mu = (m2: number) => m2 * MU_PER_M2;
