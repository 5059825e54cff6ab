/**
 * Training rows for per-pixel models: from label rasters, and from a baseline land-use survey on
 * pixels presumed unchanged (weak labels). Imagery is read and pre-processed exactly as the
 * pipeline does (band mapping, scale, percentile calibration of 8-bit products), and features come
 * from the model's own feature graph, so what a model learns is what it will see.
 */
import ort from 'onnxruntime-node';
import { closeScene, openScene, readRawWindow, readWindow, type Scene } from '../../pipeline/imagery/index.js';
import { fitPercentileCalibration, percentileCalibrationFor, percentileCalibrationReason, type ReflectanceReference } from '../../pipeline/normalize/calibrate.js';
import { applyNormalization, type Normalization } from '../../pipeline/normalize/index.js';
import { ConfigError } from '../../pipeline/errors.js';
import { burnLayer, loadVectorLayer } from '../../pipeline/baseline/vectors.js';
import { LandCover, type LandCoverName, type RasterBlock, type Window } from '../../pipeline/types.js';
import { Rng } from '../../samples/rng.js';
import { BAND_ORDER, CONTEXT_PX, INPUT_NAME, LEARNER_FEATURES, buildFeatureModel } from './graph.js';

/** Target of a labelled pixel: one of our classes, or "cropland-like" resolved by greenness. */
export type TargetName = Exclude<LandCoverName, 'nodata' | 'cloud' | 'shadow'> | 'green-or-bare';

/**
 * NDVI above which a "green-or-bare" pixel (a field, a lawn) is herbaceous, else bare: the
 * soil-line convention of spectral-v1's "vegetated" term (bare soils NDVI ≈ 0.05–0.25).
 */
export const GREEN_NDVI = 0.3;
const NDVI_COLUMN = LEARNER_FEATURES.indexOf('ndvi');
const GREEN_OR_BARE = 255;

const targetCode = (t: TargetName): number => (t === 'green-or-bare' ? GREEN_OR_BARE : LandCover[t]);

/** One image's worth of labels, before features: reflectance block, target code per pixel (0 = none), group per pixel. */
interface LabelledTile {
  readonly block: RasterBlock;
  /** Interior of the block that is labelled (the rest is feature context). */
  readonly interior: Window;
  /** Target code per interior pixel (0 = unlabelled). */
  readonly target: Uint8Array;
  /** Reference class index per interior pixel (into the source's reference names). */
  readonly reference: Uint8Array;
  /** Group per interior pixel (index into the source's group names), for held-out folds. */
  readonly group: Uint8Array;
}

/** Rows gathered from one source. */
export interface Rows {
  readonly source: string;
  readonly features: Float32Array;
  /** LandCover code per row (green-or-bare already resolved). */
  readonly target: Uint8Array;
  readonly reference: Uint8Array;
  readonly referenceNames: readonly string[];
  readonly group: Uint8Array;
  readonly groupNames: readonly string[];
  readonly count: number;
  /**
   * Neighbourhood radius r of each row: a row holds the (2r+1)² neighbourhood of every feature,
   * feature-major (`f·k² + dy·k + dx`, the ONNX Conv weight layout); neighbours outside the image
   * are NaN. 0 = the pixel's own features only.
   */
  readonly radius?: number;
}

export interface ImageRead {
  readonly bands?: Record<string, number>;
  readonly scale?: number;
  readonly offset?: number;
  /** auto: percentile calibration for 8-bit products, as the pipeline does. */
  readonly calibration: 'auto' | 'reflectance' | 'percentile';
  /**
   * Fit the percentile calibration per image, or once over all images of the source (tiles of one
   * survey, whose statistics alone are not a scene's: a patch of open water has no land p99).
   */
  readonly calibrateOver: 'image' | 'source';
}

export interface LabelRasterSource {
  readonly kind: 'labels';
  readonly name: string;
  readonly images: readonly { image: string; label: string; name: string }[];
  readonly read: ImageRead;
  /** Label value → target; values not listed are unlabelled. Keys are the label raster's values. */
  readonly classes: Readonly<Record<string, { name: string; target: TargetName }>>;
  /** Folds: one per image, or spatial quadrants (NW, NE, SW, SE) of every image. */
  readonly groups: 'image' | 'quadrants';
  readonly maxPerClass: number;
}

export interface BaselineSource {
  readonly kind: 'baseline';
  readonly name: string;
  readonly images: readonly string[];
  readonly baseline: string;
  readonly read: ImageRead;
  readonly field: string;
  /** DLBM prefix → target (longest prefix wins); codes matching none are unlabelled. */
  readonly dlbm: Readonly<Record<string, TargetName>>;
  /** Pixels within this many pixels of another class are dropped (mixed pixels, registration). */
  readonly erodePx: number;
  /** Keep a survey label only where spectral-v1 sees a compatible surface ({@link WEAK_LABEL_CONSISTENT}). */
  readonly consistency: boolean;
  readonly maxPerClass: number;
  readonly tileSize: number;
}

