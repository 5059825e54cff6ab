import type { z } from 'zod';
import type { RulesSchema } from '../../config/pipeline.js';
import { RuleError } from '../errors.js';
import { LandCover, landCoverName, type LandCoverBlock, type LandCoverName, type RasterBlock, type Window } from '../types.js';
import { growMixedEdges, type EdgeOptions } from './edges.js';
import { refineOutlines, type RefineOptions } from './refine.js';
import { OUTLINE_REACH_PX, type EdgeTestOptions } from './outline-edges.js';
import { cropToCore } from '../tiling/index.js';
import { close, dilate, open } from '../raster/morphology.js';
import { neighbourhoodClassMask } from '../raster/neighbourhood.js';

export type RulesConfig = z.output<typeof RulesSchema>;

/** Baseline group of a pixel, burnt from the baseline survey. */
export const BaselineGroup = { none: 0, cropland: 1 } as const;

/**
 * The transition table compiled for per-pixel lookup. In `baseline` mode the pixel code is the
 * 1-based index of the matching rule; in `transitions` mode (no baseline) it encodes the pair of
 * land-cover classes: code = 1 + (before − 1) · 8 + (after − 1), for classes 1..8.
 */
export interface CompiledRules {
  readonly mode: 'baseline' | 'transitions';
  /** baseline mode: code by before·16 + after (0 = no change) */
  readonly table: Uint8Array;
  readonly misregistrationPx: number;
  readonly cloudBufferPx: number;
  /** Shadows that survive an opening of this radius are cloud shadows and get buffered. */
  readonly objectShadowPx: number;
  /** Cloud areas that survive an opening of this radius are real clouds and get buffered. */
  readonly minCloudPx: number;
  /** Steps a cloud grows through touching bright pixels. */
  readonly cloudGrowPx: number;
  readonly openingPx: number;
  /** Closing radius per rule (index = code − 1), baseline mode. */
  readonly closingPx: readonly number[];
  /** Smallest relative brightening per rule (index = code − 1; 0 = none), baseline mode. */
  readonly minBrightening: readonly number[];
  /** Codes of rules that are no site of their own (yards): other codes' closing may claim them. */
  readonly weakCodes: ReadonlySet<number>;
  /** Codes of rules that join their neighbours (earthworks): below minConfidence they may still join a site (yardConfidence). */
  readonly yardCodes: ReadonlySet<number>;
  readonly yardConfidence: number;
  readonly yardReachPx: number;
  readonly minConfidence: number;
  /** Mixed-edge growth (edges.ts); rings 0 = off. */
  readonly edges: EdgeOptions;
  /** The edge test of outline-edges.ts. */
  readonly outlineEdges: EdgeTestOptions;
  /** Outline refinement against the after image (refine.ts). */
  readonly refine: RefineOptions;
  /** Largest neighbourhood radius the rules use: the halo a tile needs beyond the classifier's own. */
  readonly haloPx: number;
}

const MAX_LAND_CLASS = 8; // water..greenhouse; cloud, shadow and nodata are masks, not land cover
const code = (n: LandCoverName) => LandCover[n];

/** True for land-cover classes (water..greenhouse); false for no data, cloud and shadow. */
export const isLandClass = (c: number): boolean => c >= 1 && c <= MAX_LAND_CLASS;

/** Encodes a land-cover transition (classes 1..8) as a change code 1..64. */
export const transitionCode = (before: number, after: number): number => 1 + (before - 1) * MAX_LAND_CLASS + (after - 1);
export const decodeTransition = (c: number): { before: number; after: number } => ({
  before: Math.floor((c - 1) / MAX_LAND_CLASS) + 1,
  after: ((c - 1) % MAX_LAND_CLASS) + 1,
});

/**
 * Compiles the rules for a scene of the given pixel size (metres), so distances in metres become
 * pixel radii and the same config works from 0.5 m to 30 m imagery. `minAreaM2` (the minimum
 * mapping units by change type) sets which changes are big enough for mixed-edge growth.
 * @throws RuleError when two transitions claim the same (before, after) pair.
 */
