/**
 * A small convolutional land-cover model: a k×k convolution over the in-graph feature stack (so it
 * sees local texture and context, not only the pixel), then the 1×1 layers of the small network,
 * then class logits. Trained as the network of {@link fitMlp} on each sampled pixel's flattened
 * k×k neighbourhood, which is the same arithmetic as a k×k convolution with zero padding of the
 * standardised features; exported by `buildCnnModel` with the first layer as an ONNX `Conv`
 * (kernel k, pads k/2).
 *
 * Standardisation is per feature (as the graph standardises its feature planes before the
 * convolution), from the rows' centre pixels; neighbours outside the image (NaN in the rows) become
 * 0 after it, as the convolution's zero padding would. The network's own per-column
 * standardisation is folded into the convolution weights at export ({@link foldedFirstLayer}).
 */
import type { TrainingSet } from './forest.js';
import { fitMlp, mlpLogits, predictMlp, type Mlp, type MlpOptions } from './mlp.js';

export interface Cnn {
  /** Kernel radius r: the first layer is a (2r+1)×(2r+1) convolution. */
  readonly radius: number;
  /** Feature planes in (before the convolution). */
  readonly features: number;
  /** Per-feature standardisation applied to the planes before the convolution. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
  /** The network over standardised flattened neighbourhoods (input size features·k²). */
  readonly mlp: Mlp;
}

/** Per-feature mean and standard deviation over the rows' centre pixels. */
function featureStandardisation(rows: Float32Array, count: number, F: number, radius: number): { mean: Float32Array; std: Float32Array } {
  const k = 2 * radius + 1;
  const kk = k * k;
  const centre = radius * k + radius;
  const W = F * kk;
  const mean = new Float32Array(F);
  const std = new Float32Array(F);
  for (let f = 0; f < F; f++) {
    let s = 0;
    let sq = 0;
    for (let i = 0; i < count; i++) {
      const v = rows[i * W + f * kk + centre];
      s += v;
      sq += v * v;
    }
    mean[f] = s / count;
    std[f] = Math.sqrt(Math.max(sq / count - mean[f] * mean[f], 0)) || 1;
  }
  return { mean, std };
}

/** Standardised copy of neighbourhood rows: (x − mean_f) / std_f, and 0 outside the image. */
export function standardiseNeighbourhoods(rows: Float32Array, F: number, radius: number, mean: Float32Array, std: Float32Array): Float32Array {
  const kk = (2 * radius + 1) ** 2;
  const W = F * kk;
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i];
    const f = Math.floor((i % W) / kk);
    out[i] = Number.isNaN(v) ? 0 : (v - mean[f]) / std[f];
  }
  return out;
}

/** Fits the convolutional model on neighbourhood rows (`set.featureCount` = features·k²). */
export function fitCnn(set: TrainingSet, features: number, radius: number, opts: MlpOptions): Cnn {
  const kk = (2 * radius + 1) ** 2;
  if (set.featureCount !== features * kk) throw new Error(`rows hold ${set.featureCount} values, a ${2 * radius + 1}×${2 * radius + 1} neighbourhood of ${features} features needs ${features * kk}`);
  const n = set.labels.length;
  const { mean, std } = featureStandardisation(set.features, n, features, radius);
  const mlp = fitMlp({ ...set, features: standardiseNeighbourhoods(set.features, features, radius, mean, std) }, opts);
  return { radius, features, mean, std, mlp };
}

/** Most probable class of every neighbourhood row. */
export function predictCnn(cnn: Cnn, rows: Float32Array): Uint8Array {
  return predictMlp(cnn.mlp, standardiseNeighbourhoods(rows, cnn.features, cnn.radius, cnn.mean, cnn.std));
}

/** Class logits of one neighbourhood row (the JS forward pass the ONNX graph must reproduce). */
export function cnnLogits(cnn: Cnn, row: Float32Array): Float32Array {
  return mlpLogits(cnn.mlp, standardiseNeighbourhoods(row, cnn.features, cnn.radius, cnn.mean, cnn.std));
}

/**
 * The first layer with the network's per-column standardisation folded in, as Conv weights
 * [out, features, k, k] and bias [out]: W'·x + b' = W·((x − m)/s) + b for every x, including the
 * zero-padded border, so the graph needs only the per-feature standardisation.
 */
export function foldedFirstLayer(cnn: Cnn): { weight: Float32Array; bias: Float32Array } {
  const { sizes, weights, biases, mean, std } = cnn.mlp;
  const nIn = sizes[0];
  const nOut = sizes[1];
  const weight = new Float32Array(nOut * nIn);
  const bias = new Float32Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let b = biases[0][o];
    for (let i = 0; i < nIn; i++) {
      const w = weights[0][o * nIn + i] / std[i];
      weight[o * nIn + i] = w;
      b -= w * mean[i];
    }
    bias[o] = b;
  }
  return { weight, bias };
}
