/**
 * ONNX graphs of trained per-pixel models. Features are computed inside the graph from raw
 * reflectance (the spectral-v1 feature set: bands, indices, 5×5 texture), so inference needs only
 * the four bands, and training reads its features through the very same graph
 * ({@link buildFeatureModel}), so training and inference cannot drift apart.
 *
 * Cloud and shadow come from the spectral-v1 physical rules inside the same graph: none of the
 * labelled data has clouds, so a learner could not know them.
 */
import { DType, GraphBuilder } from '../lib/onnx-graph.js';
import { BAND_ORDER, CONTEXT_PX, INPUT_NAME, OPSET, addSpectralV1, type SpectralV1Values } from '../spectral-v1/graph.js';
import type { FeatureName } from '../spectral-v1/rules.js';
import { LandCover } from '../../pipeline/types.js';
import type { Forest } from './forest.js';
import type { Mlp } from './mlp.js';
import { foldedFirstLayer, type Cnn } from './cnn.js';

export { BAND_ORDER, CONTEXT_PX, INPUT_NAME, OPSET };

/** Surface classes of the rule base whose memberships the learner also sees. */
const RULE_SCORES = ['water', 'tree', 'orchard', 'herbaceous', 'bare', 'disturbed', 'built', 'greenhouse'] as const;

/**
 * Features the learner sees, in column order: the spectral-v1 features (`sum4` left out: it is
 * blue+green+red+nir) and the rule base's class memberships, so the learner starts from the
 * physical rules and learns where a county or sensor departs from them (stacking).
 */
export const LEARNER_FEATURES: readonly string[] = [
  ...(['blue', 'green', 'red', 'nir', 'vis', 'ndvi', 'ndwi', 'bri', 'white', 'hot', 'ndviMean', 'visMean', 'ndviStd', 'nirMean', 'nirCv', 'planarity'] satisfies FeatureName[]),
  ...RULE_SCORES.map((c) => `rule_${c}`),
];

const plane = (sv: SpectralV1Values, f: string): string => (f.startsWith('rule_') ? sv.scores[f.slice(5)] : sv.features[f as FeatureName]);

function inputOf(g: GraphBuilder): string {
  return g.input({ name: INPUT_NAME, dtype: DType.float, shape: ['N', 4, 'H', 'W'], doc: 'surface reflectance 0..1, bands blue, green, red, nir' });
}

/**
 * Feature extractor for training: outputs `features` float32 [N, F, H, W] in
 * {@link LEARNER_FEATURES} order and `rule_label` int32 [N, H, W] (spectral-v1's class, used to
 * keep cloud and shadow out of training samples).
 */
export function buildFeatureModel(): Uint8Array {
  const g = new GraphBuilder();
  const sv = addSpectralV1(g, inputOf(g));
  const stack = g.op1('Concat', LEARNER_FEATURES.map((f) => plane(sv, f)), { axis: 1 }, ['axis'], 'features');
  g.output(stack, { name: 'features', dtype: DType.float, shape: ['N', LEARNER_FEATURES.length, 'H', 'W'] });
  g.output(sv.label, { name: 'rule_label', dtype: DType.int32, shape: ['N', 'H', 'W'] });
  return g.build({ name: 'farmwatch-features', doc: 'Per-pixel features of trained farmwatch models', opset: OPSET, producer: 'farmwatch models/train/graph.ts', version: '1' });
}

/** Serialises a trained model with the metadata every one carries (bands, features, context). */
function buildTrained(g: GraphBuilder, meta: { name: string; version: string; doc: string }, extra: Record<string, string>): Uint8Array {
  return g.build({
    name: meta.name,
    doc: meta.doc,
    opset: OPSET,
    producer: 'farmwatch models/train',
    version: meta.version,
    metadata: { bands: BAND_ORDER.join(','), features: LEARNER_FEATURES.join(','), ...extra, context_px: extra.context_px ?? String(CONTEXT_PX) },
  });
}

/** Classes the rule base decides: cloud, shadow, and surface classes absent from the forest. */
export function ruleDecidedClasses(forestCodes: readonly number[]): number[] {
  const rule = [LandCover.cloud, LandCover.shadow, ...RULE_SCORES.map((c) => LandCover[c])];
  return rule.filter((c) => !forestCodes.includes(c));
}

/**
 * The trained classifier: features → `TreeEnsembleClassifier` (leaf weights = class frequency /
 * trees, so the scores are the forest's averaged probabilities) → `label` int32 [N, H, W] and
 * `confidence` (the winning probability) float32 [N, H, W]; spectral-v1 decides cloud, shadow and
 * the classes the forest has no examples of.
 */