export type Source = LabelRasterSource | BaselineSource;

/** Feature extraction session, opened once per training run. */
export async function openFeatureSession(): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(buildFeatureModel(), { executionProviders: ['cpu'], intraOpNumThreads: 2, enableCpuMemArena: false });
}

async function featurePlanes(session: ort.InferenceSession, block: RasterBlock): Promise<{ features: Float32Array; ruleLabel: Int32Array }> {
  const { width, height } = block.window;
  const n = width * height;
  const input = new Float32Array(4 * n);
  BAND_ORDER.forEach((b, c) => {
    const data = block.data[block.bandNames.indexOf(b)];
    for (let p = 0; p < n; p++) input[c * n + p] = block.valid[p] && Number.isFinite(data[p]) ? data[p] : 0;
  });
  const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', input, [1, 4, height, width]) });
  return { features: out.features.data as Float32Array, ruleLabel: out.rule_label.data as Int32Array };
}

const wholeWindow = (scene: Scene): Window => ({ col: 0, row: 0, width: scene.info.grid.width, height: scene.info.grid.height });

/** Per (class) reservoir of row indices into a growing buffer, so memory stays bounded on big scenes. */
class ClassReservoirs {
  private readonly rows = new Map<number, { seen: number; keep: { f: Float32Array; ref: number; group: number }[] }>();
  constructor(
    private readonly cap: number,
    private readonly rng: Rng,
  ) {}
  offer(target: number, f: Float32Array, ref: number, group: number): void {
    let r = this.rows.get(target);
    if (!r) this.rows.set(target, (r = { seen: 0, keep: [] }));
    r.seen++;
    if (r.keep.length < this.cap) r.keep.push({ f, ref, group });
    else {
      const j = Math.floor(this.rng.next() * r.seen);
      if (j < this.cap) r.keep[j] = { f, ref, group };
    }
  }
  toRows(source: string, referenceNames: readonly string[], groupNames: readonly string[], radius = 0): Rows {
    const all = [...this.rows.entries()].sort((a, b) => a[0] - b[0]).flatMap(([t, r]) => r.keep.map((k) => ({ t, ...k })));
    const F = LEARNER_FEATURES.length * (2 * radius + 1) ** 2;
    const features = new Float32Array(all.length * F);
    const target = new Uint8Array(all.length);
    const reference = new Uint8Array(all.length);
    const group = new Uint8Array(all.length);
    all.forEach((r, i) => {
      features.set(r.f, i * F);
      target[i] = r.t;
      reference[i] = r.ref;
      group[i] = r.group;
    });
    return { source, features, target, reference, referenceNames, group, groupNames, count: all.length, ...(radius ? { radius } : {}) };
  }
}

/** Turns labelled tiles into sampled feature rows (cloud, shadow and no-data per the rule base excluded). */
/**
 * Which spectral-v1 classes a weak label may show and still be taken: land use is not land cover
 * (a village parcel holds gardens and trees, a cropland parcel this year's new building), so a
 * survey label is kept only where the physical rules see a compatible surface. The forest then
 * learns the county's own boundaries inside these broad families.
 */
export const WEAK_LABEL_CONSISTENT: Readonly<Record<TargetName, readonly LandCoverName[]>> = {
  water: ['water'],
  tree: ['tree', 'orchard'],
  orchard: ['orchard', 'tree'],
  herbaceous: ['herbaceous', 'bare'],
  'green-or-bare': ['herbaceous', 'bare'],
  bare: ['bare', 'disturbed'],
  disturbed: ['bare', 'disturbed'],
  // Yards, building sites and film-covered beds are bare or herbaceous to the rules: labelling
  // them built or greenhouse would teach the learner that bare soil is built.
  built: ['built'],
  greenhouse: ['greenhouse'],
};

