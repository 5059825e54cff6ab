/**
 * Compiles the spectral-v1 rule base (`rules.ts`) into an ONNX graph.
 *
 * Input `reflectance` float32 [N, 4, H, W] (blue, green, red, nir; surface reflectance 0..1;
 * N = 1 in the pipeline, H and W dynamic). Outputs `label` int32 [N, H, W] (LandCover codes) and
 * `confidence` float32 [N, H, W]. A pixel whose four bands are all ≤ 0 is treated as no-data
 * inside the graph: it is left out of the texture windows of its neighbours (the caller still
 * overwrites its own label with 0).
 */
import { DType, GraphBuilder } from '../lib/onnx-graph.js';
import { CLASS_RULES, CONFIDENCE_FLOOR, INDEX_EPSILON, type Expr, type FeatureName, type Term } from './rules.js';

/** ai.onnx opset: 17 is the newest the Debian python3-onnx 1.12 checker knows, and ORT runs it. */
export const OPSET = 17;
/** Texture window side (pixels); the model needs (WINDOW − 1) / 2 pixels of context. */
export const WINDOW = 5;
export const CONTEXT_PX = (WINDOW - 1) / 2;
/** Σ x² of the centred column index over the window, and its mean (5×5: 50 and 2). */
const PLANE_SXX = WINDOW * ((WINDOW * WINDOW - 1) * WINDOW) / 12;
const PLANE_MEAN_X2 = PLANE_SXX / (WINDOW * WINDOW);

export const INPUT_NAME = 'reflectance';
export const BAND_ORDER = ['blue', 'green', 'red', 'nir'] as const;

/** Values the rule base adds to a graph: its features and its per-pixel decision, each [N, 1, H, W] (label, confidence [N, H, W]). */
export interface SpectralV1Values {
  readonly features: Readonly<Record<FeatureName, string>>;
  /** LandCover code, int32 [N, H, W]. */
  readonly label: string;
  /** float32 [N, H, W]. */
  readonly confidence: string;
  /** 1 where all four bands are > 0 in sum (the graph's own no-data test), float32 [N, 1, H, W]. */
  readonly valid: string;
  /** Fuzzy membership of each rule class, float32 [N, 1, H, W], by class name. */
  readonly scores: Readonly<Record<string, string>>;
}

/**
 * Adds the spectral-v1 features and rule base to `g`, reading `x` (float32 [N, 4, H, W], blue,
 * green, red, nir). Shared by spectral-v1 itself and by trained models, which reuse its features
 * and its cloud and shadow decisions (no labelled data of ours has clouds).
 */
