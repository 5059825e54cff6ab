/**
 * URI-addressed storage: `file://` (or a plain path) and `s3://bucket/key`. Imagery, catalogs and
 * run artifacts go through here so a run reads and writes the same way on one machine or many.
 *
 * S3 settings come from the standard AWS environment (AWS_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL). With a custom endpoint
 * (MinIO, s3rver) path-style addressing is used; checksums only when required, because
 * S3-compatible servers otherwise store the aws-chunked framing as the object body.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AppError, OutputError } from '../pipeline/errors.js';

export class StorageError extends AppError {}

export type Location = { scheme: 'file'; path: string } | { scheme: 's3'; bucket: string; key: string };

/** Parses `s3://bucket/key`, `file:///abs/path` or a plain (relative or absolute) path. */
export function parseUri(uri: string): Location {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (!bucket) throw new StorageError('CONFIG_INVALID', `${uri}: an s3 URI needs a bucket (s3://bucket/key)`, { file: uri });
    return { scheme: 's3', bucket, key: slash < 0 ? '' : rest.slice(slash + 1) };
  }
  if (uri.startsWith('file:')) return { scheme: 'file', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new StorageError('UNSUPPORTED_FORMAT', `${uri}: unsupported URI scheme (file:// or s3://)`, { file: uri });
  return { scheme: 'file', path: resolve(uri) };
}

export const isS3 = (uri: string): boolean => uri.startsWith('s3://');

/** `base` + `/` + parts, for URIs and paths alike (no normalisation of `..`). */
export function joinUri(base: string, ...parts: string[]): string {
  if (!isS3(base) && !base.startsWith('file:')) return join(base, ...parts);
  return [base.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].join('/');
}

/** A URI for a local path (absolute file:// URL), for passing to other processes. */
export const fileUri = (path: string): string => pathToFileURL(resolve(path)).href;

/** Bytes moved by this process, per scheme: the benchmark and tests read them. */
export const storageStats = { s3BytesRead: 0, s3Requests: 0, s3BytesWritten: 0, /** Of s3BytesRead: ranged reads (imagery). */ s3RangeBytesRead: 0, s3RangeRequests: 0 };

let client: S3Client | null = null;
/** The process's S3 client, built from the environment on first use. */
export function s3(): S3Client {
  if (client) return client;
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
  client = new S3Client({
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return client;
}
/** Drops the cached client (tests that change the environment). */
export function resetS3Client(): void {
  client?.destroy();
  client = null;
}

function s3Failure(uri: string, what: string, e: unknown): StorageError {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const status = err.$metadata?.httpStatusCode;
  if (err.name === 'NoSuchKey' || err.name === 'NotFound' || status === 404)
    return new StorageError('FILE_NOT_FOUND', `${uri}: not found (${what})`, { file: uri }, { cause: e });
  // Network errors and 5xx are worth retrying; 4xx (access, bad request) are not.
  return new StorageError('OUTPUT_FAILED', `${uri}: S3 ${what} failed: ${err.name ?? ''} ${err.message ?? e}`, { file: uri }, { cause: e, retryable: !status || status >= 500 });
}

async function bodyBytes(body: unknown): Promise<Uint8Array> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> };
  if (!b?.transformToByteArray) throw new Error('S3 response has no body');
  return b.transformToByteArray();
}

/** Whole object or file. @throws StorageError FILE_NOT_FOUND */
export async function readBytes(uri: string): Promise<Uint8Array> {
  const loc = parseUri(uri);
  if (loc.scheme === 'file') {
    try {
      return await readFile(loc.path);
    } catch (e) {
      throw new StorageError('FILE_NOT_FOUND', `${loc.path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: loc.path }, { cause: e });
    }
  }
  try {
    const r = await s3().send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    const bytes = await bodyBytes(r.Body);
    storageStats.s3BytesRead += bytes.length;
    storageStats.s3Requests++;
    return bytes;
  } catch (e) {
    throw s3Failure(uri, 'GET', e);
  }
}

export const readText = async (uri: string): Promise<string> => Buffer.from(await readBytes(uri)).toString('utf8');
export const readJson = async <T = unknown>(uri: string): Promise<T> => JSON.parse(await readText(uri)) as T;

/** Writes a whole object; local files atomically (temporary name, then rename). */
export async function writeBytes(uri: string, data: Uint8Array | string, contentType?: string): Promise<void> {
  const loc = parseUri(uri);
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (loc.scheme === 'file') {
    try {
      await mkdir(dirname(loc.path), { recursive: true });
      const tmp = `${loc.path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      await writeFile(tmp, body);
      await rename(tmp, loc.path);
    } catch (e) {
      throw new OutputError('OUTPUT_FAILED', `${loc.path}: cannot write (${(e as Error).message})`, { file: loc.path }, { cause: e });
    }
    return;
  }
  try {
    await s3().send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentLength: body.length, ...(contentType ? { ContentType: contentType } : {}) }));
    storageStats.s3BytesWritten += body.length;
  } catch (e) {
    throw s3Failure(uri, 'PUT', e);
  }
}

export const writeJson = (uri: string, value: unknown): Promise<void> => writeBytes(uri, JSON.stringify(value), 'application/json');

export async function exists(uri: string): Promise<boolean> {
  const loc = parseUri(uri);
  if (loc.scheme === 'file') return stat(loc.path).then(() => true, () => false);
  try {
    await s3().send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    return true;
  } catch (e) {
    const f = s3Failure(uri, 'HEAD', e);
    if (f.code === 'FILE_NOT_FOUND') return false;
    throw f;
  }
}