async function sampleTiles(session: ort.InferenceSession, tiles: AsyncIterable<LabelledTile>, reservoirs: ClassReservoirs, consistent?: Readonly<Record<TargetName, readonly LandCoverName[]>>, radius = 0): Promise<void> {
  // Per target code, the rule classes accepted (null = any).
  const allowed = new Map<number, Set<number>>();
  if (consistent) for (const [t, names] of Object.entries(consistent)) allowed.set(targetCode(t as TargetName), new Set(names.map((n) => LandCover[n])));
  const F = LEARNER_FEATURES.length;
  const k = 2 * radius + 1;
  const kk = k * k;
  for await (const t of tiles) {
    const { features, ruleLabel } = await featurePlanes(session, t.block);
    const { width: bw, height: bh } = t.block.window;
    const n = bw * bh;
    const ox = t.interior.col - t.block.window.col;
    const oy = t.interior.row - t.block.window.row;
    for (let y = 0; y < t.interior.height; y++)
      for (let x = 0; x < t.interior.width; x++) {
        const i = y * t.interior.width + x;
        let code = t.target[i];
        if (!code) continue;
        const p = (y + oy) * bw + (x + ox);
        const rule = ruleLabel[p];
        if (!t.block.valid[p] || rule === LandCover.nodata || rule === LandCover.cloud || rule === LandCover.shadow) continue;
        if (consistent && !allowed.get(code)?.has(rule)) continue;
        let f: Float32Array;
        if (radius === 0) {
          f = new Float32Array(F);
          for (let k = 0; k < F; k++) f[k] = features[k * n + p];
        } else {
          f = neighbourhood(features, n, bw, bh, x + ox, y + oy, F, radius);
        }
        if (code === GREEN_OR_BARE) code = f[NDVI_COLUMN * kk + radius * k + radius] >= GREEN_NDVI ? LandCover.herbaceous : LandCover.bare;
        reservoirs.offer(code, f, t.reference[i], t.group[i]);
      }
  }
}

/**
 * The (2r+1)² neighbourhood of pixel (cx, cy) of feature planes [F, bh, bw], feature-major
 * (`f·k² + dy·k + dx`); neighbours outside the planes are NaN.
 */
export function neighbourhood(planes: Float32Array, n: number, bw: number, bh: number, cx: number, cy: number, F: number, radius: number): Float32Array {
  const k = 2 * radius + 1;
  const kk = k * k;
  const f = new Float32Array(F * kk);
  for (let dy = 0; dy < k; dy++) {
    const yy = cy + dy - radius;
    for (let dx = 0; dx < k; dx++) {
      const xx = cx + dx - radius;
      const inside = yy >= 0 && yy < bh && xx >= 0 && xx < bw;
      const q = yy * bw + xx;
      for (let c = 0; c < F; c++) f[c * kk + dy * k + dx] = inside ? planes[c * n + q] : NaN;
    }
  }
  return f;
}

/** Rows of a label-raster source: every labelled pixel (up to `maxPerClass` per class). */
export async function labelRasterRows(session: ort.InferenceSession, src: LabelRasterSource, reference: ReflectanceReference, seed: number, radius = 0): Promise<Rows> {
  const classKeys = Object.keys(src.classes);
  const referenceNames = [...new Set(classKeys.map((k) => src.classes[k].name))];
  const groupNames = src.groups === 'image' ? src.images.map((i) => i.name) : ['NW', 'NE', 'SW', 'SE'];
  const reservoirs = new ClassReservoirs(src.maxPerClass, new Rng(seed, `rows-${src.name}`));
  const open = (img: { image: string }) => openScene(img.image, { bands: src.read.bands, scale: src.read.scale, offset: src.read.offset });
  let sourceNorm: Normalization | null = null;
  if (src.read.calibrateOver === 'source') {
    const blocks: RasterBlock[] = [];
    let percentile = false;
    for (const img of src.images) {
      const scene = await open(img);
      try {
        const block = await readWindow(scene, wholeWindow(scene), BAND_ORDER);
        percentile ||= percentileCalibrationReason(src.read.calibration, scene.info.dtype, [block]) !== null;
        blocks.push(block);
      } finally {
        await closeScene(scene);
      }
    }
    if (percentile) sourceNorm = fitPercentileCalibration(blocks, reference);
  }
  async function* tiles(): AsyncIterable<LabelledTile> {
    for (const [ii, img] of src.images.entries()) {
      const scene = await open(img);
      const labels = await openScene(img.label, {});
      try {
        const { width, height } = scene.info.grid;
        if (labels.info.grid.width !== width || labels.info.grid.height !== height)
          throw new ConfigError('CONFIG_INVALID', `${img.label}: ${labels.info.grid.width}×${labels.info.grid.height} labels for a ${width}×${height} image ${img.image}`, { file: img.label });
        const window = wholeWindow(scene);
        const raw = await readWindow(scene, window, BAND_ORDER);
        const norm = src.read.calibrateOver === 'source' ? sourceNorm : percentileCalibrationFor(src.read.calibration, scene.info.dtype, [raw], reference);
        const block = norm ? applyNormalization(raw, norm) : raw;
        const values = (await readRawWindow(labels, window)).data[0];
        const target = new Uint8Array(width * height);
        const ref = new Uint8Array(width * height);
        const group = new Uint8Array(width * height);
        for (let p = 0; p < target.length; p++) {
          const c = src.classes[String(values[p])];
          if (!c) continue;
          target[p] = targetCode(c.target);
          ref[p] = referenceNames.indexOf(c.name);
          group[p] = src.groups === 'image' ? ii : (Math.floor(p / width) < height / 2 ? 0 : 2) + (p % width < width / 2 ? 0 : 1);
        }
        yield { block, interior: window, target, reference: ref, group };
      } finally {
        await closeScene(scene);
        await closeScene(labels);
      }
    }
  }
  await sampleTiles(session, tiles(), reservoirs, undefined, radius);
  return reservoirs.toRows(src.name, referenceNames, groupNames, radius);
}

