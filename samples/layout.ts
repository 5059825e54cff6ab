/**
 * The synthetic county's vector world, built once per generation in local metres (u east from the
 * scene's left edge, v south from its top edge): a rotated grid of field blocks separated by rural
 * roads and ditches, with a main road, a river and a canal on grid lines; blocks split into
 * crop strips, village bands, an industrial band, ponds, forest, orchards and greenhouses; then the
 * planted changes and hard cases. Every baseline polygon is convex (clipped rectangles and
 * trapezoids), which keeps insetting, containment and rasterising simple and exact, and the
 * partition exact: neighbouring pieces are cut from the same rectangles with the same numbers.
 *
 * Rendering reads `base` (one feature per baseline polygon) and `overlays` (houses, trees, water,
 * planted changes…); see render.ts for what each program draws.
 */
import type { ChangeTypeName } from '../pipeline/types.js';
import { ConfigError } from '../pipeline/errors.js';
import { Rng, hash3 } from './rng.js';
import {
  type BBox4,
  type Poly,
  type Pt,
  type Ring,
  bboxGap,
  bboxOf,
  blobRing,
  clipConvex,
  insertSharedVertices,
  insetConvex,
  pointInRing,
  polyArea,
  ringArea,
  ringCentroid,
  ringDistance,
  type Blob,
} from './geom.js';

// ---- render programs ----------------------------------------------------------------------------
/** Render programs (what a feature draws); numeric for a fast switch in the renderer. */
export const P = {
  crop: 1,
  road: 2,
  mainroad: 3,
  ditch: 4,
  canal: 5,
  river: 6,
  village: 7,
  industrial: 8,
  forest: 9,
  orchard: 10,
  dike: 11,
  greenhouse: 12,
  water: 20,
  house: 21,
  yard: 22,
  shadow: 23,
  treeRow: 24,
  newRoad: 25,
  soil: 26,
  cleared: 28,
} as const;

/** Crop states of a parcel on one date. */
export const CS = {
  wheatGreen: 0,
  wheatRipening: 1,
  rapeFlower: 2,
  rapePod: 3,
  vegA: 4,
  vegB: 5,
  emerging: 6,
  ploughed: 7,
  stubble: 8,
  fallow: 9,
  weedy: 10,
} as const;
const BARE_STATES: ReadonlySet<number> = new Set([CS.ploughed, CS.stubble, CS.fallow]);

/** A linear feature on a grid line (road, ditch, canal, river), in the rotated (s, t) frame. */
export interface LineSpec {
  readonly kind: 'road' | 'mainroad' | 'ditch' | 'canal' | 'river';
  /** 0: the line runs along t at s = centre; 1: it runs along s at t = centre. */
  readonly axis: 0 | 1;
  readonly centre: number;
  /** Half width of the strip (the land-use polygon). */
  readonly hw: number;
  /** Half width of the pavement or water surface. */
  readonly core: number;
  readonly trees: boolean;
  /** Road surface or water variant (see render.ts). */
  readonly variant: number;
  readonly seed: number;
}

/**
 * A render feature. `poly` in metres; `dates` bit 1 = before, bit 2 = after. Programs read the
 * numeric parameters p0…p5 (meaning per program, documented in render.ts) and mat0/mat1 (state or
 * material before/after).
 */
export interface Feature {
  prog: number;
  poly: Poly;
  bbox: BBox4;
  dates: number;
  z: number;
  seed: number;
  gain: [number, number, number, number];
  mat0: number;
  mat1: number;
  p0: number;
  p1: number;
  p2: number;
  p3: number;
  p4: number;
  p5: number;
  line: LineSpec | null;
  line2: LineSpec | null;
}

/** One baseline (三调-style) polygon. */
export interface LandParcel {
  readonly id: number;
  readonly dlbm: string;
  ring: Ring;
  readonly area: number;
  readonly township: number;
  readonly village: number;
  readonly cell: number;
  /** Index of its base render feature. */
  readonly feature: number;
  /** True when cut by the scene edge. */
  readonly clipped: boolean;
  pbf: boolean;
  /** Crop states before/after (cropland only). */
  crop: { before: number; after: number } | null;
  /** Reserved by a planted item or hard case; no further planting on it. */
  reserved: boolean;
}

/** Hard-case labels of truth.geojson (`hardCase`). */
export type HardCaseName =
  | 'harvest'
  | 'seasonal_shift'
  | 'cloud'
  | 'shadow'
  | 'misregistration'
  | 'nodata_edge'
  | 'mixed_edge'
  | 'preexisting'
  | 'non_cropland_change';
/** Every hard-case label, in a stable order. */
export const HARD_CASE_NAMES: readonly HardCaseName[] = [
  'harvest',
  'seasonal_shift',
  'cloud',
  'shadow',
  'misregistration',
  'nodata_edge',
  'mixed_edge',
  'preexisting',
  'non_cropland_change',
];

/** One planted item of truth.geojson. */
export interface TruthItem {
  id: string;
  kind: 'change' | 'hard_case';
  type: ChangeTypeName | null;
  legal: boolean;
  approval: string | null;
  onPbf: boolean;
  hardCase?: HardCaseName;
  /** Free-text detail: what was drawn. */
  detail: string;
  /** Host parcel (BSM index) where relevant. */
  parcel: number | null;
  area: number;
  /** Metres, local frame; clouds, shadows and the no-data wedge are in the after image's frame. */
  poly: Poly;
}

/** Approved construction land (农转用批复): approval number, batch, date, project; ring in local metres. */
export interface Approval {
  PZWH: string;
  PC: string;
  PZRQ: string;
  XMMC: string;
  ring: Ring;
}
/** Facility-agriculture filing (设施农业备案); ring in local metres. */
export interface Filing {
  BABH: string;
  XMMC: string;
  BARQ: string;
  ring: Ring;
}
/** 补充耕地 project on one baseline parcel; `idle` parcels stay weedy in both images. */
export interface Project {
  XMBH: string;
  XMMC: string;
  YSRQ: string;
  XZGDMJ: number;
  parcel: number;
  idle: boolean;
  inManagementPeriod: boolean;
}

/** A cloud of the after image (its shadow is the same shape, displaced). */
export interface CloudSpec {
  blob: Blob;
  /** Opacity at the core (1 = opaque). */
  peak: number;
  /** Relative half width of the fuzzy edge (opacity ramps over ρ/r ∈ [1 − e, 1 + e]). */
  edge: number;
  /** Shadow displacement in metres (u, v). */
  shadow: Pt;
  seed: number;
}

/** A township: code, name and the grid cells it consists of. */
export interface Township {
  code: string;
  name: string;
  cells: number[];
}
/** One extended grid cell (block plus its left and top strips), clipped to the scene. */
export interface Cell {
  i: number;
  j: number;
  ring: Ring;
  township: number;
  village: number;
}

/** Everything generated for one county, in local metres. */
export interface Layout {
  W: number;
  H: number;
  sizePx: number;
  pixelSize: number;
  theta: number;
  base: Feature[];
  overlays: Feature[];
  parcels: LandParcel[];
  cells: Cell[];
  townships: Township[];
  villages: { name: string; township: number }[];
  approvals: Approval[];
  filings: Filing[];
  projects: Project[];
  truth: TruthItem[];
  clouds: CloudSpec[];
  /** No-data wedge of the after image, metres in the after image's frame. */
  wedge: Ring;
  /** After image content displacement in pixels: ground at before-pixel (c, r) is at after-pixel (c + dx, r + dy). */
  shift: { dx: number; dy: number };
  /** Unit vector towards the sun in (u, v) and shadow length per metre of height, per date. */
  sun: { dir: Pt; shadowPerM: number }[];
  counts: { houses: number; trees: number };
}

/** Township names (synthetic: the county is made up, but named the way Jiangsu names places). */
const TOWNSHIP_NAMES = ['城东镇', '新丰镇', '西来镇', '孤山镇', '季市镇', '马桥镇', '斜桥镇', '生祠镇', '东兴镇', '侯河镇', '八圩镇', '新港镇', '滨江镇', '团结镇', '红光镇', '永安镇'];
const VILLAGE_A = ['张', '王', '李', '陈', '刘', '周', '朱', '徐', '孙', '季', '陆', '顾', '沈', '蒋', '新', '东', '西', '南', '北', '大', '小', '前', '后', '长', '丰', '兴', '永', '福', '安', '合'];
const VILLAGE_B = ['家', '庄', '桥', '港', '圩', '墩', '河', '湾', '舍', '埭', '堡', '沟', '垛', '园', '湖'];

