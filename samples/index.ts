/**
 * Sample county generator: a seeded, deterministic synthetic county on the Jiangsu plain with two
 * 4-band images (before/after), the land-survey baseline and the other vector layers a monitoring
 * run needs, and a truth layer of every planted change and hard case. Generated on demand (never
 * committed), streaming and memory-bounded so it also serves the benchmark at 10 000+ px.
 *
 * Layout lives in layout.ts, rendering in render.ts, spectra in spectra.ts, GeoJSON in vectors.ts.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CHANGE_TYPE_NAMES, type ChangeTypeName, type GeoTransform } from '../pipeline/types.js';
import { ConfigError, VectorError } from '../pipeline/errors.js';
import { CGCS2000, crsFromEpsg, makeTransform } from '../pipeline/geo/crs.js';
import { AFTER_DATE, BEFORE_DATE, CROPLAND, DLMC, HARD_CASE_NAMES, buildLayout, type Layout } from './layout.js';
import { buildRenderIndex, renderImage, SUPERSAMPLE } from './render.js';
import { AFTER_GAIN, AFTER_OFFSET, BANDS } from './spectra.js';
import { GeoJsonWriter, ellipsoidalArea, makeCoordMap, toGeoJsonPolygon, unionRings } from './vectors.js';
import { COMPENSATION_FILES, writeCompensation } from './compensation.js';

export { HARD_CASE_NAMES, type HardCaseName } from './layout.js';

/** Options of {@link generateCounty}, validated with zod. */
export const CountyOptionsSchema = z.object({
  outDir: z.string().min(1).describe('Folder to write into (created if missing); existing files of the same names are replaced.'),
  seed: z.number().int().default(20261123).describe('Random seed: the same seed and size give byte-identical files.'),
  sizePx: z
    .number()
    .int()
    .min(500)
    .max(50_000)
    .default(2000)
    .describe('Scene width and height in pixels (2000 → 4 km × 4 km at 2 m). Rendering streams tile by tile, so 10 000+ works in bounded memory.'),
  pixelSize: z.number().positive().max(30).default(2).describe('Ground sampling distance in metres.'),
  vectors: z.boolean().default(true).describe('Write the GeoJSON layers (baseline, townships, permanent basic farmland, approvals, filings, projects, truth); a benchmark may skip them for huge scenes.'),
  compensation: z
    .boolean()
    .default(true)
    .describe('With vectors: also write the 补充耕地 audit data (register.geojson, history.tif, dem.tif, redline.geojson, quotas.csv, uses.csv, compensation.json; samples/compensation.ts): one more scene to render.'),
  tileSize: z.number().int().min(64).max(4096).multipleOf(16).default(256).describe('GeoTIFF tile size and rendering block in pixels; the pixels do not depend on it.'),
  truthRasters: z
    .boolean()
    .default(false)
    .describe(
      'Also write the true land cover of each date, landcover_truth_before.tif / landcover_truth_after.tif (uint8 LandCover codes of pipeline/types.ts, 0 = no data; per pixel the class of the majority material of its 2×2 subpixels, cloud or shadow where that covers ≥ half the pixel), in each image\'s own frame: an evaluation aid for land-cover models.',
    ),
});
/** Input options (defaults applied by the schema). */
export type CountyOptions = z.input<typeof CountyOptionsSchema>;

const LayerSchema = z.object({ file: z.string(), epsg: z.number().int(), count: z.number().int() });

