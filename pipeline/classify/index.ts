/**
 * Classify stage: per-pixel land cover from 4-band reflectance with an ONNX model described by a
 * model card. The only module other stages import.
 *
 * ```ts
 * const model = await loadModel(resolveModelDir(opts.model));
 * checkBands(model.card, scene.bandNames);
 * const classifier = await createClassifier(model, { workers: 1 });
 * const cover = await classifier.classify(block, ctx.signal);
 * await classifier.close();
 * ```
 */
import { performance } from 'node:perf_hooks';
import type { RasterBlock } from '../types.js';
import { openSession, packBlock, runPacked, sanitizePacked } from './inference.js';
import type { LoadedModel } from './load.js';
import { WorkerPoolClassifier, type Classifier, type ClassifierOptions } from './pool.js';

export { ModelCardSchema, type ModelCard } from './card.js';
export { checkBands, loadModel, resolveModelDir, type LoadedModel } from './load.js';
export type { Classifier, ClassifierOptions } from './pool.js';

/**
 * Starts a pool of worker threads that run the model. Call `close()` when done: live workers keep
 * the process running.
 * @throws ModelError `MODEL_INVALID` when a worker cannot load the model.
 */
export function createClassifier(model: LoadedModel, opts: ClassifierOptions = {}): Promise<Classifier> {
  return WorkerPoolClassifier.start(model, opts);
}

/** Timing of raw ONNX inference (packing and unpacking excluded). */
export interface InferenceBenchResult {
  readonly threads: number;
  readonly pixels: number;
  readonly runs: number;
  /** Median wall time of one `session.run`, in milliseconds. */
  readonly medianMs: number;
  /** Fastest run, in milliseconds: the best estimate on a machine shared with other work. */
  readonly minMs: number;
  /** Million pixels per second at the median run time. */
  readonly mpxPerSecond: number;
}

/**
 * Times `session.run` alone on one block, in the calling thread (benchmarks only: it blocks).
 * One untimed warm-up run precedes `runs` timed runs.
 * @param opts.threads ORT intra-op threads. @defaultValue 1
 * @param opts.runs timed runs. @defaultValue 5
 */
export async function rawInferenceBench(model: LoadedModel, block: RasterBlock, opts: { threads?: number; runs?: number } = {}): Promise<InferenceBenchResult> {
  const threads = opts.threads ?? 1;
  const runs = Math.max(1, opts.runs ?? 5);
  const session = await openSession(model.modelPath, threads);
  try {
    const packed = packBlock(model.card, block);
    sanitizePacked(packed);
    await runPacked(session, model.card, packed);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await runPacked(session, model.card, packed);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const medianMs = times[Math.floor(times.length / 2)];
    const pixels = packed.width * packed.height;
    return { threads, pixels, runs, medianMs, minMs: times[0], mpxPerSecond: pixels / 1e6 / (medianMs / 1000) };
  } finally {
    await session.release();
  }
}
