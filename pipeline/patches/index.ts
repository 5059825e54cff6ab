import type { RulesConfig } from '../change/index.js';
import { decodeTransition, isLandClass, transitionCode } from '../change/index.js';
import type { VectorLayer } from '../baseline/vectors.js';
import { CGCS2000, makeTransform } from '../geo/crs.js';
import { pixelToMap } from '../geo/grid.js';
import { ellipsoidalArea, planarCentroid, MU_PER_M2 } from '../geo/area.js';
import { componentShape } from '../geo/shape.js';
import { burnPolygon } from '../geo/rasterize.js';
import { ringSignedArea, traceComponent, type Component } from '../vectorize/index.js';
import {
  CHANGE_TYPE_LABELS,
  ChangeType,
  LandCover,
  landCoverName,
  type ChangeTypeName,
  type Grid,
  type LandCoverName,
  type Patch,
  type PatchAttributes,
  type PolygonCoords,
} from '../types.js';

/** Overlay layers a run may have; all optional. */
export interface PatchLayers {
  readonly baseline?: VectorLayer;
  readonly townships?: VectorLayer;
  readonly pbf?: VectorLayer;
  readonly approved?: VectorLayer;
  readonly filings?: VectorLayer;
}

export interface PatchOptions {
  readonly grid: Grid;
  /** Ground size of a pixel in metres (for shape tests). */
  readonly pixelSizeM: number;
  readonly mode: 'baseline' | 'transitions';
  readonly rules: RulesConfig;
  readonly minArea: Readonly<Record<string, number>>;
  /** Fewest pixels a patch may cover (config minPixels); default 1. */
  readonly minPixels?: number;
  readonly legality: readonly { layer: 'approved' | 'filings'; types: readonly string[]; numberField: string; minCoverage: number }[];
  /** Pixels per baseline parcel (index + 1), for the whole-parcel tillage test. */
  readonly parcelPixels?: Uint32Array;
  /** Pixels per baseline parcel showing soil (bare or disturbed) in the after image. */
  readonly parcelSoilPixels?: Uint32Array;
  readonly regionCode: string;
  readonly beforeDate: string | null;
  readonly afterDate: string | null;
}

/** Why a component did not become a patch; counted in the summary. */
export type DropReason = 'below_minimum_area' | 'whole_parcel_tillage' | 'field_edge_tillage' | 'soft_outline' | 'cover_not_of_rule' | 'not_part_of_a_site';

export interface PatchBuildResult {
  readonly patches: Patch[];
  /** The components behind the patches, in the same order (for the change raster and chips). */
  readonly kept: Component[];
  /** Final change code of each kept component (ChangeType code, or transition code). */
  readonly codes: number[];
  readonly dropped: Record<DropReason, number>;
}

const majority = (hist: ReadonlyArray<[number, number]> | undefined): [number, number] | null => {
  if (!hist || hist.length === 0) return null;
  let best = hist[0];
  for (const h of hist) if (h[1] > best[1] || (h[1] === best[1] && h[0] < best[0])) best = h;
  return best;
};
const countOf = (hist: ReadonlyArray<[number, number]> | undefined, value: number) => hist?.find((h) => h[0] === value)?.[1] ?? 0;
const prop = (layer: VectorLayer | undefined, idx1: number | undefined, field: string): string | null => {
  if (!layer || !idx1) return null;
  const v = layer.features[idx1 - 1]?.properties[field];
  return v === undefined || v === null || v === '' ? null : String(v);
};

/** Resolves the change type of a component from its rule: majority after-class, then the linear-shape test. */
function resolveType(c: Component, opts: PatchOptions): ChangeTypeName {
  const rule = opts.rules.transitions[c.code - 1];
  let type = rule.type;
  if (rule.typeByMajorityAfter) {
    const after = majority(c.hist.after);
    const byClass = after ? rule.typeByMajorityAfter[landCoverName(after[0])] : undefined;
    if (byClass) type = byClass;
  }
  if (isLinear(c, opts.rules, opts.pixelSizeM)) type = rule.linear!.type;
  return type;
}

/**
 * True when the component's rule has a linear type and the component is long and thin. Judged on
 * the outline with holes filled: a compound built around a courtyard is a ring, thin but not
 * linear; a road stays long and thin.
 */
