/**
 * `farmwatch train`: gathers rows from the spec's sources, scores the learner on held-out groups
 * (leave one group of an evaluated source out, train on everything else), fits the final forest on
 * all rows, and writes `model.onnx`, `card.json` and `card.md`.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from '../../pipeline/outputs/index.js';
import { join } from 'node:path';
import { ModelCardSchema, type ModelCard } from '../../pipeline/classify/card.js';
import { LandCover, landCoverName, type Logger } from '../../pipeline/types.js';
import { FEEDS } from '../spectral-v1/build.js';
import { baselineRows, labelRasterRows, openFeatureSession, type Rows } from './data.js';
import { fitForest, forestNodeCount, predictForest, type Forest, type ForestOptions } from './forest.js';
import { CONTEXT_PX, INPUT_NAME, LEARNER_FEATURES, buildCnnModel, buildForestModel, buildMlpModel, ruleDecidedClasses } from './graph.js';
import { fitMlp, predictMlp, type Mlp, type MlpOptions } from './mlp.js';
import { fitCnn, predictCnn, type Cnn } from './cnn.js';
import { scoreClasses, type ClassMetric } from './metrics.js';
import type { TrainSpec } from './spec.js';
import type { ReflectanceReference } from '../../pipeline/normalize/calibrate.js';

export interface TrainResult {
  readonly card: ModelCard;
  /** The final model and the LandCover code of each of its classes. */
  readonly model: Fitted;
  readonly classCodes: readonly number[];
  readonly heldOut: ClassMetric[];
  readonly rows: number;
  readonly seconds: number;
}

/** Rows of several sources as one training matrix over class indices. */
interface Matrix {
  features: Float32Array;
  labels: Uint8Array;
}

function concatRows(parts: readonly Rows[], keep: (r: Rows, i: number) => boolean, classCodes: readonly number[], radius = 0): Matrix {
  const F = LEARNER_FEATURES.length * (2 * radius + 1) ** 2;
  let n = 0;
  for (const r of parts) for (let i = 0; i < r.count; i++) if (keep(r, i)) n++;
  const features = new Float32Array(n * F);
  const labels = new Uint8Array(n);
  let j = 0;
  for (const r of parts)
    for (let i = 0; i < r.count; i++) {
      if (!keep(r, i)) continue;
      features.set(r.features.subarray(i * F, (i + 1) * F), j * F);
      labels[j++] = classCodes.indexOf(r.target[i]);
    }
  return { features, labels };
}

/** A fitted learner of either kind. */
export type Fitted = { kind: 'forest'; forest: Forest } | { kind: 'mlp'; mlp: Mlp } | { kind: 'cnn'; cnn: Cnn };

/** Neighbourhood radius the learner reads around each pixel (the k×k layer of the convolutional model). */
export const learnerRadius = (spec: TrainSpec): number => (spec.learner === 'cnn' ? spec.cnn.kernel >> 1 : 0);

function learnerOf(spec: TrainSpec, classCount: number): { fit: (m: Matrix) => Fitted; predict: (f: Fitted, features: Float32Array) => Uint8Array } {
  const set = (m: Matrix) => ({ features: m.features, labels: m.labels, featureCount: LEARNER_FEATURES.length, classCount });
  if (spec.learner === 'cnn') {
    const { kernel, tile: _tile, ...rest } = spec.cnn;
    const opts: MlpOptions = { ...rest, seed: spec.seed };
    const r = kernel >> 1;
    const cnnSet = (m: Matrix) => ({ features: m.features, labels: m.labels, featureCount: LEARNER_FEATURES.length * kernel * kernel, classCount });
    return { fit: (m) => ({ kind: 'cnn', cnn: fitCnn(cnnSet(m), LEARNER_FEATURES.length, r, opts) }), predict: (f, x) => predictCnn((f as { cnn: Cnn }).cnn, x) };
  }
  if (spec.learner === 'mlp') {
    const opts: MlpOptions = { ...spec.mlp, seed: spec.seed };
    return { fit: (m) => ({ kind: 'mlp', mlp: fitMlp(set(m), opts) }), predict: (f, x) => predictMlp((f as { mlp: Mlp }).mlp, x) };
  }
  const opts: ForestOptions = { ...spec.forest, seed: spec.seed };
  return { fit: (m) => ({ kind: 'forest', forest: fitForest(set(m), opts) }), predict: (f, x) => predictForest((f as { forest: Forest }).forest, x) };
}

