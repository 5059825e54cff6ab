/**
 * Parcel observations: per scene and watched parcel, statistics over the parcel's clear pixels —
 * NDVI (mean and percentiles), NDWI, and the share of each land-cover group the classifier saw.
 * Cloud, shadow and no-data pixels are not clear; an observation with too little clear area is
 * kept (it says the parcel was looked at) but marked unusable, so rules never read it.
 *
 * The accumulator is pure (typed arrays in, plain objects out); `observeScene` is the I/O edge that
 * reads a GeoTIFF tile by tile, classifies it and burns the parcels onto each tile.
 */
import type { Classifier } from '../classify/index.js';
import { closeScene, openScene, readWindow } from '../imagery/index.js';
import { burnLayer, loadVectorLayer, type VectorLayer } from '../baseline/vectors.js';
import { ImageryError } from '../errors.js';
import { LandCover, type Window } from '../types.js';
import type { IdleConfig } from './config.js';

/** Cover groups reported per observation (fractions of the clear pixels). */
export const COVER_GROUPS = ['bare', 'green', 'water', 'built', 'woody', 'greenhouse', 'disturbed'] as const;
export type CoverGroup = (typeof COVER_GROUPS)[number];

/** LandCover code → group; cloud, shadow and no-data belong to none (they are not clear). */
const GROUP_OF: Partial<Record<number, CoverGroup>> = {
  [LandCover.bare]: 'bare',
  [LandCover.herbaceous]: 'green',
  [LandCover.water]: 'water',
  [LandCover.built]: 'built',
  [LandCover.tree]: 'woody',
  [LandCover.orchard]: 'woody',
  [LandCover.greenhouse]: 'greenhouse',
  [LandCover.disturbed]: 'disturbed',
};
/** Codes that hide the ground. */
export const NOT_CLEAR: ReadonlySet<number> = new Set([LandCover.nodata, LandCover.cloud, LandCover.shadow]);

export interface NdviStats {
  mean: number;
  p10: number;
  p50: number;
  p90: number;
}

/** One parcel seen on one scene. */
export interface ParcelObservation {
  parcel: string;
  /** Acquisition date yyyy-mm-dd. */
  date: string;
  /** Scene identifier (file name or URI). */
  scene: string;
  /** Pixels of the parcel in the scene (centre inside the polygon). */
  pixels: number;
  clearPixels: number;
  clearFraction: number;
  usable: boolean;
  /** Why an observation is unusable (null when usable). */
  reason: string | null;
  ndvi: NdviStats | null;
  /** Mean NDWI (McFeeters) of the clear pixels, when green and NIR were read. */
  ndwi: number | null;
  /** Fractions of the clear pixels per cover group, when a classifier ran. */
  cover: Record<CoverGroup, number> | null;
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Linear-interpolated percentile of a sorted array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const x = (n - 1) * q;
  const i = Math.floor(x);
  const f = x - i;
  return i + 1 < n ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** Pixels of one block: per-pixel NDVI, optional NDWI and land cover, and which pixels are clear. */
export interface ObservationBlock {
  /** 0 = no parcel, k = parcel k − 1 of the accumulator's list. */
  parcelIndex: Int32Array;
  ndvi: Float32Array;
  ndwi?: Float32Array;
  cover?: Uint8Array;
  /** 1 where the pixel shows the ground (valid data, not cloud or shadow). */
  clear: Uint8Array;
}

/** Gathers the pixels of every parcel over the blocks of one scene, then summarises them. */
export class ObservationAccumulator {
  private readonly total: Uint32Array;
  private readonly values: number[][];
  private readonly ndwiSum: Float64Array;
  private readonly ndwiN: Uint32Array;
  private readonly covers: Uint32Array;
  private hasCover = false;
  private hasNdwi = false;

  constructor(
    readonly parcels: readonly string[],
    private readonly cfg: Pick<IdleConfig, 'minClearFraction' | 'minClearPixels'>,
  ) {
    const n = parcels.length;
    this.total = new Uint32Array(n);
    this.values = parcels.map(() => []);
    this.ndwiSum = new Float64Array(n);
    this.ndwiN = new Uint32Array(n);
    this.covers = new Uint32Array(n * COVER_GROUPS.length);
  }

  add(b: ObservationBlock): void {
    if (b.cover) this.hasCover = true;
    if (b.ndwi) this.hasNdwi = true;
    const G = COVER_GROUPS.length;
    for (let p = 0; p < b.parcelIndex.length; p++) {
      const k = b.parcelIndex[p] - 1;
      if (k < 0) continue;
      this.total[k]++;
      if (!b.clear[p]) continue;
      const v = b.ndvi[p];
      if (!Number.isFinite(v)) continue;
      this.values[k].push(v);
      if (b.ndwi && Number.isFinite(b.ndwi[p])) {
        this.ndwiSum[k] += b.ndwi[p];
        this.ndwiN[k]++;
      }
      if (b.cover) {
        const g = GROUP_OF[b.cover[p]];
        if (g) this.covers[k * G + COVER_GROUPS.indexOf(g)]++;
      }
    }
  }

