/**
 * A sample year for idle / non-grain monitoring: a grid of small fields on the Jiangsu plain seen on
 * twelve dates of one year (4-band uint16 GeoTIFFs like the two-date county's), each field following
 * a crop calendar — single rice, maize, wheat + rice double cropping, idle bare or idle weedy, and
 * conversions to a fish pond, plastic greenhouses or a tree nursery during the year. Clouds and their
 * shadows hide parcels on single dates, and a 梅雨 (plum-rain) cloud bank sits over one corner from
 * mid-June to early August, so the parcels under it lack the summer observations a decision needs.
 *
 * Written: `year_<date>.tif` per date, `parcels.geojson` (every field, with its truth), the 补充耕地
 * register `projects.geojson` (a subset, with acceptance dates), `year.json` (manifest and truth).
 * Deterministic for a seed; small (640 px) so a test generates it in seconds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import { crsFromEpsg } from '../pipeline/geo/crs.js';
import { writeGeoTiff } from '../pipeline/imagery/geotiff-writer.js';
import type { Grid } from '../pipeline/types.js';
import { SAMPLE_EPSG, sampleTransform } from './index.js';
import { gauss, hash3, Rng, unit, vnoise } from './rng.js';
import * as S from './spectra.js';

/** Acquisition dates of the sample year (≈ 25-day revisit, as a tasked GF-1/GF-6 series gives). */
export const YEAR_DATES = [
  '2026-01-18', '2026-03-08', '2026-04-02', '2026-04-27', '2026-05-22', '2026-06-16',
  '2026-07-11', '2026-08-05', '2026-08-30', '2026-09-24', '2026-10-19', '2026-11-13',
] as const;

/** Dates the plum-rain cloud bank covers its corner of the scene. */
export const MEIYU_DATES = ['2026-06-16', '2026-07-11', '2026-08-05'] as const;

/** What a field does during the year (ground truth). */
export const FIELD_KINDS = ['rice', 'maize', 'wheat_rice', 'idle_bare', 'idle_weedy', 'to_pond', 'to_greenhouse', 'to_nursery'] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

/** The truth class a monitor should report for a kind. */
export const EXPECTED: Readonly<Record<FieldKind, 'cultivated' | 'idle' | 'non_grain'>> = {
  rice: 'cultivated',
  maize: 'cultivated',
  wheat_rice: 'cultivated',
  idle_bare: 'idle',
  idle_weedy: 'idle',
  to_pond: 'non_grain',
  to_greenhouse: 'non_grain',
  to_nursery: 'non_grain',
};

export const YearOptionsSchema = z.object({
  outDir: z.string().min(1).describe('Folder to write into (created if missing).'),
  seed: z.number().int().default(20260101).describe('Random seed; the same seed gives the same files.'),
  sizePx: z.number().int().min(320).max(2000).default(640).describe('Scene width and height in pixels (2 m each).'),
});
export type YearOptions = z.input<typeof YearOptionsSchema>;

export interface YearField {
  /** Parcel number, `P0001`… */
  id: string;
  kind: FieldKind;
  expected: 'cultivated' | 'idle' | 'non_grain';
  /** Pixel box [col0, row0, col1, row1) of the field. */
  box: [number, number, number, number];
  /** XMBH when the field is a 补充耕地 project, else null. */
  project: string | null;
  /** Acceptance date of the project (care period = 5 years from it). */
  ysrq: string | null;
  /** Dates on which ≥ half of the field lies under cloud or cloud shadow. */
  hiddenOn: string[];
  /** True when the plum-rain bank hides the field on every one of its dates. */
  meiyuHidden: boolean;
}

export interface YearManifest {
  version: 1;
  synthetic: true;
  seed: number;
  sizePx: number;
  pixelSize: number;
  epsg: number;
  regionCode: string;
  dates: string[];
  scenes: { date: string; file: string }[];
  files: { parcels: string; projects: string };
  fields: YearField[];
}

