/**
 * Throughput of the classify stage on a 1024×1024 block (1 Mpx, so ops/s = Mpx/s):
 * raw ONNX inference at 1 and 2 intra-op threads, and the full worker-pool call (pack, transfer,
 * inference, unpack). Run: `npx vitest bench pipeline/classify --run`.
 */
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { createClassifier, loadModel } from './index.js';
import { openSession, packBlock, runPacked, sanitizePacked } from './inference.js';
import { syntheticScene } from './test-blocks.js';

const model = await loadModel(join(import.meta.dirname, '../../models/spectral-v1'));
const block = syntheticScene(1024, 1024, 3);
const packed = packBlock(model.card, block);
sanitizePacked(packed);
const one = await openSession(model.modelPath, 1);
const two = await openSession(model.modelPath, 2);
const pool = await createClassifier(model, { workers: 1, threadsPerWorker: 2 });

afterAll(async () => {
  await Promise.all([one.release(), two.release(), pool.close()]);
});

describe('spectral-v1, 1024×1024 block', () => {
  bench('raw inference, 1 thread', async () => {
    await runPacked(one, model.card, packed);
  }, { time: 3000, warmupIterations: 2 });
  bench('raw inference, 2 threads', async () => {
    await runPacked(two, model.card, packed);
  }, { time: 3000, warmupIterations: 2 });
  bench('classifier.classify, 1 worker × 2 threads', async () => {
    await pool.classify(block);
  }, { time: 3000, warmupIterations: 2 });
});