  /** One observation per parcel that has pixels in the scene. */
  finish(date: string, scene: string): ParcelObservation[] {
    const G = COVER_GROUPS.length;
    const out: ParcelObservation[] = [];
    this.parcels.forEach((parcel, k) => {
      const pixels = this.total[k];
      if (!pixels) return;
      const vals = Float64Array.from(this.values[k]).sort();
      const clear = vals.length;
      const clearFraction = clear / pixels;
      const reason =
        clear < this.cfg.minClearPixels
          ? `${clear} clear pixels < ${this.cfg.minClearPixels}`
          : clearFraction < this.cfg.minClearFraction
            ? `clear fraction ${clearFraction.toFixed(2)} < ${this.cfg.minClearFraction}`
            : null;
      let mean = 0;
      for (const v of vals) mean += v;
      mean /= clear || 1;
      let cover: Record<CoverGroup, number> | null = null;
      if (this.hasCover) {
        cover = {} as Record<CoverGroup, number>;
        COVER_GROUPS.forEach((g, i) => (cover![g] = clear ? r4(this.covers[k * G + i] / clear) : 0));
      }
      out.push({
        parcel,
        date,
        scene,
        pixels,
        clearPixels: clear,
        clearFraction: r4(clearFraction),
        usable: reason === null,
        reason,
        ndvi: clear ? { mean: r4(mean), p10: r4(percentile(vals, 0.1)), p50: r4(percentile(vals, 0.5)), p90: r4(percentile(vals, 0.9)) } : null,
        ndwi: this.hasNdwi && this.ndwiN[k] ? r4(this.ndwiSum[k] / this.ndwiN[k]) : null,
        cover,
      });
    });
    return out;
  }
}

/** How to name parcels: a property (XMBH for projects, BSM for survey parcels), else the feature number. */
export function parcelKey(props: Readonly<Record<string, unknown>>, i: number, idField?: string): string {
  for (const f of idField ? [idField] : ['XMBH', 'BSM', 'id']) {
    const v = props[f];
    if (v !== null && v !== undefined && String(v).trim()) return String(v);
  }
  return `#${i + 1}`;
}

export interface ObserveSceneOptions {
  /** Parcel polygons (GeoJSON in any CRS the layer loader knows). */
  parcelsFile: string;
  /** Property naming each parcel (default XMBH, then BSM). */
  idField?: string;
  /** Classifier for the cover fractions and for cloud/shadow; without one only no-data is excluded. */
  classifier?: Classifier;
  /** Halo the classifier needs around each block (the model card's contextPx). */
  contextPx?: number;
  /** Acquisition date when the file carries none. */
  date?: string;
  /** Band names of blue, green, red, NIR in the file. */
  bands?: { red: string; nir: string; green?: string };
  blockSize?: number;
  signal?: AbortSignal;
}

const ndviOf = (red: number, nir: number) => (nir - red) / (nir + red + 1e-6);

/**
 * Observes every parcel of `parcelsFile` on one 4-band scene.
 * @throws ImageryError CONFIG_INVALID when the scene has no acquisition date and none is given;
 *   the reader's and the layer loader's errors (missing file, band) as they are.
 */
export async function observeScene(uri: string, cfg: IdleConfig, opts: ObserveSceneOptions): Promise<ParcelObservation[]> {
  const scene = await openScene(uri);
  try {
    const date = opts.date ?? scene.info.acquired;
    if (!date) throw new ImageryError('CONFIG_INVALID', `${uri}: no acquisition date in the file; give one for this scene`, { file: uri, field: 'date' });
    const grid = scene.info.grid;
    const layer: VectorLayer = await loadVectorLayer('parcels', opts.parcelsFile, grid);
    const keys = layer.features.map((f, i) => parcelKey(f.properties, i, opts.idField));
    const acc = new ObservationAccumulator(keys, cfg);
    const bands = opts.bands ?? { red: 'red', nir: 'nir', green: 'green' };
    const names = opts.classifier ? ['blue', 'green', 'red', 'nir'] : [bands.red, bands.nir, ...(bands.green ? [bands.green] : [])];
    const B = opts.blockSize ?? 512;
    const halo = opts.classifier ? (opts.contextPx ?? 2) : 0;
    for (let row = 0; row < grid.height; row += B)
      for (let col = 0; col < grid.width; col += B) {
        const core: Window = { col, row, width: Math.min(B, grid.width - col), height: Math.min(B, grid.height - row) };
        const ids = new Int32Array(core.width * core.height);
        burnLayer(layer, core, ids);
        if (!ids.some((v) => v > 0)) continue;
        const win: Window = { col: col - halo, row: row - halo, width: core.width + 2 * halo, height: core.height + 2 * halo };
        const block = await readWindow(scene, win, names, opts.signal);
        const cover = opts.classifier ? (await opts.classifier.classify(block, opts.signal)).classes : null;
        const n = core.width * core.height;
        const ndvi = new Float32Array(n);
        const ndwi = names.includes('green') || bands.green ? new Float32Array(n) : undefined;
        const clear = new Uint8Array(n);
        const coreCover = cover ? new Uint8Array(n) : undefined;
        const iR = names.indexOf(opts.classifier ? 'red' : bands.red);
        const iN = names.indexOf(opts.classifier ? 'nir' : bands.nir);
        const iG = names.indexOf(opts.classifier ? 'green' : (bands.green ?? ''));
        for (let y = 0; y < core.height; y++)
          for (let x = 0; x < core.width; x++) {
            const p = y * core.width + x;
            const q = (y + halo) * win.width + x + halo;
            const red = block.data[iR][q];
            const nir = block.data[iN][q];
            ndvi[p] = ndviOf(red, nir);
            if (ndwi && iG >= 0) ndwi[p] = (block.data[iG][q] - nir) / (block.data[iG][q] + nir + 1e-6);
            if (coreCover && cover) coreCover[p] = cover[q];
            clear[p] = block.valid[q] && !(cover && NOT_CLEAR.has(cover[q])) ? 1 : 0;
          }
        acc.add({ parcelIndex: ids, ndvi, ndwi, cover: coreCover, clear });
      }
    return acc.finish(date, uri.split('/').pop() ?? uri);
  } finally {
    await closeScene(scene);
  }
}