const REGION_CODE = '321282';
const XZQDM = '321282101';
const FIELD_W = 30;
const FIELD_H = 24;
const GAP = 2;

const doy = (d: string) => (Date.parse(d) - Date.parse(d.slice(0, 4) + '-01-01')) / 86_400_000;
/** Smooth step from 0 (day a) to 1 (day b). */
const ramp = (t: number, a: number, b: number) => (t <= a ? 0 : t >= b ? 1 : (t - a) / (b - a));

type Spec = readonly number[];
const mix = (parts: [Spec, number][]): number[] => {
  const o = [0, 0, 0, 0];
  let w = 0;
  for (const [s, k] of parts) {
    for (let b = 0; b < 4; b++) o[b] += s[b] * k;
    w += k;
  }
  return o.map((v) => v / (w || 1));
};

/**
 * Cover of a field on day-of-year t: green fraction, ripening fraction, stubble, water (flooded
 * paddy) — the rest is soil. Calendars of the lower Yangtze plain: wheat heads in April and is cut
 * late May; rice is transplanted into flooded paddies mid-June, peaks August, is cut mid-October;
 * summer maize is sown in June and harvested late September.
 */
function cropState(kind: FieldKind, t: number, jitter: number): { green: number; ripe: number; stubble: number; water: number; weeds: number } {
  const z = { green: 0, ripe: 0, stubble: 0, water: 0, weeds: 0 };
  const rice = (s: typeof z) => {
    const t0 = 160 + jitter; // transplanting ≈ 9 June
    if (t < t0) return s;
    s.water = Math.max(0, 0.7 - 0.7 * ramp(t, t0 + 10, t0 + 45));
    s.green = 0.12 + 0.83 * ramp(t, t0 + 5, t0 + 55);
    const ripen = ramp(t, 255 + jitter, 285 + jitter);
    s.ripe = s.green * ripen;
    s.green *= 1 - ripen;
    if (t > 288 + jitter) return { ...z, stubble: 0.7 };
    return s;
  };
  switch (kind) {
    case 'rice':
      return rice({ ...z, weeds: t < 150 ? 0.25 : 0 });
    case 'maize': {
      const t0 = 165 + jitter;
      if (t < t0) return { ...z, weeds: 0.2 };
      if (t > 268 + jitter) return { ...z, stubble: 0.6 };
      const g = 0.9 * ramp(t, t0 + 10, t0 + 55);
      const ripen = ramp(t, 245 + jitter, 265 + jitter);
      return { ...z, green: g * (1 - ripen), ripe: g * ripen };
    }
    case 'wheat_rice':
    case 'to_pond':
    case 'to_greenhouse': {
      if (t < 150 + jitter) {
        // Winter wheat: tillering in winter, full cover March–April, ripening May.
        const g = t < 40 ? 0.45 : 0.45 + 0.5 * ramp(t, 40, 85);
        const ripen = ramp(t, 125 + jitter, 145 + jitter);
        return { ...z, green: g * (1 - ripen), ripe: g * ripen };
      }
      return kind === 'wheat_rice' ? rice({ ...z, stubble: t < 160 + jitter ? 0.7 : 0 }) : z;
    }
    case 'idle_bare':
      // Abandoned and kept bare (or sprayed): sparse weeds at most.
      return { ...z, weeds: 0.06 + 0.08 * ramp(t, 90, 200) - 0.08 * ramp(t, 280, 340) };
    case 'idle_weedy':
      // Flat weedy cover: grass and forbs, a little greener in summer, no sowing or harvest.
      return { ...z, weeds: 0.28 + (0.2 + 0.05 * (jitter / 10)) * (ramp(t, 80, 170) - ramp(t, 270, 340)) };
    default:
      return z;
  }
}

const GRASS_SOIL = mix([[S.GRASS, 0.45], [S.SOIL_DRY, 0.55]]);