export function compileRules(rules: RulesConfig, mode: 'baseline' | 'transitions', pixelSizeM: number, minAreaM2: Readonly<Record<string, number>> = {}): CompiledRules {
  const table = new Uint8Array(16 * 16);
  if (mode === 'baseline') {
    rules.transitions.forEach((t, i) => {
      const kept = t.before.find((b) => t.after.includes(b));
      if (kept && t.minBrightening === undefined)
        throw new RuleError('RULE_INVALID', `rules.transitions[${i}] ("${t.name}") keeps the class ${kept}: it needs minBrightening, or every ${kept} pixel would be a change`, { field: `rules.transitions[${i}].minBrightening` });
      for (const b of t.before)
        for (const a of t.after) {
          const k = code(b) * 16 + code(a);
          if (table[k]) throw new RuleError('RULE_INVALID', `rules.transitions: "${t.name}" and rule ${table[k]} both claim ${b} → ${a}`, { field: `rules.transitions[${i}]` });
          table[k] = i + 1;
        }
    });
  } else {
    const ignored = new Set(rules.ignoreTransitions.map(([b, a]) => code(b) * 16 + code(a)));
    for (let b = 1; b <= MAX_LAND_CLASS; b++)
      for (let a = 1; a <= MAX_LAND_CLASS; a++) if (a !== b && !ignored.has(b * 16 + a)) table[b * 16 + a] = transitionCode(b, a);
  }
  const cloudBufferPx = Math.ceil(rules.cloudBufferM / pixelSizeM);
  const closingPx = rules.transitions.map((t) => Math.round(t.closingM / pixelSizeM));
  const maxClosingPx = Math.max(0, ...closingPx);
  const minCloudPx = Math.max(0, Math.ceil((rules.minCloudM / pixelSizeM - 1) / 2));
  const cloudGrowPx = Math.round(rules.cloudGrowM / pixelSizeM);
  const yardReachPx = Math.round(rules.yardReachM / pixelSizeM);
  const refine = refineOptions(rules, mode, pixelSizeM);
  // Opening a shadow mask with radius r removes shadows narrower than 2r + 1 px.
  const objectShadowPx = Math.max(0, Math.ceil((rules.objectShadowM / pixelSizeM - 1) / 2));
  return {
    mode,
    table,
    misregistrationPx: rules.misregistrationPx,
    cloudBufferPx,
    objectShadowPx,
    minCloudPx,
    cloudGrowPx,
    openingPx: rules.openingPx,
    closingPx: mode === 'baseline' ? closingPx : transitionClosingPx(rules, pixelSizeM),
    minBrightening: mode === 'baseline' ? rules.transitions.map((t) => t.minBrightening ?? 0) : [],
    weakCodes: mode === 'baseline' ? weakRuleCodes(rules) : new Set(),
    yardCodes: mode === 'baseline' ? new Set(joiningRuleCodes(rules)) : new Set(),
    yardConfidence: Math.min(rules.yardConfidence, rules.minConfidence),
    yardReachPx,
    minConfidence: rules.minConfidence,
    edges: { rings: rules.mixedEdgeRings, minContrast: rules.mixedEdgeMinContrast, minFraction: rules.mixedEdgeMinFraction, seedMinPx: seedMinPx(rules, mode, pixelSizeM, minAreaM2) },
    // The neighbourhoods chain: shadow opening, then the cloud buffer, then the mis-registration
    // test, then opening and closing of the change masks; the halo must cover their sum.
    outlineEdges: { ratio: rules.edgeRatio, minContrast: rules.edgeMinContrast },
    refine,
    haloPx: Math.max(
      2 * Math.max(objectShadowPx, minCloudPx) +
        cloudGrowPx +
        cloudBufferPx +
        rules.misregistrationPx +
        yardReachPx +
        2 * rules.openingPx +
        2 * maxClosingPx +
        rules.mixedEdgeRings +
        (refine.reachPx > 0 ? refine.reachPx + refine.windowPx + Math.max(0, ...refine.texturePx) : 0) +
        1,
      OUTLINE_REACH_PX,
    ),
  };
}