/** Target of a DLBM code by longest matching prefix. */
export function dlbmTarget(dlbm: Readonly<Record<string, TargetName>>, code: string): TargetName | null {
  let best: string | null = null;
  for (const prefix of Object.keys(dlbm)) if (code.startsWith(prefix) && (best === null || prefix.length > best.length)) best = prefix;
  return best === null ? null : dlbm[best];
}

/**
 * Rows from a baseline survey: each image is read in tiles; a pixel is labelled with its parcel's
 * DLBM target when every pixel within `erodePx` carries the same target (parcel edges are mixed
 * pixels and absorb mis-registration). Changes since the survey are a small share of any county
 * and act as label noise, which bootstrap aggregation tolerates.
 */
export async function baselineRows(session: ort.InferenceSession, src: BaselineSource, reference: ReflectanceReference, seed: number, radius = 0): Promise<Rows> {
  const targets = [...new Set(Object.values(src.dlbm))];
  const reservoirs = new ClassReservoirs(src.maxPerClass, new Rng(seed, `rows-${src.name}`));
  async function* tiles(): AsyncIterable<LabelledTile> {
    for (const [ii, uri] of src.images.entries()) {
      const scene = await openScene(uri, { bands: src.read.bands, scale: src.read.scale, offset: src.read.offset });
      try {
        const grid = scene.info.grid;
        const layer = await loadVectorLayer('baseline', src.baseline, grid);
        const codeOf = layer.features.map((f) => {
          const t = dlbmTarget(src.dlbm, String(f.properties[src.field] ?? ''));
          return t === null ? 0 : targets.indexOf(t) + 1;
        });
        // Percentile calibration needs the whole scene's statistics, not one tile's.
        const norm = src.read.calibration === 'reflectance' ? null : percentileCalibrationFor(src.read.calibration, scene.info.dtype, [await readWindow(scene, wholeWindow(scene), BAND_ORDER)], reference);
        const halo = CONTEXT_PX + Math.max(src.erodePx, radius);
        for (let row = 0; row < grid.height; row += src.tileSize)
          for (let col = 0; col < grid.width; col += src.tileSize) {
            const interior = { col, row, width: Math.min(src.tileSize, grid.width - col), height: Math.min(src.tileSize, grid.height - row) };
            const c0 = Math.max(0, col - halo);
            const r0 = Math.max(0, row - halo);
            const outer = { col: c0, row: r0, width: Math.min(grid.width, col + interior.width + halo) - c0, height: Math.min(grid.height, row + interior.height + halo) - r0 };
            const raw = await readWindow(scene, outer, BAND_ORDER);
            const block = norm ? applyNormalization(raw, norm) : raw;
            const burnt = new Uint8Array(outer.width * outer.height);
            burnLayer(layer, outer, burnt, (i) => codeOf[i]);
            const target = new Uint8Array(interior.width * interior.height);
            const ref = new Uint8Array(target.length);
            const group = new Uint8Array(target.length).fill(ii);
            const e = src.erodePx;
            for (let y = 0; y < interior.height; y++)
              for (let x = 0; x < interior.width; x++) {
                const oy = y + row - r0;
                const ox = x + col - c0;
                const v = burnt[oy * outer.width + ox];
                if (!v) continue;
                let same = true;
                for (let dy = -e; dy <= e && same; dy++)
                  for (let dx = -e; dx <= e && same; dx++) {
                    const yy = oy + dy;
                    const xx = ox + dx;
                    if (yy >= 0 && xx >= 0 && yy < outer.height && xx < outer.width && burnt[yy * outer.width + xx] !== v) same = false;
                  }
                if (!same) continue;
                target[y * interior.width + x] = targetCode(targets[v - 1]);
                ref[y * interior.width + x] = v - 1;
              }
            yield { block, interior, target, reference: ref, group };
          }
      } finally {
        await closeScene(scene);
      }
    }
  }
  await sampleTiles(session, tiles(), reservoirs, src.consistency ? WEAK_LABEL_CONSISTENT : undefined, radius);
  return reservoirs.toRows(src.name, targets, src.images.map((_, i) => `image ${i + 1}`), radius);
}
