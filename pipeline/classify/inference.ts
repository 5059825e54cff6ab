/**
 * The in-thread part of classification, shared by the worker and by benchmarks/tools: pack a
 * RasterBlock into the model's NCHW tensor, run the ONNX session, turn its outputs into a
 * LandCoverBlock. Never call `runPacked` on a thread that must stay responsive: ORT's run blocks.
 */
import ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import { LandCover, type LandCoverBlock, type RasterBlock, type Window } from '../types.js';
import type { ModelCard } from './card.js';
import { checkBands } from './load.js';

/** A block as the model consumes it: NCHW float32 plus the validity applied to the outputs. */
export interface PackedBlock {
  readonly input: Float32Array;
  /** Non-zero where the pixel is classified (strictly 0/1 after {@link sanitizePacked}). */
  readonly valid: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Raw model outputs for one block. */
export interface RawOutputs {
  readonly labels: ArrayLike<number | bigint>;
  readonly confidence: Float32Array;
}

/** Opens an ORT CPU session with `threads` intra-op threads and no inter-op parallelism. */
export async function openSession(modelPath: string, threads: number): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: Math.max(1, Math.floor(threads)),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The arena keeps the largest intermediate tensors of any tile forever; without it memory
      // follows the tile being classified (peak RSS measured in npm run bench).
      enableCpuMemArena: false,
    });
  } catch (e) {
    throw new ModelError('MODEL_INVALID', `onnxruntime cannot load ${modelPath}: ${(e as Error).message}`, { file: modelPath, stage: 'classify' }, { cause: e });
  }
}

/**
 * Reorders a block into the model's band order as one NCHW float32 buffer (a fresh copy: the
 * caller's block is left intact). Only bulk copies happen here, so it is cheap on the main
 * thread; {@link sanitizePacked} must run (in the worker) before inference.
 * @throws ModelError `MODEL_INPUT_MISMATCH` for missing bands or band arrays shorter than the window.
 */
export function packBlock(card: ModelCard, block: RasterBlock): PackedBlock {
  checkBands(card, block.bandNames);
  const { width, height } = block.window;
  const n = width * height;
  if (block.valid.length < n) {
    throw new ModelError('MODEL_INPUT_MISMATCH', `Block valid mask holds ${block.valid.length} values, window ${width}×${height} needs ${n}`, { stage: 'classify' });
  }
  const input = new Float32Array(card.input.bands.length * n);
  card.input.bands.forEach((b, c) => {
    const data = block.data[block.bandNames.indexOf(b.name)];
    if (data.length < n) throw new ModelError('MODEL_INPUT_MISMATCH', `Band "${b.name}" holds ${data.length} values, window ${width}×${height} needs ${n}`, { band: b.name, stage: 'classify' });
    const dst = input.subarray(c * n, (c + 1) * n);
    const scale = b.scale ?? 1;
    const offset = b.offset ?? 0;
    if (scale === 1 && offset === 0) dst.set(data.subarray(0, n));
    else for (let p = 0; p < n; p++) dst[p] = data[p] * scale + offset;
  });
  return { input, valid: block.valid.slice(0, n), width, height };
}

/**
 * Makes a packed block safe to run, in place: pixels that are invalid or hold a non-finite value
 * in any band get 0 in every band (which the graph reads as no-data) and `valid` 0; `valid`
 * becomes strictly 0/1.
 */
export function sanitizePacked(packed: PackedBlock): void {
  const { input, valid } = packed;
  const n = packed.width * packed.height;
  const bands = input.length / n;
  for (let c = 0; c < bands; c++) {
    const band = input.subarray(c * n, (c + 1) * n);
    // x − x is 0 for finite x and NaN for NaN and ±Infinity.
    for (let p = 0; p < n; p++) if (band[p] - band[p] !== 0) valid[p] = 0;
  }
  for (let p = 0; p < n; p++) {
    if (valid[p]) valid[p] = 1;
    else for (let c = 0; c < bands; c++) input[c * n + p] = 0;
  }
}