/** The manifest written to `county.json`. */
export const CountyManifestSchema = z.object({
  version: z.literal(1),
  synthetic: z.literal(true).describe('Made-up county: names and codes look real but describe nothing.'),
  seed: z.number().int(),
  sizePx: z.number().int(),
  pixelSize: z.number(),
  tileSize: z.number().int(),
  supersampling: z.number().int(),
  region: z.object({ code: z.string(), name: z.string(), province: z.string() }),
  regionCode: z.string().describe('6-digit county code (region.code), the prefix of JCBH numbers'),
  files: z
    .object({
      before: z.string(),
      after: z.string(),
      layers: z.record(z.string(), z.string()).describe('Layer file per detection-config layer name (baseline, townships, pbf, approved, filings, projects); empty when vectors is false'),
      truth: z.string().describe('Truth layer file name (written only when vectors is true)'),
      landcoverTruth: z
        .object({ before: z.string(), after: z.string() })
        .optional()
        .describe('True land-cover rasters of both dates (only with truthRasters)'),
      compensation: z
        .object({ register: z.string(), history: z.string(), dem: z.string(), redline: z.string(), quotas: z.string(), uses: z.string(), truth: z.string() })
        .optional()
        .describe('补充耕地 audit data (only with vectors): complete register, pre-project scene, DEM, red line, quota plan, indicator uses, planted truth; see samples/compensation.ts'),
    })
    .describe('File names relative to the county folder'),
  crs: z.object({ epsg: z.number().int(), name: z.string() }),
  lonLatEpsg: z.number().int(),
  transform: z.array(z.number()).length(6),
  bbox: z.object({ minX: z.number(), minY: z.number(), maxX: z.number(), maxY: z.number() }),
  centerLonLat: z.tuple([z.number(), z.number()]),
  images: z.object({
    before: z.object({ file: z.string(), date: z.string() }),
    after: z.object({ file: z.string(), date: z.string() }),
  }),
  bands: z.array(z.string()),
  dtype: z.literal('uint16'),
  scale: z.number().describe('Stored value = reflectance × scale.'),
  nodata: z.number(),
  afterMisregistration: z.object({ dx: z.number().int(), dy: z.number().int(), note: z.string() }),
  radiometry: z.object({ gain: z.array(z.number()), offset: z.array(z.number()), note: z.string() }),
  vectors: z.boolean(),
  layers: z.record(z.string(), LayerSchema),
  townships: z.array(z.object({ XZQDM: z.string(), XZQMC: z.string() })),
  planted: z.object({
    changes: z.record(z.string(), z.number().int()),
    legal: z.number().int(),
    onPbf: z.number().int(),
    hardCases: z.record(z.string(), z.number().int()),
  }),
  notPlanted: z.array(z.object({ type: z.string(), reason: z.string() })),
  projects: z.array(z.object({ XMBH: z.string(), YSRQ: z.string(), idle: z.boolean(), inManagementPeriod: z.boolean() })),
  landuse: z.object({ polygons: z.number().int(), byCode: z.record(z.string(), z.object({ count: z.number().int(), areaHa: z.number() })) }),
  counts: z.object({ houses: z.number().int(), roadsideTrees: z.number().int(), villages: z.number().int(), cells: z.number().int() }),
  truthFrame: z.string(),
});
/** Contents of `county.json`. */
export type CountyManifest = z.infer<typeof CountyManifestSchema>;

/** File names of the true land-cover rasters (option `truthRasters`). */
export const LANDCOVER_TRUTH_FILES = { before: 'landcover_truth_before.tif', after: 'landcover_truth_after.tif' } as const;

/** File name of the manifest inside a generated folder. */
export const MANIFEST_FILE = 'county.json';
/** EPSG:4528 = CGCS2000 / 3-degree Gauss–Krüger zone 40 (central meridian 120°E, eastings prefixed 40). */
export const SAMPLE_EPSG = 4528;
/** Scene centre: Jiangsu, north bank of the Yangtze. */
export const SAMPLE_CENTER_LONLAT: readonly [number, number] = [120.3, 32.0];
const REGION = { code: '321282', name: '靖江市（合成样例）', province: '江苏省' };

/** Georeference of a scene: top-left corner on a 10 m grid, centred on {@link SAMPLE_CENTER_LONLAT}. */
export function sampleTransform(sizePx: number, pixelSize: number): GeoTransform {
  const [cx, cy] = makeTransform(CGCS2000, crsFromEpsg(SAMPLE_EPSG))(SAMPLE_CENTER_LONLAT[0], SAMPLE_CENTER_LONLAT[1]);
  const half = (sizePx * pixelSize) / 2;
  return [Math.round((cx - half) / 10) * 10, pixelSize, 0, Math.round((cy + half) / 10) * 10, 0, -pixelSize];
}

/**
 * Generates the sample county into `outDir`: `before.tif`, `after.tif`, the GeoJSON layers (unless
 * `vectors: false`) and `county.json`, and returns the manifest.
 */