export function isLinear(c: Component, rules: RulesConfig, pixelSizeM: number): boolean {
  const linear = rules.transitions[c.code - 1]?.linear;
  if (!linear) return false;
  const shape = componentShape(withHolesFilled(c));
  return shape.maxInscribedWidthPx * pixelSizeM <= linear.maxWidthM && shape.elongation >= linear.minElongation;
}

/** The component with its holes filled (the pixels inside its outer ring), for shape tests. */
function withHolesFilled(c: Component): Component {
  return withRings(c, [traceComponent(c)[0]]);
}

/**
 * The component with its holes of fewer than `maxHolePx` pixels filled: pinholes where a roof
 * light, a puddle or a misread pixel broke the patch are part of the site, and its area counts
 * them. Holes that size cannot hold a reported patch (every patch has at least the smallest
 * mapping unit), so no two patches overlap. A filled pixel's layers (parcel, township, ...) are
 * taken as the component's majority; weighted sums stay those of the classified pixels.
 */
export function fillSmallHoles(c: Component, maxHolePx: number, rings = traceComponent(c)): Component {
  const kept = rings.filter((ring, i) => i === 0 || Math.abs(ringSignedArea(ring)) >= maxHolePx);
  if (kept.length === rings.length) return c;
  const filled = withRings(c, kept);
  const added = filled.pixelCount - c.pixelCount;
  const hist = Object.fromEntries(
    Object.entries(c.hist).map(([name, pairs]) => {
      const top = majority(pairs);
      return [name, top ? pairs.map(([v, n]) => [v, v === top[0] ? n + added : n] as [number, number]) : pairs];
    }),
  );
  return { ...filled, hist };
}

