import { describe, expect, it } from 'vitest';
import { RulesSchema } from '../../config/pipeline.js';
import { LandCover, type LandCoverBlock, type RasterBlock, type Window } from '../types.js';
import { BaselineGroup, compileRules, decodeTransition, detectChanges, detectChangesInWindow, transitionCode } from './index.js';

const W = 40;
const H = 30;
const read: Window = { col: -5, row: -5, width: W, height: H };
const core: Window = { col: 0, row: 0, width: W - 10, height: H - 10 };

function cover(fill: number, paint: (set: (x: number, y: number, c: number) => void) => void = () => {}): LandCoverBlock {
  const classes = new Uint8Array(W * H).fill(fill);
  paint((x, y, c) => (classes[y * W + x] = c));
  return { window: read, classes, confidence: new Float32Array(W * H).fill(0.9) };
}
const rect = (x0: number, y0: number, w: number, h: number, c: number) => (set: (x: number, y: number, c: number) => void) => {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) set(x, y, c);
};
const cropland = new Uint8Array(W * H).fill(BaselineGroup.cropland);
const count = (codes: Uint8Array, c: number) => codes.filter((v) => v === c).length;

describe('detectChanges (baseline mode)', () => {
  const rules = compileRules(RulesSchema.parse({ openingPx: 0 }), 'baseline', 2);
  const impervious = 1; // first rule of the default table

  it('reports cropland that became built, placed in the period', () => {
    const before = cover(LandCover.herbaceous);
    const after = cover(LandCover.herbaceous, rect(10, 10, 6, 5, LandCover.built));
    const codes = detectChanges({ read, core, before, after, baselineGroup: cropland }, rules);
    expect(codes.length).toBe(core.width * core.height);
    expect(count(codes, impervious)).toBe(30);
    // read (10,10) is core (5,5)
    expect(codes[5 * core.width + 5]).toBe(impervious);
  });

  it('does not report a building that was already there, nor one off cropland', () => {
    const before = cover(LandCover.herbaceous, rect(10, 10, 6, 5, LandCover.built));
    const after = cover(LandCover.herbaceous, rect(10, 10, 6, 5, LandCover.built));
    expect(count(detectChanges({ read, core, before, after, baselineGroup: cropland }, rules), impervious)).toBe(0);
    const none = new Uint8Array(W * H);
    const fresh = cover(LandCover.herbaceous, rect(10, 10, 6, 5, LandCover.built));
    expect(count(detectChanges({ read, core, before: cover(LandCover.herbaceous), after: fresh, baselineGroup: none }, rules), impervious)).toBe(0);
  });

  it('tolerates a one-pixel shift of an existing feature', () => {
    const before = cover(LandCover.herbaceous, rect(10, 10, 6, 5, LandCover.built));
    const after = cover(LandCover.herbaceous, rect(11, 11, 6, 5, LandCover.built));
    expect(count(detectChanges({ read, core, before, after, baselineGroup: cropland }, rules), impervious)).toBe(0);
  });

  it('treats harvest and seasonal change as no change of their own', () => {
    const before = cover(LandCover.herbaceous);
    const after = cover(LandCover.bare);
    // Green → bare is only a "yard" candidate (a weak code), reported solely as part of a site.
    const yard = RulesSchema.parse({}).transitions.findIndex((t) => t.name === 'yard') + 1;
    expect(rules.weakCodes.has(yard)).toBe(true);
    expect(count(detectChanges({ read, core, before, after, baselineGroup: cropland }, rules), yard)).toBe(core.width * core.height);
    const ripening = cover(LandCover.herbaceous);
    expect(count(detectChanges({ read, core, before, after: ripening, baselineGroup: cropland }, rules), 0)).toBe(core.width * core.height);
  });

  it('buffers clouds but not cloud-sized objects too small to be clouds, and grows clouds through bright pixels', () => {
    // At 10 m pixels: clouds ≥ 60 m wide (7 px after opening radius 3) grow 4 px through bright
    // pixels and are buffered by 40 m = 4 px. Fresh soil everywhere else is a change, so the mask shows.
    const coarse = compileRules(RulesSchema.parse({ openingPx: 0 }), 'baseline', 10);
    const before = cover(LandCover.herbaceous);
    const bigCloud = cover(LandCover.disturbed, rect(15, 10, 10, 10, LandCover.cloud));
    expect(count(detectChanges({ read, core, before, after: bigCloud, baselineGroup: cropland }, coarse), 0)).toBe(18 * 18);
    // A "cloud" too small to be one is a bright roof: it is not masked but read as built (a change).
    const roof = cover(LandCover.disturbed, rect(15, 10, 3, 3, LandCover.cloud));
    const impervious = RulesSchema.parse({}).transitions.findIndex((t) => t.name === 'impervious') + 1;
    const roofCodes = detectChanges({ read, core, before, after: roof, baselineGroup: cropland }, coarse);
    expect(count(roofCodes, 0)).toBe(0);
    expect(count(roofCodes, impervious)).toBe(9);
    expect(roof.classes.filter((c) => c === LandCover.cloud).length).toBe(0);
    // A semi-transparent fringe read as concrete, touching the cloud: it is cloud too (2 px → 20 px wider mask).
    const fringe = cover(LandCover.disturbed, (set) => {
      rect(15, 10, 10, 10, LandCover.cloud)(set);
      rect(25, 10, 2, 10, LandCover.built)(set);
    });
    expect(count(detectChanges({ read, core, before, after: fringe, baselineGroup: cropland }, coarse), 0)).toBe(18 * 20);
  });

  it('masks object shadows without a buffer', () => {
    const before = cover(LandCover.herbaceous);
    const after = cover(LandCover.herbaceous, (set) => {
      rect(10, 10, 6, 5, LandCover.built)(set);
      rect(20, 12, 3, 3, LandCover.shadow)(set); // 4 px east of the new building
    });
    expect(count(detectChanges({ read, core, before, after, baselineGroup: cropland }, rules), impervious)).toBe(30);
  });

  it('lets a site\'s closing take in object shadows, but not cloud shadows', () => {
    // A 3-px-wide new road (rows 10..12) broken by a 2-px shadow (a tree's, or dark asphalt read as shadow).
    const before = cover(LandCover.herbaceous);
    const road = (shadowRows: number) =>
      cover(LandCover.herbaceous, (set) => {
        rect(6, 10, 26, 3, LandCover.built)(set);
        rect(18, 10, 2, shadowRows, LandCover.shadow)(set);
      });
    const codes = detectChanges({ read, core, before, after: road(3), baselineGroup: cropland }, rules);
    expect(count(codes, impervious)).toBe(26 * 3);
    // A shadow as wide as a cloud's is buffered: the road beside it is masked, not closed over it.
    const cloudShadow = cover(LandCover.herbaceous, (set) => {
      rect(6, 10, 26, 3, LandCover.built)(set);
      rect(14, 0, 12, 20, LandCover.shadow)(set);
    });
    expect(count(detectChanges({ read, core, before, after: cloudShadow, baselineGroup: cropland }, rules), impervious)).toBeLessThan(10 * 3);
  });

  it('masks the penumbra of a cloud shadow, which reads as built', () => {
    const before = cover(LandCover.herbaceous);
    const after = cover(LandCover.herbaceous, (set) => {
      rect(8, 0, 12, 20, LandCover.shadow)(set);
      rect(20, 0, 3, 20, LandCover.built)(set); // darkened soil along the shadow's edge
    });
    expect(count(detectChanges({ read, core, before, after, baselineGroup: cropland }, rules), impervious)).toBe(0);
  });

  it('drops low-confidence pixels', () => {
    const before = cover(LandCover.herbaceous);
    const after = cover(LandCover.herbaceous, rect(10, 10, 6, 5, LandCover.built));
    after.confidence.fill(0.1);
    expect(count(detectChanges({ read, core, before, after, baselineGroup: cropland }, rules), impervious)).toBe(0);
  });

  it('opens masks to drop one-pixel slivers when asked', () => {
    const opened = compileRules(RulesSchema.parse({ openingPx: 1 }), 'baseline', 2);
    const before = cover(LandCover.herbaceous);
    const after = cover(LandCover.herbaceous, (set) => {
      rect(10, 10, 6, 5, LandCover.built)(set);
      rect(25, 8, 1, 10, LandCover.built)(set);
    });
    const codes = detectChanges({ read, core, before, after, baselineGroup: cropland }, opened);
    expect(count(codes, impervious)).toBe(30);
  });

  describe('bare soil brightened inside a bare field (a rule keeping its class)', () => {
    const regraded = RulesSchema.parse({}).transitions.findIndex((t) => t.name === 'regraded') + 1;
    /** Four-band soil at `base` reflectance, scaled by `gain` inside the rectangles. */
    const soil = (base: number, ...rects: [x0: number, y0: number, w: number, h: number, gain: number][]): RasterBlock => {
      const data = [0.8, 1, 1.2, 1.5].map((k) => new Float32Array(W * H).fill(base * k));
      for (const [x0, y0, w, h, gain] of rects)
        for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) for (const band of data) band[y * W + x] *= gain;
      return { window: read, bandNames: ['blue', 'green', 'red', 'nir'], data, valid: new Uint8Array(W * H).fill(1) };
    };
    const bare = cover(LandCover.bare);
    const run = (before: RasterBlock, after: RasterBlock) => detectChangesInWindow({ read, core, before: bare, after: bare, baselineGroup: cropland, reflectance: { before, after } }, rules);

    it('reports soil ≥ 25 % brighter than every before pixel within the mis-registration reach', () => {
      const { codes } = run(soil(0.1), soil(0.1, [10, 10, 6, 5, 1.4]));
      expect(count(codes, regraded)).toBe(30);
      expect(codes[12 * W + 12]).toBe(regraded);
    });

    it('reports neither a smaller brightening, nor darkening, nor a shifted bright spot', () => {
      expect(count(run(soil(0.1), soil(0.1, [10, 10, 6, 5, 1.2])).codes, regraded)).toBe(0); // +18 %
      expect(count(run(soil(0.1), soil(0.1, [10, 10, 6, 5, 0.6])).codes, regraded)).toBe(0);
      // A bright spot moved by one pixel (mis-registration) is no brighter than its old place.
      expect(count(run(soil(0.1, [10, 10, 6, 5, 1.5]), soil(0.1, [11, 11, 6, 5, 1.5])).codes, regraded)).toBe(0);
    });

    it('needs reflectance: without it no change of material within a class is reported', () => {
      const codes = detectChanges({ read, core, before: bare, after: bare, baselineGroup: cropland }, rules);
      expect(count(codes, regraded)).toBe(0);
    });

    it('refuses a rule keeping its class without a brightening threshold, naming the field', () => {
      const bad = RulesSchema.parse({ transitions: [{ name: 'same', before: ['bare'], after: ['bare'], type: 'occupation_soil' }] });
      expect(() => compileRules(bad, 'baseline', 2)).toThrow(/"same"\) keeps the class bare: it needs minBrightening/);
    });
  });

  it('gives a gap two closings claim to the code with more pixels around it', () => {
    // Two halves of a greenhouse 2 px apart (the path between them); crown-like pixels every
    // 2 px on the path read as orchard. Both closings (4 m = 2 px) claim the path; film surrounds it.
    const closing = compileRules(RulesSchema.parse({}), 'baseline', 2);
    const rule = (name: string) => RulesSchema.parse({}).transitions.findIndex((t) => t.name === name) + 1;
    const after = cover(LandCover.herbaceous, (set) => {
      rect(5, 5, 8, 12, LandCover.greenhouse)(set);
      rect(15, 5, 8, 12, LandCover.greenhouse)(set);
      for (const [x, y] of [[13, 6], [14, 8], [13, 10], [14, 12], [13, 14]]) set(x, y, LandCover.orchard);
    });
    const { codes } = detectChangesInWindow({ read, core, before: cover(LandCover.herbaceous), after, baselineGroup: cropland }, closing);
    const path = [7, 9, 11, 13].flatMap((y) => [codes[y * W + 13], codes[y * W + 14]]);
    expect(new Set(path)).toEqual(new Set([rule('greenhouse')]));
    expect(codes[6 * W + 13]).toBe(rule('woody'));
  });

  it('refuses a table where two rules claim the same transition', () => {
    const bad = RulesSchema.parse({
      transitions: [
        { name: 'a', before: ['herbaceous'], after: ['built'], type: 'occupation_building' },
        { name: 'b', before: ['herbaceous'], after: ['built'], type: 'occupation_road' },
      ],
    });
    expect(() => compileRules(bad, 'baseline', 2)).toThrow(/"b" and rule 1 both claim herbaceous → built/);
  });
});

describe('detectChanges (transitions mode)', () => {
  it('encodes every land-cover pair but the ignored cultivation cycle', () => {
    const rules = compileRules(RulesSchema.parse({ openingPx: 0 }), 'transitions', 30);
    const before = cover(LandCover.tree, rect(0, 0, 20, 30, LandCover.herbaceous));
    const after = cover(LandCover.bare);
    const codes = detectChanges({ read, core, before, after }, rules);
    const treeToBare = transitionCode(LandCover.tree, LandCover.bare);
    expect(decodeTransition(treeToBare)).toEqual({ before: LandCover.tree, after: LandCover.bare });
    expect(count(codes, treeToBare)).toBeGreaterThan(0);
    expect(count(codes, transitionCode(LandCover.herbaceous, LandCover.bare))).toBe(0);
  });
});