export function buildForestModel(forest: Forest, classCodes: readonly number[], meta: { name: string; version: string; doc: string }): { bytes: Uint8Array; nodeCount: number } {
  if (classCodes.length !== forest.classCount) throw new Error(`forest has ${forest.classCount} classes, ${classCodes.length} codes given`);
  const g = new GraphBuilder();
  const sv = addSpectralV1(g, inputOf(g));
  const F = LEARNER_FEATURES.length;
  const stack = g.op1('Concat', LEARNER_FEATURES.map((f) => plane(sv, f)), { axis: 1 }, ['axis'], 'features');
  const rows = g.op1('Reshape', [g.op1('Transpose', [stack], { perm: [0, 2, 3, 1] }, ['perm']), g.constI64([-1, F])]);

  const nodes = { tree: [] as number[], id: [] as number[], feature: [] as number[], mode: [] as string[], value: [] as number[], yes: [] as number[], no: [] as number[] };
  const leaves = { tree: [] as number[], id: [] as number[], cls: [] as number[], weight: [] as number[] };
  const T = forest.trees.length;
  const K = forest.classCount;
  forest.trees.forEach((t, ti) => {
    for (let n = 0; n < t.feature.length; n++) {
      const leaf = t.feature[n] < 0;
      nodes.tree.push(ti);
      nodes.id.push(n);
      nodes.feature.push(leaf ? 0 : t.feature[n]);
      nodes.mode.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      nodes.value.push(leaf ? 0 : t.threshold[n]);
      nodes.yes.push(leaf ? 0 : t.left[n]);
      nodes.no.push(leaf ? 0 : t.right[n]);
      if (!leaf) continue;
      for (let k = 0; k < K; k++) {
        const p = t.leafProbs[n * K + k];
        if (p === 0) continue;
        leaves.tree.push(ti);
        leaves.id.push(n);
        leaves.cls.push(k);
        leaves.weight.push(p / T);
      }
    }
  });
  const ints = ['classlabels_int64s', 'nodes_treeids', 'nodes_nodeids', 'nodes_featureids', 'nodes_truenodeids', 'nodes_falsenodeids', 'class_treeids', 'class_nodeids', 'class_ids'];
  const [yLabel, probs] = g.op(
    'TreeEnsembleClassifier',
    [rows],
    {
      classlabels_int64s: classCodes,
      nodes_treeids: nodes.tree,
      nodes_nodeids: nodes.id,
      nodes_featureids: nodes.feature,
      nodes_modes: nodes.mode,
      nodes_values: nodes.value,
      nodes_truenodeids: nodes.yes,
      nodes_falsenodeids: nodes.no,
      class_treeids: leaves.tree,
      class_nodeids: leaves.id,
      class_ids: leaves.cls,
      class_weights: leaves.weight,
      post_transform: 'NONE',
    },
    2,
    ints,
    'forest',
    'ai.onnx.ml',
  );
  // The ONNX-ML shape inference of python3-onnx 1.12 leaves the outputs untyped.
  g.declare(yLabel, DType.int64, ['M']);
  g.declare(probs, DType.float, ['M', forest.classCount]);
  const shape = g.op1('Shape', [sv.label]);
  const forestLabel = g.op1('Reshape', [g.op1('Cast', [yLabel], { to: DType.int32 }, ['to']), shape]);
  const forestConf = g.op1('Reshape', [g.op1('ReduceMax', [probs], { axes: [1], keepdims: 0 }, ['axes', 'keepdims']), shape]);
  // The rules decide cloud, shadow and any class the forest never saw (it cannot predict those).
  const masked = ruleDecidedClasses(classCodes)
    .map((code) => g.op1('Equal', [sv.label, g.constI32([code], [])]))
    .reduce((a, b) => g.op1('Or', [a, b]));
  const label = g.op1('Where', [masked, sv.label, forestLabel]);
  const confidence = g.op1('Where', [masked, sv.confidence, forestConf]);
  g.output(label, { name: 'label', dtype: DType.int32, shape: ['N', 'H', 'W'], doc: 'LandCover code (pipeline/types.ts)' });
  g.output(confidence, { name: 'confidence', dtype: DType.float, shape: ['N', 'H', 'W'], doc: 'forest probability of the label (rule membership for cloud/shadow)' });
  const bytes = buildTrained(g, meta, { classes: classCodes.join(',') });
  return { bytes, nodeCount: g.nodeCount };
}

/** Logit added to a class the rules decide: no learnt logit comes near it. */
const RULE_LOGIT = 1e4;

/**
 * The small network as an NCHW convolutional model: features → standardise → 1×1 convolutions
 * (ReLU between) → class logits, plus one channel per rule-decided class (cloud, shadow, classes
 * the network never saw) that is {@link RULE_LOGIT} where the rules pick that class. Output
 * `scores` float32 [N, K + R, H, W]; the card maps channels to classes and the pipeline takes the
 * argmax, exactly as for a third-party segmentation network.
 */