/** The component's pixels inside the given rings (outer ring, then the holes to keep). */
function withRings(c: Component, rings: ReturnType<typeof traceComponent>): Component {
  const win = c.bbox;
  const mask = new Uint8Array(win.width * win.height);
  burnPolygon(rings, 1, win, mask);
  const runs: number[] = [];
  let count = 0;
  for (let y = 0; y < win.height; y++) {
    let x = 0;
    while (x < win.width) {
      if (!mask[y * win.width + x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < win.width && mask[y * win.width + x]) x++;
      runs.push(win.row + y, win.col + start, win.col + x);
      count += x - start;
    }
  }
  return { ...c, runs: Int32Array.from(runs), pixelCount: count };
}

/**
 * True when a soil component lies (≥ 90 %) in baseline parcels that each show soil nearly all
 * over: ploughing or harvest, which go parcel by parcel, not digging, which leaves the rest of its
 * parcel as it was. Harvested neighbours whose ridges are too thin to separate them make one
 * component over several parcels, hence the test per parcel.
 */
function isWholeParcelTillage(c: Component, opts: PatchOptions): boolean {
  const share = opts.rules.wholeParcelTillage;
  if (!share || !opts.parcelPixels) return false;
  let tilled = 0;
  for (const [id, n] of c.hist.parcel ?? []) {
    if (id === 0) continue;
    const parcelPx = opts.parcelPixels[id] ?? 0;
    const soilPx = Math.max(n, opts.parcelSoilPixels?.[id] ?? 0);
    if (parcelPx > 0 && soilPx / parcelPx >= share) tilled += n;
  }
  return tilled / c.pixelCount >= 0.9;
}

/** Land cover a cultivated field shows over a year: crop, ploughed soil, bright dry soil. */
const CULTIVATED: ReadonlySet<number> = new Set([LandCover.herbaceous, LandCover.bare, LandCover.disturbed]);

/**
 * True when most of a soil component's judged outline runs along edges the before image already
 * showed (change/outline-edges.ts): ploughing and harvest stop at field edges, digging cuts a crop.
 */
function followsFieldEdges(c: Component, rules: RulesConfig): boolean {
  const steps = c.sums.outlineSteps ?? 0;
  return rules.fieldEdgeTillage > 0 && steps > 0 && (c.sums.outlinePriorEdges ?? 0) / steps >= rules.fieldEdgeTillage;
}

/**
 * False when the component's judged outline is mostly no edge in the after image: the fading
 * fringe of a thin cloud or haze, not a new object (change/outline-edges.ts). A bright patch with
 * no judged step at all is ringed by cloud, shadow or no-data: most likely part of the cloud.
 * `thin`: a linear site (a road), judged where it is thinner than the samples' reach against the
 * outside's texture alone.
 */
function hasSharpOutline(c: Component, rules: RulesConfig, thin = false): boolean {
  if (rules.sharpOutline <= 0) return true;
  const steps = c.sums.outlineSteps ?? 0;
  return steps > 0 && (c.sums[thin ? 'outlineSharpEdgesThin' : 'outlineSharpEdges'] ?? 0) / steps >= rules.sharpOutline;
}

/**
 * Turns merged change components into typed, attributed patches: resolves each type, drops
 * components below the minimum mapping unit (ellipsoidal area), whole-parcel tillage, yards that
 * joined no site and patches that mostly do not show their rule's cover, marks
 * legality from the overlays (legal patches are kept), and fills the clue-list attributes.
 * Patches are numbered north to south, then west to east.
 */
export function buildPatches(components: readonly Component[], layers: PatchLayers, opts: PatchOptions): PatchBuildResult {
  const toLonLat = makeTransform(opts.grid.crs, CGCS2000);
  const cropland = new Set(opts.rules.groups.cropland);
  const dropped: Record<DropReason, number> = { below_minimum_area: 0, whole_parcel_tillage: 0, field_edge_tillage: 0, soft_outline: 0, cover_not_of_rule: 0, not_part_of_a_site: 0 };
  const candidates: { c: Component; patch: Patch; code: number }[] = [];
  const units = Object.values(opts.minArea).filter((v) => v > 0);
  const smallestUnitPx = units.length ? Math.floor(Math.min(...units) / (opts.pixelSizeM * opts.pixelSizeM)) : 0;
  for (const c of components) {
    let type: ChangeTypeName | 'transition';
    let label: string;
    let code: number;
    let qsdl: LandCoverName;
    let xzdl: LandCoverName;
    if (opts.mode === 'baseline') {
      const rule = opts.rules.transitions[c.code - 1];
      if (rule.standalone === false) {
        dropped.not_part_of_a_site++;
        continue;
      }
      if (rule.standalone === 'inside-field' && followsFieldEdges(c, opts.rules)) {
        dropped.field_edge_tillage++;
        continue;
      }
      type = resolveType(c, opts);
      label = CHANGE_TYPE_LABELS[type];
      code = changeTypeCode(type);
      if (type === 'occupation_soil' && isWholeParcelTillage(c, opts)) {
        dropped.whole_parcel_tillage++;
        continue;
      }
      if (type === 'occupation_soil' && followsFieldEdges(c, opts.rules)) {
        dropped.field_edge_tillage++;
        continue;
      }
      // A change of material within a class has no class boundary to vouch for it either: the
      // brightest part of a field harrowed as a whole is cut out where the threshold falls.
      if ((rule.minBrightening !== undefined || opts.rules.sharpOutlineTypes.includes(type)) && !hasSharpOutline(c, opts.rules, type === rule.linear?.type)) {
        dropped.soft_outline++;
        continue;
      }
      qsdl = landCoverName(majority(c.hist.before)?.[0] ?? 0);
      xzdl = landCoverName(majority(c.hist.after)?.[0] ?? 0);
      // A patch must mostly show what its rule claims; closing can otherwise grow scattered
      // specks into a blob of something else.
      // Rules that join their neighbours (earthworks) may make up part of any patch.
      const ruleCover = new Set(opts.rules.transitions.filter((t) => t.type === rule.type || t === rule || t.joinsNeighbours).flatMap((t) => t.after));
      if (!ruleCover.has(xzdl)) {
        dropped.cover_not_of_rule++;
        continue;
      }
    } else {
      // Without a baseline nothing vouches for a transition but the images: it must end in an edge
      // of the after image. Where the classifier's boundary cuts through a field that changed as
      // a whole (a crop cycle), it does not.
      if (!hasSharpOutline(c, opts.rules)) {
        dropped.soft_outline++;
        continue;
      }
      // A site merged from pieces of one after-class (run.ts) is named by what it mostly replaced.
      const piece = decodeTransition(c.code);
      const before = majority(c.hist.before)?.[0];
      const t = before !== undefined && before !== piece.after && isLandClass(before) ? { before, after: piece.after } : piece;
      // Between crop and soil (ploughed or bright and dry), a change that stops at the field's
      // edges is the season's work on that field, as in baseline mode; one cutting into a field is kept.
      if (CULTIVATED.has(t.before) && CULTIVATED.has(t.after) && followsFieldEdges(c, opts.rules)) {
        dropped.field_edge_tillage++;
        continue;
      }
      type = 'transition';
      code = transitionCode(t.before, t.after);
      qsdl = landCoverName(t.before);
      xzdl = landCoverName(t.after);
      label = `${qsdl}→${xzdl}`;
    }
    // Pinholes are part of the site (see fillSmallHoles).
    const rings = traceComponent(c);
    const site = fillSmallHoles(c, smallestUnitPx, rings);
    const pixelPoly = site === c ? rings : traceComponent(site);
    const mapPoly: PolygonCoords = pixelPoly.map((ring) => ring.map(([x, y]) => pixelToMap(opts.grid.transform, x, y)));
    const lonLatPoly: PolygonCoords = mapPoly.map((ring) => ring.map(([x, y]) => toLonLat(x, y)));
    const area = ellipsoidalArea(lonLatPoly);
    if (area < (opts.minArea[type] ?? 0) || site.pixelCount < (opts.minPixels ?? 1)) {
      dropped.below_minimum_area++;
      continue;
    }
    const perPixel = area / site.pixelCount;
    const [cx, cy] = planarCentroid(mapPoly);
    const [lon, lat] = toLonLat(cx, cy);
    const parcel = majority(site.hist.parcel)?.[0];
    let croplandPx = 0;
    for (const [idx, n] of site.hist.parcel ?? []) if (cropland.has(prop(layers.baseline, idx, 'DLBM') ?? '')) croplandPx += n;
    const pbfPx = countOf(site.hist.pbf, 1);
    let approval: string | null = null;
    for (const rule of opts.legality) {
      if (!rule.types.includes(type)) continue;
      const inside = majority((site.hist[rule.layer] ?? []).filter(([v]) => v !== 0));
      if (inside && inside[1] / site.pixelCount >= rule.minCoverage) {
        approval = prop(layers[rule.layer], inside[0], rule.numberField);
        if (approval) break;
      }
    }
    const township = majority((site.hist.township ?? []).filter(([v]) => v !== 0))?.[0];
    const attributes: PatchAttributes = {
      JCBH: '',
      TBLX: type,
      TBLXMC: label,
      XZQDM: prop(layers.townships, township, 'XZQDM') ?? prop(layers.baseline, parcel, 'XZQDM'),
      XZQMC: prop(layers.townships, township, 'XZQMC'),
      CJMC: prop(layers.baseline, parcel, 'ZLDWMC'),
      QSX: opts.beforeDate,
      HSX: opts.afterDate,
      DLBM: prop(layers.baseline, parcel, 'DLBM'),
      DLMC: prop(layers.baseline, parcel, 'DLMC'),
      QSDL: qsdl,
      XZDL: xzdl,
      MJ: round2(area),
      MJM: round2(area * MU_PER_M2),
      GDMJ: round2(croplandPx * perPixel),
      YJJBNTMJ: round2(pbfPx * perPixel),
      ZXX: round3(cx),
      ZXY: round3(cy),
      JD: round7(lon),
      WD: round7(lat),
      PZWH: approval,
      HF: approval !== null,
      SFJBNT: pbfPx > 0,
      ZXD: Math.round(((c.sums.conf ?? 0) / c.pixelCount) * 100) / 100,
      pixelCount: site.pixelCount,
      chipBefore: null,
      chipAfter: null,
    };
    candidates.push({ c: site, code, patch: { geometry: [mapPoly], geometryLonLat: [lonLatPoly], attributes } });
  }
  candidates.sort((a, b) => b.patch.attributes.WD - a.patch.attributes.WD || a.patch.attributes.JD - b.patch.attributes.JD);
  const prefix = jcbhPrefix(opts.regionCode, opts.afterDate);
  candidates.forEach((x, i) => (x.patch.attributes.JCBH = `${prefix}${String(i + 1).padStart(5, '0')}`));
  return { patches: candidates.map((x) => x.patch), kept: candidates.map((x) => x.c), codes: candidates.map((x) => x.code), dropped };
}

const changeTypeCode = (t: ChangeTypeName): number => ChangeType[t];

/** JCBH prefix: region code + year + quarter of the after image (DOMAIN.md). */
export function jcbhPrefix(regionCode: string, afterDate: string | null): string {
  const d = afterDate ? new Date(afterDate) : null;
  if (!d || Number.isNaN(d.getTime())) return `${regionCode}00000`;
  return `${regionCode}${d.getUTCFullYear()}${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const round3 = (v: number) => Math.round(v * 1000) / 1000;
const round7 = (v: number) => Math.round(v * 1e7) / 1e7;
