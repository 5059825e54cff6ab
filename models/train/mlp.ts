/**
 * A small per-pixel neural network (multi-layer perceptron, ReLU, softmax) trained with Adam on
 * class-balanced mini-batches, the learner compared with the forest. Exported as 1×1 convolutions,
 * it is an NCHW convolutional model like any third-party segmentation network.
 *
 * Deterministic: weights, batches and shuffles come from the seeded generator.
 */
import { Rng } from '../../samples/rng.js';
import type { TrainingSet } from './forest.js';

export interface MlpOptions {
  readonly hidden: readonly number[];
  readonly epochs: number;
  /** Rows drawn per class per epoch (with replacement): balances rare classes. */
  readonly samplesPerClass: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** L2 penalty on weights (not biases). */
  readonly weightDecay: number;
  readonly seed: number;
}

/** Layer l maps sizes[l] → sizes[l + 1]; weights row-major [out][in]. */
export interface Mlp {
  readonly sizes: readonly number[];
  readonly weights: readonly Float32Array[];
  readonly biases: readonly Float32Array[];
  /** Input standardisation: (x − mean) / std per feature. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

function standardisation(set: TrainingSet): { mean: Float32Array; std: Float32Array } {
  const F = set.featureCount;
  const n = set.labels.length;
  const mean = new Float64Array(F);
  const sq = new Float64Array(F);
  for (let i = 0; i < n; i++)
    for (let f = 0; f < F; f++) {
      const v = set.features[i * F + f];
      mean[f] += v;
      sq[f] += v * v;
    }
  const m = new Float32Array(F);
  const s = new Float32Array(F);
  for (let f = 0; f < F; f++) {
    m[f] = mean[f] / n;
    s[f] = Math.sqrt(Math.max(sq[f] / n - m[f] * m[f], 0)) || 1;
  }
  return { mean: m, std: s };
}

export function fitMlp(set: TrainingSet, opts: MlpOptions): Mlp {
  const F = set.featureCount;
  const K = set.classCount;
  const sizes = [F, ...opts.hidden, K];
  const L = sizes.length - 1;
  const rng = new Rng(opts.seed, 'mlp');
  // He initialisation for ReLU layers.
  const weights = Array.from({ length: L }, (_, l) => Float32Array.from({ length: sizes[l + 1] * sizes[l] }, () => rng.gauss() * Math.sqrt(2 / sizes[l])));
  const biases = Array.from({ length: L }, (_, l) => new Float32Array(sizes[l + 1]));
  const { mean, std } = standardisation(set);
  // Adam state.
  const mW = weights.map((w) => new Float32Array(w.length));
  const vW = weights.map((w) => new Float32Array(w.length));
  const mB = biases.map((b) => new Float32Array(b.length));
  const vB = biases.map((b) => new Float32Array(b.length));
  const gW = weights.map((w) => new Float32Array(w.length));
  const gB = biases.map((b) => new Float32Array(b.length));
  const acts = sizes.map((s) => new Float32Array(s));
  const deltas = sizes.map((s) => new Float32Array(s));
  const byClass: number[][] = Array.from({ length: K }, () => []);
  set.labels.forEach((c, i) => byClass[c].push(i));
  const b1 = 0.9;
  const b2 = 0.999;
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const rows: number[] = [];
    for (const r of byClass) for (let k = 0; r.length && k < opts.samplesPerClass; k++) rows.push(r[Math.floor(rng.next() * r.length)]);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    // Cosine decay of the step size over the run.
    const lr = opts.learningRate * 0.5 * (1 + Math.cos((Math.PI * epoch) / opts.epochs));
    for (let start = 0; start < rows.length; start += opts.batchSize) {
      const batch = rows.slice(start, start + opts.batchSize);
      gW.forEach((g) => g.fill(0));
      gB.forEach((g) => g.fill(0));
      for (const row of batch) {
        for (let f = 0; f < F; f++) acts[0][f] = (set.features[row * F + f] - mean[f]) / std[f];
        forward(weights, biases, sizes, acts);
        // Softmax cross-entropy gradient at the logits: p − onehot.
        const out = acts[L];
        let mx = -Infinity;
        for (let k = 0; k < K; k++) mx = Math.max(mx, out[k]);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(out[k] - mx);
        for (let k = 0; k < K; k++) deltas[L][k] = Math.exp(out[k] - mx) / sum - (k === set.labels[row] ? 1 : 0);
        for (let l = L - 1; l >= 0; l--) {
          const nIn = sizes[l];
          const nOut = sizes[l + 1];
          const w = weights[l];
          const dOut = deltas[l + 1];
          const aIn = acts[l];
          for (let o = 0; o < nOut; o++) {
            const d = dOut[o];
            gB[l][o] += d;
            for (let i = 0; i < nIn; i++) gW[l][o * nIn + i] += d * aIn[i];
          }
          if (l > 0) {
            const dIn = deltas[l];
            for (let i = 0; i < nIn; i++) {
              let s = 0;
              for (let o = 0; o < nOut; o++) s += w[o * nIn + i] * dOut[o];
              dIn[i] = aIn[i] > 0 ? s : 0;
            }
          }
        }
      }
      step++;
      const c1 = 1 - b1 ** step;
      const c2 = 1 - b2 ** step;
      const scale = 1 / batch.length;
      for (let l = 0; l < L; l++) {
        adam(weights[l], gW[l], mW[l], vW[l], scale, opts.weightDecay, lr, c1, c2);
        adam(biases[l], gB[l], mB[l], vB[l], scale, 0, lr, c1, c2);
      }
    }
  }
  return { sizes, weights, biases, mean, std };
}

function adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, scale: number, decay: number, lr: number, c1: number, c2: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * scale + decay * p[i];
    m[i] = 0.9 * m[i] + 0.1 * gi;
    v[i] = 0.999 * v[i] + 0.001 * gi * gi;
    p[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
  }
}

/** acts[0] holds the standardised input; fills the later layers (ReLU on hidden layers, raw logits last). */
function forward(weights: readonly Float32Array[], biases: readonly Float32Array[], sizes: readonly number[], acts: Float32Array[]): void {
  const L = sizes.length - 1;
  for (let l = 0; l < L; l++) {
    const nIn = sizes[l];
    const w = weights[l];
    const out = acts[l + 1];
    for (let o = 0; o < sizes[l + 1]; o++) {
      let s = biases[l][o];
      for (let i = 0; i < nIn; i++) s += w[o * nIn + i] * acts[l][i];
      out[o] = l < L - 1 ? Math.max(0, s) : s;
    }
  }
}

/** Most probable class of every row. */
export function predictMlp(mlp: Mlp, features: Float32Array): Uint8Array {
  const F = mlp.sizes[0];
  const n = features.length / F;
  const acts = mlp.sizes.map((s) => new Float32Array(s));
  const out = new Uint8Array(n);
  const L = mlp.sizes.length - 1;
  for (let r = 0; r < n; r++) {
    for (let f = 0; f < F; f++) acts[0][f] = (features[r * F + f] - mlp.mean[f]) / mlp.std[f];
    forward(mlp.weights, mlp.biases, mlp.sizes, acts);
    let best = 0;
    for (let k = 1; k < mlp.sizes[L]; k++) if (acts[L][k] > acts[L][best]) best = k;
    out[r] = best;
  }
  return out;
}

/** Class logits of one row (the network's raw output before softmax). */
export function mlpLogits(mlp: Mlp, row: Float32Array): Float32Array {
  const F = mlp.sizes[0];
  const acts = mlp.sizes.map((s) => new Float32Array(s));
  for (let f = 0; f < F; f++) acts[0][f] = (row[f] - mlp.mean[f]) / mlp.std[f];
  forward(mlp.weights, mlp.biases, mlp.sizes, acts);
  return acts[mlp.sizes.length - 1];
}