/**
 * Closing radius per transition code (index code − 1), for a run without a baseline: that of the
 * rules whose new cover is the transition's after-class (the largest if several), for the covers
 * whose outline must be sharp (sharpOutlineTypes: roofs, pavement, film). Closed, film rows and
 * roof parts are one object whose outer edge the outline test judges; open, every row's soft
 * inner edges fail it (6 of 24 greenhouses found on four sample counties, 20 of 24 closed). Woody
 * covers stay open: closed, the orchard-like texture of crops between dates grows into patches
 * that nothing without a baseline tells from new orchards (false patches 4 → 11 on one county).
 */
function transitionClosingPx(rules: RulesConfig, pixelSizeM: number): number[] {
  const out = new Array<number>(MAX_LAND_CLASS * MAX_LAND_CLASS).fill(0);
  for (let a = 1; a <= MAX_LAND_CLASS; a++) {
    const radii = rules.transitions.filter((t) => t.after.includes(landCoverName(a)) && rules.sharpOutlineTypes.includes(t.type)).map((t) => Math.round(t.closingM / pixelSizeM));
    const radius = Math.max(0, ...radii);
    for (let b = 1; b <= MAX_LAND_CLASS; b++) out[transitionCode(b, a) - 1] = radius;
  }
  return out;
}

/** The refinement's options in pixels, per change code (baseline: rule index + 1; transitions: the pair's code). */
function refineOptions(rules: RulesConfig, mode: 'baseline' | 'transitions', pixelSizeM: number): RefineOptions {
  // A box of ≈ textureM on a side: half-size (textureM / px − 1) / 2, none below two pixels a side.
  const textureOf = (m: number) => Math.max(0, Math.round((m / pixelSizeM - 1) / 2));
  const bits = (classes: readonly LandCoverName[]) => classes.reduce((b, c) => b | (1 << code(c)), 0);
  let texturePx: number[];
  let fromClasses: number[];
  let family: number[] | undefined;
  if (mode === 'baseline') {
    texturePx = rules.transitions.map((t) => textureOf(t.textureM));
    // A rule that is no site of its own everywhere (a yard) has no outline to refine: the site it
    // joins decides it, and grown alone it would outweigh the site (rules.joinMaxRatio).
    fromClasses = rules.transitions.map((t) => (t.standalone === true ? bits(t.before) : 0));
    // Such a rule's pixels belong to the outline of the site of its type they lie in.
    family = rules.transitions.map((t, i) => {
      const site = rules.transitions.findIndex((u, j) => u.type === t.type && fromClasses[j] !== 0);
      return 1 + (site >= 0 ? site : i);
    });
  } else {
    texturePx = [];
    fromClasses = [];
    for (let a = 1; a <= MAX_LAND_CLASS; a++) {
      const px = textureOf(Math.max(0, ...rules.transitions.filter((t) => t.after.includes(landCoverName(a))).map((t) => t.textureM)));
      for (let b = 1; b <= MAX_LAND_CLASS; b++) {
        texturePx[transitionCode(b, a) - 1] = px;
        fromClasses[transitionCode(b, a) - 1] = 1 << b;
      }
    }
  }
  return {
    reachPx: Math.round(rules.outlineReachM / pixelSizeM),
    windowPx: Math.max(2, Math.round(rules.outlineWindowM / pixelSizeM)),
    texturePx,
    misregistrationPx: rules.misregistrationPx,
    fromClasses,
    ...(family ? { family } : {}),
  };
}

/** Codes (1-based rule indices) of rules that join the site they touch (`joinsNeighbours`: earthworks). */
export function joiningRuleCodes(rules: RulesConfig): number[] {
  return rules.transitions.flatMap((t, i) => (t.joinsNeighbours ? [i + 1] : []));
}

/** Codes (1-based rule indices) of rules that are no site of their own everywhere (`standalone` not true). */
export function weakRuleCodes(rules: RulesConfig): Set<number> {
  return new Set(rules.transitions.flatMap((t, i) => (t.standalone === true ? [] : [i + 1])));
}

