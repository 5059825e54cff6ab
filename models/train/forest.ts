/**
 * A random forest for per-pixel land cover (Breiman 2001), written for this job: features are
 * binned once into at most 64 quantile bins (as histogram GBDT libraries do), so a split search is
 * one pass over the node's samples per candidate feature; trees are grown depth-first on a
 * class-balanced bootstrap; leaves hold class frequencies and the forest averages them, which is
 * exactly what ONNX-ML `TreeEnsembleClassifier` computes with `post_transform = NONE`.
 *
 * Deterministic: the same data, options and seed give the same trees.
 */
import { Rng } from '../../samples/rng.js';

/** Row-major feature matrix with a class index (0..classes−1) per row. */
export interface TrainingSet {
  readonly features: Float32Array;
  readonly labels: Uint8Array;
  readonly featureCount: number;
  readonly classCount: number;
}

export interface ForestOptions {
  readonly trees: number;
  readonly maxDepth: number;
  /** A node with fewer samples becomes a leaf. */
  readonly minSamplesSplit: number;
  /** Bootstrap draws per class per tree (with replacement): balances rare classes. */
  readonly samplesPerClass: number;
  /** Candidate features per split; default √featureCount. */
  readonly featuresPerSplit?: number;
  readonly seed: number;
}

/** One tree as flat arrays; node 0 is the root; a leaf has `feature` −1. */
export interface Tree {
  readonly feature: Int32Array;
  /** Go left when value ≤ threshold. */
  readonly threshold: Float32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Class frequencies per node (node × classCount), only meaningful at leaves. */
  readonly leafProbs: Float32Array;
}

export interface Forest {
  readonly trees: readonly Tree[];
  readonly featureCount: number;
  readonly classCount: number;
}

const MAX_BINS = 64;

/** Upper edges of the quantile bins of each feature: value v falls in the first bin whose edge ≥ v. */
export function binEdges(set: TrainingSet, maxSample = 200_000): Float32Array[] {
  const n = set.labels.length;
  const step = Math.max(1, Math.floor(n / maxSample));
  const edges: Float32Array[] = [];
  for (let f = 0; f < set.featureCount; f++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i += step) vals.push(set.features[i * set.featureCount + f]);
    vals.sort((a, b) => a - b);
    const e: number[] = [];
    for (let k = 1; k < MAX_BINS; k++) {
      const v = vals[Math.floor((k * vals.length) / MAX_BINS)];
      if (v !== undefined && (e.length === 0 || v > e[e.length - 1])) e.push(v);
    }
    // The last bin is open-ended: drop an edge equal to the maximum so it is not an empty split.
    if (e.length && e[e.length - 1] >= vals[vals.length - 1]) e.pop();
    edges.push(Float32Array.from(e));
  }
  return edges;
}

function binAll(set: TrainingSet, edges: readonly Float32Array[]): Uint8Array {
  const { featureCount: F } = set;
  const n = set.labels.length;
  const out = new Uint8Array(n * F);
  for (let f = 0; f < F; f++) {
    const e = edges[f];
    for (let i = 0; i < n; i++) {
      const v = set.features[i * F + f];
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (e[mid] >= v) hi = mid;
        else lo = mid + 1;
      }
      out[i * F + f] = lo;
    }
  }
  return out;
}

/** Fits the forest. Rows of classes with no samples are simply absent from every bootstrap. */
export function fitForest(set: TrainingSet, opts: ForestOptions): Forest {
  const { featureCount: F, classCount: K } = set;
  const edges = binEdges(set);
  const bins = binAll(set, edges);
  const byClass: number[][] = Array.from({ length: K }, () => []);
  set.labels.forEach((c, i) => byClass[c].push(i));
  const mtry = Math.max(1, Math.min(F, opts.featuresPerSplit ?? Math.round(Math.sqrt(F))));
  const trees: Tree[] = [];
  for (let t = 0; t < opts.trees; t++) {
    const rng = new Rng(opts.seed, `tree-${t}`);
    const sample: number[] = [];
    for (const rows of byClass) for (let k = 0; rows.length && k < opts.samplesPerClass; k++) sample.push(rows[Math.floor(rng.next() * rows.length)]);
    trees.push(growTree(Int32Array.from(sample), set.labels, bins, edges, F, K, mtry, opts, rng));
  }
  return { trees, featureCount: F, classCount: K };
}

