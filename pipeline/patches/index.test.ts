import { describe, expect, it } from 'vitest';
import { MinAreaSchema, RulesSchema, LegalitySchema } from '../../config/pipeline.js';
import type { VectorLayer } from '../baseline/vectors.js';
import { crsFromEpsg } from '../geo/crs.js';
import { LandCover, type Grid } from '../types.js';
import { labelTile, mergeTiles } from '../vectorize/index.js';
import { buildPatches, fillSmallHoles, jcbhPrefix } from './index.js';
import { transitionCode } from '../change/index.js';

const W = 200;
const grid: Grid = { width: W, height: W, transform: [40528000, 2, 0, 3542400, 0, -2], crs: crsFromEpsg(4528) };
const rules = RulesSchema.parse({});
/** Change code of a default rule by name (1-based rule index). */
const code = (name: string) => rules.transitions.findIndex((t) => t.name === name) + 1;
const square = (c0: number, r0: number, w: number, h: number) => [[[c0, r0], [c0 + w, r0], [c0 + w, r0 + h], [c0, r0 + h], [c0, r0]]] as [number, number][][];
const layer = (name: string, features: { properties: Record<string, unknown>; polygons: [number, number][][][] }[]): VectorLayer => ({
  name,
  source: name,
  crs: grid.crs,
  features,
  stats: { read: features.length, kept: features.length, repaired: 0, skipped: 0, problems: [] },
  index: null,
});

/** Paints rectangles of a rule code with a given after-class into a whole-grid tile and returns merged components. */
function components(rects: { c: number; r: number; w: number; h: number; code: number; after: number; fieldEdgeShare?: number; sharpShare?: number }[], parcelOf: (c: number, r: number) => number, approvedOf: (c: number, r: number) => number) {
  const n = W * W;
  const codes = new Uint8Array(n);
  const after = new Uint8Array(n);
  const before = new Uint8Array(n).fill(LandCover.herbaceous);
  const parcel = new Uint32Array(n);
  const approved = new Uint32Array(n);
  const pbf = new Uint8Array(n);
  const township = new Uint16Array(n).fill(1);
  for (let r = 0; r < W; r++)
    for (let c = 0; c < W; c++) {
      parcel[r * W + c] = parcelOf(c, r);
      approved[r * W + c] = approvedOf(c, r);
      pbf[r * W + c] = c < 100 ? 1 : 0;
    }
  // Outline evidence (change/outline-edges.ts) only enters as per-component sums, so every pixel
  // carries one judged step, of which `fieldEdgeShare` lies on a prior field edge and `sharpShare`
  // (default 1) on an edge of the after image.
  const outlineSteps = new Float32Array(n);
  const outlinePriorEdges = new Float32Array(n);
  const outlineSharpEdges = new Float32Array(n);
  for (const x of rects)
    for (let r = x.r; r < x.r + x.h; r++)
      for (let c = x.c; c < x.c + x.w; c++) {
        codes[r * W + c] = x.code;
        after[r * W + c] = x.after;
        outlineSteps[r * W + c] = 1;
        outlinePriorEdges[r * W + c] = x.fieldEdgeShare ?? 0;
        outlineSharpEdges[r * W + c] = x.sharpShare ?? 1;
      }
  const conf = new Float32Array(n).fill(0.8);
  return mergeTiles([labelTile({ window: { col: 0, row: 0, width: W, height: W }, codes, layers: { before, after, parcel, approved, pbf, township, filings: new Uint32Array(n) }, weights: { conf, outlineSteps, outlinePriorEdges, outlineSharpEdges, outlineSharpEdgesThin: outlineSharpEdges } })]);
}