/** Pixels a change of each code must have, as classified, for its edges to grow: its smallest mapping unit. */
function seedMinPx(rules: RulesConfig, mode: 'baseline' | 'transitions', pixelSizeM: number, minAreaM2: Readonly<Record<string, number>>): number[] {
  const px = (m2: number | undefined) => Math.floor((m2 ?? 0) / (pixelSizeM * pixelSizeM));
  if (mode === 'transitions') return new Array(MAX_LAND_CLASS * MAX_LAND_CLASS).fill(px(minAreaM2.transition));
  return rules.transitions.map((t) => {
    const types = [t.type, ...(t.linear ? [t.linear.type] : []), ...Object.values(t.typeByMajorityAfter ?? {})];
    return Math.min(...types.map((ty) => px(minAreaM2[ty])));
  });
}

export interface ChangeTileInput {
  /** The window the land cover covers (core + halo). */
  readonly read: Window;
  readonly core: Window;
  readonly before: LandCoverBlock;
  readonly after: LandCoverBlock;
  /** Baseline group per pixel of the read window (baseline mode only). */
  readonly baselineGroup?: Uint8Array;
  /**
   * Reflectance of both dates over the read window (the after date normalised to the before
   * date), for the mixed-edge growth; without it patches keep the classifier's outlines.
   */
  readonly reflectance?: { readonly before: RasterBlock; readonly after: RasterBlock };
}

/**
 * Per-pixel change codes for a tile's core: a pixel changes when both dates are clear, the
 * transition (before, after) is in the table for its baseline group, both classifications are
 * confident enough, and the after-class was not already present within `misregistrationPx` in
 * the before image (so a 1-px shift of existing features is not a change). Clouds and shadows in
 * either date are buffered and masked. Pixels classified cloud that belong to no cloud-sized
 * bright area are bright roofs: they are re-labelled built IN PLACE in `before`/`after`. Each code's mask is then opened to drop slivers.
 */
export function detectChanges(input: ChangeTileInput, rules: CompiledRules): Uint8Array {
  return cropToCore(detectChangesInWindow(input, rules).codes, input.read, input.core);
}

/**
 * As `detectChanges`, over the whole read window (exact on the core and one pixel beyond it), with
 * the pixels seen clearly on both dates (land cover on both, no cloud or shadow mask): where a
 * change stops at an unclear pixel, nobody knows where it really ends.
 */