/** Land-use names (DLMC) of the codes the generator uses. */
export const DLMC: Readonly<Record<string, string>> = {
  '0101': '水田',
  '0102': '水浇地',
  '0103': '旱地',
  '0201': '果园',
  '0301': '乔木林地',
  '0601': '工业用地',
  '0702': '农村宅基地',
  '1003': '公路用地',
  '1006': '农村道路',
  '1101': '河流水面',
  '1104': '坑塘水面',
  '1107': '沟渠',
  '1202': '设施农用地',
};
/** Cropland codes (耕地). */
export const CROPLAND: ReadonlySet<string> = new Set(['0101', '0102', '0103']);

/** Dates of the two images: mid-April (wheat green, rapeseed in flower) and late May (wheat ripening, early harvest). */
export const BEFORE_DATE = '2026-04-12';
/** See {@link BEFORE_DATE}. */
export const AFTER_DATE = '2026-05-27';

/** Layout parameters. */
export interface LayoutOptions {
  seed: number;
  sizePx: number;
  pixelSize: number;
}

type Kind = 'crop' | 'village' | 'industrial' | 'forest' | 'orchard' | 'facility' | 'pond';

const emptyFeature = (): Feature => ({
  prog: 0,
  poly: [],
  bbox: [0, 0, 0, 0],
  dates: 3,
  z: 0,
  seed: 0,
  gain: [1, 1, 1, 1],
  mat0: 0,
  mat1: 0,
  p0: 0,
  p1: 0,
  p2: 0,
  p3: 0,
  p4: 0,
  p5: 0,
  line: null,
  line2: null,
});

