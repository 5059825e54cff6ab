/**
 * Cache of rendered tiles: an LRU of PNG buffers bounded in bytes, optionally backed by a folder
 * (survives restarts), with single flight: concurrent requests for one key render once.
 * `null` (a tile outside its source) is cached too, as an empty file on disk.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface TileCacheOptions {
  /** Byte budget of the in-memory LRU (default 64 MiB). */
  maxBytes?: number;
  /** Folder for the disk cache (default none). */
  dir?: string;
}

export interface TileCacheStats {
  memoryHits: number;
  diskHits: number;
  misses: number;
  /** Requests that joined a render already in progress. */
  joined: number;
  bytes: number;
  entries: number;
}

/** Per-entry overhead counted against the budget (map entry, key), so cached nulls are not free. */
const ENTRY_OVERHEAD = 200;

export class TileCache {
  private readonly lru = new Map<string, Buffer | null>();
  private readonly inflight = new Map<string, Promise<Buffer | null>>();
  private bytes = 0;
  private readonly writes = new Set<Promise<void>>();
  private readonly maxBytes: number;
  private readonly dir: string | null;
  readonly stats: TileCacheStats = { memoryHits: 0, diskHits: 0, misses: 0, joined: 0, bytes: 0, entries: 0 };

  constructor(opts: TileCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.dir = opts.dir ?? null;
  }

  /**
   * The cached tile of `key`, else the result of `render` (stored). A render that throws is not
   * cached, and every request waiting on it gets the error.
   */
  async get(key: string, render: () => Promise<Buffer | null>): Promise<Buffer | null> {
    if (this.lru.has(key)) {
      const v = this.lru.get(key)!;
      this.lru.delete(key);
      this.lru.set(key, v);
      this.stats.memoryHits++;
      return v;
    }
    const running = this.inflight.get(key);
    if (running) {
      this.stats.joined++;
      return running;
    }
    const p = (async () => {
      const fromDisk = await this.readDisk(key);
      if (fromDisk !== undefined) {
        this.stats.diskHits++;
        this.put(key, fromDisk);
        return fromDisk;
      }
      this.stats.misses++;
      const v = await render();
      this.put(key, v);
      this.writeDisk(key, v);
      return v;
    })();
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Drops every in-memory entry whose key starts with `prefix` (a source that changed). */
  dropPrefix(prefix: string): void {
    for (const [k, v] of this.lru)
      if (k.startsWith(prefix)) {
        this.lru.delete(k);
        this.bytes -= (v?.length ?? 0) + ENTRY_OVERHEAD;
      }
    this.sync();
  }

  private put(key: string, v: Buffer | null): void {
    const size = (v?.length ?? 0) + ENTRY_OVERHEAD;
    if (size > this.maxBytes) return;
    if (this.lru.has(key)) {
      this.bytes -= (this.lru.get(key)?.length ?? 0) + ENTRY_OVERHEAD;
      this.lru.delete(key);
    }
    this.lru.set(key, v);
    this.bytes += size;
    for (const [k, old] of this.lru) {
      if (this.bytes <= this.maxBytes) break;
      this.lru.delete(k);
      this.bytes -= (old?.length ?? 0) + ENTRY_OVERHEAD;
    }
    this.sync();
  }

  private sync(): void {
    this.stats.bytes = this.bytes;
    this.stats.entries = this.lru.size;
  }

  private path(key: string): string {
    const h = createHash('sha256').update(key).digest('hex');
    return join(this.dir!, h.slice(0, 2), `${h.slice(2)}.png`);
  }

  /** The stored tile, null for a stored "outside", undefined when absent or unreadable. */
  private async readDisk(key: string): Promise<Buffer | null | undefined> {
    if (!this.dir) return undefined;
    try {
      const b = await readFile(this.path(key));
      return b.length ? b : null;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores a tile in the background (the response does not wait for the disk): a temporary name
   * then a rename, so readers never see half a file; no fsync, a lost tile is just re-rendered.
   * A full or read-only disk does not fail requests: the cache is optional.
   */
  private writeDisk(key: string, v: Buffer | null): void {
    if (!this.dir) return;
    const path = this.path(key);
    const tmp = `${path}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    const w = (async () => {
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(tmp, v ?? Buffer.alloc(0));
        await rename(tmp, path);
      } catch {
        await unlink(tmp).catch(() => undefined);
      }
    })();
    this.writes.add(w);
    void w.finally(() => this.writes.delete(w));
  }

  /** Waits for background disk writes (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.writes.size) await Promise.all([...this.writes]);
  }
}
