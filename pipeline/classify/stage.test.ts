/**
 * The classify stage: loading and checking models, the worker pool, failures.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassifyConfigSchema } from '../../config/classify.js';
import { ModelError } from '../errors.js';
import { LandCover } from '../types.js';
import { checkBands, createClassifier, loadModel, rawInferenceBench, resolveModelDir, type LoadedModel } from './index.js';
import { classifyInThread, openSession } from './inference.js';
import { WorkerPoolClassifier } from './pool.js';
import { SPECTRA, syntheticScene, uniformBlock } from './test-blocks.js';

const MODEL_DIR = join(import.meta.dirname, '../../models/spectral-v1');

async function rejection(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error('expected a rejection');
}

describe('loadModel', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'farmwatch-classify-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const copy = (name: string) => {
    const dir = join(tmp, name);
    cpSync(MODEL_DIR, dir, { recursive: true });
    return dir;
  };

  it('loads the committed model and its card', async () => {
    const m = await loadModel(MODEL_DIR);
    expect(m.card.id).toBe('spectral-v1');
    expect(m.card.kind).toBe('knowledge-based');
    expect(m.card.contextPx).toBe(2);
    expect(m.card.input.bands.map((b) => b.name)).toEqual(['blue', 'green', 'red', 'nir']);
    expect(m.card.classes.map((c) => c.code)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(m.modelPath).toBe(join(MODEL_DIR, 'model.onnx'));
  });

  it('refuses a model.onnx whose sha256 differs from the card (MODEL_INVALID)', async () => {
    const dir = copy('tampered');
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    const e = await rejection(loadModel(dir));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toMatch(/sha256 is [0-9a-f]{64}, card\.json says [0-9a-f]{64}/);
    expect(e.context.field).toBe('sha256');
  });

  it('names every bad card field (MODEL_INVALID)', async () => {
    const dir = copy('badcard');
    const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8'));
    card.contextPx = -1;
    card.input.bands[1].name = 7;
    delete card.sha256;
    writeFileSync(join(dir, 'card.json'), JSON.stringify(card));
    const e = await rejection(loadModel(dir));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('field "contextPx"');
    expect(e.message).toContain('field "input.bands.1.name"');
    expect(e.message).toContain('field "sha256"');
  });

  it('reports a missing card as FILE_NOT_FOUND and a broken one as MODEL_INVALID', async () => {
    expect((await rejection(loadModel(join(tmp, 'nothing-here')))).code).toBe('FILE_NOT_FOUND');
    const dir = copy('notjson');
    writeFileSync(join(dir, 'card.json'), '{ not json');
    const e = await rejection(loadModel(dir));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('not valid JSON');
  });

  it('resolves a model id or a directory', () => {
    expect(resolveModelDir('spectral-v1')).toBe(MODEL_DIR);
    expect(resolveModelDir(MODEL_DIR)).toBe(MODEL_DIR);
  });
});

describe('checkBands', () => {
  it('names every missing band and the bands the scene has (MODEL_INPUT_MISMATCH)', async () => {
    const { card } = await loadModel(MODEL_DIR);
    expect(() => checkBands(card, ['red', 'green', 'blue', 'nir', 'swir1'])).not.toThrow();
    let err: unknown;
    try {
      checkBands(card, ['red', 'green', 'pan']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    const e = err as ModelError;
    expect(e.code).toBe('MODEL_INPUT_MISMATCH');
    expect(e.message).toContain('"blue", "nir"');
    expect(e.message).toContain('scene has: red, green, pan');
    expect(e.context.missing).toEqual(['blue', 'nir']);
  });
});

describe('classifier (worker pool)', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await loadModel(MODEL_DIR);
  });

  it('classifies a 1024×1024 block exactly like an in-thread run, across 2 workers', async () => {
    const block = syntheticScene(1024, 1024, 7);
    const session = await openSession(model.modelPath, 1);
    const direct = await classifyInThread(session, model.card, block);
    await session.release();
    const classifier = await createClassifier(model, { workers: 2, threadsPerWorker: 1 });
    try {
      // Two calls at once land on different workers (least busy first).
      const [a, b] = await Promise.all([classifier.classify(block), classifier.classify(block)]);
      for (const out of [a, b]) {
        expect(out.window).toEqual(block.window);
        expect(Buffer.compare(Buffer.from(out.classes), Buffer.from(direct.classes))).toBe(0);
        expect(Buffer.compare(Buffer.from(out.confidence.buffer), Buffer.from(direct.confidence.buffer))).toBe(0);
      }
      // The scene exercises most classes, not one.
      expect(new Set(direct.classes).size).toBeGreaterThanOrEqual(7);
      // The caller's block is untouched (copied into the request, not detached).
      expect(block.data[0].length).toBe(1024 * 1024);
      expect(block.valid.byteLength).toBe(1024 * 1024);
    } finally {
      await classifier.close();
    }
  });

  it('queues each request on the least busy worker', async () => {
    const pool = await WorkerPoolClassifier.start(model, { workers: 2, threadsPerWorker: 1 });
    try {
      const block = syntheticScene(256, 256);
      const calls = [pool.classify(block), pool.classify(block), pool.classify(block)];
      expect(pool.pendingCounts()).toEqual([2, 1]);
      await Promise.all(calls);
      expect(pool.pendingCounts()).toEqual([0, 0]);
    } finally {
      await pool.close();
    }
  });

  it('gives invalid pixels class 0 and confidence 0', async () => {
    const classifier = await createClassifier(model, { threadsPerWorker: 1 });
    try {
      const block = uniformBlock(SPECTRA.clearWater, 16, 16);
      const valid = block.valid.slice();
      for (let p = 0; p < 256; p += 3) valid[p] = 0;
      const out = await classifier.classify({ ...block, valid });
      for (let p = 0; p < 256; p++) {
        expect(out.classes[p]).toBe(valid[p] ? LandCover.water : LandCover.nodata);
        if (!valid[p]) expect(out.confidence[p]).toBe(0);
        else expect(out.confidence[p]).toBeGreaterThan(0.5);
      }
    } finally {
      await classifier.close();
    }
  });

  it('rejects a block without the model’s bands before sending it to a worker', async () => {
    const classifier = await createClassifier(model, { threadsPerWorker: 1 });
    try {
      const b = uniformBlock(SPECTRA.denseCrop);
      const e = await rejection(classifier.classify({ ...b, bandNames: ['blue', 'green', 'red', 'swir'] }));
      expect(e.code).toBe('MODEL_INPUT_MISMATCH');
      expect(e.message).toContain('"nir"');
    } finally {
      await classifier.close();
    }
  });

  it('honours an abort signal', async () => {
    const classifier = await createClassifier(model, { threadsPerWorker: 1 });
    try {
      const ac = new AbortController();
      ac.abort();
      expect((await rejection(classifier.classify(uniformBlock(SPECTRA.denseCrop), ac.signal))).code).toBe('ABORTED');
      const ac2 = new AbortController();
      const pending = classifier.classify(syntheticScene(512, 512), ac2.signal);
      ac2.abort();
      expect((await rejection(pending)).code).toBe('ABORTED');
    } finally {
      await classifier.close();
    }
  });

  it('rejects the calls a crashed worker held, replaces it and keeps classifying', async () => {
    const pool = await WorkerPoolClassifier.start(model, { workers: 1, threadsPerWorker: 1 });
    try {
      const block = uniformBlock(SPECTRA.denseCrop, 32, 32);
      const e = await rejection(pool.crashWorkerForTest(block));
      expect(e.code).toBe('MODEL_INVALID');
      expect(e.retryable).toBe(true);
      expect(e.message).toMatch(/worker died \(exit code 70\) while classifying window col 0, row 0, 32×32/);
      const out = await pool.classify(block);
      expect(out.classes[0]).toBe(LandCover.herbaceous);
    } finally {
      await pool.close();
    }
  });

  it('returns an empty result for an empty window', async () => {
    const classifier = await createClassifier(model, { threadsPerWorker: 1 });
    try {
      const out = await classifier.classify(uniformBlock(SPECTRA.denseCrop, 0, 5));
      expect(out.classes.length).toBe(0);
      expect(out.window.width).toBe(0);
    } finally {
      await classifier.close();
    }
  });

  it('rejects calls after close', async () => {
    const classifier = await createClassifier(model, { threadsPerWorker: 1 });
    await classifier.close();
    await classifier.close();
    expect((await rejection(classifier.classify(uniformBlock(SPECTRA.denseCrop)))).code).toBe('ABORTED');
  });

  it('times raw inference', async () => {
    const r = await rawInferenceBench(model, syntheticScene(128, 128), { threads: 1, runs: 2 });
    expect(r.pixels).toBe(128 * 128);
    expect(r.mpxPerSecond).toBeGreaterThan(0);
  });
});

describe('config', () => {
  it('defaults to spectral-v1 with one worker', () => {
    expect(ClassifyConfigSchema.parse({})).toEqual({ model: 'models/spectral-v1', workers: 1 });
    expect(() => ClassifyConfigSchema.parse({ workers: 0 })).toThrow();
  });
});