describe('buildPatches', () => {
  const baseline = layer('baseline', [
    { properties: { DLBM: '0103', DLMC: '旱地', ZLDWMC: '东村' }, polygons: [square(0, 0, 100, 200)] },
    { properties: { DLBM: '0101', DLMC: '水田', ZLDWMC: '西村' }, polygons: [square(100, 0, 100, 100)] },
    { properties: { DLBM: '0102', DLMC: '水浇地', ZLDWMC: '西村' }, polygons: [square(100, 100, 100, 100)] },
  ]);
  const townships = layer('townships', [{ properties: { XZQDM: '320981101', XZQMC: '城东镇' }, polygons: [square(0, 0, 200, 200)] }]);
  const approved = layer('approved', [{ properties: { PZWH: '苏政地〔2026〕1号' }, polygons: [square(150, 0, 50, 50)] }]);
  const parcelOf = (c: number, r: number) => (c < 100 ? 1 : r < 100 ? 2 : 3);
  const parcelPixels = new Uint32Array([0, 100 * 200, 100 * 100, 100 * 100]);
  const opts = {
    grid,
    pixelSizeM: 2,
    mode: 'baseline' as const,
    rules,
    minArea: MinAreaSchema.parse(undefined),
    legality: LegalitySchema.parse(undefined),
    parcelPixels,
    regionCode: '320981',
    beforeDate: '2026-01-10',
    afterDate: '2026-04-20',
  };

  it('types, measures, legalises and numbers patches', () => {
    const comps = components(
      [
        { c: 10, r: 10, w: 20, h: 20, code: code('impervious'), after: LandCover.built }, // compact impervious → building, 1600 m²
        { c: 10, r: 60, w: 60, h: 3, code: code('impervious'), after: LandCover.built }, // 120 m × 6 m → road
        { c: 160, r: 10, w: 20, h: 20, code: code('impervious'), after: LandCover.built }, // inside the approval → legal
        { c: 10, r: 120, w: 5, h: 5, code: code('impervious'), after: LandCover.built }, // 100 m² < 200 m² MMU → dropped
        { c: 120, r: 120, w: 20, h: 20, code: code('woody'), after: LandCover.orchard }, // woody, orchard majority
        { c: 40, r: 150, w: 20, h: 20, code: code('woody'), after: LandCover.tree }, // woody, tree majority
      ],
      parcelOf,
      (c, r) => (c >= 150 && r < 50 ? 1 : 0),
    );
    const { patches, dropped } = buildPatches(comps, { baseline, townships, approved }, opts);
    expect(dropped.below_minimum_area).toBe(1);
    const byType = Object.fromEntries(patches.map((p) => [`${p.attributes.TBLX}${p.attributes.HF ? '+legal' : ''}`, p.attributes]));
    expect(Object.keys(byType).sort()).toEqual(['occupation_building', 'occupation_building+legal', 'occupation_road', 'outflow_forest', 'outflow_orchard'].sort());
    const b = byType.occupation_building;
    // 400 px of 4 m² in Gauss–Krüger: the ellipsoidal area is within the GK scale distortion (~6e-4 here).
    expect(b.MJ).toBeGreaterThan(1600 * 0.998);
    expect(b.MJ).toBeLessThan(1600 * 1.002);
    expect(b.MJM).toBeCloseTo(b.MJ * 0.0015, 2);
    expect(b.GDMJ).toBeCloseTo(b.MJ, 1);
    expect(b.YJJBNTMJ).toBeCloseTo(b.MJ, 1);
    expect(b.SFJBNT).toBe(true);
    expect(b).toMatchObject({ DLBM: '0103', DLMC: '旱地', CJMC: '东村', XZQDM: '320981101', XZQMC: '城东镇', QSDL: 'herbaceous', XZDL: 'built', HF: false, PZWH: null, ZXD: 0.8 });
    // Centroid of cols 10..30, rows 10..30 → x = 40528000 + 20·2, y = 3542400 − 20·2.
    expect(b.ZXX).toBeCloseTo(40528040, 3);
    expect(b.ZXY).toBeCloseTo(3542360, 3);
    expect(byType['occupation_building+legal']).toMatchObject({ PZWH: '苏政地〔2026〕1号', SFJBNT: false, DLBM: '0101' });
    // Numbered north to south: JCBH = region + year + quarter + sequence.
    expect(patches.map((p) => p.attributes.JCBH)).toEqual(patches.map((_, i) => `320981${'2026'}2${String(i + 1).padStart(5, '0')}`));
    for (let i = 1; i < patches.length; i++) expect(patches[i].attributes.WD).toBeLessThanOrEqual(patches[i - 1].attributes.WD);
  });

  it('drops a soil patch that fills its parcel (tillage) but keeps a partial one', () => {
    const comps = components(
      [
        { c: 100, r: 0, w: 100, h: 95, code: code('soil'), after: LandCover.disturbed }, // 95 % of parcel 2
        { c: 120, r: 120, w: 30, h: 30, code: code('soil'), after: LandCover.disturbed }, // 9 % of parcel 3
      ],
      parcelOf,
      () => 0,
    );
    const { patches, dropped } = buildPatches(comps, { baseline }, opts);
    expect(dropped.whole_parcel_tillage).toBe(1);
    expect(patches.map((p) => p.attributes.TBLX)).toEqual(['occupation_soil']);
    expect(patches[0].attributes.DLBM).toBe('0102');
  });

  it('drops a soil patch spread over several parcels that each went to soil (neighbouring harvests)', () => {
    // Rows 0..99 of both upper parcels are soil: parcel 2 (100×100) is 99 % soil, parcel 1 (100×200) only half.
    const whole = components([{ c: 100, r: 0, w: 100, h: 99, code: code('soil'), after: LandCover.disturbed }, { c: 60, r: 0, w: 40, h: 99, code: code('soil'), after: LandCover.disturbed }], parcelOf, () => 0);
    const mostlyTilled = buildPatches(whole, { baseline }, { ...opts, parcelSoilPixels: new Uint32Array([0, 40 * 99, 100 * 99, 0]) });
    // 40·99 of 140·99 pixels lie in parcel 1, which is not soil all over: 71 % tilled < 90 %, so it is kept.
    expect(mostlyTilled.dropped.whole_parcel_tillage).toBe(0);
    const bothTilled = buildPatches(whole, { baseline }, { ...opts, parcelSoilPixels: new Uint32Array([0, 100 * 190, 100 * 99, 0]) });
    expect(bothTilled.dropped.whole_parcel_tillage).toBe(1);
  });

  /** Two 20×20 changes of one code, in the paddy (north) and the irrigated (south) parcel, with their own outline evidence. */
  const pair = (code: number, after: number, north: { fieldEdgeShare?: number; sharpShare?: number }, south: { fieldEdgeShare?: number; sharpShare?: number }) =>
    components(
      [
        { c: 120, r: 20, w: 20, h: 20, code, after, ...north },
        { c: 120, r: 120, w: 20, h: 20, code, after, ...south },
      ],
      parcelOf,
      () => 0,
    );

  it('reports a yard (green → bare) alone only where it cuts into a field, not where it follows field edges', () => {
    // North: dug into the crop; south: a field bare to its edges.
    const comps = pair(code('yard'), LandCover.bare, { fieldEdgeShare: 0.02 }, { fieldEdgeShare: 0.35 });
    const { patches, dropped } = buildPatches(comps, { baseline }, opts);
    expect(patches.map((p) => [p.attributes.TBLX, p.attributes.DLBM])).toEqual([['occupation_soil', '0101']]);
    expect(dropped.field_edge_tillage).toBe(1);
    // The same test holds for bright fill (the soil rule), and 0 turns it off.
    const fill = components([{ c: 120, r: 120, w: 20, h: 20, code: code('soil'), after: LandCover.disturbed, fieldEdgeShare: 0.35 }], parcelOf, () => 0);
    expect(buildPatches(fill, { baseline }, opts).dropped.field_edge_tillage).toBe(1);
    expect(buildPatches(fill, { baseline }, { ...opts, rules: { ...rules, fieldEdgeTillage: 0 } }).patches).toHaveLength(1);
  });

  it('reports soil brightened inside a bare field where it ends at an edge, not the brightest part of a field harrowed as a whole', () => {
    // North: dug, it ends at its edge; south: cut out of a field where the threshold falls.
    const comps = pair(code('regraded'), LandCover.bare, { sharpShare: 0.6 }, { sharpShare: 0.1 });
    const { patches, dropped } = buildPatches(comps, { baseline }, opts);
    expect(patches.map((p) => [p.attributes.TBLX, p.attributes.DLBM])).toEqual([['occupation_soil', '0101']]);
    expect(dropped.soft_outline).toBe(1);
    // A class change (green → bare) is vouched for by its class: its outline is not judged so.
    const yard = components([{ c: 120, r: 120, w: 20, h: 20, code: code('yard'), after: LandCover.bare, sharpShare: 0.1 }], parcelOf, () => 0);
    expect(buildPatches(yard, { baseline }, opts).patches).toHaveLength(1);
  });

  it('without a baseline, reports a transition only where it ends in an edge of the after image (not a piece of a field that changed as a whole)', () => {
    const pond = transitionCode(LandCover.herbaceous, LandCover.water);
    const comps = pair(pond, LandCover.water, { sharpShare: 0.8 }, { sharpShare: 0.1 });
    const { patches, dropped } = buildPatches(comps, { baseline }, { ...opts, mode: 'transitions' as const });
    expect(patches.map((p) => [p.attributes.TBLX, p.attributes.QSDL, p.attributes.XZDL])).toEqual([['transition', 'herbaceous', 'water']]);
    expect(dropped.soft_outline).toBe(1);
  });

  it('without a baseline, drops a change between crop and soil that stops at field edges (a season of work), not one that cuts into a field, nor a pond', () => {
    const transitions = { ...opts, mode: 'transitions' as const };
    const tilled = pair(transitionCode(LandCover.herbaceous, LandCover.disturbed), LandCover.disturbed, { fieldEdgeShare: 0.02 }, { fieldEdgeShare: 0.35 });
    const { patches, dropped } = buildPatches(tilled, { baseline }, transitions);
    expect(patches.map((p) => p.attributes.DLBM)).toEqual(['0101']);
    expect(dropped.field_edge_tillage).toBe(1);
    const ponds = pair(transitionCode(LandCover.herbaceous, LandCover.water), LandCover.water, { fieldEdgeShare: 0.35 }, { fieldEdgeShare: 0.35 });
    expect(buildPatches(ponds, { baseline }, transitions).patches).toHaveLength(2);
  });

  it('drops a bright patch whose outline is no edge in the after image (thin-cloud fringe), not a soft-edged pond', () => {
    const comps = components(
      [
        { c: 120, r: 20, w: 20, h: 20, code: code('greenhouse'), after: LandCover.greenhouse, sharpShare: 0.1 },
        { c: 120, r: 120, w: 20, h: 20, code: code('greenhouse'), after: LandCover.greenhouse, sharpShare: 0.6 },
        { c: 20, r: 120, w: 20, h: 20, code: code('pond'), after: LandCover.water, sharpShare: 0.1 },
      ],
      parcelOf,
      () => 0,
    );
    const { patches, dropped } = buildPatches(comps, { baseline }, opts);
    expect(patches.map((p) => p.attributes.TBLX).sort()).toEqual(['outflow_greenhouse', 'outflow_pond']);
    expect(dropped.soft_outline).toBe(1);
  });

  it('reports a rule that is no site of its own only as part of a site', () => {
    const yardOnly = { ...rules, transitions: rules.transitions.map((t) => (t.name === 'yard' ? { ...t, standalone: false as const } : t)) };
    const comps = components([{ c: 120, r: 20, w: 20, h: 20, code: code('yard'), after: LandCover.bare }], parcelOf, () => 0);
    const { patches, dropped } = buildPatches(comps, { baseline }, { ...opts, rules: yardOnly });
    expect(patches).toEqual([]);
    expect(dropped.not_part_of_a_site).toBe(1);
  });

  it('fills pinholes smaller than the smallest mapping unit but keeps a courtyard', () => {
    // A 30×30 building site with a 2×2 pinhole and a 10×10 (400 m²) cultivated courtyard.
    const n = W * W;
    const codes = new Uint8Array(n);
    for (let r = 10; r < 40; r++) for (let c = 10; c < 40; c++) codes[r * W + c] = code('impervious');
    for (const [r0, c0, size] of [[14, 14, 2], [25, 25, 10]]) for (let r = r0; r < r0 + size; r++) for (let c = c0; c < c0 + size; c++) codes[r * W + c] = 0;
    const parcel = new Uint32Array(n).fill(2);
    const after = new Uint8Array(n).fill(LandCover.built);
    const edges = new Float32Array(n).fill(1); // every pixel one judged, sharp outline step (see components())
    const [site] = mergeTiles([labelTile({ window: { col: 0, row: 0, width: W, height: W }, codes, layers: { parcel, after }, weights: { outlineSteps: edges, outlineSharpEdges: edges } })]);
    expect(site.pixelCount).toBe(900 - 4 - 100);
    const filled = fillSmallHoles(site, 50);
    expect(filled.pixelCount).toBe(900 - 100);
    expect(filled.hist.parcel).toEqual([[2, 800]]);
    expect(filled.hist.after).toEqual([[LandCover.built, 800]]);
    expect(fillSmallHoles(site, 4)).toBe(site); // a 4-px hole is not smaller than 4
    const { patches } = buildPatches([site], { baseline }, opts);
    expect(patches[0].attributes.MJ).toBeCloseTo(800 * 4, -1);
    expect(patches[0].geometry[0]).toHaveLength(2); // outer ring and the courtyard
  });

  it('drops a patch of fewer pixels than minPixels whatever its area (coarse imagery)', () => {
    const built = code('impervious');
    const comps = components(
      [
        { c: 110, r: 10, w: 3, h: 1, code: built, after: LandCover.built },
        { c: 110, r: 20, w: 2, h: 2, code: built, after: LandCover.built },
      ],
      parcelOf,
      () => 0,
    );
    const coarse = { ...opts, minArea: {} };
    expect(buildPatches(comps, { baseline }, { ...coarse, minPixels: 4 }).patches.map((p) => p.attributes.MJ)).toEqual([16]);
    expect(buildPatches(comps, { baseline }, { ...coarse, minPixels: 4 }).dropped.below_minimum_area).toBe(1);
    expect(buildPatches(comps, { baseline }, coarse).patches).toHaveLength(2);
  });

  it('prefixes JCBH with region, year and quarter', () => {
    expect(jcbhPrefix('320981', '2026-11-02')).toBe('32098120264');
    expect(jcbhPrefix('320981', null)).toBe('32098100000');
  });
});