export function buildMlpModel(mlp: Mlp, classCodes: readonly number[], meta: { name: string; version: string; doc: string }): { bytes: Uint8Array; channels: number[] } {
  const g = new GraphBuilder();
  const sv = addSpectralV1(g, inputOf(g));
  let h = standardisedFeatures(g, sv, mlp.mean, mlp.std);
  const L = mlp.sizes.length - 1;
  for (let l = 0; l < L; l++) h = denseLayer(g, h, mlp.weights[l], mlp.biases[l], mlp.sizes[l], mlp.sizes[l + 1], l, l < L - 1);
  const channels = scoresOutput(g, sv, h, classCodes);
  const bytes = buildTrained(g, meta, { channels: channels.join(',') });
  return { bytes, channels };
}

/** The learner features stacked [N, F, H, W] and standardised with the training mean and std. */
function standardisedFeatures(g: GraphBuilder, sv: SpectralV1Values, mean: Float32Array, std: Float32Array): string {
  const F = LEARNER_FEATURES.length;
  const stack = g.op1('Concat', LEARNER_FEATURES.map((f) => plane(sv, f)), { axis: 1 }, ['axis'], 'features');
  return g.op1('Div', [g.op1('Sub', [stack, g.constF(Array.from(mean), [1, F, 1, 1])]), g.constF(Array.from(std), [1, F, 1, 1])]);
}

/** One dense layer as a 1×1 convolution, ReLU unless it is the last. */
function denseLayer(g: GraphBuilder, h: string, weight: Float32Array, bias: Float32Array, inSize: number, outSize: number, l: number, relu: boolean): string {
  const conv = g.op1('Conv', [h, g.constF(Array.from(weight), [outSize, inSize, 1, 1]), g.constF(Array.from(bias), [outSize])], { kernel_shape: [1, 1] }, ['kernel_shape'], `dense${l}`);
  return relu ? g.op1('Relu', [conv]) : conv;
}

/**
 * Output `scores`: the network's class logits `h`, then one channel per class the rules decide
 * (RULE_LOGIT where spectral-v1 says so). Returns the class code of each channel.
 */
function scoresOutput(g: GraphBuilder, sv: SpectralV1Values, h: string, classCodes: readonly number[]): number[] {
  const ruled = ruleDecidedClasses(classCodes);
  const label4 = g.op1('Unsqueeze', [sv.label, g.constI64([1])]);
  const ruleChannels = ruled.map((code) => g.op1('Mul', [g.op1('Cast', [g.op1('Equal', [label4, g.constI32([code], [])])], { to: DType.float }, ['to']), g.constF(RULE_LOGIT)]));
  const scores = g.op1('Concat', [h, ...ruleChannels], { axis: 1 }, ['axis'], 'scores');
  g.output(scores, { name: 'scores', dtype: DType.float, shape: ['N', classCodes.length + ruled.length, 'H', 'W'], doc: 'class logits; channel → class in the card' });
  return [...classCodes, ...ruled];
}

/**
 * The small convolutional model: features → standardise → k×k convolution (pads k/2, so the
 * output keeps the input's size) → ReLU → the 1×1 layers → class logits, plus the rule channels
 * of {@link buildMlpModel}. Output `scores` float32 [N, K + R, H, W]. Its receptive field is
 * {@link CONTEXT_PX} + r pixels, which its card's tile overlap covers.
 */
export function buildCnnModel(cnn: Cnn, classCodes: readonly number[], meta: { name: string; version: string; doc: string }): { bytes: Uint8Array; channels: number[] } {
  const g = new GraphBuilder();
  const sv = addSpectralV1(g, inputOf(g));
  const F = LEARNER_FEATURES.length;
  if (cnn.features !== F) throw new Error(`network over ${cnn.features} features, the graph has ${F}`);
  const k = 2 * cnn.radius + 1;
  let h = standardisedFeatures(g, sv, cnn.mean, cnn.std);
  const { sizes, weights, biases } = cnn.mlp;
  const first = foldedFirstLayer(cnn);
  const L = sizes.length - 1;
  const r = cnn.radius;
  h = g.op1('Conv', [h, g.constF(Array.from(first.weight), [sizes[1], F, k, k]), g.constF(Array.from(first.bias), [sizes[1]])], { kernel_shape: [k, k], pads: [r, r, r, r] }, ['kernel_shape', 'pads'], 'conv0');
  if (L > 1) h = g.op1('Relu', [h]);
  for (let l = 1; l < L; l++) h = denseLayer(g, h, weights[l], biases[l], sizes[l], sizes[l + 1], l, l < L - 1);
  const channels = scoresOutput(g, sv, h, classCodes);
  const bytes = buildTrained(g, meta, { channels: channels.join(','), kernel: String(k), context_px: String(CONTEXT_PX + r) });
  return { bytes, channels };
}