export async function generateCounty(opts: CountyOptions): Promise<CountyManifest> {
  const parsed = CountyOptionsSchema.safeParse(opts);
  if (!parsed.success)
    throw new ConfigError('CONFIG_INVALID', `sample county options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      field: String(parsed.error.issues[0]?.path[0] ?? ''),
    });
  const o = parsed.data;
  await mkdir(o.outDir, { recursive: true });
  const layout = buildLayout({ seed: o.seed, sizePx: o.sizePx, pixelSize: o.pixelSize });
  const transform = sampleTransform(o.sizePx, o.pixelSize);
  const crs = crsFromEpsg(SAMPLE_EPSG);
  const index = buildRenderIndex(layout);
  const common = { transform, crs, tileSize: o.tileSize, seed: o.seed };
  await renderImage(layout, index, {
    ...common,
    date: 0,
    path: join(o.outDir, 'before.tif'),
    truthPath: o.truthRasters ? join(o.outDir, LANDCOVER_TRUTH_FILES.before) : undefined,
    metadata: { ACQUISITION_DATE: BEFORE_DATE, SENSOR: 'synthetic GF-2-like PMS', SOURCE: 'farmwatch samples/generateCounty' },
  });
  await renderImage(layout, index, {
    ...common,
    date: 1,
    path: join(o.outDir, 'after.tif'),
    truthPath: o.truthRasters ? join(o.outDir, LANDCOVER_TRUTH_FILES.after) : undefined,
    metadata: { ACQUISITION_DATE: AFTER_DATE, SENSOR: 'synthetic GF-2-like PMS', SOURCE: 'farmwatch samples/generateCounty' },
  });
  const layers = o.vectors ? await writeVectors(o.outDir, layout, transform) : {};
  // Files of their own beside the county's (nothing above depends on them).
  if (o.vectors && o.compensation) await writeCompensation(o.outDir, layout, transform, o.seed, SAMPLE_EPSG, REGION.code);
  const manifest = buildManifest(o, layout, transform, layers);
  const path = join(o.outDir, MANIFEST_FILE);
  await writeFile(`${path}.partial`, JSON.stringify(manifest, null, 2) + '\n');
  await rename(`${path}.partial`, path);
  return manifest;
}

/** Reads and validates `county.json` from a generated folder. */
export async function readManifest(dir: string): Promise<CountyManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('FILE_NOT_FOUND', `no sample county manifest at ${path}`, { file: path }, { cause: e });
  }
  const res = CountyManifestSchema.safeParse(JSON.parse(text));
  if (!res.success) throw new ConfigError('CONFIG_INVALID', `invalid sample county manifest ${path}: ${res.error.issues[0]?.message}`, { file: path });
  return res.data;
}

type Layers = Record<string, z.infer<typeof LayerSchema>>;

async function writeVectors(dir: string, layout: Layout, transform: GeoTransform): Promise<Layers> {
  const X0 = transform[0];
  const Y0 = transform[3];
  const toLonLat = makeTransform(crsFromEpsg(SAMPLE_EPSG), CGCS2000);
  const gk = makeCoordMap(X0, Y0, 2);
  const ll = makeCoordMap(X0, Y0, 9, toLonLat);
  const llRaw = makeCoordMap(X0, Y0, 12, toLonLat);
  const layers: Layers = {};
  const open = (name: string, epsg: number) => new GeoJsonWriter(join(dir, `${name}.geojson`), name, epsg);
  const done = async (name: string, w: GeoJsonWriter, epsg: number) => {
    await w.close();
    layers[name] = { file: `${name}.geojson`, epsg, count: w.count };
  };
  const poly = (p: number[][][]) => ({ type: 'Polygon' as const, coordinates: p });
  const bsm = (id: number) => `${REGION.code}${String(id + 1).padStart(9, '0')}`;

  // Baseline survey.
  let w = open('landuse', SAMPLE_EPSG);
  for (const p of layout.parcels) {
    const t = layout.townships[p.township];
    await w.add(
      {
        BSM: bsm(p.id),
        DLBM: p.dlbm,
        DLMC: DLMC[p.dlbm],
        TBMJ: Math.round(ellipsoidalArea(toGeoJsonPolygon([p.ring], llRaw)) * 100) / 100,
        XZQDM: t.code,
        XZQMC: t.name,
        ZLDWMC: layout.villages[p.village].name,
      },
      poly(toGeoJsonPolygon([p.ring], gk)),
    );
  }
  await done('landuse', w, SAMPLE_EPSG);

  // Townships: union of their cells, in longitude/latitude.
  w = open('townships', 4490);
  for (const t of layout.townships) {
    const parts = unionRings(t.cells.map((c) => layout.cells[c].ring));
    if (!parts.length) throw new VectorError('VECTOR_INVALID', `township ${t.name} is empty`, { field: 'XZQDM' });
    const coords = parts.map((pp) => toGeoJsonPolygon(pp, ll));
    await w.add({ XZQDM: t.code, XZQMC: t.name }, coords.length === 1 ? poly(coords[0]) : { type: 'MultiPolygon', coordinates: coords });
  }
  await done('townships', w, 4490);

  // Permanent basic farmland: one polygon per protected parcel.
  w = open('pbf', SAMPLE_EPSG);
  let seq = 0;
  for (const p of layout.parcels)
    if (p.pbf && CROPLAND.has(p.dlbm))
      await w.add(
        { JBNTTBBH: `${layout.townships[p.township].code}${String(++seq).padStart(5, '0')}`, DLBM: p.dlbm, XZQDM: layout.townships[p.township].code, MJ: Math.round(p.area * 100) / 100 },
        poly(toGeoJsonPolygon([p.ring], gk)),
      );
  await done('pbf', w, SAMPLE_EPSG);

  w = open('approved', 4490);
  for (const a of layout.approvals)
    await w.add({ PZWH: a.PZWH, PC: a.PC, PZRQ: a.PZRQ, XMMC: a.XMMC, PZMJ: Math.round(Math.abs(ringAreaOf(a.ring)) * 100) / 100 }, poly(toGeoJsonPolygon([a.ring], ll)));
  await done('approved', w, 4490);

  w = open('filings', SAMPLE_EPSG);
  for (const f of layout.filings) await w.add({ BABH: f.BABH, XMMC: f.XMMC, BARQ: f.BARQ, MJ: Math.round(Math.abs(ringAreaOf(f.ring)) * 100) / 100 }, poly(toGeoJsonPolygon([f.ring], gk)));
  await done('filings', w, SAMPLE_EPSG);

  w = open('projects', SAMPLE_EPSG);
  for (const p of layout.projects) {
    const parcel = layout.parcels[p.parcel];
    await w.add({ XMBH: p.XMBH, XMMC: p.XMMC, YSRQ: p.YSRQ, XZGDMJ: p.XZGDMJ, XZQDM: layout.townships[parcel.township].code, DLBM: parcel.dlbm }, poly(toGeoJsonPolygon([parcel.ring], gk)));
  }
  await done('projects', w, SAMPLE_EPSG);

  w = open('truth', SAMPLE_EPSG);
  for (const t of layout.truth) {
    const props: Record<string, unknown> = { id: t.id, kind: t.kind, type: t.type, legal: t.legal, approval: t.approval, onPbf: t.onPbf };
    if (t.hardCase) props.hardCase = t.hardCase;
    props.detail = t.detail;
    props.area = Math.round(t.area * 100) / 100;
    props.parcelBSM = t.parcel === null ? null : bsm(t.parcel);
    await w.add(props, poly(toGeoJsonPolygon(t.poly, gk)));
  }
  await done('truth', w, SAMPLE_EPSG);
  return layers;
}

const ringAreaOf = (r: [number, number][]): number => {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return a / 2;
};

function buildManifest(o: z.output<typeof CountyOptionsSchema>, layout: Layout, transform: GeoTransform, layers: Layers): CountyManifest {
  const W = o.sizePx * o.pixelSize;
  const changes: Record<string, number> = {};
  for (const n of CHANGE_TYPE_NAMES) changes[n] = 0;
  const hardCases: Record<string, number> = {};
  for (const n of HARD_CASE_NAMES) hardCases[n] = 0;
  let legal = 0;
  let onPbf = 0;
  for (const t of layout.truth) {
    if (t.kind === 'change') {
      changes[t.type as ChangeTypeName]++;
      if (t.legal) legal++;
      if (t.onPbf) onPbf++;
    } else hardCases[t.hardCase!]++;
  }
  const byCode: Record<string, { count: number; areaHa: number }> = {};
  for (const p of layout.parcels) {
    const e = (byCode[p.dlbm] ??= { count: 0, areaHa: 0 });
    e.count++;
    e.areaHa += p.area / 10_000;
  }
  for (const e of Object.values(byCode)) e.areaHa = Math.round(e.areaHa * 100) / 100;
  return {
    version: 1,
    synthetic: true,
    seed: o.seed,
    sizePx: o.sizePx,
    pixelSize: o.pixelSize,
    tileSize: o.tileSize,
    supersampling: SUPERSAMPLE,
    region: REGION,
    regionCode: REGION.code,
    files: {
      before: 'before.tif',
      after: 'after.tif',
      layers: o.vectors
        ? { baseline: 'landuse.geojson', townships: 'townships.geojson', pbf: 'pbf.geojson', approved: 'approved.geojson', filings: 'filings.geojson', projects: 'projects.geojson' }
        : {},
      truth: 'truth.geojson',
      ...(o.truthRasters ? { landcoverTruth: { ...LANDCOVER_TRUTH_FILES } } : {}),
      ...(o.vectors && o.compensation ? { compensation: { ...COMPENSATION_FILES } } : {}),
    },
    crs: { epsg: SAMPLE_EPSG, name: 'CGCS2000 / 3-degree Gauss-Kruger zone 40' },
    lonLatEpsg: 4490,
    transform: [...transform],
    bbox: { minX: transform[0], minY: transform[3] - W, maxX: transform[0] + W, maxY: transform[3] },
    centerLonLat: [SAMPLE_CENTER_LONLAT[0], SAMPLE_CENTER_LONLAT[1]],
    images: { before: { file: 'before.tif', date: BEFORE_DATE }, after: { file: 'after.tif', date: AFTER_DATE } },
    bands: [...BANDS],
    dtype: 'uint16',
    scale: 10000,
    nodata: 0,
    afterMisregistration: {
      dx: layout.shift.dx,
      dy: layout.shift.dy,
      note: 'after.tif content is displaced relative to its georeference: ground shown at before-pixel (c, r) appears at after-pixel (c + dx, r + dy)',
    },
    radiometry: {
      gain: [...AFTER_GAIN],
      offset: [...AFTER_OFFSET],
      note: 'after reflectance = ground reflectance × gain + offset per band (haze adds most to blue), on top of the phenology change',
    },
    vectors: o.vectors,
    layers,
    townships: layout.townships.map((t) => ({ XZQDM: t.code, XZQMC: t.name })),
    planted: { changes, legal, onPbf, hardCases },
    notPlanted: [
      {
        type: 'outflow_grass',
        reason: 'grass is spectrally a crop (and a weedy idle field) at 2 m in two dates; a planted example would only test noise, so none is planted',
      },
    ],
    projects: layout.projects.map((p) => ({ XMBH: p.XMBH, YSRQ: p.YSRQ, idle: p.idle, inManagementPeriod: p.inManagementPeriod })),
    landuse: { polygons: layout.parcels.length, byCode },
    counts: { houses: layout.counts.houses, roadsideTrees: layout.counts.trees, villages: layout.villages.length, cells: layout.cells.length },
    truthFrame:
      'change, harvest, seasonal_shift, preexisting and non_cropland_change polygons are ground positions (the before image frame); cloud, shadow and nodata_edge polygons are in the after image frame; where a change lies in a seasonal_shift parcel, the change wins',
  };
}

/**
 * The scene, layer and truth part of a detection config for a generated county in `dir`, so the
 * demo, the tests and the benchmark run a county the same way.
 */
export function countyRunInput(dir: string, m: CountyManifest) {
  const f = (name: string) => join(dir, name);
  return {
    before: { uri: f(m.files.before) },
    after: { uri: f(m.files.after) },
    layers: Object.fromEntries(Object.entries(m.files.layers).map(([k, v]) => [k, f(v as string)])),
    ...(m.files.truth ? { truth: f(m.files.truth) } : {}),
    regionCode: m.regionCode,
  };
}