export function detectChangesInWindow(input: ChangeTileInput, rules: CompiledRules): { codes: Uint8Array; clear: Uint8Array } {
  const { read, before, after } = input;
  const w = read.width;
  const h = read.height;
  const n = w * h;
  if (rules.mode === 'baseline' && !input.baselineGroup) throw new RuleError('RULE_INVALID', 'baseline rules need a baseline group raster');
  const cloud = new Uint8Array(n);
  const diffuser = new Uint8Array(n);
  const shadow = new Uint8Array(n);
  const isDiffuser = (c: number) => c === LandCover.cloud || c === LandCover.greenhouse;
  const isBright = (c: number) => isDiffuser(c) || c === LandCover.built;
  const bright = new Uint8Array(n);
  const dim = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const b = before.classes[p];
    const a = after.classes[p];
    if (b === LandCover.cloud || a === LandCover.cloud) cloud[p] = 1;
    else if (b === LandCover.shadow || a === LandCover.shadow) shadow[p] = 1;
    if (isDiffuser(b) || isDiffuser(a)) diffuser[p] = 1;
    if (isBright(b) || isBright(a)) bright[p] = 1;
    if (b === LandCover.shadow || a === LandCover.shadow || b === LandCover.built || a === LandCover.built) dim[p] = 1;
  }
  // Clouds and cloud shadows have soft edges that fool the classifier, so they are buffered; the
  // small shadows of buildings and trees are not (buffering them would erase the new building).
  let cloudShadow = rules.objectShadowPx > 0 ? open(shadow, w, h, rules.objectShadowPx) : shadow;
  // A cloud shadow's penumbra darkens soil and crops into something flat and dark that reads as
  // built or shadow pixel by pixel: it grows through such pixels as far as a cloud grows through bright ones.
  cloudShadow = growThrough(cloudShadow, dim, w, h, rules.cloudGrowPx);
  // Clouds are the large bright diffusing areas; small ones are roofs or film and stay classified.
  let bigCloud = rules.minCloudPx > 0 ? open(diffuser, w, h, rules.minCloudPx) : cloud;
  bigCloud = growThrough(bigCloud, bright, w, h, rules.cloudGrowPx);
  for (let p = 0; p < n; p++) bigCloud[p] |= cloudShadow[p];
  const masked = rules.cloudBufferPx > 0 ? dilate(bigCloud, w, h, rules.cloudBufferPx) : bigCloud;
  // A "cloud" pixel that is neither part of a cloud-sized bright area nor within reach of one is a
  // bright flat roof (white paint, new concrete): clouds are hundreds of metres across, roofs are
  // not. It is read as built instead of being masked (a white-roofed building would vanish).
  const beforeClasses = smallCloudsAsBuilt(before.classes, masked, w, h);
  const afterClasses = smallCloudsAsBuilt(after.classes, masked, w, h);
  // Object shadows (a building's or a tree row's, too small to be a cloud's) hide the ground below
  // them, so they are no change of their own, but a site's closing may take them in.
  const objectShadow = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    objectShadow[p] = shadow[p] & (masked[p] ^ 1);
    masked[p] |= shadow[p] | (beforeClasses[p] === LandCover.cloud || afterClasses[p] === LandCover.cloud ? 1 : 0);
  }
  const seenBefore = rules.misregistrationPx > 0 ? neighbourhoodClassMask(beforeClasses, w, h, rules.misregistrationPx) : null;
  const brightening = input.reflectance && rules.minBrightening.some((v) => v > 0) ? brighteningFrom(input.reflectance.before, input.reflectance.after, w, h, rules.misregistrationPx) : null;
  const codes = new Uint8Array(n);
  // Earthworks classified with less than minConfidence, kept aside until they prove part of a site.
  const weak = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    if (masked[p]) continue;
    const b = beforeClasses[p];
    const a = afterClasses[p];
    if (b === 0 || a === 0 || b > MAX_LAND_CLASS || a > MAX_LAND_CLASS) continue;
    if (input.baselineGroup && input.baselineGroup[p] !== BaselineGroup.cropland) continue;
    // Diagonal entries (a class kept) exist only for rules with a brightening threshold (compileRules).
    const c = rules.table[b * 16 + a];
    if (!c) continue;
    const confidence = Math.min(before.confidence[p], after.confidence[p]);
    const isWeak = confidence < rules.minConfidence && confidence >= rules.yardConfidence && rules.yardCodes.has(c);
    if (confidence < rules.minConfidence && !isWeak) continue;
    if (a !== b && seenBefore && seenBefore[p] & (1 << a)) continue;
    const minChange = rules.minBrightening[c - 1] ?? 0;
    // Without reflectance a change of material within a class cannot be shown.
    if (minChange > 0 && (!brightening || brightening(p) < minChange)) continue;
    if (isWeak) weak[p] = c;
    else codes[p] = c;
  }
  joinWeakYards(codes, weak, w, rules);
  let cleaned: Uint8Array = codes;
  // Closing and edge growth may only claim pixels that could have changed: clear (closing: or in an
  // object's shadow), and cropland when there is a baseline.
  const allowed = new Uint8Array(n);
  const closable = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const could = !input.baselineGroup || input.baselineGroup[p] === BaselineGroup.cropland ? 1 : 0;
    allowed[p] = could & (masked[p] ^ 1);
    closable[p] = allowed[p] | (could & objectShadow[p]);
  }
  if (rules.openingPx > 0 || rules.closingPx.some((r) => r > 0)) cleaned = morphEachCode(codes, closable, w, h, rules);
  // The refinement finds the object's body; the mixed pixels around it, members of neither side,
  // are the edge growth's to decide, on the refined outline.
  if (input.reflectance && rules.refine.reachPx > 0) {
    if (cleaned === codes) cleaned = codes.slice();
    refineOutlines(cleaned, allowed, w, h, input.reflectance.before, input.reflectance.after, before, after, rules.refine);
  }
  if (input.reflectance && rules.edges.rings > 0) {
    if (cleaned === codes) cleaned = codes.slice();
    growMixedEdges(cleaned, allowed, w, h, input.reflectance.before, input.reflectance.after, after, rules.edges);
  }
  const clear = new Uint8Array(n);
  for (let p = 0; p < n; p++) clear[p] = !masked[p] && isLandClass(beforeClasses[p]) && isLandClass(afterClasses[p]) ? 1 : 0;
  return { codes: cleaned, clear };
}