/** Runs the session on a packed block. Blocks the calling thread for the duration of inference. */
export async function runPacked(session: ort.InferenceSession, card: ModelCard, packed: PackedBlock): Promise<RawOutputs> {
  const tile = card.input.tile;
  if (!tile) return runWhole(session, card, packed.input, packed.width, packed.height);
  // Fixed-size models: cover the block with tiles whose kept interiors abut; tiles reaching past
  // the block are zero-padded (no-data to the graph), and their margins are kept only at the
  // block's own edges.
  const { width, height } = packed;
  const n = width * height;
  const bands = card.input.bands.length;
  const step = tile.size - 2 * tile.overlap;
  const labels = new Int32Array(n);
  const confidence = new Float32Array(n);
  const buf = new Float32Array(bands * tile.size * tile.size);
  for (let ty = -tile.overlap; ty < height - tile.overlap; ty += step)
    for (let tx = -tile.overlap; tx < width - tile.overlap; tx += step) {
      buf.fill(0);
      for (let c = 0; c < bands; c++)
        for (let y = 0; y < tile.size; y++) {
          const sy = ty + y;
          if (sy < 0 || sy >= height) continue;
          const x0 = Math.max(0, -tx);
          const x1 = Math.min(tile.size, width - tx);
          if (x1 > x0) buf.set(packed.input.subarray(c * n + sy * width + tx + x0, c * n + sy * width + tx + x1), c * tile.size * tile.size + y * tile.size + x0);
        }
      const out = await runWhole(session, card, buf, tile.size, tile.size);
      for (let y = tile.overlap; y < tile.size - tile.overlap; y++) {
        const sy = ty + y;
        if (sy < 0 || sy >= height) continue;
        for (let x = tile.overlap; x < tile.size - tile.overlap; x++) {
          const sx = tx + x;
          if (sx < 0 || sx >= width) continue;
          labels[sy * width + sx] = Number(out.labels[y * tile.size + x]);
          confidence[sy * width + sx] = out.confidence[y * tile.size + x];
        }
      }
    }
  return { labels, confidence };
}

async function runWhole(session: ort.InferenceSession, card: ModelCard, input: Float32Array, width: number, height: number): Promise<RawOutputs> {
  const feeds = { [card.input.name]: new ort.Tensor('float32', input, [1, card.input.bands.length, height, width]) };
  const n = width * height;
  const outputs = card.outputs;
  if ('scores' in outputs) {
    const spec = outputs.scores;
    const out = (await session.run(feeds, [spec.name]))[spec.name];
    if (!out || out.dims.length !== 4 || out.dims[2] !== height || out.dims[3] !== width) {
      throw new ModelError('MODEL_INVALID', `Model ${card.id} output "${spec.name}" has shape [${out?.dims.join(', ')}]; a ${width}×${height} input needs [1, C, ${height}, ${width}]`, { stage: 'classify' });
    }
    return argmaxScores(out.data as Float32Array, out.dims[1], n, spec);
  }
  const out = await session.run(feeds, [outputs.label.name, outputs.confidence.name]);
  const labels = out[outputs.label.name];
  const confidence = out[outputs.confidence.name];
  if (!labels || !confidence || labels.size !== n || confidence.size !== n) {
    throw new ModelError('MODEL_INVALID', `Model ${card.id} returned outputs of the wrong size for a ${width}×${height} block`, { stage: 'classify' });
  }
  // ORT hands back arrays that own their buffers, so they can be transferred to the main thread
  // as they are; copy only if a future version returns views into a shared arena.
  const conf = confidence.data as Float32Array;
  const own = conf.byteOffset === 0 && conf.buffer.byteLength === conf.byteLength ? conf : conf.slice();
  return { labels: labels.data as ArrayLike<number | bigint>, confidence: own };
}

/**
 * Class scores [C, n] → LandCover code of the best channel (through the card's class table;
 * unlisted channels give no-data) and its probability (softmax of logits when `activation` is none).
 */
export function argmaxScores(scores: Float32Array, channels: number, n: number, spec: { activation: 'softmax' | 'sigmoid' | 'none'; classes: readonly { index: number; class: string }[] }): RawOutputs {
  const codeOf = new Int32Array(channels);
  for (const c of spec.classes) if (c.index < channels) codeOf[c.index] = LandCover[c.class as keyof typeof LandCover];
  const labels = new Int32Array(n);
  const confidence = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    let best = 0;
    for (let c = 1; c < channels; c++) if (scores[c * n + p] > scores[best * n + p]) best = c;
    let conf = scores[best * n + p];
    if (spec.activation === 'none') {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += Math.exp(scores[c * n + p] - scores[best * n + p]);
      conf = 1 / sum;
    }
    labels[p] = codeOf[best];
    confidence[p] = Math.min(1, Math.max(0, conf));
  }
  return { labels, confidence };
}

/**
 * Applies validity to raw outputs: invalid pixels get class 0 (nodata) and confidence 0. Reuses
 * `raw.confidence` in place.
 */
export function toLandCover(raw: RawOutputs, valid: Uint8Array, window: Window): LandCoverBlock {
  const n = window.width * window.height;
  const classes = new Uint8Array(n);
  const confidence = raw.confidence;
  const labels = raw.labels;
  for (let p = 0; p < n; p++) {
    if (valid[p]) classes[p] = Number(labels[p]);
    else {
      classes[p] = LandCover.nodata;
      confidence[p] = 0;
    }
  }
  return { window, classes, confidence };
}

/** Packs, runs and unpacks one block on the calling thread (tests, tools, benchmarks). */
export async function classifyInThread(session: ort.InferenceSession, card: ModelCard, block: RasterBlock): Promise<LandCoverBlock> {
  const packed = packBlock(card, block);
  sanitizePacked(packed);
  return toLandCover(await runPacked(session, card, packed), packed.valid, block.window);
}
