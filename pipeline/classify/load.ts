/**
 * Loading a model directory: the card is validated, the ONNX file is checked against the card's
 * sha256, and scene bands are checked against the card's inputs before any pixel is read.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ModelError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { ModelCardSchema, type ModelCard } from './card.js';

/** A model whose card validated and whose `model.onnx` matches the card's sha256. */
export interface LoadedModel {
  readonly card: ModelCard;
  /** Absolute path of `model.onnx`. */
  readonly modelPath: string;
}

/**
 * Reads `card.json` and checks the ONNX file it names (`model.onnx` by default) against it.
 * @param modelDir directory holding `card.json` (and usually `model.onnx`).
 * @throws ModelError `FILE_NOT_FOUND` when either file is missing; `MODEL_INVALID` when the card is
 *   not JSON, fails the schema (the message names each bad field), or the sha256 does not match.
 */
export async function loadModel(modelDir: string): Promise<LoadedModel> {
  const dir = resolve(modelDir);
  const cardPath = join(dir, 'card.json');
  const text = await readOrThrow(cardPath, 'model card');
  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new ModelError('MODEL_INVALID', `Model card ${cardPath} is not valid JSON: ${(e as Error).message}`, { file: cardPath, stage: 'classify' }, { cause: e });
  }
  const parsed = ModelCardSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `field "${i.path.join('.') || '(root)'}": ${i.message}`);
    throw new ModelError('MODEL_INVALID', `Model card ${cardPath} is invalid: ${issues.join('; ')}`, { file: cardPath, field: parsed.error.issues[0]?.path.join('.'), stage: 'classify' });
  }
  const card = parsed.data;
  const modelPath = resolve(dir, card.file);
  const bytes = await readOrThrow(modelPath, 'model');
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== card.sha256) {
    throw new ModelError(
      'MODEL_INVALID',
      `Model ${modelPath} does not match its card: sha256 is ${actual}, card.json says ${card.sha256}. Rebuild the model or restore the file.`,
      { file: modelPath, field: 'sha256', expected: card.sha256, actual, stage: 'classify' },
    );
  }
  return { card, modelPath };
}

/**
 * Checks that a scene offers every band the model needs.
 * @param available band names of the scene (`RasterBlock.bandNames`).
 * @throws ModelError `MODEL_INPUT_MISMATCH` naming every missing band and the bands the scene has.
 */
export function checkBands(card: ModelCard, available: readonly string[]): void {
  const missing = card.input.bands.map((b) => b.name).filter((n) => !available.includes(n));
  if (missing.length === 0) return;
  throw new ModelError(
    'MODEL_INPUT_MISMATCH',
    `Model ${card.id} needs band${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} which the scene lacks (scene has: ${available.length ? available.join(', ') : 'no bands'}; model needs: ${card.input.bands.map((b) => b.name).join(', ')})`,
    { band: missing.join(','), missing, available: [...available], stage: 'classify' },
  );
}

/**
 * Turns the config's `model` (an id such as `spectral-v1`, or a directory) into a directory.
 * A value that names an existing directory (absolute, or relative to `cwd`) wins; otherwise a bare
 * id is looked up under the package's `models/`.
 */
export function resolveModelDir(model: string, cwd: string = process.cwd()): string {
  const asPath = isAbsolute(model) ? model : resolve(cwd, model);
  if (existsSync(asPath)) return asPath;
  if (!model.includes('/') && !model.includes('\\')) return join(packageRoot(), 'models', model);
  return join(packageRoot(), model);
}

async function readOrThrow(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelError('FILE_NOT_FOUND', `The ${what} file ${path} does not exist`, { file: path, stage: 'classify' }, { cause: e });
    throw new ModelError('MODEL_INVALID', `Cannot read the ${what} file ${path}: ${(e as Error).message}`, { file: path, stage: 'classify' }, { cause: e, retryable: true });
  }
}