/**
 * How much brighter pixel p is on the after date than the brightest before-date pixel within
 * `reachPx` (the mis-registration allowance), as (Σa − Σb) / ((Σa + Σb) / 2) over the bands both
 * dates have: a pixel merely shifted onto a brighter neighbour's place has not brightened. Pixels
 * without data on either date give 0.
 */
function brighteningFrom(before: RasterBlock, after: RasterBlock, w: number, h: number, reachPx: number): (p: number) => number {
  const bands = before.bandNames.filter((b) => after.bandNames.includes(b));
  const sumOf = (img: RasterBlock) => {
    const planes = bands.map((b) => img.data[img.bandNames.indexOf(b)]);
    const sum = new Float64Array(w * h);
    for (const plane of planes) for (let p = 0; p < sum.length; p++) sum[p] += plane[p];
    return sum;
  };
  const B = sumOf(before);
  const A = sumOf(after);
  return (p) => {
    if (!after.valid[p] || bands.length === 0) return 0;
    const x = p % w;
    const y = (p - x) / w;
    let brightest = -Infinity;
    for (let yy = Math.max(0, y - reachPx); yy <= Math.min(h - 1, y + reachPx); yy++)
      for (let xx = Math.max(0, x - reachPx); xx <= Math.min(w - 1, x + reachPx); xx++) {
        const q = yy * w + xx;
        if (!before.valid[q]) return 0;
        brightest = Math.max(brightest, B[q]);
      }
    const mean = (A[p] + brightest) / 2;
    return mean > 0 ? (A[p] - brightest) / mean : 0;
  };
}

/**
 * In place: weak earthworks (codes in `weak`, 0 elsewhere) become changes where a chain through
 * weak or confident earthworks, at most `yardReachPx` steps (4-connected), links them to a
 * confident change of a rule that is a site of its own (a roof, film, a pond). A yard of gravel
 * beside a new roof reads half bare, half disturbed, each barely; the same pixels alone in a field
 * are not trusted. Bounded growth, so the result stays halo-bound.
 */
function joinWeakYards(codes: Uint8Array, weak: Uint8Array, w: number, rules: CompiledRules): void {
  if (rules.yardReachPx <= 0 || rules.yardCodes.size === 0) return;
  const n = codes.length;
  const reached = new Uint8Array(n);
  let frontier: number[] = [];
  for (let p = 0; p < n; p++)
    if (codes[p] && !rules.yardCodes.has(codes[p])) {
      reached[p] = 1;
      frontier.push(p);
    }
  for (let step = 0; step < rules.yardReachPx && frontier.length; step++) {
    const next: number[] = [];
    for (const p of frontier) {
      const x = p % w;
      for (const q of [x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, p - w, p + w]) {
        if (q < 0 || q >= n || reached[q]) continue;
        if (weak[q]) codes[q] = weak[q];
        else if (!rules.yardCodes.has(codes[q])) continue;
        reached[q] = 1;
        next.push(q);
      }
    }
    frontier = next;
  }
}

/** Geodesic growth of `mask`, one pixel per step and only into `through` pixels: stays local (halo-bound). */
function growThrough(mask: Uint8Array, through: Uint8Array, w: number, h: number, steps: number): Uint8Array {
  let out = mask;
  for (let step = 0; step < steps; step++) {
    const grown = dilate(out, w, h, 1);
    for (let p = 0; p < grown.length; p++) grown[p] = out[p] | (grown[p] & through[p]);
    out = grown;
  }
  return out;
}

/**
 * Re-reads, in place, cloud pixels outside `cloudMask` (too small to be cloud): a connected bright
 * blob (cloud, greenhouse, built) becomes film when film outnumbers built among its other pixels,
 * else roof (built). A plastic greenhouse has bright flat panels next to its film rows; a white
 * roof has concrete or steel beside it. Returns `classes`.
 */
