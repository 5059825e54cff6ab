/**
 * A pool of worker threads, each with its own ORT session, behind the Classifier interface.
 * Requests go to the worker with the fewest outstanding requests; a worker that dies rejects what
 * it held and is replaced, so one crash costs the blocks it was holding, not the pool.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ModelError } from '../errors.js';
import type { LandCoverBlock, RasterBlock, Window } from '../types.js';
import { packBlock } from './inference.js';
import type { LoadedModel } from './load.js';
import type { RunRequest, WorkerInit, WorkerReply } from './worker.js';

/** Options of {@link createClassifier}. */
export interface ClassifierOptions {
  /**
   * Worker threads, each holding one ORT session.
   * @defaultValue 1
   */
  readonly workers?: number;
  /**
   * ORT intra-op threads per worker; keep workers × threads ≤ cores.
   * @defaultValue max(1, floor(available cores / workers))
   */
  readonly threadsPerWorker?: number;
}

/** Classifies raster blocks off the main thread. */
export interface Classifier {
  /**
   * Classifies one block (any width × height). The result covers the block's whole window: give
   * blocks the model's `contextPx` halo and crop it off, since texture windows are truncated at
   * the block edge. Pixels with `valid = 0` get class 0 and confidence 0. The block itself is not
   * modified or detached.
   * @throws ModelError `MODEL_INPUT_MISMATCH` (bands), `ABORTED` (signal), `MODEL_INVALID`
   *   (inference failed or the worker died; `retryable` is true for a dead worker).
   */
  classify(block: RasterBlock, signal?: AbortSignal): Promise<LandCoverBlock>;
  /** Stops all workers; pending calls are rejected. Idempotent. */
  close(): Promise<void>;
}

interface Pending {
  readonly window: Window;
  resolve(b: LandCoverBlock): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  /** Settles when the worker has loaded the model (or failed to). */
  readonly ready: Promise<void>;
  /** True once the worker has loaded the model; only such workers are replaced when they die. */
  started: boolean;
  /** Set when the thread has exited; a dead slot that never started stays in place, rejecting. */
  dead: boolean;
  readonly pending: Map<number, Pending>;
}