/** Builds the whole county layout. Deterministic in (seed, sizePx, pixelSize). */
export function buildLayout(opts: LayoutOptions): Layout {
  const { seed, sizePx, pixelSize } = opts;
  const W = sizePx * pixelSize;
  const H = W;
  const areaKm2 = (W * H) / 1e6;
  const minGap = 10 * pixelSize; // changes stay 10 px apart so each is scorable
  const rng = new Rng(seed, 'layout');
  const theta = (rng.range(8, 15) * Math.PI) / 180;
  const co = Math.cos(theta);
  const sn = Math.sin(theta);
  const toUV = (s: number, t: number): Pt => [s * co - t * sn, s * sn + t * co];
  const toST = (u: number, v: number): Pt => [u * co + v * sn, -u * sn + v * co];
  const rectST = (s0: number, s1: number, t0: number, t1: number): Ring => [toUV(s0, t0), toUV(s1, t0), toUV(s1, t1), toUV(s0, t1)];
  const quadST = (pts: [number, number][]): Ring => pts.map(([s, t]) => toUV(s, t));
  const scene: Ring = [
    [0, 0],
    [W, 0],
    [W, H],
    [0, H],
  ];

  const makeGain = (r: Rng, spread = 0.1): [number, number, number, number] => {
    const g = 1 + Math.max(-0.2, Math.min(0.2, spread * r.gauss()));
    return [0, 1, 2, 3].map(() => g * (1 + 0.03 * r.gauss())) as [number, number, number, number];
  };
  const featRng = new Rng(seed, 'features');
  const newFeature = (prog: number, poly: Poly, init: Partial<Feature> = {}): Feature => {
    const f = emptyFeature();
    f.prog = prog;
    f.poly = poly;
    f.bbox = bboxOf(poly);
    f.seed = featRng.u32();
    f.gain = makeGain(featRng);
    return Object.assign(f, init);
  };

  // ---- grid lines ---------------------------------------------------------------------------
  const cornersST = scene.map(([u, v]) => toST(u, v));
  const sMin = Math.min(...cornersST.map((p) => p[0]));
  const sMax = Math.max(...cornersST.map((p) => p[0]));
  const tMin = Math.min(...cornersST.map((p) => p[1]));
  const tMax = Math.max(...cornersST.map((p) => p[1]));
  const lineRng = new Rng(seed, 'lines');

  function makeLines(axis: 0 | 1, lo: number, hi: number, spacing: [number, number]): LineSpec[] {
    const pos: number[] = [];
    let x = lo - lineRng.range(10, 120);
    pos.push(x);
    // Past the far edge by more than the widest half strip, so the last cell reaches the scene edge.
    while (x - 25 < hi) {
      x += lineRng.range(spacing[0], spacing[1]);
      pos.push(x);
    }
    // Specials: axis 1 (lines along s, i.e. across the blocks' long side) carries the main road and
    // the river; axis 0 carries a canal. One of each near fixed fractions, more in big scenes.
    const n = pos.length;
    const nearest = (f: number) => pos.reduce((bi, p, i) => (Math.abs(p - (lo + f * (hi - lo))) < Math.abs(pos[bi] - (lo + f * (hi - lo))) ? i : bi), 0);
    const kinds: LineSpec['kind'][] = pos.map((_, i) => (i % 2 === 0 ? 'road' : 'ditch'));
    if (lineRng.chance(0.5)) for (let i = 0; i < n; i++) kinds[i] = kinds[i] === 'road' ? 'ditch' : 'road';
    const extent = hi - lo;
    if (axis === 1) {
      kinds[nearest(0.5)] = 'mainroad';
      const r = nearest(lineRng.chance(0.5) ? 0.22 : 0.8);
      if (kinds[r] !== 'mainroad') kinds[r] = 'river';
      for (let k = 1; k < Math.floor(extent / 6000); k++) {
        const m = nearest((k + 0.5) / Math.floor(extent / 6000 + 1));
        if (kinds[m] === 'road' || kinds[m] === 'ditch') kinds[m] = k % 2 ? 'river' : 'mainroad';
      }
    } else {
      const c = nearest(lineRng.range(0.55, 0.7));
      kinds[c] = 'canal';
      for (let k = 1; k < Math.floor(extent / 4000); k++) {
        const m = nearest((k + 0.3) / Math.floor(extent / 4000 + 1));
        if (kinds[m] === 'road' || kinds[m] === 'ditch') kinds[m] = 'canal';
      }
    }
    return pos.map((centre, i) => {
      const kind = kinds[i];
      const hw = kind === 'road' ? lineRng.range(2.8, 3.6) : kind === 'ditch' ? lineRng.range(2.2, 3.2) : kind === 'mainroad' ? 12 : kind === 'canal' ? lineRng.range(7.5, 9) : lineRng.range(18, 22);
      const core = kind === 'road' ? hw - lineRng.range(0.6, 1.1) : kind === 'ditch' ? lineRng.range(0.7, 1.4) : kind === 'mainroad' ? 7.5 : kind === 'canal' ? hw - 2.5 : hw - 6;
      const trees = kind === 'mainroad' ? true : kind === 'road' ? lineRng.chance(0.45) : kind === 'canal' ? lineRng.chance(0.6) : false;
      const variant = kind === 'road' ? (lineRng.chance(0.85) ? 0 : 1) : kind === 'ditch' ? (lineRng.chance(0.7) ? 0 : 1) : 0;
      return { kind, axis, centre, hw, core, trees, variant, seed: lineRng.u32() };
    });
  }
  const sLines = makeLines(0, sMin, sMax, [175, 265]);
  const tLines = makeLines(1, tMin, tMax, [380, 620]);
  const PRIORITY: Record<LineSpec['kind'], number> = { mainroad: 5, road: 4, river: 3, canal: 2, ditch: 1 };

  // ---- cells ----------------------------------------------------------------------------------
  interface CellWork {
    i: number;
    j: number;
    ext: [number, number, number, number]; // s0 s1 t0 t1 of the extended cell
    inner: [number, number, number, number]; // the block interior
    ring: Ring;
    inside: boolean;
    use: Set<Kind>;
    township: number;
    village: number;
    centre: Pt;
    bandSide: 'left' | 'right' | 'top' | 'bottom' | null;
  }
  const cellsW: CellWork[] = [];
  for (let i = 0; i + 1 < sLines.length; i++)
    for (let j = 0; j + 1 < tLines.length; j++) {
      const A = sLines[i];
      const B = sLines[i + 1];
      const C = tLines[j];
      const D = tLines[j + 1];
      const ext: [number, number, number, number] = [A.centre - A.hw, B.centre - B.hw, C.centre - C.hw, D.centre - D.hw];
      const full = rectST(ext[0], ext[1], ext[2], ext[3]);
      const ring = clipConvex(full, scene);
      if (!ring.length) continue;
      const inner: [number, number, number, number] = [A.centre + A.hw, B.centre - B.hw, C.centre + C.hw, D.centre - D.hw];
      const innerRing = rectST(inner[0], inner[1], inner[2], inner[3]);
      const inside = innerRing.every(([u, v]) => u >= 0 && v >= 0 && u <= W && v <= H);
      cellsW.push({ i, j, ext, inner, ring, inside, use: new Set(), township: 0, village: -1, centre: ringCentroid(ring), bandSide: null });
    }
  if (cellsW.length < 4) throw new ConfigError('CONFIG_INVALID', 'sample county too small for a field grid', { field: 'sizePx' });

  // ---- cell uses ------------------------------------------------------------------------------
  const useRng = new Rng(seed, 'uses');
  const roadSides = (c: CellWork): ('left' | 'right' | 'top' | 'bottom')[] => {
    const out: ('left' | 'right' | 'top' | 'bottom')[] = [];
    if (sLines[c.i].kind === 'road') out.push('left');
    if (sLines[c.i + 1].kind === 'road') out.push('right');
    if (tLines[c.j].kind === 'road' || tLines[c.j].kind === 'mainroad') out.push('top');
    if (tLines[c.j + 1].kind === 'road' || tLines[c.j + 1].kind === 'mainroad') out.push('bottom');
    return out;
  };
  const mainroadSides = (c: CellWork): ('top' | 'bottom')[] => {
    const out: ('top' | 'bottom')[] = [];
    if (tLines[c.j].kind === 'mainroad') out.push('top');
    if (tLines[c.j + 1].kind === 'mainroad') out.push('bottom');
    return out;
  };
  for (const c of cellsW) {
    if (mainroadSides(c).length && useRng.chance(0.12)) {
      c.use.add('industrial');
      c.bandSide = useRng.pick(mainroadSides(c));
    } else if (roadSides(c).length && useRng.chance(0.16)) {
      c.use.add('village');
      c.bandSide = useRng.pick(roadSides(c));
    }
    if (useRng.chance(0.05)) c.use.add('pond');
    else if (useRng.chance(0.04)) c.use.add('forest');
  }
  // Guarantee every land use exists, on cells fully inside the scene, each on a different cell when possible.
  const insideCells = cellsW.filter((c) => c.inside);
  const pool = insideCells.length ? insideCells : cellsW;
  const used = new Set<CellWork>();
  const force = (k: Kind, pred: (c: CellWork) => boolean, apply: (c: CellWork) => void) => {
    if (cellsW.some((c) => c.use.has(k) && c.inside)) return;
    const cands = pool.filter((c) => pred(c) && !used.has(c));
    const alt = pool.filter(pred);
    const pickFrom = cands.length ? cands : alt;
    if (!pickFrom.length) return;
    const c = useRng.pick(pickFrom);
    used.add(c);
    c.use.add(k);
    apply(c);
  };
  force('industrial', (c) => mainroadSides(c).length > 0 && !c.use.has('village'), (c) => (c.bandSide = useRng.pick(mainroadSides(c))));
  force('village', (c) => roadSides(c).length > 0 && !c.use.has('industrial'), (c) => (c.bandSide = useRng.pick(roadSides(c))));
  force('pond', (c) => !c.use.has('forest'), () => undefined);
  force('forest', (c) => !c.use.has('pond'), () => undefined);

  // ---- townships (Voronoi of seed cells with noisy distance, so borders are irregular staircases along roads and ditches)
  const twRng = new Rng(seed, 'townships');
  const nTown = Math.min(TOWNSHIP_NAMES.length, Math.max(3, Math.round(areaKm2 / 40)));
  const seeds: CellWork[] = [twRng.pick(cellsW)];
  while (seeds.length < Math.min(nTown, cellsW.length)) {
    let best: CellWork | null = null;
    let bestD = -1;
    for (const c of cellsW) {
      const d = Math.min(...seeds.map((s) => Math.hypot(s.centre[0] - c.centre[0], s.centre[1] - c.centre[1]))) * twRng.range(0.8, 1);
      if (d > bestD) {
        bestD = d;
        best = c;
      }
    }
    seeds.push(best!);
  }
  const tsalt = twRng.u32();
  for (const c of cellsW) {
    let best = 0;
    let bestD = Infinity;
    seeds.forEach((s, k) => {
      const d = s === c ? -1 : Math.hypot(s.centre[0] - c.centre[0], s.centre[1] - c.centre[1]) * (1 + 0.35 * ((hash3(c.i, c.j, tsalt ^ k) / 4294967296) * 2 - 1));
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    });
    c.township = best;
  }
  const townships: Township[] = seeds.map((_, k) => ({ code: `321282${String(101 + k)}`, name: TOWNSHIP_NAMES[k], cells: [] }));

  // ---- villages (names; every cell takes the nearest village of its township)
  const villages: { name: string; township: number }[] = [];
  const usedNames = new Set<string>();
  const vname = (): string => {
    for (let k = 0; k < 200; k++) {
      const n = `${twRng.pick(VILLAGE_A)}${twRng.pick(VILLAGE_B)}村`;
      if (!usedNames.has(n)) {
        usedNames.add(n);
        return n;
      }
    }
    const n = `新建${villages.length + 1}村`;
    usedNames.add(n);
    return n;
  };
  const villageCells = cellsW.filter((c) => c.use.has('village'));
  const villageOfCell = new Map<CellWork, number>();
  for (const c of villageCells) {
    villageOfCell.set(c, villages.length);
    villages.push({ name: vname(), township: c.township });
  }
  for (let k = 0; k < townships.length; k++)
    if (!villageCells.some((c) => c.township === k)) {
      const idx = villages.length;
      villages.push({ name: vname(), township: k });
      for (const c of cellsW) if (c.township === k) villageOfCell.set(c, idx);
    }
  for (const c of cellsW) {
    if (villageOfCell.has(c)) {
      c.village = villageOfCell.get(c)!;
      continue;
    }
    let best = -1;
    let bestD = Infinity;
    for (const v of villageCells)
      if (v.township === c.township) {
        const d = Math.hypot(v.centre[0] - c.centre[0], v.centre[1] - c.centre[1]);
        if (d < bestD) {
          bestD = d;
          best = villageOfCell.get(v)!;
        }
      }
    c.village = best >= 0 ? best : villages.findIndex((v) => v.township === c.township);
  }

  // ---- pieces: strips, corners, interiors -----------------------------------------------------
  const base: Feature[] = [];
  const overlays: Feature[] = [];
  const parcels: LandParcel[] = [];
  const cells: Cell[] = [];
  const houses = { n: 0 };
  const trees = { n: 0 };
  const factoryRects: { pid: number; ring: Ring }[] = [];
  const parcelST = new Map<number, [number, number, number, number]>(); // s0 s1 t0 t1 bounds of strips (for placing along the grid)
  const sunBefore = sunVector(135, 57);
  const sunAfter = sunVector(122, 68);
  const sun = [sunBefore, sunAfter];

  const addParcel = (cellIdx: number, c: CellWork, dlbm: string, fullRing: Ring, feat: Feature): number | null => {
    const ring = clipConvex(fullRing, scene);
    if (!ring.length) return null;
    const area = Math.abs(ringArea(ring));
    if (area < 1e-6) return null;
    const clipped = Math.abs(area - Math.abs(ringArea(fullRing))) > 1e-6 * Math.max(1, area);
    feat.poly = [ring];
    feat.bbox = bboxOf(feat.poly);
    const fi = base.length;
    base.push(feat);
    const id = parcels.length;
    parcels.push({ id, dlbm, ring, area, township: c.township, village: c.village, cell: cellIdx, feature: fi, clipped, pbf: false, crop: null, reserved: false });
    return id;
  };
  const lineFeature = (line: LineSpec, line2: LineSpec | null): Feature => {
    const prog = { road: P.road, mainroad: P.mainroad, ditch: P.ditch, canal: P.canal, river: P.river }[line.kind];
    return newFeature(prog, [], { line, line2 });
  };
  const DLBM_OF_LINE: Record<LineSpec['kind'], string> = { road: '1006', mainroad: '1003', ditch: '1107', canal: '1107', river: '1101' };

  const partRng = new Rng(seed, 'parcels');
  const treeRow = (line: LineSpec, a0: number, a1: number) => {
    // Trees on both verges, crowns reaching ≤ 2.6 m into the neighbouring fields.
    const c = line.centre;
    const ring = line.axis === 0 ? rectST(c - line.hw - 2.6, c + line.hw + 2.6, a0, a1) : rectST(a0, a1, c - line.hw - 2.6, c + line.hw + 2.6);
    const f = newFeature(P.treeRow, [ring], { z: 0, line, p0: partRng.range(4.5, 6.5), p1: partRng.range(1.9, 2.6), p2: partRng.chance(0.7) ? 3 : partRng.chance(0.5) ? 1 : 2 });
    overlays.push(f);
    trees.n += Math.round(((a1 - a0) / f.p0) * (f.p2 === 3 ? 2 : 1));
  };

  for (const c of cellsW) {
    const cellIdx = cells.length;
    cells.push({ i: c.i, j: c.j, ring: c.ring, township: c.township, village: c.village });
    townships[c.township].cells.push(cellIdx);
    const A = sLines[c.i];
    const C = tLines[c.j];
    const [a0, a1, b0, b1] = c.inner;
    // Corner: the higher-priority line owns it (a road crossing a ditch or river stays road: culvert or bridge).
    const [win, lose] = PRIORITY[A.kind] >= PRIORITY[C.kind] ? [A, C] : [C, A];
    addParcel(cellIdx, c, DLBM_OF_LINE[win.kind], rectST(A.centre - A.hw, A.centre + A.hw, C.centre - C.hw, C.centre + C.hw), lineFeature(win, lose));
    // Strip segments owned by this cell: the s-line on its left and the t-line on its top.
    addParcel(cellIdx, c, DLBM_OF_LINE[A.kind], rectST(A.centre - A.hw, A.centre + A.hw, b0, b1), lineFeature(A, null));
    addParcel(cellIdx, c, DLBM_OF_LINE[C.kind], rectST(a0, a1, C.centre - C.hw, C.centre + C.hw), lineFeature(C, null));
    if (A.trees) treeRow(A, b0, b1);
    if (C.trees) treeRow(C, a0, a1);

    // Interior: an optional village/industrial band along a road, then strips across the block.
    let [s0, s1, t0, t1] = [a0, a1, b0, b1];
    if (c.bandSide && (c.use.has('village') || c.use.has('industrial'))) {
      const ind = c.use.has('industrial');
      const alongT = c.bandSide === 'left' || c.bandSide === 'right';
      const room = alongT ? s1 - s0 : t1 - t0;
      const depth = Math.min(room * 0.6, ind ? partRng.range(80, 130) : partRng.range(48, 82));
      let band: [number, number, number, number];
      if (c.bandSide === 'left') {
        band = [s0, s0 + depth, t0, t1];
        s0 += depth;
      } else if (c.bandSide === 'right') {
        band = [s1 - depth, s1, t0, t1];
        s1 -= depth;
      } else if (c.bandSide === 'top') {
        band = [s0, s1, t0, t0 + depth];
        t0 += depth;
      } else {
        band = [s0, s1, t1 - depth, t1];
        t1 -= depth;
      }
      const feat = newFeature(ind ? P.industrial : P.village, []);
      const pid = addParcel(cellIdx, c, ind ? '0601' : '0702', rectST(band[0], band[1], band[2], band[3]), feat);
      if (pid !== null) {
        parcelST.set(pid, band);
        if (ind) buildFactories(band, c.bandSide, pid);
        else buildHouses(band);
      }
    }
    // Strips across the long side of the block (cuts along s at jittered t positions).
    const cuts: [number, number][] = [[t0, t0]];
    let t = t0;
    for (;;) {
      const w = partRng.range(28, 95);
      if (t + w + 24 > t1) break;
      t += w;
      const j = partRng.range(-6, 6);
      cuts.push([t + j, t - j]);
    }
    cuts.push([t1, t1]);
    const nStrips = cuts.length - 1;
    const dominant = partRng.chance(0.65) ? '0101' : partRng.chance(0.6) ? '0102' : '0103';
    const runKind: Kind | null = c.use.has('pond') ? 'pond' : c.use.has('forest') ? 'forest' : null;
    const runStart = partRng.int(0, Math.max(0, nStrips - 3));
    const runLen = runKind === 'pond' ? partRng.int(2, 4) : partRng.int(1, 2);
    for (let k = 0; k < nStrips; k++) {
      const [ta0, ta1] = cuts[k]; // at s0, s1
      const [tb0, tb1] = cuts[k + 1];
      let kind: Kind = 'crop';
      if (runKind && k >= runStart && k < runStart + runLen) kind = runKind;
      else if (partRng.chance(0.035)) kind = 'orchard';
      else if (partRng.chance(0.025)) kind = 'facility';
      const split = kind === 'crop' && partRng.chance(0.2) && s1 - s0 > 120;
      const pieces: [number, number][][] = [];
      if (split) {
        const m = s0 + (s1 - s0) * partRng.range(0.35, 0.65);
        const jit = partRng.range(-5, 5);
        const ma = m + jit;
        const mb = m - jit;
        const lerpT = (tA: number, tB: number, s: number) => tA + ((tB - tA) * (s - s0)) / (s1 - s0);
        pieces.push([
          [s0, ta0],
          [ma, lerpT(ta0, ta1, ma)],
          [mb, lerpT(tb0, tb1, mb)],
          [s0, tb0],
        ]);
        pieces.push([
          [ma, lerpT(ta0, ta1, ma)],
          [s1, ta1],
          [s1, tb1],
          [mb, lerpT(tb0, tb1, mb)],
        ]);
      } else
        pieces.push([
          [s0, ta0],
          [s1, ta1],
          [s1, tb1],
          [s0, tb0],
        ]);
      for (const q of pieces) {
        const dl =
          kind === 'crop'
            ? partRng.chance(0.8)
              ? dominant
              : partRng.pick(['0101', '0102', '0103'])
            : { pond: '1104', forest: '0301', orchard: '0201', facility: '1202', village: '0702', industrial: '0601', crop: '0101' }[kind];
        const prog = { crop: P.crop, pond: P.dike, forest: P.forest, orchard: P.orchard, facility: P.greenhouse, village: P.village, industrial: P.industrial }[kind];
        const feat = newFeature(prog, []);
        if (kind === 'forest') Object.assign(feat, { p0: partRng.range(4, 5), p1: partRng.range(1.8, 2.5), p2: 0.1 });
        if (kind === 'orchard') Object.assign(feat, { p0: partRng.range(4, 5), p1: partRng.range(3, 4), p2: partRng.range(1.4, 2.0), p3: partRng.chance(0.5) ? 1 : 0 });
        if (kind === 'facility') Object.assign(feat, { p0: 0, p1: partRng.range(8, 9.5), p2: partRng.range(6.2, 7.5), p3: partRng.range(45, 75), mat0: partRng.chance(0.2) ? 2 : 1, mat1: 0 });
        if (kind === 'facility') feat.mat1 = feat.mat0;
        const pid = addParcel(cellIdx, c, dl, quadST(q), feat);
        if (pid === null) continue;
        const ss = q.map((p) => p[0]);
        const ts = q.map((p) => p[1]);
        parcelST.set(pid, [Math.min(...ss), Math.max(...ss), Math.min(...ts), Math.max(...ts)]);
        if (kind === 'pond') {
          // Water surface inside a 2.5–3.5 m dike; the convex parcel makes the inset exact.
          const water = insetConvex(parcels[pid].ring, partRng.range(2.5, 3.5));
          if (water.length) overlays.push(newFeature(P.water, [water], { z: 1, mat0: partRng.chance(0.6) ? 2 : 1 }));
        }
      }
    }
  }

  function buildHouses(band: [number, number, number, number]) {
    // Houses face south: ridge along s, in rows stacked along t, each with a yard on its south side.
    const [s0, s1, t0, t1] = band;
    const hr = partRng;
    let t = t0 + hr.range(3, 6);
    while (t + 18 < t1) {
      const depth = hr.range(8.5, 11);
      const yard = hr.range(5, 8);
      let s = s0 + hr.range(2, 5);
      while (s + 11 < s1 - 2) {
        const len = hr.range(11, 16);
        if (s + len > s1 - 2) break;
        if (hr.chance(0.85)) {
          const roof = hr.next();
          const mat = roof < 0.42 ? 0 : roof < 0.62 ? 1 : roof < 0.82 ? 2 : 3; // grey tile, red tile, white flat, blue steel
          addBuilding(rectST(s, s + len, t, t + depth), mat, hr.range(6, 9), 3, [s, s + len, t, t + depth]);
          if (hr.chance(0.8)) overlays.push(newFeature(P.yard, [rectST(s, s + len, t + depth, t + depth + yard)], { z: 10, mat0: hr.chance(0.6) ? 1 : 2 }));
          houses.n++;
        }
        s += len + hr.range(2.5, 7);
      }
      t += depth + yard + hr.range(2, 5);
    }
  }

  function buildFactories(band: [number, number, number, number], side: string, pid: number) {
    const [s0, s1, t0, t1] = band;
    const fr = partRng;
    // One open yard (parking, storage) of 60–80 m at one end of the band.
    const yardFirst = fr.chance(0.5);
    let s = s0 + (yardFirst ? fr.range(60, 80) : fr.range(8, 20));
    const sEnd = yardFirst ? s1 - 8 : s1 - 8 - fr.range(60, 80);
    while (s + 30 < sEnd) {
      const len = Math.min(fr.range(35, 110), sEnd - s);
      const dt = t1 - t0;
      const depth = Math.min(fr.range(25, 60), dt - 20);
      const off = side === 'top' ? fr.range(12, Math.max(13, dt - depth - 6)) : fr.range(6, Math.max(7, dt - depth - 12));
      const mat = fr.chance(0.55) ? 3 : fr.chance(0.6) ? 2 : 0;
      const st: [number, number, number, number] = [s, s + len, t0 + off, t0 + off + depth];
      addBuilding(rectST(st[0], st[1], st[2], st[3]), mat, fr.range(8, 14), 3, st);
      factoryRects.push({ pid, ring: rectST(st[0], st[1], st[2], st[3]) });
      s += len + fr.range(10, 30);
    }
  }

  /** A building with date-specific cast shadows (sun lower in April, so longer shadows). */
  function addBuilding(ring: Ring, mat: number, height: number, dates: number, st: [number, number, number, number], z = 12) {
    const flat = mat === 2 || mat === 3;
    overlays.push(newFeature(P.house, [ring], { z, dates, mat0: mat, mat1: mat, p0: (st[2] + st[3]) / 2, p1: flat ? 0 : 1 }));
    for (const d of [0, 1]) {
      if (!(dates & (1 << d))) continue;
      const L = height * sun[d].shadowPerM;
      const dx = -sun[d].dir[0] * L;
      const dy = -sun[d].dir[1] * L;
      overlays.push(newFeature(P.shadow, [ring.map(([u, v]) => [u + dx, v + dy] as Pt)], { z: z - 1, dates: 1 << d }));
    }
  }

  // Shared boundaries get identical vertices (strip corners sit on neighbours' edges).
  {
    const rings = parcels.map((p) => p.ring);
    insertSharedVertices(rings);
    parcels.forEach((p, k) => {
      p.ring = rings[k];
      base[p.feature].poly = [rings[k]];
    });
  }

  // ---- crop states, PBF, projects -------------------------------------------------------------
  const cropRng = new Rng(seed, 'crops');
  const pbfCells = new Set<number>();
  cells.forEach((_, k) => {
    if (cropRng.chance(0.75)) pbfCells.add(k);
  });
  for (const p of parcels) {
    if (!CROPLAND.has(p.dlbm)) continue;
    const r = cropRng.next();
    let before: number;
    if (p.dlbm === '0101') before = r < 0.8 ? CS.wheatGreen : r < 0.9 ? CS.rapeFlower : CS.fallow;
    else if (p.dlbm === '0102') before = r < 0.45 ? CS.vegA : r < 0.85 ? CS.wheatGreen : r < 0.93 ? CS.rapeFlower : CS.fallow;
    else before = r < 0.5 ? CS.wheatGreen : r < 0.7 ? CS.rapeFlower : r < 0.9 ? CS.vegA : CS.fallow;
    const h = cropRng.next();
    let after: number;
    if (before === CS.wheatGreen) after = h < 0.1 ? (cropRng.chance(0.6) ? CS.stubble : CS.ploughed) : CS.wheatRipening;
    else if (before === CS.rapeFlower) after = h < 0.4 ? CS.stubble : CS.rapePod;
    else if (before === CS.vegA) after = h < 0.12 ? CS.ploughed : CS.vegB;
    else after = h < 0.6 ? CS.emerging : CS.ploughed;
    p.crop = { before, after };
    p.pbf = pbfCells.has(p.cell);
    const f = base[p.feature];
    f.mat0 = before;
    f.mat1 = after;
    f.p0 = cropRng.range(0.35, 1); // ripening progress
    f.p1 = cropRng.range(1.4, 1.9); // bed period of vegetables, metres
    f.p2 = cropRng.range(2.4, 3.6); // straw windrow period, metres
  }

  // Keep at least a fifth of the cropland outside permanent basic farmland (approved construction land lies there).
  {
    const crop = parcels.filter((p) => p.crop);
    const order = cropRng.shuffle([...pbfCells]);
    while (order.length && crop.filter((p) => !p.pbf).length < 0.2 * crop.length) {
      const k = order.pop()!;
      pbfCells.delete(k);
      for (const p of crop) if (p.cell === k) p.pbf = false;
    }
  }

  const cropIds = (pred: (p: LandParcel) => boolean = () => true) =>
    parcels.filter((p) => CROPLAND.has(p.dlbm) && !p.clipped && !p.reserved && pred(p)).map((p) => p.id);

  // Make sure there are several harvested parcels even in small scenes.
  const isHarvest = (p: LandParcel) => p.crop !== null && !BARE_STATES.has(p.crop.before) && BARE_STATES.has(p.crop.after);
  {
    const need = Math.max(4, Math.round(areaKm2 * 1.5)) - parcels.filter(isHarvest).length;
    const cands = cropRng.shuffle(cropIds((p) => p.crop!.before === CS.wheatGreen && !isHarvest(p)));
    for (let k = 0; k < need && k < cands.length; k++) {
      const p = parcels[cands[k]];
      p.crop!.after = CS.stubble;
      base[p.feature].mat1 = CS.stubble;
    }
  }

  // 补充耕地 projects: one idle inside its 5-year management period, one idle but expired, the rest cultivated.
  const projects: Project[] = [];
  const projRng = new Rng(seed, 'projects');
  {
    const nProj = 3 + Math.floor(areaKm2 / 50);
    const cands = projRng.shuffle(cropIds((p) => !isHarvest(p) && p.area > 2500));
    const specs = [
      { idle: true, date: '2023-11-18', inMgmt: true, type: '坑塘复垦' },
      { idle: false, date: '2024-06-30', inMgmt: true, type: '建设用地复垦' },
      { idle: true, date: '2020-12-20', inMgmt: false, type: '未利用地开发' },
    ];
    for (let k = 0; k < nProj && k < cands.length; k++) {
      const p = parcels[cands[k]];
      const sp = specs[k] ?? { idle: projRng.chance(0.3), date: `202${projRng.int(2, 5)}-${String(projRng.int(1, 12)).padStart(2, '0')}-15`, inMgmt: true, type: '土地整理' };
      p.reserved = true;
      if (sp.idle) {
        p.crop = { before: CS.weedy, after: CS.weedy };
        base[p.feature].mat0 = CS.weedy;
        base[p.feature].mat1 = CS.weedy;
      }
      const town = townships[p.township];
      const year = sp.date.slice(0, 4);
      projects.push({
        XMBH: `321282${year}BC${String(k + 1).padStart(3, '0')}`,
        XMMC: `${town.name}${villages[p.village].name}${sp.type}补充耕地项目`,
        YSRQ: sp.date,
        XZGDMJ: Math.round(p.area * 100) / 100,
        parcel: p.id,
        idle: sp.idle,
        inManagementPeriod: sp.inMgmt,
      });
    }
  }

  // ---- image-space effects: misregistration, no-data wedge, clouds ---------------------------
  const fxRng = new Rng(seed, 'effects');
  const shift = { dx: fxRng.chance(0.5) ? 1 : -1, dy: fxRng.chance(0.5) ? 1 : -1 };
  const w1 = W * fxRng.range(0.05, 0.08);
  const wedge: Ring = [
    [W - w1, 0],
    [W, 0],
    [W, H * fxRng.range(0.55, 0.8)],
  ];
  const clouds: CloudSpec[] = [];
  {
    const n = areaKm2 < 4 ? 2 : areaKm2 <= 20 ? 3 : Math.round(areaKm2 / 6);
    const Rbase = Math.max(45, Math.min(200, 0.05 * Math.min(W, H)));
    const crop0 = fxRng.shuffle(cropIds((p) => p.area > 3000));
    for (let k = 0; k < n; k++) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const R = Rbase * fxRng.range(0.65, 1.35);
        const edge = 0.3;
        let cx: number;
        let cy: number;
        if (k === 0 && crop0.length) {
          [cx, cy] = ringCentroid(parcels[crop0[attempt % crop0.length]].ring);
        } else {
          cx = fxRng.range(0, W);
          cy = fxRng.range(0, H);
        }
        const L = R * fxRng.range(1.6, 2.3);
        const shadow: Pt = [-sunAfter.dir[0] * L, -sunAfter.dir[1] * L];
        const m = R * (1 + edge) + 2 * minGap;
        const inScene = (x: number, y: number) => x > m && y > m && x < W - m - w1 && y < H - m;
        if (!inScene(cx, cy) || !inScene(cx + shadow[0], cy + shadow[1])) continue;
        const tooClose = clouds.some((o) => Math.hypot(o.blob.cx - cx, o.blob.cy - cy) < 2.6 * (o.blob.R + R) || Math.hypot(o.blob.cx + o.shadow[0] - cx, o.blob.cy + o.shadow[1] - cy) < 2.6 * (o.blob.R + R));
        if (tooClose) continue;
        const harmonics: [number, number, number][] = [2, 3, 4, 5].map((kk) => [kk, fxRng.range(0.03, 0.13), fxRng.range(0, 2 * Math.PI)]);
        clouds.push({ blob: { cx, cy, R, harmonics }, peak: k === 2 ? 0.6 : fxRng.range(0.92, 1), edge, shadow, seed: fxRng.u32() });
        break;
      }
    }
  }

  // ---- exclusion bookkeeping --------------------------------------------------------------------
  interface Excl {
    ring: Ring;
    bbox: BBox4;
    /** Soft exclusions (harvested and idle parcels) keep changes apart from look-alikes but do not constrain other hard cases. */
    soft: boolean;
  }
  // Bucketed by a 100 m grid so that checks stay local in 10 000 px scenes.
  const exclusions: Excl[] = [];
  const buckets = new Map<number, number[]>();
  const BUCKET = 100;
  const bucketKeys = (bb: BBox4, pad: number): number[] => {
    const keys: number[] = [];
    const x0 = Math.floor((bb[0] - pad) / BUCKET);
    const x1 = Math.floor((bb[2] + pad) / BUCKET);
    const y0 = Math.floor((bb[1] - pad) / BUCKET);
    const y1 = Math.floor((bb[3] + pad) / BUCKET);
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) keys.push((y + 1000) * 100_000 + (x + 1000));
    return keys;
  };
  const addExcl = (ring: Ring, soft = false) => {
    const e: Excl = { ring, bbox: bboxOf([ring]), soft };
    const idx = exclusions.push(e) - 1;
    for (const k of bucketKeys(e.bbox, 0)) {
      const list = buckets.get(k);
      if (list) list.push(idx);
      else buckets.set(k, [idx]);
    }
  };
  // Clouds, shadows and the wedge live in the after image's frame; on the ground they sit one
  // misregistration pixel away, so both positions are excluded.
  const sdx = -shift.dx * pixelSize;
  const sdy = -shift.dy * pixelSize;
  for (const c of clouds)
    for (const [ox, oy] of [
      [0, 0],
      [sdx, sdy],
    ]) {
      addExcl(blobRing(c.blob, 48, 1 + c.edge, ox, oy));
      addExcl(blobRing(c.blob, 48, 1 + c.edge, c.shadow[0] + ox, c.shadow[1] + oy));
    }
  addExcl(wedge);
  addExcl(wedge.map(([u, v]) => [u + sdx, v + sdy] as Pt));
  for (const p of parcels) if (isHarvest(p) || (p.crop && p.crop.before === CS.weedy)) addExcl(p.ring, true);
  const farEnough = (ring: Ring, gap = minGap, soft = true): boolean => {
    const bb = bboxOf([ring]);
    // Scene edge: 10 px inside, plus the misregistration pixel.
    if (bb[0] < gap + pixelSize || bb[1] < gap + pixelSize || bb[2] > W - gap - pixelSize || bb[3] > H - gap - pixelSize) return false;
    const seen = new Set<number>();
    for (const k of bucketKeys(bb, gap))
      for (const i of buckets.get(k) ?? []) {
        if (seen.has(i)) continue;
        seen.add(i);
        const e = exclusions[i];
        if ((soft || !e.soft) && bboxGap(bb, e.bbox) < gap && ringDistance(ring, e.ring) < gap) return false;
      }
    return true;
  };

  // ---- planting -------------------------------------------------------------------------------
  const truth: TruthItem[] = [];
  let nChanges = 0;
  let nHard = 0;
  const changedParcels = new Set<number | null>();
  const approvals: Approval[] = [];
  const filings: Filing[] = [];
  const plantRng = new Rng(seed, 'plant');
  let approvalNo = plantRng.int(30, 80);
  let filingNo = plantRng.int(5, 20);
  const nextPZWH = () => `苏政地〔2026〕${approvalNo++}号`;
  const nextBABH = () => `靖设农备〔2026〕${filingNo++}号`;
  const batch = () => `2026年度第${plantRng.int(1, 9)}批次城镇建设用地`;

  /** Tries to place an (s,t)-aligned rectangle of the given size inside the parcel, ≥ margin from its edges. */
  function placeRect(pid: number, ds: number, dt: number, margin = 4, soft = true, tries = 14): [number, number, number, number] | null {
    const p = parcels[pid];
    const inner = insetConvex(p.ring, margin);
    if (!inner.length) return null;
    const st = parcelST.get(pid)!;
    for (let k = 0; k < tries; k++) {
      const s0 = plantRng.range(st[0] + margin, Math.max(st[0] + margin, st[1] - margin - ds));
      const t0 = plantRng.range(st[2] + margin, Math.max(st[2] + margin, st[3] - margin - dt));
      const box: [number, number, number, number] = [s0, s0 + ds, t0, t0 + dt];
      const ring = rectST(box[0], box[1], box[2], box[3]);
      if (ring.every(([u, v]) => pointInRing(u, v, inner)) && farEnough(ring, minGap, soft)) return box;
    }
    return null;
  }
  const approvalRing = (pid: number, box: [number, number, number, number]): Ring => {
    const e = plantRng.range(8, 16);
    return clipConvex(rectST(box[0] - e, box[1] + e, box[2] - e, box[3] + e), parcels[pid].ring);
  };

  type Planter = (pid: number, area: number, variant: number) => { poly: Poly; detail: string; box: [number, number, number, number] } | null;
  const rectDims = (area: number, maxDs = 1e9, maxDt = 1e9): [number, number] => {
    const aspect = plantRng.range(0.6, 2.2);
    let ds = Math.sqrt(area * aspect);
    let dt = area / ds;
    if (ds > maxDs) {
      ds = maxDs;
      dt = area / ds;
    }
    if (dt > maxDt) {
      dt = maxDt;
      ds = Math.min(maxDs, area / dt);
    }
    return [ds, dt];
  };
  const parcelDims = (pid: number) => {
    const st = parcelST.get(pid)!;
    return [st[1] - st[0] - 8, st[3] - st[2] - 8];
  };

  const plantBuilding: Planter = (pid, area, variant) => {
    const [mds, mdt] = parcelDims(pid);
    if (variant === 1) {
      // Courtyard compound: buildings on a ring of hardened ground around a still-cultivated centre.
      const ds = plantRng.range(46, 60);
      const dt = plantRng.range(40, 52);
      if (ds > mds || dt > mdt) return null;
      const box = placeRect(pid, ds, dt);
      if (!box) return null;
      const wr = plantRng.range(12, 14);
      const outer = rectST(box[0], box[1], box[2], box[3]);
      const hole = rectST(box[0] + wr, box[1] - wr, box[2] + wr, box[3] - wr).reverse();
      const poly: Poly = [outer, hole];
      overlays.push(newFeature(P.yard, poly, { z: 10, dates: 2, mat0: 0 }));
      const [s0, s1, t0, t1] = box;
      const bw = wr - 3;
      const mat = plantRng.chance(0.5) ? 3 : 0;
      for (const st of [
        [s0 + 1.5, s1 - 1.5, t0 + 1.5, t0 + 1.5 + bw],
        [s0 + 1.5, s0 + 1.5 + bw, t0 + wr, t1 - wr],
        [s1 - 1.5 - bw, s1 - 1.5, t0 + wr, t1 - wr],
      ] as [number, number, number, number][])
        addBuilding(rectST(st[0], st[1], st[2], st[3]), mat, plantRng.range(5, 8), 2, st);
      return { poly, detail: 'courtyard compound: sheds on hardened ground around a cultivated centre (hole)', box };
    }
    const [ds, dt] = rectDims(area, mds, mdt);
    const box = placeRect(pid, ds, dt);
    if (!box) return null;
    const ring = rectST(box[0], box[1], box[2], box[3]);
    const hardened = plantRng.chance(0.7);
    overlays.push(newFeature(P.yard, [ring], { z: 10, dates: 2, mat0: hardened ? 0 : 3 }));
    // One to three sheds/houses covering 30–60 % of the yard.
    const nb = area < 900 ? 1 : plantRng.int(1, 3);
    const [s0, s1, t0, t1] = box;
    const mats: string[] = [];
    for (let k = 0; k < nb; k++) {
      const w = (s1 - s0 - 3) / nb;
      const bs0 = s0 + 1.5 + k * w;
      const bs1 = bs0 + w * plantRng.range(0.7, 0.95);
      const bt0 = t0 + 1.5;
      const bt1 = bt0 + (t1 - t0 - 3) * plantRng.range(0.45, 0.75);
      const mat = plantRng.pick([3, 3, 0, 1, 2]);
      mats.push(['grey tile', 'red tile', 'white roof', 'blue steel'][mat]);
      addBuilding(rectST(bs0, bs1, bt0, bt1), mat, plantRng.range(4, 9), 2, [bs0, bs1, bt0, bt1]);
    }
    return { poly: [ring], detail: `${nb} building(s) (${mats.join(', ')}) on ${hardened ? 'concrete' : 'gravel/soil'} yard`, box };
  };
  const plantRoad: Planter = (pid) => {
    const [mds] = parcelDims(pid);
    if (mds < 152) return null;
    const len = plantRng.range(150, Math.min(mds, 230));
    const w = plantRng.range(6, 10);
    const box = placeRect(pid, len, w);
    if (!box) return null;
    const ring = rectST(box[0], box[1], box[2], box[3]);
    const asphalt = plantRng.chance(0.5);
    overlays.push(newFeature(P.newRoad, [ring], { z: 10, dates: 2, mat0: asphalt ? 1 : 0, p0: (box[2] + box[3]) / 2, p1: w / 2 }));
    return { poly: [ring], detail: `new ${asphalt ? 'asphalt' : 'concrete'} road ${w.toFixed(1)} m × ${len.toFixed(0)} m`, box };
  };
  const plantSoil: Planter = (pid, area) => {
    const st = parcelST.get(pid)!;
    const p = parcels[pid];
    const inner = insetConvex(p.ring, 4);
    for (let k = 0; k < 14; k++) {
      const R = Math.sqrt(area / Math.PI);
      const sc = plantRng.range(st[0] + R, Math.max(st[0] + R, st[1] - R));
      const tc = plantRng.range(st[2] + R, Math.max(st[2] + R, st[3] - R));
      const [cx, cy] = toUV(sc, tc);
      const blob: Blob = { cx, cy, R, harmonics: [2, 3, 4].map((kk) => [kk, plantRng.range(0.04, 0.16), plantRng.range(0, 6.28)] as [number, number, number]) };
      const ring = blobRing(blob, 28);
      if (!ring.every(([u, v]) => pointInRing(u, v, inner)) || !farEnough(ring)) continue;
      const piled = plantRng.chance(0.55);
      overlays.push(newFeature(P.soil, [ring], { z: 10, dates: 2, mat0: piled ? 0 : 1 }));
      const sts = ring.map(([u, v]) => toST(u, v));
      const box: [number, number, number, number] = [Math.min(...sts.map((q) => q[0])), Math.max(...sts.map((q) => q[0])), Math.min(...sts.map((q) => q[1])), Math.max(...sts.map((q) => q[1]))];
      return { poly: [ring], detail: piled ? 'piled fresh subsoil (推土)' : 'dug ground, fresh and moist soil (挖土)', box };
    }
    return null;
  };
  const plantPatch =
    (prog: number, label: string, init: () => Partial<Feature>): Planter =>
    (pid, area) => {
      const [mds, mdt] = parcelDims(pid);
      const [ds, dt] = rectDims(area, mds, mdt);
      const box = placeRect(pid, ds, dt);
      if (!box) return null;
      const ring = rectST(box[0], box[1], box[2], box[3]);
      overlays.push(newFeature(prog, [ring], { z: 10, dates: 2, ...init() }));
      return { poly: [ring], detail: label, box };
    };
  const plantOrchard = plantPatch(P.orchard, 'orchard: crown grid with inter-row grass/soil', () => ({
    p0: plantRng.range(4, 5),
    p1: plantRng.range(3, 4),
    p2: plantRng.range(1.1, 1.6),
    p3: plantRng.chance(0.5) ? 1 : 0,
  }));
  const plantForest = plantPatch(P.forest, 'dense tree canopy (nursery/plantation)', () => ({ p0: plantRng.range(3.2, 4), p1: plantRng.range(1.6, 2.2), p2: 0.05 }));
  const plantGreenhouse = plantPatch(P.greenhouse, 'plastic-film greenhouse rows', () => ({ p0: 0, p1: plantRng.range(8, 9.5), p2: plantRng.range(6.2, 7.5), p3: plantRng.range(40, 70), mat0: 0, mat1: 0 }));
  const plantPond: Planter = (pid, area) => {
    const [mds, mdt] = parcelDims(pid);
    const [ds, dt] = rectDims(area, mds, mdt);
    if (ds < 24 || dt < 24) return null;
    const box = placeRect(pid, ds, dt);
    if (!box) return null;
    const [s0, s1, t0, t1] = box;
    const ch = 4;
    const oct = (e: number): Ring =>
      quadST([
        [s0 + e + ch, t0 + e],
        [s1 - e - ch, t0 + e],
        [s1 - e, t0 + e + ch],
        [s1 - e, t1 - e - ch],
        [s1 - e - ch, t1 - e],
        [s0 + e + ch, t1 - e],
        [s0 + e, t1 - e - ch],
        [s0 + e, t0 + e + ch],
      ]);
    const ring = oct(0);
    overlays.push(newFeature(P.soil, [ring], { z: 10, dates: 2, mat0: 0 }));
    overlays.push(newFeature(P.water, [oct(plantRng.range(3, 4.5))], { z: 11, dates: 2, mat0: plantRng.chance(0.6) ? 3 : 1 }));
    return { poly: [ring], detail: 'dug pond: water inside fresh soil dikes', box };
  };

  const TYPES: { type: ChangeTypeName; planter: Planter; area: [number, number]; legal: 'approval' | 'filing' | null }[] = [
    { type: 'occupation_building', planter: plantBuilding, area: [400, 3500], legal: 'approval' },
    { type: 'occupation_road', planter: plantRoad, area: [900, 2300], legal: 'approval' },
    { type: 'occupation_soil', planter: plantSoil, area: [400, 6000], legal: 'approval' },
    { type: 'outflow_orchard', planter: plantOrchard, area: [1000, 10000], legal: null },
    { type: 'outflow_forest', planter: plantForest, area: [800, 9000], legal: null },
    { type: 'outflow_pond', planter: plantPond, area: [700, 8000], legal: null },
    { type: 'outflow_greenhouse', planter: plantGreenhouse, area: [900, 10000], legal: 'filing' },
  ];
  const perType = Math.max(5, Math.round(areaKm2 * 0.4));
  const hostOk = (p: LandParcel) => !isHarvest(p) && p.crop !== null && p.crop.before !== CS.weedy;
  const addTruthChange = (type: ChangeTypeName, pid: number, res: { poly: Poly; detail: string }, legal: boolean, approval: string | null) => {
    truth.push({
      id: `C${String(++nChanges).padStart(3, '0')}`,
      kind: 'change',
      type,
      legal,
      approval,
      onPbf: parcels[pid].pbf,
      detail: res.detail,
      parcel: pid,
      area: polyArea(res.poly),
      poly: res.poly,
    });
    changedParcels.add(pid);
    addExcl(res.poly[0]);
  };
  const hard = (hardCase: HardCaseName, poly: Poly, detail: string, parcel: number | null, onPbf = false) => {
    truth.push({
      id: `H${String(++nHard).padStart(4, '0')}`,
      kind: 'hard_case',
      type: null,
      legal: false,
      approval: null,
      onPbf,
      hardCase,
      detail,
      parcel,
      area: polyArea(poly),
      poly,
    });
  };
  // Changes on non-cropland baseline, which a cropland monitor must not report: a new factory
  // building on industrial land, forest cleared to bare ground, a pond filled with soil.
  {
    const each = Math.max(1, Math.round(areaKm2 / 16));
    let made = 0;
    for (const p of plantRng.shuffle(parcels.filter((q) => q.dlbm === '0601' && !q.clipped))) {
      if (made >= each) break;
      const st = parcelST.get(p.id)!;
      for (let k = 0; k < 40; k++) {
        const ds = plantRng.range(25, 45);
        const dt = plantRng.range(18, 30);
        if (st[1] - st[0] < ds + 12 || st[3] - st[2] < dt + 12) break;
        const s0 = plantRng.range(st[0] + 6, st[1] - ds - 6);
        const t0 = plantRng.range(st[2] + 6, st[3] - dt - 6);
        const ring = rectST(s0, s0 + ds, t0, t0 + dt);
        if (factoryRects.some((f) => f.pid === p.id && ringDistance(f.ring, ring) < 6)) continue;
        if (!farEnough(ring, minGap, false)) continue;
        addBuilding(ring, 3, plantRng.range(8, 12), 2, [s0, s0 + ds, t0, t0 + dt]);
        hard('non_cropland_change', [ring], 'new factory building on industrial land (0601)', p.id);
        addExcl(ring);
        made++;
        break;
      }
    }
    made = 0;
    // Forest first; orchards (grubbed up) when no forest parcel has room.
    const woody = [...plantRng.shuffle(parcels.filter((q) => q.dlbm === '0301' && !q.clipped)), ...plantRng.shuffle(parcels.filter((q) => q.dlbm === '0201' && !q.clipped))];
    for (const p of woody) {
      if (made >= each) break;
      const [mds, mdt] = parcelDims(p.id);
      let box: [number, number, number, number] | null = null;
      for (let k = 0; k < 4 && !box; k++) {
        const [ds, dt] = rectDims(plantRng.range(1500, 4000) * 0.7 ** k, mds - 8, mdt - 8);
        box = placeRect(p.id, ds, dt, 6, false, 40);
      }
      if (!box) continue;
      const ring = rectST(box[0], box[1], box[2], box[3]);
      overlays.push(newFeature(P.cleared, [ring], { z: 10, dates: 2 }));
      hard('non_cropland_change', [ring], p.dlbm === '0301' ? 'forest (0301) cleared to bare ground' : 'orchard (0201) grubbed up to bare ground', p.id);
      addExcl(ring);
      made++;
    }
    made = 0;
    const ponds = plantRng.shuffle(parcels.filter((q) => q.dlbm === '1104' && !q.clipped));
    for (const p of ponds) {
      if (made >= each) break;
      if (!farEnough(p.ring, minGap, false)) continue;
      overlays.push(newFeature(P.soil, [p.ring], { z: 12, dates: 2, mat0: 0 }));
      hard('non_cropland_change', [p.ring], 'pond (1104) filled with soil', p.id);
      addExcl(p.ring);
      made++;
    }
    // Otherwise fill the end of a pond that has room.
    for (const p of ponds) {
      if (made >= each) break;
      const [mds, mdt] = parcelDims(p.id);
      const [ds, dt] = rectDims(plantRng.range(800, 2500), mds - 8, mdt - 8);
      const box = placeRect(p.id, ds, dt, 1, false, 40);
      if (!box) continue;
      const ring = rectST(box[0], box[1], box[2], box[3]);
      overlays.push(newFeature(P.soil, [ring], { z: 12, dates: 2, mat0: 0 }));
      hard('non_cropland_change', [ring], 'part of a pond (1104) filled with soil', p.id);
      addExcl(ring);
      made++;
    }
  }
  // Round-robin over types so that no type starves when space runs out.
  const plan: { t: (typeof TYPES)[number]; k: number }[] = [];
  for (let k = 0; k < perType; k++) for (const t of TYPES) plan.push({ t, k });
  const hostPool = plantRng.shuffle(cropIds(hostOk));
  for (const { t, k } of plan) {
    const legal = t.legal !== null && (k === 0 || (k >= 5 && plantRng.chance(0.2)));
    // First of each type small (≈ 400–600 m²), else log-uniform over the type's range.
    // Alternate protected/unprotected hosts; the large one (k = 2) takes any host that fits.
    const wantPbf: boolean | null = legal || k === 2 ? null : k % 2 === 1;
    let placed = false;
    for (let round = 0; round < 5 && !placed; round++) {
      // Approved land is never permanent basic farmland; if no unprotected parcel has room, a
      // parcel without planted changes is taken out of the protected set (the PBF layer follows).
      const hasChange = changedParcels;
      const ok = (p: LandParcel) => (legal ? !p.pbf || (round >= 2 && !hasChange.has(p.id)) : round > 0 || wantPbf === null || p.pbf === wantPbf);
      // Walk the shuffled pool from a random start (cheap even with 40 000 parcels).
      const start = plantRng.int(0, hostPool.length - 1);
      for (let n = 0; n < hostPool.length && !placed; n++) {
        const hid = hostPool[(start + n) % hostPool.length];
        if (!ok(parcels[hid])) continue;
        let area = k === 1 ? t.area[0] * plantRng.range(1, 1.5) : k === 2 ? t.area[1] * plantRng.range(0.85, 1) : plantRng.logRange(t.area[0], t.area[1]);
        // Later rounds: smaller and smaller, down to the type's minimum.
        if (round > 0) area = Math.max(t.area[0], area * 0.55 ** round);
        const variant = t.type === 'occupation_building' && k === 2 ? 1 : 0;
        const res = t.planter(hid, area, variant);
        if (!res) continue;
        if (legal) parcels[hid].pbf = false;
        let approval: string | null = null;
        if (legal && t.legal === 'approval') {
          approval = nextPZWH();
          approvals.push({ PZWH: approval, PC: batch(), PZRQ: `2026-0${plantRng.int(1, 3)}-${String(plantRng.int(10, 28))}`, XMMC: `${townships[parcels[hid].township].name}${plantRng.pick(['农村道路', '物流仓储', '村级厂房', '污水处理站', '农产品加工'])}建设项目`, ring: approvalRing(hid, res.box) });
        } else if (legal) {
          approval = nextBABH();
          filings.push({ BABH: approval, XMMC: `${villages[parcels[hid].village].name}蔬菜大棚`, BARQ: `2026-0${plantRng.int(1, 4)}-${String(plantRng.int(10, 28))}`, ring: approvalRing(hid, res.box) });
        }
        addTruthChange(t.type, hid, res, legal, approval);
        placed = true;
      }
    }
    if (!placed && k < 4)
      throw new ConfigError('CONFIG_INVALID', `sample county: no room to plant ${t.type} #${k + 1}; use a larger sizePx`, { field: 'sizePx', type: t.type });
  }

  // ---- hard cases on top of the changes ---------------------------------------------------------
  // Pre-existing buildings on cropland baseline (the survey is old): present in both images.
  {
    const n = Math.max(2, Math.round(areaKm2 * 0.25));
    const hosts = plantRng.shuffle(cropIds(hostOk));
    let made = 0;
    for (let h = 0; h < hosts.length && made < n; h++) {
      const pid = hosts[h];
      const [mds, mdt] = parcelDims(pid);
      const [ds, dt] = rectDims(plantRng.range(300, 1200), mds, mdt);
      const box = placeRect(pid, ds, dt);
      if (!box) continue;
      const ring = rectST(box[0], box[1], box[2], box[3]);
      overlays.push(newFeature(P.yard, [ring], { z: 10, dates: 3, mat0: 1 }));
      const st: [number, number, number, number] = [box[0] + 1, box[0] + 1 + (box[1] - box[0]) * 0.6, box[2] + 1, box[2] + 1 + (box[3] - box[2]) * 0.55];
      addBuilding(rectST(st[0], st[1], st[2], st[3]), plantRng.pick([0, 1, 3]), plantRng.range(4, 7), 3, st);
      hard('preexisting', [ring], 'building and yard present in both images on cropland baseline (old survey)', pid, parcels[pid].pbf);
      addExcl(ring);
      made++;
    }
  }
  // Decoy approvals (approved, nothing built yet) and filings for the existing greenhouses.
  for (const pid of plantRng.shuffle(cropIds((p) => !p.pbf && hostOk(p))).slice(0, 1 + Math.floor(areaKm2 / 10))) {
    approvals.push({ PZWH: nextPZWH(), PC: batch(), PZRQ: '2025-11-20', XMMC: `${townships[parcels[pid].township].name}标准厂房建设项目（未开工）`, ring: parcels[pid].ring });
  }
  for (const p of parcels)
    if (p.dlbm === '1202') filings.push({ BABH: nextBABH(), XMMC: `${villages[p.village].name}设施蔬菜大棚`, BARQ: `2025-0${plantRng.int(3, 9)}-15`, ring: p.ring });

  // Harvest and seasonal shift per parcel; the image-wide effects once each.
  for (const p of parcels) {
    if (!p.crop) continue;
    const names = ['wheat green', 'wheat ripening', 'rapeseed flowering', 'rapeseed pods', 'vegetables', 'vegetables (later)', 'emerging crop', 'ploughed soil', 'stubble', 'fallow soil', 'weeds'];
    if (isHarvest(p)) hard('harvest', [p.ring], `${names[p.crop.before]} → ${names[p.crop.after]}`, p.id, p.pbf);
    else if (p.crop.before !== p.crop.after) hard('seasonal_shift', [p.ring], `${names[p.crop.before]} → ${names[p.crop.after]}`, p.id, p.pbf);
  }
  clouds.forEach((c) => {
    hard('cloud', [clipConvex(blobRing(c.blob, 64), scene)], `cloud, opacity ${c.peak.toFixed(2)} at the core, fuzzy edge ±${Math.round(c.edge * 100)} % of the radius (polygon = 50 % contour)`, null);
    hard('shadow', [clipConvex(blobRing(c.blob, 64, 1, c.shadow[0], c.shadow[1]), scene)], 'cloud shadow (illumination × 0.26 plus skylight)', null);
  });
  hard('nodata_edge', [wedge], 'after image: wedge of NoData (0 in all bands) along the east edge', null);
  hard('misregistration', [scene], `after image displaced by dx=${shift.dx}, dy=${shift.dy} px relative to its georeference`, null);
  hard('mixed_edge', [scene], 'both images rendered at 2× and averaged 2×2: every boundary has mixed pixels', null);

  return {
    W,
    H,
    sizePx,
    pixelSize,
    theta,
    base,
    overlays,
    parcels,
    cells,
    townships,
    villages,
    approvals,
    filings,
    projects,
    truth,
    clouds,
    wedge,
    shift,
    sun,
    counts: { houses: houses.n, trees: trees.n },
  };
}

/** Unit vector towards the sun in (u east, v south) and shadow length per metre of height. */
function sunVector(azimuthDeg: number, elevationDeg: number): { dir: Pt; shadowPerM: number } {
  const az = (azimuthDeg * Math.PI) / 180;
  return { dir: [Math.sin(az), -Math.cos(az)], shadowPerM: 1 / Math.tan((elevationDeg * Math.PI) / 180) };
}