/** Generates the sample year into `outDir` and returns its manifest (also written to `year.json`). */
export async function generateYear(opts: YearOptions): Promise<YearManifest> {
  const parsed = YearOptionsSchema.safeParse(opts);
  if (!parsed.success)
    throw new ConfigError('CONFIG_INVALID', `sample year options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      field: String(parsed.error.issues[0]?.path[0] ?? ''),
    });
  const o = parsed.data;
  const N = o.sizePx;
  const pixelSize = 2;
  await mkdir(o.outDir, { recursive: true });
  const rng = new Rng(o.seed, 'year-layout');

  // ---- fields on a grid, separated by 2-px grass/soil tracks ----
  const cols = Math.floor((N - GAP) / (FIELD_W + GAP));
  const rows = Math.floor((N - GAP) / (FIELD_H + GAP));
  const fields: (YearField & { jitter: number; gain: number; seed: number })[] = [];
  const weights: [FieldKind, number][] = [
    ['rice', 0.27], ['maize', 0.15], ['wheat_rice', 0.3], ['idle_bare', 0.1], ['idle_weedy', 0.1], ['to_pond', 0.02], ['to_greenhouse', 0.03], ['to_nursery', 0.03],
  ];
  let seq = 0;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let x = rng.next();
      let kind: FieldKind = 'rice';
      for (const [k, w] of weights) {
        if (x < w) {
          kind = k;
          break;
        }
        x -= w;
      }
      const c0 = GAP + c * (FIELD_W + GAP);
      const r0 = GAP + r * (FIELD_H + GAP);
      const isProject = rng.chance(0.6) || EXPECTED[kind] !== 'cultivated';
      seq++;
      // Most projects accepted 2021–2025 (in care); a few in 2019 (care ended 2024).
      const ysrq = isProject ? (rng.chance(0.08) ? `2019-${String(rng.int(3, 11)).padStart(2, '0')}-15` : `${rng.int(2021, 2025)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(10, 28))}`) : null;
      fields.push({
        id: `P${String(seq).padStart(4, '0')}`,
        kind,
        expected: EXPECTED[kind],
        box: [c0, r0, c0 + FIELD_W, r0 + FIELD_H],
        project: isProject ? `BC${REGION_CODE}${String(seq).padStart(4, '0')}` : null,
        ysrq,
        hiddenOn: [],
        meiyuHidden: false,
        jitter: rng.int(-8, 8),
        gain: 1 + 0.08 * rng.gauss(),
        seed: rng.u32(),
      });
    }
  const fieldAt = new Int32Array(N * N).fill(-1);
  fields.forEach((f, i) => {
    for (let y = f.box[1]; y < f.box[3]; y++) for (let x = f.box[0]; x < f.box[2]; x++) fieldAt[y * N + x] = i;
  });

  // ---- clouds: a few random cumulus per date, plus the plum-rain bank ----
  interface Cloud { cx: number; cy: number; r: number; peak: number; sdx: number; sdy: number; seed: number }
  const cloudsOf = YEAR_DATES.map((d, k) => {
    const cr = new Rng(o.seed, `clouds-${d}`);
    const list: Cloud[] = [];
    const n = k === 0 ? 1 : cr.int(1, 3);
    for (let i = 0; i < n; i++) list.push({ cx: cr.range(0, N), cy: cr.range(0, N), r: cr.range(N * 0.05, N * 0.1), peak: cr.range(0.8, 1), sdx: cr.range(20, 40), sdy: cr.range(15, 30), seed: cr.u32() });
    if ((MEIYU_DATES as readonly string[]).includes(d)) list.push({ cx: N * 0.12, cy: N * 0.86, r: N * 0.2, peak: 1, sdx: 25, sdy: 20, seed: cr.u32() });
    return list;
  });
  const opacity = (c: Cloud, x: number, y: number, dx = 0, dy = 0): number => {
    const d = Math.hypot(x - c.cx - dx, y - c.cy - dy) / (c.r * (1 + 0.15 * vnoise((x - dx) / 25, (y - dy) / 25, c.seed)));
    return c.peak * (1 - ramp(d, 0.75, 1.1));
  };

  const transform = sampleTransform(N, pixelSize);
  const grid: Grid = { width: N, height: N, transform, crs: crsFromEpsg(SAMPLE_EPSG) };
  const scenes: { date: string; file: string }[] = [];
  const hidden = fields.map(() => new Float64Array(YEAR_DATES.length));
  for (let k = 0; k < YEAR_DATES.length; k++) {
    const date = YEAR_DATES[k];
    const t = doy(date);
    const bands = [0, 1, 2, 3].map(() => new Uint16Array(N * N));
    const states = fields.map((f) => cropState(f.kind, t, f.jitter));
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) {
        const p = y * N + x;
        const fi = fieldAt[p];
        let spec: number[];
        if (fi < 0) spec = GRASS_SOIL.map((v) => v * (1 + 0.05 * vnoise(x / 3, y / 3, 7)));
        else {
          const f = fields[fi];
          const n1 = vnoise(x / 6, y / 6, f.seed);
          const conv = f.kind === 'to_pond' ? (t > 150 ? (t > 165 ? 2 : 1) : 0) : f.kind === 'to_greenhouse' ? (t > 160 ? 3 : 0) : f.kind === 'to_nursery' ? (t > 80 ? 4 : 0) : 0;
          if (conv === 1) spec = mix([[S.SUBSOIL, 0.7], [S.SOIL_MOIST, 0.3]]);
          else if (conv === 2) {
            const dike = x - f.box[0] < 3 || f.box[2] - x <= 3 || y - f.box[1] < 3 || f.box[3] - y <= 3;
            spec = dike ? mix([[S.GRASS, 0.5], [S.SOIL_DRY, 0.5]]) : mix([[S.WATER_ALGAL, 0.7 + 0.2 * n1], [S.WATER_MUDDY, 0.3 - 0.2 * n1]]);
          } else if (conv === 3) spec = (y - f.box[1]) % 5 < 4 && x - f.box[0] > 0 && f.box[2] - x > 1 ? S.FILM_NEW.map((v) => v * (0.95 + 0.05 * n1)) : GRASS_SOIL;
          else if (conv === 4) {
            // Nursery trees: crowns on a 5-px grid, sunlit and self-shaded sides, grass beneath.
            const gx = x - f.box[0];
            const gy = y - f.box[1];
            const dx = (gx % 5) - 2;
            const dy = (gy % 5) - 2;
            const d2 = dx * dx + dy * dy;
            spec = d2 <= 4 ? (dx + dy < 0 ? [...S.CANOPY_SUNLIT] : [...S.CANOPY_SHADED]) : mix([[S.GRASS, 0.4], [S.CANOPY_SHADED, 0.6]]);
          } else {
            const st = states[fi];
            const g = Math.max(0, Math.min(1, st.green * (1 + 0.08 * n1)));
            const w = Math.max(0, Math.min(1, st.weeds * (1 + 0.5 * vnoise(x / 4, y / 4, f.seed ^ 0x77))));
            const soilK = Math.max(0, 1 - g - st.ripe - st.stubble - st.water - w);
            spec = mix([
              [S.CROP_GREEN, g],
              [S.CROP_RIPENING, st.ripe],
              [S.STUBBLE, st.stubble],
              [S.WATER_TURBID, st.water],
              [S.GRASS, w],
              [mix([[S.SOIL_DRY, 0.5 + 0.3 * n1], [S.SOIL_MOIST, 0.5 - 0.3 * n1]]), soilK],
            ]);
          }
          spec = spec.map((v) => v * f.gain);
        }
        // Clouds and shadows: opacity mixes towards cloud; shadow keeps diffuse light only.
        let cloudA = 0;
        let shadowA = 0;
        for (const c of cloudsOf[k]) {
          cloudA = Math.max(cloudA, opacity(c, x, y));
          shadowA = Math.max(shadowA, opacity(c, x, y, c.sdx, c.sdy));
        }
        if (shadowA > 0) spec = spec.map((v, b) => v * (1 - shadowA * (1 - S.SHADOW_FACTOR)) + shadowA * S.SKYLIGHT[b]);
        if (cloudA > 0) spec = spec.map((v, b) => v * (1 - cloudA) + cloudA * S.CLOUD[b]);
        if (fi >= 0 && Math.max(cloudA, shadowA) >= 0.5) hidden[fi][k]++;
        for (let b = 0; b < 4; b++) {
          const h = hash3(p, b, o.seed + k * 7919);
          const v = spec[b] * (1 + S.NOISE_REL * gauss(h)) + S.NOISE_ABS[b] * gauss(h ^ 0x5bd1e995) + 0.0001 * unit(h);
          bands[b][p] = Math.max(1, Math.min(65535, Math.round(v * 10000)));
        }
      }
    const file = `year_${date}.tif`;
    await writeGeoTiff(join(o.outDir, file), grid, bands, {
      dtype: 'uint16',
      tileSize: 256,
      nodata: 0,
      bandDescriptions: [...S.BANDS],
      metadata: { ACQUISITION_DATE: date, SENSOR: 'synthetic GF-1-like WFV/PMS', SOURCE: 'farmwatch samples/generateYear' },
    });
    scenes.push({ date, file });
  }
  const area = FIELD_W * FIELD_H;
  fields.forEach((f, i) => {
    f.hiddenOn = YEAR_DATES.filter((_, k) => hidden[i][k] >= area / 2);
    f.meiyuHidden = MEIYU_DATES.every((d) => f.hiddenOn.includes(d));
  });

  // ---- vectors in Gauss–Krüger metres ----
  const X0 = transform[0];
  const Y0 = transform[3];
  const ring = (b: [number, number, number, number]) => {
    const [c0, r0, c1, r1] = b;
    const pt = (c: number, r: number) => [X0 + c * pixelSize, Y0 - r * pixelSize];
    return [[pt(c0, r1), pt(c1, r1), pt(c1, r0), pt(c0, r0), pt(c0, r1)]];
  };
  const fc = (name: string, feats: unknown[]) =>
    JSON.stringify({ type: 'FeatureCollection', name, crs: { type: 'name', properties: { name: `urn:ogc:def:crs:EPSG::${SAMPLE_EPSG}` } }, features: feats }) + '\n';
  await writeFile(
    join(o.outDir, 'parcels.geojson'),
    fc(
      'parcels',
      fields.map((f) => ({ type: 'Feature', properties: { BSM: f.id, DLBM: f.kind === 'wheat_rice' || f.kind === 'rice' ? '0101' : '0103', XZQDM: XZQDM, XMBH: f.project, truth: f.kind }, geometry: { type: 'Polygon', coordinates: ring(f.box) } })),
    ),
  );
  await writeFile(
    join(o.outDir, 'projects.geojson'),
    fc(
      'projects',
      fields
        .filter((f) => f.project)
        .map((f) => ({
          type: 'Feature',
          properties: { XMBH: f.project, XMMC: `${f.id}地块补充耕地项目（合成样例）`, YSRQ: f.ysrq, XZGDMJ: area * pixelSize * pixelSize, XZQDM: XZQDM, DLBM: '0103', BSM: f.id },
          geometry: { type: 'Polygon', coordinates: ring(f.box) },
        })),
    ),
  );
  const manifest: YearManifest = {
    version: 1,
    synthetic: true,
    seed: o.seed,
    sizePx: N,
    pixelSize,
    epsg: SAMPLE_EPSG,
    regionCode: REGION_CODE,
    dates: [...YEAR_DATES],
    scenes,
    files: { parcels: 'parcels.geojson', projects: 'projects.geojson' },
    fields: fields.map(({ jitter: _j, gain: _g, seed: _s, ...f }) => f),
  };
  await writeFile(join(o.outDir, 'year.json'), JSON.stringify(manifest, null, 1) + '\n');
  return manifest;
}