/** The pool behind {@link Classifier}; `crashWorkerForTest` exists for the crash-recovery test. */
export class WorkerPoolClassifier implements Classifier {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly model: LoadedModel,
    private readonly entry: WorkerEntry,
    private readonly threads: number,
    workers: number,
  ) {
    for (let i = 0; i < workers; i++) this.slots.push(this.spawn());
  }

  /** Starts the pool and waits until every worker has loaded the model. */
  static async start(model: LoadedModel, opts: ClassifierOptions = {}): Promise<WorkerPoolClassifier> {
    const workers = Math.max(1, Math.floor(opts.workers ?? 1));
    const threads = Math.max(1, Math.floor(opts.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / workers))));
    const pool = new WorkerPoolClassifier(model, workerEntry(), threads, workers);
    try {
      await Promise.all(pool.slots.map((s) => s.ready));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  classify(block: RasterBlock, signal?: AbortSignal): Promise<LandCoverBlock> {
    return this.submit(block, signal, false);
  }

  /** Outstanding requests per worker, in worker order (for monitoring and tests). */
  pendingCounts(): number[] {
    return this.slots.map((s) => s.pending.size);
  }

  /** Makes the least busy worker exit abruptly while holding `block`'s request. Tests only. */
  crashWorkerForTest(block: RasterBlock): Promise<LandCoverBlock> {
    return this.submit(block, undefined, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new ModelError('ABORTED', 'Classifier closed before the block was classified', { stage: 'classify' });
    await Promise.all(
      this.slots.map(async (s) => {
        for (const p of s.pending.values()) p.reject(err);
        s.pending.clear();
        await s.worker.terminate();
      }),
    );
  }

  private async submit(block: RasterBlock, signal: AbortSignal | undefined, crash: boolean): Promise<LandCoverBlock> {
    if (this.closed) throw new ModelError('ABORTED', 'Classifier is closed', { stage: 'classify' });
    if (signal?.aborted) throw abortError(block.window);
    const packed = packBlock(this.model.card, block);
    if (packed.width * packed.height === 0) return { window: block.window, classes: new Uint8Array(0), confidence: new Float32Array(0) };
    // Choose and register synchronously so concurrent calls see each other's load.
    const live = this.slots.filter((s) => !s.dead);
    const slot = (live.length ? live : this.slots).reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    const result = new Promise<LandCoverBlock>((resolve, reject) => {
      const onAbort = () => {
        // The worker cannot be interrupted mid-run; its late reply is ignored.
        slot.pending.delete(id);
        reject(abortError(block.window));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      slot.pending.set(id, {
        window: block.window,
        resolve: (b) => (done(), resolve(b)),
        reject: (e) => (done(), reject(e)),
      });
    });
    slot.ready.then(
      () => {
        if (!slot.pending.has(id)) return;
        const msg: RunRequest = { type: 'run', id, input: packed.input, valid: packed.valid, window: block.window, crash };
        slot.worker.postMessage(msg, [packed.input.buffer as ArrayBuffer, packed.valid.buffer as ArrayBuffer]);
      },
      (e: unknown) => {
        slot.pending.get(id)?.reject(e);
        slot.pending.delete(id);
      },
    );
    return result;
  }

  private spawn(): Slot {
    const init: WorkerInit = { modelPath: this.model.modelPath, card: this.model.card, threads: this.threads };
    const worker = new Worker(this.entry.script, { workerData: init, eval: this.entry.eval });
    let settleReady: { resolve(): void; reject(e: unknown): void } | undefined;
    const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
    // Avoid an unhandled rejection when nobody is awaiting a replacement's start-up.
    ready.catch(() => undefined);
    const slot: Slot = { worker, ready, started: false, dead: false, pending: new Map() };

    worker.on('message', (msg: WorkerReply) => {
      switch (msg.type) {
        case 'ready':
          slot.started = true;
          settleReady?.resolve();
          return;
        case 'fatal':
          settleReady?.reject(new ModelError('MODEL_INVALID', `Classifier worker could not load ${this.model.modelPath}: ${msg.message}`, { file: this.model.modelPath, stage: 'classify' }));
          return;
        case 'result': {
          const p = slot.pending.get(msg.id);
          if (!p) return;
          slot.pending.delete(msg.id);
          p.resolve({ window: p.window, classes: msg.classes, confidence: msg.confidence });
          return;
        }
        case 'error': {
          const p = slot.pending.get(msg.id);
          if (!p) return;
          slot.pending.delete(msg.id);
          p.reject(new ModelError('MODEL_INVALID', `Inference failed for window ${describe(p.window)}: ${msg.message}`, { tile: describe(p.window), stage: 'classify' }));
          return;
        }
      }
    });
    const onDeath = (reason: string) => {
      if (slot.dead) return;
      slot.dead = true;
      const err = (p: Pending) =>
        new ModelError('MODEL_INVALID', `Classifier worker died (${reason}) while classifying window ${describe(p.window)}; the pool replaced it, retry the block`, { tile: describe(p.window), stage: 'classify', reason }, { retryable: true });
      for (const p of slot.pending.values()) p.reject(err(p));
      slot.pending.clear();
      settleReady?.reject(new ModelError('MODEL_INVALID', `Classifier worker died during start-up (${reason})`, { stage: 'classify', reason }));
      // A worker that never started would only die again: its slot keeps the rejected start-up,
      // which every later call on it reports.
      if (this.closed || !slot.started) return;
      this.slots[this.slots.indexOf(slot)] = this.spawn();
    };
    worker.on('error', (e) => onDeath(`error: ${e.message}`));
    worker.on('exit', (code) => onDeath(`exit code ${code}`));
    return slot;
  }
}

interface WorkerEntry {
  readonly script: string | URL;
  readonly eval: boolean;
}

/**
 * From the compiled dist/ the worker is the sibling .js file. From TypeScript sources (vitest,
 * tsx; `import.meta.url` ends with .ts) it is worker.ts, which needs tsx's loader inside the worker.
 * `execArgv: ['--import', 'tsx']` does not do that on Node 20 (the entry is resolved before the
 * preloaded hooks apply: "Unknown file extension .ts"), so a tiny bootstrap registers tsx in the
 * worker and then imports the entry.
 */
function workerEntry(): WorkerEntry {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./worker.js', import.meta.url), eval: false };
  // require.resolve picks the package's "require" build; its ESM twin sits beside it (see tsx's
  // exports map) and is the one whose register() installs ESM hooks.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  return { script: `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, eval: true };
}

function abortError(w: Window): ModelError {
  return new ModelError('ABORTED', `Classification of window ${describe(w)} was aborted`, { tile: describe(w), stage: 'classify' });
}

function describe(w: Window): string {
  return `col ${w.col}, row ${w.row}, ${w.width}×${w.height}`;
}