/** URIs of every object (file) under a prefix (folder), recursively, sorted. */
export async function list(prefix: string): Promise<string[]> {
  const loc = parseUri(prefix);
  if (loc.scheme === 'file') {
    const out: string[] = [];
    const walk = async (dir: string) => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(p);
      }
    };
    await walk(loc.path);
    return out.sort();
  }
  const keyPrefix = loc.key && !loc.key.endsWith('/') ? `${loc.key}/` : loc.key;
  const out: string[] = [];
  let token: string | undefined;
  try {
    do {
      const r = await s3().send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: keyPrefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key) out.push(`s3://${loc.bucket}/${o.Key}`);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  } catch (e) {
    throw s3Failure(prefix, 'LIST', e);
  }
  return out.sort();
}

/** Deletes everything under a prefix (folder). */
export async function removePrefix(prefix: string): Promise<void> {
  const loc = parseUri(prefix);
  if (loc.scheme === 'file') {
    await rm(loc.path, { recursive: true, force: true });
    return;
  }
  const uris = await list(prefix);
  for (let i = 0; i < uris.length; i += 1000) {
    const keys = uris.slice(i, i + 1000).map((u) => ({ Key: (parseUri(u) as { key: string }).key }));
    try {
      await s3().send(new DeleteObjectsCommand({ Bucket: loc.bucket, Delete: { Objects: keys } }));
    } catch (e) {
      throw s3Failure(prefix, 'DELETE', e);
    }
  }
}

/** Copies a local folder's files under a URI prefix (same relative names). */
export async function uploadDir(localDir: string, prefix: string, opts: { last?: string } = {}): Promise<string[]> {
  const files = await list(localDir);
  const rel = (f: string) => f.slice(resolve(localDir).length + 1).split('\\').join('/');
  // The file named `last` is written after the others: readers take it as the commit marker.
  const ordered = [...files.filter((f) => rel(f) !== opts.last), ...files.filter((f) => rel(f) === opts.last)];
  const out: string[] = [];
  for (const f of ordered) {
    const uri = joinUri(prefix, rel(f));
    await writeBytes(uri, await readFile(f));
    out.push(uri);
  }
  return out;
}

/**
 * A local path for a URI: the path itself for local files, else a copy of the object in
 * `cacheDir` (by URI hash; small inputs like vector layers, never imagery).
 */
export async function localize(uri: string, cacheDir: string): Promise<string> {
  const loc = parseUri(uri);
  if (loc.scheme === 'file') return loc.path;
  const name = loc.key.split('/').pop() || 'object';
  const path = join(cacheDir, createHash('sha256').update(uri).digest('hex').slice(0, 16), name);
  if (await stat(path).then(() => true, () => false)) return path;
  await writeBytes(fileUri(path), await readBytes(uri));
  return path;
}

/** Random access to the bytes of one object: the TIFF reader's view of a file. */
export interface ByteSource {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** Small reads (TIFF headers, IFDs, tag arrays) are served from aligned pages of this size. */
const PAGE = 16 * 1024;

/**
 * Opens an object for ranged reads (HTTP Range GETs; never the whole object). Reads shorter than
 * a page go through a small page cache so parsing a TIFF header is a few requests, not hundreds;
 * image blocks are fetched exactly.
 */
export async function openRangeSource(uri: string): Promise<{ size: number; source: ByteSource }> {
  const loc = parseUri(uri);
  if (loc.scheme === 'file') {
    const fh = await open(loc.path, 'r');
    return { size: (await fh.stat()).size, source: fh };
  }
  let size: number;
  try {
    const h = await s3().send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    size = Number(h.ContentLength ?? 0);
  } catch (e) {
    throw s3Failure(uri, 'HEAD', e);
  }
  const get = async (start: number, end: number): Promise<Uint8Array> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await s3().send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: `bytes=${start}-${end - 1}` }));
        const bytes = await bodyBytes(r.Body);
        storageStats.s3BytesRead += bytes.length;
        storageStats.s3Requests++;
        storageStats.s3RangeBytesRead += bytes.length;
        storageStats.s3RangeRequests++;
        if (bytes.length !== end - start) throw new Error(`range ${start}-${end - 1}: got ${bytes.length} bytes`);
        return bytes;
      } catch (e) {
        const f = s3Failure(uri, `GET range ${start}-${end - 1}`, e);
        if (!f.retryable || attempt >= 3) throw f;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  };
  const pages = new Map<number, Promise<Uint8Array>>();
  const page = (i: number) => {
    let p = pages.get(i);
    if (!p) {
      p = get(i * PAGE, Math.min(size, (i + 1) * PAGE));
      p.catch(() => pages.delete(i));
      pages.set(i, p);
      if (pages.size > 64) pages.delete(pages.keys().next().value as number);
    }
    return p;
  };
  const source: ByteSource = {
    async read(buffer, offset, length, position) {
      const n = Math.max(0, Math.min(length, size - position));
      if (n === 0) return { bytesRead: 0 };
      if (n >= PAGE) {
        buffer.set(await get(position, position + n), offset);
        return { bytesRead: n };
      }
      let done = 0;
      while (done < n) {
        const at = position + done;
        const pg = await page(Math.floor(at / PAGE));
        const from = at % PAGE;
        const take = Math.min(n - done, pg.length - from);
        buffer.set(pg.subarray(from, from + take), offset + done);
        done += take;
      }
      return { bytesRead: n };
    },
    async close() {
      pages.clear();
    },
  };
  return { size, source };
}