export async function trainModel(spec: TrainSpec, outDir: string, opts: { reference: ReflectanceReference; log: Logger; command: string }): Promise<TrainResult> {
  const t0 = performance.now();
  const session = await openFeatureSession();
  const parts: Rows[] = [];
  const radius = learnerRadius(spec);
  try {
    for (const src of spec.sources) {
      const rows = src.kind === 'labels' ? await labelRasterRows(session, src, opts.reference, spec.seed, radius) : await baselineRows(session, src, opts.reference, spec.seed, radius);
      opts.log.info('training rows', { source: src.name, rows: rows.count, byClass: countBy(rows.target) });
      parts.push(rows);
    }
  } finally {
    await session.release();
  }
  const classCodes = [...new Set(parts.flatMap((r) => [...new Set(r.target)]))].sort((a, b) => a - b);
  const learner = learnerOf(spec, classCodes.length);

  const heldOut: ClassMetric[] = [];
  for (const name of spec.evaluate) {
    const src = parts.find((r) => r.source === name)!;
    const truth: number[] = [];
    const predicted: number[] = [];
    for (let g = 0; g < src.groupNames.length; g++) {
      const train = concatRows(parts, (r, i) => r !== src || r.group[i] !== g, classCodes, radius);
      const test = concatRows([src], (_, i) => src.group[i] === g, classCodes, radius);
      if (test.labels.length === 0) continue;
      const pred = learner.predict(learner.fit(train), test.features);
      test.labels.forEach((c, i) => {
        truth.push(classCodes[c]);
        predicted.push(classCodes[pred[i]]);
      });
      opts.log.info('held-out fold', { source: name, group: src.groupNames[g], rows: test.labels.length });
    }
    const protocol = `Held-out: each of the ${src.groupNames.length} groups (${src.groupNames.join(', ')}) of "${name}" predicted by a ${spec.learner === 'cnn' ? `convolutional network (${spec.cnn.kernel}×${spec.cnn.kernel} neighbourhoods, which may reach up to ${radius} px into a neighbouring group for features only)` : spec.learner === 'mlp' ? 'network' : 'forest'} trained on every other row of every source; labels mapped to our classes as in the training spec (fields and grass that are not green counted as bare).`;
    heldOut.push(scoreClasses(name, protocol, truth, predicted));
  }

  const all = concatRows(parts, () => true, classCodes, radius);
  const model = learner.fit(all);
  const meta = { name: spec.id, version: spec.version, doc: spec.description };
  const ruled = ruleDecidedClasses(classCodes).map((c) => landCoverName(c)).join(', ');
  let bytes: Uint8Array;
  let outputs: ModelCard['outputs'];
  let description: string;
  if (model.kind === 'forest') {
    bytes = buildForestModel(model.forest, classCodes, meta).bytes;
    outputs = { label: { name: 'label', dtype: 'int32' }, confidence: { name: 'confidence', dtype: 'float32' } };
    description = `random forest, ${model.forest.trees.length} trees, max depth ${spec.forest.maxDepth}, ${forestNodeCount(model.forest)} nodes`;
  } else if (model.kind === 'cnn') {
    const built = buildCnnModel(model.cnn, classCodes, meta);
    bytes = built.bytes;
    outputs = { scores: { name: 'scores', activation: 'none', classes: built.channels.map((code, index) => ({ index, class: landCoverName(code) })) } };
    const k = spec.cnn.kernel;
    description = `convolutional network: ${k}×${k} convolution ${model.cnn.features}→${model.cnn.mlp.sizes[1]}, then 1×1 convolutions ${model.cnn.mlp.sizes.slice(1).join('→')} (ReLU, softmax), Adam, ${spec.cnn.epochs} epochs; receptive field ${CONTEXT_PX + radius} px`;
  } else {
    const built = buildMlpModel(model.mlp, classCodes, meta);
    bytes = built.bytes;
    outputs = { scores: { name: 'scores', activation: 'none', classes: built.channels.map((code, index) => ({ index, class: landCoverName(code) })) } };
    description = `network of 1×1 convolutions ${model.mlp.sizes.join('→')} (ReLU, softmax), Adam, ${spec.mlp.epochs} epochs`;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const classes = [...classCodes, ...ruleDecidedClasses(classCodes)].sort((a, b) => a - b).map((code) => landCoverName(code));
  const card: ModelCard = ModelCardSchema.parse({
    id: spec.id,
    version: spec.version,
    description: spec.description,
    kind: 'trained',
    input: {
      name: INPUT_NAME,
      layout: 'nchw',
      bands: ['blue', 'green', 'red', 'nir'].map((name) => ({ name })),
      dtype: 'float32',
      // A fixed-tile model whose tiles overlap by its receptive field: seamless (measured in cnn.test.ts).
      ...(spec.learner === 'cnn' ? { tile: { size: spec.cnn.tile, overlap: CONTEXT_PX + radius } } : {}),
    },
    outputs,
    contextPx: CONTEXT_PX + radius,
    classes: classes.map((name) => ({ code: LandCover[name as keyof typeof LandCover], name, feedsChangeTypes: FEEDS[name as keyof typeof FEEDS] })),
    sha256,
    metrics: heldOut,
    licence: spec.licence,
    provenance: {
      learner: `${description}, ${LEARNER_FEATURES.length} features computed in the graph (${LEARNER_FEATURES.join(', ')}); ${ruled} decided by the spectral-v1 rules`,
      trainedOn: parts.map((r) => ({ source: r.source, rows: r.count, byClass: countBy(r.target) })),
      seed: spec.seed,
      command: opts.command,
      date: new Date().toISOString().slice(0, 10),
    },
  });
  await mkdir(outDir, { recursive: true });
  await writeFileAtomic(join(outDir, 'model.onnx'), bytes);
  await writeFileAtomic(join(outDir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  await writeFileAtomic(join(outDir, 'card.md'), renderTrainedCard(card));
  return { card, model, classCodes, heldOut, rows: all.labels.length, seconds: (performance.now() - t0) / 1000 };
}

function countBy(codes: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of codes) out[landCoverName(c)] = (out[landCoverName(c)] ?? 0) + 1;
  return out;
}

/** The human-readable card. */
export function renderTrainedCard(card: ModelCard): string {
  const lines = [`# ${card.id} ${card.version}`, '', card.description, '', `- kind: ${card.kind}; input: ${card.input.bands.map((b) => b.name).join(', ')} reflectance (NCHW${card.input.tile ? `, fixed ${card.input.tile.size}×${card.input.tile.size} tiles overlapping by ${card.input.tile.overlap} px` : ''}), ${card.contextPx} px context`, `- sha256 of model.onnx: \`${card.sha256}\``];
  if (card.provenance) lines.push(`- learner: ${card.provenance.learner}`, `- trained ${card.provenance.date} with \`${card.provenance.command}\` (seed ${card.provenance.seed})`);
  lines.push('', '## Classes', '', '| code | class | feeds change types |', '|---|---|---|');
  for (const c of card.classes) lines.push(`| ${c.code} | ${c.name} | ${c.feedsChangeTypes.join(', ') || '—'} |`);
  lines.push('', '## Training rows', '');
  for (const t of card.provenance?.trainedOn ?? []) lines.push(`- ${t.source}: ${t.rows} rows (${Object.entries(t.byClass).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  lines.push('', '## Held-out accuracy', '');
  for (const m of card.metrics) {
    lines.push(`### ${m.dataset}`, '', m.protocol, '', `Overall accuracy **${m.overallAccuracy.toFixed(3)}**${m.kappa !== undefined ? `, kappa ${m.kappa.toFixed(3)}` : ''}, ${m.pixels} pixels.`, '');
    if (m.perClassF1) {
      lines.push('| class | F1 | recall | support |', '|---|---|---|---|');
      for (const [k, f1] of Object.entries(m.perClassF1)) lines.push(`| ${k} | ${f1.toFixed(3)} | ${(m.perReference[k]?.recall ?? 0).toFixed(3)} | ${m.perReference[k]?.support ?? 0} |`);
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}
