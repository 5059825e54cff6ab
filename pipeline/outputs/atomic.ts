/**
 * Atomic file writes: every output is written to `<path>.partial`, flushed to disk and renamed over
 * `<path>`. A crash or a failed write therefore leaves either the previous file or none, never a
 * truncated one that a later stage (or a township clerk) would take for complete.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OutputError, isAppError } from '../errors.js';

/** Suffix of the temporary file an atomic write goes through. */
export const PARTIAL_SUFFIX = '.partial';

/**
 * Runs `produce(partialPath)`, which must create the complete file at `partialPath`, then renames it
 * to `path`. The parent folder is created when missing. On failure the partial file is removed and
 * the error is rethrown as an OutputError (code OUTPUT_FAILED) unless it already is an AppError.
 */
export async function writeViaPartial(path: string, produce: (partialPath: string) => Promise<void>): Promise<void> {
  const partial = path + PARTIAL_SUFFIX;
  try {
    await mkdir(dirname(path), { recursive: true });
    await produce(partial);
    // fsync before rename: without it a power loss can leave the renamed file empty on some filesystems.
    const fh = await open(partial, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(partial, path);
  } catch (err) {
    await unlink(partial).catch(() => undefined);
    if (isAppError(err)) throw err;
    throw new OutputError('OUTPUT_FAILED', `Could not write ${path}: ${(err as Error)?.message ?? String(err)}`, { file: path }, { cause: err, retryable: true });
  }
}

/** Writes `data` to `path` atomically (see {@link writeViaPartial}). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeViaPartial(path, async (partial) => {
    const fh = await open(partial, 'w');
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  });
}

/**
 * Writes `value` as pretty-printed JSON (2-space indent, trailing newline) atomically. Keys keep the
 * order in which they were inserted into the objects, so callers control the order summary.json
 * shows. Non-finite numbers become `null` (JSON has no NaN/Infinity).
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new OutputError('OUTPUT_FAILED', `Value for ${path} is not JSON-serialisable`, { file: path });
  await writeFileAtomic(path, text + '\n');
}