function smallCloudsAsBuilt(classes: Uint8Array, cloudMask: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h;
  const isBright = (c: number) => c === LandCover.cloud || c === LandCover.greenhouse || c === LandCover.built;
  const seen = new Uint8Array(n);
  const stack: number[] = [];
  const blob: number[] = [];
  for (let s = 0; s < n; s++) {
    if (seen[s] || classes[s] !== LandCover.cloud || cloudMask[s]) continue;
    blob.length = 0;
    let film = 0;
    let roof = 0;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const p = stack.pop()!;
      const c = classes[p];
      if (c === LandCover.cloud) blob.push(p);
      else if (c === LandCover.greenhouse) film++;
      else roof++;
      const x = p % w;
      const y = (p - x) / w;
      for (const q of [x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1])
        if (q >= 0 && !seen[q] && !cloudMask[q] && isBright(classes[q])) {
          seen[q] = 1;
          stack.push(q);
        }
    }
    const as = film > roof ? LandCover.greenhouse : LandCover.built;
    for (const p of blob) classes[p] = as;
  }
  return classes;
}

/**
 * Opening then closing of each code's mask on its own, so touching patches of different codes
 * don't erode each other. Closing only claims `allowed` pixels that no other code holds, or that a
 * weak code (a yard) holds; a pixel two closings claim (the path between two halves of a
 * greenhouse, read as crowns) goes to the code with more pixels around it, as classified.
 */
function morphEachCode(codes: Uint8Array, allowed: Uint8Array, w: number, h: number, rules: CompiledRules): Uint8Array {
  const present = new Set<number>();
  for (const c of codes) if (c) present.add(c);
  const out = new Uint8Array(codes.length);
  const claims = new Map<number, Uint8Array>();
  // Pixels of weak codes that survived their own opening: theirs unless a closing claims them.
  const kept = new Uint8Array(codes.length);
  const mask = new Uint8Array(codes.length);
  for (const c of [...present].sort((a, b) => a - b)) {
    for (let p = 0; p < codes.length; p++) mask[p] = codes[p] === c ? 1 : 0;
    let m = rules.openingPx > 0 ? open(mask, w, h, rules.openingPx) : mask;
    const closing = rules.closingPx[c - 1] ?? 0;
    if (closing > 0) m = close(m, w, h, closing);
    // Only a closing reaches beyond the code's own pixels (an opening keeps a subset of them).
    const claim = closing > 0 ? new Uint8Array(codes.length) : null;
    if (claim) claims.set(c, claim);
    const weak = rules.weakCodes.has(c);
    for (let p = 0; p < codes.length; p++) {
      if (!m[p]) continue;
      if (codes[p] === c) (weak ? kept : out)[p] = c;
      else if (claim && (codes[p] === 0 || rules.weakCodes.has(codes[p])) && allowed[p]) claim[p] = 1;
    }
  }
  const radius = Math.max(0, ...rules.closingPx);
  for (let p = 0; p < codes.length; p++) {
    if (out[p]) continue;
    let first = 0;
    let claimants = 0;
    for (const [c, claim] of claims)
      if (claim[p]) {
        first ||= c;
        claimants++;
      }
    out[p] = claimants === 0 ? kept[p] : claimants === 1 ? first : majorityAround(codes, w, h, p, radius, claims);
  }
  return out;
}

/** The claiming code with the most pixels, as classified, within `radius` of p (ties: the lower code). */
function majorityAround(codes: Uint8Array, w: number, h: number, p: number, radius: number, claims: ReadonlyMap<number, Uint8Array>): number {
  const x = p % w;
  const y = (p - x) / w;
  const counts = new Map<number, number>();
  for (let yy = Math.max(0, y - radius); yy <= Math.min(h - 1, y + radius); yy++)
    for (let xx = Math.max(0, x - radius); xx <= Math.min(w - 1, x + radius); xx++) {
      const c = codes[yy * w + xx];
      if (c && claims.get(c)?.[p]) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  let best = 0;
  let most = -1;
  for (const [c, n] of [...counts].sort((a, b) => a[0] - b[0]))
    if (n > most) {
      best = c;
      most = n;
    }
  return best;
}
