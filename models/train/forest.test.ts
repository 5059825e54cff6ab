import { describe, expect, it } from 'vitest';
import { binEdges, fitForest, predictForest, type TrainingSet } from './forest.js';
import { Rng } from '../../samples/rng.js';

/** Two noisy features; class = quadrant of (x, y) around (0.5, 0.3), a fourth class rare. */
function quadrants(n: number, seed: number): TrainingSet {
  const rng = new Rng(seed, 'toy');
  const features = new Float32Array(n * 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.next();
    const y = rng.next();
    features[i * 3] = x;
    features[i * 3 + 1] = y;
    features[i * 3 + 2] = rng.next(); // pure noise
    labels[i] = (x > 0.5 ? 1 : 0) + (y > 0.3 ? 2 : 0);
  }
  return { features, labels, featureCount: 3, classCount: 4 };
}

const opts = { trees: 8, maxDepth: 8, minSamplesSplit: 4, samplesPerClass: 300, seed: 7 };

describe('random forest', () => {
  it('learns axis-aligned classes, including a rare one, on unseen rows', () => {
    const forest = fitForest(quadrants(4000, 1), opts);
    const test = quadrants(2000, 2);
    const pred = predictForest(forest, test.features);
    let right = 0;
    pred.forEach((p, i) => (right += p === test.labels[i] ? 1 : 0));
    expect(right / pred.length).toBeGreaterThan(0.97);
    // Thresholds sit on the true boundaries within a bin (64 quantile bins over [0, 1]).
    const root = forest.trees.map((t) => [t.feature[0], t.threshold[0]] as const);
    for (const [f, th] of root) expect(f === 0 ? Math.abs(th - 0.5) : f === 1 ? Math.abs(th - 0.3) : 1).toBeLessThan(0.03);
  });

  it('is deterministic for a seed and changes with it', () => {
    const data = quadrants(3000, 3);
    const a = fitForest(data, opts);
    const b = fitForest(data, opts);
    const c = fitForest(data, { ...opts, seed: 8 });
    expect(a.trees.map((t) => Array.from(t.threshold))).toEqual(b.trees.map((t) => Array.from(t.threshold)));
    expect(a.trees.map((t) => Array.from(t.threshold))).not.toEqual(c.trees.map((t) => Array.from(t.threshold)));
  });

  it('bins a feature by quantiles and sends value = edge to the left', () => {
    const features = Float32Array.from({ length: 1000 }, (_, i) => i % 10);
    const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i % 10 <= 4 ? 0 : 1));
    const set = { features, labels, featureCount: 1, classCount: 2 };
    const edges = binEdges(set)[0];
    expect(Array.from(edges)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const forest = fitForest(set, { ...opts, trees: 1 });
    expect(forest.trees[0].threshold[0]).toBe(4);
    expect(Array.from(predictForest(forest, Float32Array.from([4, 4.0001, 5])))).toEqual([0, 1, 1]);
  });
});