function growTree(idx: Int32Array, labels: Uint8Array, bins: Uint8Array, edges: readonly Float32Array[], F: number, K: number, mtry: number, opts: ForestOptions, rng: Rng): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const probs: number[] = [];
  const hist = new Float64Array(MAX_BINS * K);
  const total = new Float64Array(K);
  const leftCount = new Float64Array(K);
  const candidates = Array.from({ length: F }, (_, f) => f);

  const newNode = (): number => {
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    for (let k = 0; k < K; k++) probs.push(0);
    return feature.length - 1;
  };
  const gini = (counts: Float64Array | number[], n: number): number => {
    let s = 0;
    for (let k = 0; k < K; k++) s += counts[k] * counts[k];
    return n > 0 ? 1 - s / (n * n) : 0;
  };

  // Explicit stack: [node, start, end, depth] over `idx`, which is partitioned in place.
  const stack: [number, number, number, number][] = [[newNode(), 0, idx.length, 0]];
  while (stack.length) {
    const [node, start, end, depth] = stack.pop()!;
    const n = end - start;
    total.fill(0);
    for (let i = start; i < end; i++) total[labels[idx[i]]]++;
    for (let k = 0; k < K; k++) probs[node * K + k] = total[k] / n;
    const parentGini = gini(total, n);
    if (depth >= opts.maxDepth || n < opts.minSamplesSplit || parentGini === 0) continue;

    // Partial Fisher–Yates: the first mtry entries are this node's candidate features.
    for (let j = 0; j < mtry; j++) {
      const r = j + Math.floor(rng.next() * (F - j));
      [candidates[j], candidates[r]] = [candidates[r], candidates[j]];
    }
    let bestGain = 1e-9;
    let bestF = -1;
    let bestBin = -1;
    for (let j = 0; j < mtry; j++) {
      const f = candidates[j];
      const nb = edges[f].length + 1;
      hist.fill(0, 0, nb * K);
      for (let i = start; i < end; i++) {
        const row = idx[i];
        hist[bins[row * F + f] * K + labels[row]]++;
      }
      leftCount.fill(0);
      let nl = 0;
      for (let b = 0; b < nb - 1; b++) {
        for (let k = 0; k < K; k++) {
          leftCount[k] += hist[b * K + k];
          nl += hist[b * K + k];
        }
        const nr = n - nl;
        if (nl === 0 || nr === 0) continue;
        let sl = 0;
        let sr = 0;
        for (let k = 0; k < K; k++) {
          sl += leftCount[k] * leftCount[k];
          const rc = total[k] - leftCount[k];
          sr += rc * rc;
        }
        const child = (nl - sl / nl + (nr - sr / nr)) / n;
        const gain = parentGini - child;
        if (gain > bestGain) {
          bestGain = gain;
          bestF = f;
          bestBin = b;
        }
      }
    }
    if (bestF < 0) continue;
    // Partition: rows with bin ≤ bestBin (value ≤ edge) to the front.
    let lo = start;
    let hi = end - 1;
    while (lo <= hi) {
      if (bins[idx[lo] * F + bestF] <= bestBin) lo++;
      else {
        const tmp = idx[lo];
        idx[lo] = idx[hi];
        idx[hi] = tmp;
        hi--;
      }
    }
    feature[node] = bestF;
    threshold[node] = edges[bestF][bestBin];
    const l = newNode();
    const r = newNode();
    left[node] = l;
    right[node] = r;
    stack.push([r, lo, end, depth + 1], [l, start, lo, depth + 1]);
  }
  return { feature: Int32Array.from(feature), threshold: Float32Array.from(threshold), left: Int32Array.from(left), right: Int32Array.from(right), leafProbs: Float32Array.from(probs) };
}

/** Class probabilities of one row (averaged leaf frequencies), written into `out`. */
export function predictRow(forest: Forest, features: ArrayLike<number>, offset: number, out: Float64Array): void {
  out.fill(0);
  const K = forest.classCount;
  for (const t of forest.trees) {
    let node = 0;
    while (t.feature[node] >= 0) node = features[offset + t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
    for (let k = 0; k < K; k++) out[k] += t.leafProbs[node * K + k];
  }
  for (let k = 0; k < K; k++) out[k] /= forest.trees.length;
}

/** Most probable class of every row. */
export function predictForest(forest: Forest, features: Float32Array): Uint8Array {
  const F = forest.featureCount;
  const n = features.length / F;
  const out = new Uint8Array(n);
  const p = new Float64Array(forest.classCount);
  for (let i = 0; i < n; i++) {
    predictRow(forest, features, i * F, p);
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
    out[i] = best;
  }
  return out;
}

/** Nodes over all trees (for reporting model size). */
export const forestNodeCount = (forest: Forest): number => forest.trees.reduce((s, t) => s + t.feature.length, 0);
