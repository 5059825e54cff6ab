/**
 * spectral-v1 on hand-made pixels of known physics: the committed model.onnx, run in this thread.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSpectralV1 } from '../../models/spectral-v1/graph.js';
import { MODEL_VERSION } from '../../models/spectral-v1/build.js';
import { CLASS_RULES, TERMS, type Expr } from '../../models/spectral-v1/rules.js';
import { LandCover, landCoverName, type LandCoverBlock, type RasterBlock } from '../types.js';
import { classifyInThread, openSession } from './inference.js';
import { loadModel, type LoadedModel } from './load.js';
import { SPECTRA, patternBlock, uniformBlock, type Spectrum } from './test-blocks.js';

const MODEL_DIR = join(import.meta.dirname, '../../models/spectral-v1');
let model: LoadedModel;
let session: ort.InferenceSession;

beforeAll(async () => {
  model = await loadModel(MODEL_DIR);
  session = await openSession(model.modelPath, 1);
});
afterAll(async () => session?.release());

const run = (b: RasterBlock): Promise<LandCoverBlock> => classifyInThread(session, model.card, b);
const centre = (out: LandCoverBlock) => {
  const p = Math.floor(out.window.height / 2) * out.window.width + Math.floor(out.window.width / 2);
  return { name: landCoverName(out.classes[p]), confidence: out.confidence[p] };
};
const classOf = async (s: Spectrum) => centre(await run(uniformBlock(s)));

describe('spectral-v1 graph: uniform surfaces', () => {
  const cases: [keyof typeof SPECTRA, string][] = [
    ['clearWater', 'water'],
    ['denseCrop', 'herbaceous'],
    ['meadow', 'herbaceous'],
    ['forestCanopy', 'tree'],
    ['concrete', 'built'],
    ['asphalt', 'built'],
    ['blueSteelRoof', 'built'],
    ['cloud', 'cloud'],
    ['vegetationInShadow', 'shadow'],
    ['freshSubsoil', 'disturbed'],
    ['ploughedTopsoil', 'bare'],
    ['greenhouseFilm', 'greenhouse'],
  ];
  it.each(cases)('%s → %s', async (spectrum, expected) => {
    const got = await classOf(SPECTRA[spectrum]);
    expect(got.name).toBe(expected);
    // A clear case should win clearly: above an even split with the runner-up.
    expect(got.confidence).toBeGreaterThan(0.45);
  });

  it('separates fresh subsoil from ploughed topsoil by brightness alone', async () => {
    const [b, g, r, n] = SPECTRA.ploughedTopsoil;
    // Same soil colour, 2× brighter (drier, no organic matter): becomes disturbed.
    expect((await classOf([b * 2, g * 2, r * 2, n * 2])).name).toBe('disturbed');
    expect((await classOf([b, g, r, n])).name).toBe('bare');
  });

  it('does not call a black pixel water (too dark for any water signature)', async () => {
    expect((await classOf([0.008, 0.01, 0.006, 0.004])).name).toBe('shadow');
  });
});

describe('spectral-v1 graph: texture', () => {
  // 2 m orchard: 4 m crowns (2×2 px) on a 6 m grid, soil between.
  const crowns = (x: number, y: number) => x % 3 < 2 && y % 3 < 2;

  it('labels a crown-and-gap pattern orchard, crowns and gaps alike', async () => {
    const out = await run(patternBlock(24, 24, (x, y) => (crowns(x, y) ? SPECTRA.sunlitCrown : SPECTRA.ploughedTopsoil)));
    const interior: string[] = [];
    for (let y = 3; y < 21; y++) for (let x = 3; x < 21; x++) interior.push(landCoverName(out.classes[y * 24 + x]));
    const orchard = interior.filter((c) => c === 'orchard').length / interior.length;
    expect(orchard).toBeGreaterThan(0.95);
  });

  it('labels closed crowns with shade tree, not orchard', async () => {
    // Sunlit crown tops and shaded crown sides of a closed 2 m canopy.
    const out = await run(patternBlock(24, 24, (x, y) => ((x + 2 * y) % 4 < 2 ? SPECTRA.sunlitCrown : SPECTRA.shadedCrown)));
    expect(centre(out).name).toBe('tree');
  });

  it('does not turn a straight crop/soil boundary into orchard', async () => {
    const out = await run(patternBlock(24, 24, (x) => (x < 12 ? SPECTRA.denseCrop : SPECTRA.ploughedTopsoil)));
    for (let y = 3; y < 21; y++) {
      for (let x = 0; x < 24; x++) {
        expect.soft(landCoverName(out.classes[y * 24 + x]), `x=${x}`).toBe(x < 12 ? 'herbaceous' : 'bare');
      }
    }
  });

  it('does not turn a diagonal crop/soil boundary into orchard (outside the 2 px context border)', async () => {
    const out = await run(patternBlock(32, 32, (x, y) => (x + y < 32 ? SPECTRA.denseCrop : SPECTRA.ploughedTopsoil)));
    for (let y = 2; y < 30; y++) {
      for (let x = 2; x < 30; x++) expect.soft(landCoverName(out.classes[y * 32 + x]), `x=${x} y=${y}`).toBe(x + y < 32 ? 'herbaceous' : 'bare');
    }
  });
});

describe('spectral-v1 graph: validity and shape', () => {
  it('gives invalid pixels class 0 and confidence 0, and keeps them out of neighbours’ texture', async () => {
    // A crop field with a hole of invalid pixels holding garbage (NaN and bright values).
    const hole = (x: number, y: number) => x >= 5 && x < 9 && y >= 5 && y < 9;
    const block = patternBlock(14, 14, (x, y) => (hole(x, y) ? (x === 5 ? [NaN, NaN, NaN, NaN] : [0.9, 0.9, 0.9, 0.9]) : SPECTRA.denseCrop), (x, y) => !hole(x, y));
    const out = await run(block);
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 14; x++) {
        const p = y * 14 + x;
        if (hole(x, y)) {
          expect(out.classes[p]).toBe(LandCover.nodata);
          expect(out.confidence[p]).toBe(0);
        } else {
          expect(landCoverName(out.classes[p])).toBe('herbaceous');
        }
      }
    }
  });

  it('treats non-finite values in pixels flagged valid as no-data', async () => {
    const block = patternBlock(9, 9, (x) => (x === 4 ? [0.03, Infinity, 0.04, 0.45] : x === 5 ? [NaN, 0.08, 0.04, 0.45] : SPECTRA.denseCrop));
    const out = await run(block);
    expect(out.classes[4 * 9 + 4]).toBe(LandCover.nodata);
    expect(out.classes[4 * 9 + 5]).toBe(LandCover.nodata);
    expect(out.confidence[4 * 9 + 5]).toBe(0);
    expect(landCoverName(out.classes[4 * 9 + 3])).toBe('herbaceous');
  });

  it.each([
    [1, 1],
    [3, 257],
    [1031, 2],
  ])('classifies a %i×%i block', async (w, h) => {
    const out = await run(uniformBlock(SPECTRA.denseCrop, w, h));
    expect(out.classes.length).toBe(w * h);
    expect(new Set(out.classes)).toEqual(new Set([LandCover.herbaceous]));
  });

  it('maps bands by name, whatever order the block holds them in', async () => {
    const b = uniformBlock(SPECTRA.clearWater);
    const shuffled: RasterBlock = { ...b, bandNames: ['nir', 'red', 'green', 'blue', 'swir1'], data: [b.data[3], b.data[2], b.data[1], b.data[0], new Float32Array(81)] };
    expect(centre(await run(shuffled)).name).toBe('water');
  });
});

describe('spectral-v1 build', () => {
  it('uses every term the card documents', () => {
    const used = new Set<string>();
    const walk = (e: Expr): void => {
      if (e.kind === 'term') used.add(e.id);
      else if (e.kind === 'not') walk(e.of);
      else e.of.forEach(walk);
    };
    CLASS_RULES.forEach((r) => walk(r.rule));
    expect([...used].sort()).toEqual(Object.keys(TERMS).sort());
  });

  it('model.onnx is exactly what graph.ts builds from rules.ts (rebuild with build.ts after editing rules)', () => {
    const fresh = buildSpectralV1(MODEL_VERSION).bytes;
    expect(Buffer.compare(Buffer.from(fresh), readFileSync(join(MODEL_DIR, 'model.onnx')))).toBe(0);
  });
});