export function addSpectralV1(g: GraphBuilder, x: string): SpectralV1Values {
  const c = (v: number) => g.constF(v);
  const add = (a: string, b: string) => g.op1('Add', [a, b]);
  const sub = (a: string, b: string) => g.op1('Sub', [a, b]);
  const mul = (a: string, b: string) => g.op1('Mul', [a, b]);
  const div = (a: string, b: string) => g.op1('Div', [a, b]);
  const normDiff = (a: string, b: string) => div(sub(a, b), add(add(a, b), c(INDEX_EPSILON)));

  // Negative SR (over-corrected dark targets) would flip index signs; clamp to the physical range.
  const xc = g.op1('Relu', [x]);
  const [blue, green, red, nir] = g.op('Split', [xc, g.constI64([1, 1, 1, 1])], { axis: 1 }, 4, ['axis'], 'band');
  const sum3 = g.op1('Sum', [blue, green, red]);
  const vis = mul(sum3, c(1 / 3));
  const sum4 = add(sum3, nir);
  const ndvi = normDiff(nir, red);
  const ndwi = normDiff(green, nir);
  const bri = normDiff(blue, red);
  const absDev = (band: string) => g.op1('Abs', [sub(band, vis)]);
  const white = div(g.op1('Sum', [absDev(blue), absDev(green), absDev(red)]), add(vis, c(INDEX_EPSILON)));
  const hot = sub(sub(blue, mul(red, c(0.5))), c(0.08));

  // Texture by normalised convolution: no-data pixels (all bands 0) carry weight 0, so window
  // statistics near holes and image borders use only real pixels.
  const valid = g.op1('Cast', [g.op1('Greater', [sum4, c(0)])], { to: DType.float }, ['to']);
  const ndviValid = mul(ndvi, valid);
  const pool = (v: string) =>
    g.op1('AveragePool', [v], { kernel_shape: [WINDOW, WINDOW], pads: [CONTEXT_PX, CONTEXT_PX, CONTEXT_PX, CONTEXT_PX], strides: [1, 1], count_include_pad: 0 }, ['kernel_shape', 'pads', 'strides', 'count_include_pad']);
  const weight = g.op1('Max', [pool(valid), c(1e-6)]);
  const ndviMean = div(pool(ndviValid), weight);
  const ndviSq = div(pool(mul(ndviValid, ndvi)), weight);
  // E[x²] − E[x]² can dip below 0 by rounding; clamp before the root.
  const visMean = div(pool(mul(vis, valid)), weight);
  const ndviStd = g.op1('Sqrt', [g.op1('Relu', [sub(ndviSq, mul(ndviMean, ndviMean))])]);
  // NIR texture (crowns resolved): window std over (mean + ε), scale-free so haze and gain drift cancel.
  const nirMean = div(pool(mul(nir, valid)), weight);
  const nirSq = div(pool(mul(mul(nir, nir), valid)), weight);
  const nirStd = g.op1('Sqrt', [g.op1('Relu', [sub(nirSq, mul(nirMean, nirMean))])]);
  const nirCv = div(nirStd, add(nirMean, c(INDEX_EPSILON)));

  // Share of the window's NDVI variance explained by a fitted plane (least-squares slopes by
  // convolution with the centred column/row coordinates; Σx² = 50 over 5×5, mean x² = 2). A field
  // or forest boundary through the window is mostly a ramp; crowns repeating every 2–4 px are not.
  const coords = (axis: 'x' | 'y') =>
    Array.from({ length: WINDOW * WINDOW }, (_, i) => ((axis === 'x' ? i % WINDOW : Math.floor(i / WINDOW)) - CONTEXT_PX) / PLANE_SXX);
  const slopes = g.op1('Conv', [ndviValid, g.constF([...coords('x'), ...coords('y')], [2, 1, WINDOW, WINDOW])], { kernel_shape: [WINDOW, WINDOW], pads: [CONTEXT_PX, CONTEXT_PX, CONTEXT_PX, CONTEXT_PX] }, ['kernel_shape', 'pads']);
  const slope2 = g.op1('ReduceSum', [mul(slopes, slopes), g.constI64([1])], { keepdims: 1 }, ['keepdims']);
  // The 4e-4 (a 0.02 NDVI spread) keeps smooth windows, where both terms vanish, at planarity ≈ 0.
  const planarity = div(mul(slope2, c(PLANE_MEAN_X2)), add(mul(ndviStd, ndviStd), c(4e-4)));

  const features: Record<FeatureName, string> = { blue, green, red, nir, vis, sum4, ndvi, ndwi, bri, white, hot, ndviMean, visMean, ndviStd, nirMean, nirCv, planarity };

  // A "below" term is the complement of the "above" term on the same feature, threshold and
  // width: σ(−z) = 1 − σ(z), one Sub instead of a Mul, an Add and a Sigmoid.
  const termCache = new Map<string, string>();
  const compileTerm = (t: Term): string => {
    const key = (side: string) => JSON.stringify([t.feature, side, t.at, t.width]);
    const hit = termCache.get(key(t.side));
    if (hit) return hit;
    const mirror = termCache.get(key(t.side === 'above' ? 'below' : 'above'));
    const s = t.side === 'above' ? 1 : -1;
    const out = mirror ? sub(c(1), mirror) : g.op1('Sigmoid', [add(mul(features[t.feature], c(s / t.width)), c((-s * t.at) / t.width))], {}, [], t.id);
    termCache.set(key(t.side), out);
    return out;
  };
  const compile = (e: Expr): string => {
    switch (e.kind) {
      case 'term':
        return compileTerm(e);
      case 'and':
        return e.of.map(compile).reduce((a, b) => mul(a, b));
      case 'or':
        return g.op1('Max', e.of.map(compile));
      case 'not':
        return sub(c(1), compile(e.of));
    }
  };

  const classScores = CLASS_RULES.map((r) => compile(r.rule));
  // Variadic Max/Sum over the per-class planes are cheaper than reductions across the channel
  // axis of the stacked tensor; only ArgMax needs the stack.
  const squeeze = (v: string) => g.op1('Squeeze', [v, g.constI64([1])]);
  const best = squeeze(g.op1('Max', classScores));
  const total = squeeze(g.op1('Sum', classScores));
  const index = g.op1('ArgMax', [g.op1('Concat', classScores, { axis: 1 }, ['axis'], 'scores')], { axis: 1, keepdims: 0 }, ['axis', 'keepdims']);
  const label = g.op1('Gather', [g.constI32(CLASS_RULES.map((r) => r.code)), index], { axis: 0 }, ['axis']);
  const confidence = div(best, add(total, c(CONFIDENCE_FLOOR)));
  return { features, label, confidence, valid, scores: Object.fromEntries(CLASS_RULES.map((r, i) => [r.name, classScores[i]])) };
}

/** Builds the model; deterministic (same rules → same bytes). */
export function buildSpectralV1(version: string): { bytes: Uint8Array; nodeCount: number } {
  const g = new GraphBuilder();
  const x = g.input({ name: INPUT_NAME, dtype: DType.float, shape: ['N', 4, 'H', 'W'], doc: 'surface reflectance 0..1, bands blue, green, red, nir' });
  const { label, confidence } = addSpectralV1(g, x);
  g.output(label, { name: 'label', dtype: DType.int32, shape: ['N', 'H', 'W'], doc: 'LandCover code (pipeline/types.ts)' });
  g.output(confidence, { name: 'confidence', dtype: DType.float, shape: ['N', 'H', 'W'], doc: 'winning membership / (sum of memberships + floor)' });
  const bytes = g.build({
    name: 'spectral-v1',
    doc: 'Knowledge-based fuzzy-rule land-cover classifier for 4-band surface reflectance (farmwatch).',
    opset: OPSET,
    producer: 'farmwatch models/spectral-v1/build.ts',
    version,
    metadata: { bands: BAND_ORDER.join(','), classes: CLASS_RULES.map((r) => `${r.code}:${r.name}`).join(','), context_px: String(CONTEXT_PX) },
  });
  return { bytes, nodeCount: g.nodeCount };
}
