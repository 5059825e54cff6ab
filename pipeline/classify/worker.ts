/**
 * worker_threads entry: owns one ORT session and classifies packed blocks one at a time.
 * Protocol (all buffers transferred, not copied):
 *   in  `{ type: 'run', id, input: Float32Array, valid: Uint8Array, window }`
 *   out `{ type: 'ready' }` once, then `{ type: 'result', id, classes, confidence }` or
 *       `{ type: 'error', id, message }` per run; `{ type: 'fatal', message }` if the model will not load.
 * Test hook: a run whose `crash` flag is set exits the thread abruptly, as a native crash would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelCard } from './card.js';
import { openSession, runPacked, sanitizePacked, toLandCover } from './inference.js';
import type { Window } from '../types.js';

/** Data the pool passes when it starts a worker. */
export interface WorkerInit {
  readonly modelPath: string;
  readonly card: ModelCard;
  readonly threads: number;
}

/** A classification request as posted to the worker. */
export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly input: Float32Array;
  readonly valid: Uint8Array;
  readonly window: Window;
  readonly crash?: boolean;
}

/** Anything the worker posts back. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly classes: Uint8Array; readonly confidence: Float32Array }
  | { readonly type: 'error'; readonly id: number; readonly message: string };

const port = parentPort;
if (!port) throw new Error('pipeline/classify/worker must run in a worker thread');
const init = workerData as WorkerInit;

try {
  const session = await openSession(init.modelPath, init.threads);
  // ORT's run blocks this thread anyway; the chain keeps requests strictly one after another
  // even if a future ORT version yields inside run().
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: RunRequest) => {
    chain = chain.then(async () => {
      if (msg.crash) process.exit(70);
      try {
        const { width, height } = msg.window;
        const packed = { input: msg.input, valid: msg.valid, width, height };
        sanitizePacked(packed);
        const raw = await runPacked(session, init.card, packed);
        const out = toLandCover(raw, msg.valid, msg.window);
        port.postMessage({ type: 'result', id: msg.id, classes: out.classes, confidence: out.confidence } satisfies WorkerReply, [out.classes.buffer as ArrayBuffer, out.confidence.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ type: 'error', id: msg.id, message: (e as Error).message } satisfies WorkerReply);
      }
    });
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
} catch (e) {
  port.postMessage({ type: 'fatal', message: (e as Error).message } satisfies WorkerReply);
}
