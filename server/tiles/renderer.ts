/**
 * TileRenderer: what the server calls. Holds sources open (scenes, change rasters, vector layers,
 * each opened once and reused by every tile), caches rendered PNGs, and notices when a file is
 * replaced (a re-run writes a new change.tif): cache keys carry the source's identity (local
 * mtime and size, S3 ETag), re-checked at most every `revalidateMs`.
 */
import { stat } from 'node:fs/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { SceneOptions } from '../../pipeline/imagery/index.js';
import { parseUri, s3 } from '../../storage/index.js';
import { TileCache, type TileCacheStats } from './cache.js';
import { CHANGE_PALETTE, closeClassRaster, openClassRaster, renderClassTile, type ClassPalette, type ClassRaster } from './classes.js';
import { closeImagery, openImagery, renderImageryTile, type ImageryScene, type ImageryStyle, type SceneShift } from './imagery.js';
import { TileError, checkTile, type LonLatBBox } from './mercator.js';
import { LANDUSE_STYLE, loadVectorLayer, renderVectorTile, type VectorLayer, type VectorStyle } from './vector.js';

/** Bumped when rendering changes, so disk-cached tiles of an older renderer are not served. */
const RENDER_VERSION = 1;

export interface TileRendererOptions {
  /** Byte budget of the in-memory tile cache (default 64 MiB). */
  cacheBytes?: number;
  /** Folder of the disk tile cache (default: memory only). */
  cacheDir?: string;
  /** Sources kept open at once (default 16); the least recently used idle one is closed. */
  maxOpenSources?: number;
  /** How often a source's identity (mtime/ETag) is re-checked, ms (default 5000). */
  revalidateMs?: number;
  /** Band mapping, scale and NoData per scene URI when a call does not give them (default: the file's own). */
  sceneOptions?: (uri: string) => SceneOptions | undefined;
}

/** A scene URI, or a URI with the options the run opened it with (band mapping etc.). */
/**
 * A scene to draw: its URI, how the run read it (band mapping…) and, for an after scene the run
 * co-registered, how far to move it (world units of `shift.crs`) to lie where the run saw it.
 */
export type ImagerySource = string | { readonly uri: string; readonly options?: SceneOptions; readonly shift?: SceneShift };

export interface TileRendererStats extends TileCacheStats {
  /** Tiles rendered (cache misses that reached a source). */
  renders: number;
  /** Window reads from rasters (tiles, stretch and overview builds). */
  reads: number;
  /** Sources opened (scenes, rasters, layers). */
  opens: number;
}

type Kind = 'imagery' | 'classes' | 'vector';
type Source = ImageryScene | ClassRaster | VectorLayer;

interface Handle {
  readonly identity: string;
  readonly value: Promise<Source>;
  /** The opened source, once `value` resolved. */
  source?: Source;
  busy: number;
  evicted: boolean;
}

const readsOf = (s: Source): number => ('reads' in s ? s.reads : 0);

/** Identity of a file or object: changes when it is replaced. Missing files get a marker (opening them fails with the file named). */
async function sourceIdentity(uri: string): Promise<string> {
  const loc = parseUri(uri);
  if (loc.scheme === 'file') {
    const st = await stat(loc.path).catch(() => null);
    return st ? `${loc.path}@${st.mtimeMs}:${st.size}` : `${loc.path}@missing`;
  }
  const h = await s3()
    .send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }))
    .catch(() => null);
  return h ? `${uri}@${h.ETag ?? ''}:${h.ContentLength ?? ''}` : `${uri}@missing`;
}

export class TileRenderer {
  private readonly cache: TileCache;
  private readonly handles = new Map<string, Handle>();
  private readonly identities = new Map<string, { id: Promise<string>; at: number }>();
  private readonly layers = new Map<string, { uri: string; style: VectorStyle }>();
  private readonly counters = { renders: 0, opens: 0, closedReads: 0 };
  private readonly maxOpen: number;
  private readonly revalidateMs: number;
  private readonly sceneOptions: (uri: string) => SceneOptions | undefined;

  constructor(opts: TileRendererOptions = {}) {
    this.cache = new TileCache({ maxBytes: opts.cacheBytes, dir: opts.cacheDir });
    this.maxOpen = opts.maxOpenSources ?? 16;
    this.revalidateMs = opts.revalidateMs ?? 5000;
    this.sceneOptions = opts.sceneOptions ?? (() => undefined);
  }

  /**
   * A true- or false-colour tile of a scene.
   * @returns PNG bytes, or null when the tile lies wholly outside the scene (answer 204)
   * @throws TileError CONFIG_INVALID (bad z/x/y or style); ImageryError naming the file
   *   (FILE_NOT_FOUND, CORRUPT_FILE, MISSING_BAND…); AppError UNSUPPORTED_CRS
   */
  async imagery(source: ImagerySource, z: number, x: number, y: number, style: ImageryStyle): Promise<Buffer | null> {
    checkTile(z, x, y);
    if (style !== 'true' && style !== 'false') throw new TileError('CONFIG_INVALID', `unknown imagery style "${String(style)}" (true or false)`, { field: 'style' });
    const { uri, options, shift, optsKey } = this.source(source);
    return this.tile('imagery', uri, optsKey, `${style}`, z, x, y, () => openImagery(uri, options, shift), (s) => renderImageryTile(s as ImageryScene, z, x, y, style));
  }

  /**
   * A tile of a class raster (a run's change.tif), coloured by `palette` (default: change types).
   * @returns PNG bytes, or null when the tile lies wholly outside the raster
   */
  async classes(uri: string, z: number, x: number, y: number, palette: ClassPalette = CHANGE_PALETTE): Promise<Buffer | null> {
    checkTile(z, x, y);
    return this.tile('classes', uri, '', JSON.stringify(palette), z, x, y, () => openClassRaster(uri), (r) => renderClassTile(r as ClassRaster, z, x, y, palette));
  }

  /** Registers a vector layer under an id (e.g. 'landuse:<run>'), optionally with its own style. */
  addLayer(id: string, uri: string, style: VectorStyle = LANDUSE_STYLE): void {
    this.layers.set(id, { uri, style });
  }

  /**
   * A tile of a land-use layer: a registered layer id, or a GeoJSON URI/path (drawn with `style`).
   * @returns PNG bytes, or null when no feature is near the tile
   */
  async vector(layer: string, z: number, x: number, y: number, style?: VectorStyle): Promise<Buffer | null> {
    checkTile(z, x, y);
    const reg = this.layers.get(layer);
    const uri = reg?.uri ?? layer;
    const st = style ?? reg?.style ?? LANDUSE_STYLE;
    return this.tile('vector', uri, '', JSON.stringify(st), z, x, y, () => loadVectorLayer(uri), (l) => renderVectorTile(l as VectorLayer, z, x, y, st));
  }

  /** Longitude/latitude bounds of a scene (so the server can limit tiles to where a user may look). */
  async sceneBounds(source: ImagerySource): Promise<LonLatBBox> {
    const { uri, options, shift, optsKey } = this.source(source);
    return this.withSource('imagery', uri, optsKey, () => openImagery(uri, options, shift), async (s) => (s as ImageryScene).lonLatBounds);
  }

  /** Longitude/latitude bounds of a class raster. */
  async classBounds(uri: string): Promise<LonLatBBox> {
    return this.withSource('classes', uri, '', () => openClassRaster(uri), async (r) => (r as ClassRaster).lonLatBounds);
  }

  /** Longitude/latitude bounds of a vector layer (id or URI). */
  async layerBounds(layer: string): Promise<LonLatBBox> {
    const uri = this.layers.get(layer)?.uri ?? layer;
    return this.withSource('vector', uri, '', () => loadVectorLayer(uri), async (l) => (l as VectorLayer).lonLatBounds);
  }

  /** Counters since construction (a snapshot). */
  stats(): TileRendererStats {
    let reads = this.counters.closedReads;
    for (const h of this.handles.values()) if (h.source) reads += readsOf(h.source);
    return { ...this.cache.stats, renders: this.counters.renders, opens: this.counters.opens, reads };
  }

  /** Forgets a source's identity so its next tile re-checks it (and reopens it if it changed). */
  invalidate(uri: string): void {
    this.identities.delete(uri);
  }

  /** Waits for background cache writes and closes every source. */
  async close(): Promise<void> {
    await this.cache.flush();
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const h of all) await this.closeHandle(h);
  }

  // -------------------------------------------------------------------------------------------

  /** A source's parts, and the key its open scene is kept under (one per reading of the scene). */
  private source(source: ImagerySource) {
    const { uri, options, shift } = typeof source === 'string' ? { uri: source, options: this.sceneOptions(source), shift: undefined } : source;
    return { uri, options, shift, optsKey: JSON.stringify({ ...(options ?? {}), ...(shift ? { shift } : {}) }) };
  }

  private identity(uri: string): Promise<string> {
    const now = Date.now();
    const known = this.identities.get(uri);
    if (known && now - known.at <= this.revalidateMs) return known.id;
    const id = sourceIdentity(uri);
    this.identities.set(uri, { id, at: now });
    // A missing file is asked again next time: it may appear (a run being written).
    id.then(
      (v) => v.endsWith('@missing') && this.identities.delete(uri),
      () => this.identities.delete(uri),
    );
    return id;
  }

  private async tile(
    kind: Kind,
    uri: string,
    optsKey: string,
    styleKey: string,
    z: number,
    x: number,
    y: number,
    open: () => Promise<Source>,
    render: (s: Source) => Promise<Buffer | null>,
  ): Promise<Buffer | null> {
    const identity = await this.identity(uri);
    const key = `v${RENDER_VERSION}|${kind}|${identity}|${optsKey}|${styleKey}|${z}/${x}/${y}`;
    return this.cache.get(key, () =>
      this.withSource(kind, uri, optsKey, open, (s) => {
        this.counters.renders++;
        return render(s);
      }),
    );
  }

  /** Runs `use` on the open source (opening it once; reopening when the file changed). */
  private async withSource<T>(kind: Kind, uri: string, optsKey: string, open: () => Promise<Source>, use: (s: Source) => Promise<T>): Promise<T> {
    const identity = await this.identity(uri);
    const hk = `${kind}|${uri}|${optsKey}`;
    let h = this.handles.get(hk);
    if (h && h.identity !== identity) {
      this.handles.delete(hk);
      h.evicted = true;
      if (h.busy === 0) await this.closeHandle(h);
      h = undefined;
    }
    if (!h) {
      this.counters.opens++;
      const value = open();
      h = { identity, value, busy: 1, evicted: false };
      const mine = h;
      this.handles.set(hk, h);
      // A source that fails to open is not kept: the next request tries again (and gets the error).
      value.then(
        (src) => (mine.source = src),
        () => {
          if (this.handles.get(hk) === mine) this.handles.delete(hk);
        },
      );
      this.evictIdle(); // after busy = 1, so the new source is not the one closed
    } else {
      this.handles.delete(hk);
      this.handles.set(hk, h); // most recently used last
      h.busy++;
    }
    try {
      return await use(await h.value);
    } finally {
      h.busy--;
      if (h.evicted && h.busy === 0) await this.closeHandle(h);
    }
  }

  private evictIdle(): void {
    for (const [k, h] of this.handles) {
      if (this.handles.size <= this.maxOpen) break;
      if (h.busy > 0) continue;
      this.handles.delete(k);
      h.evicted = true;
      void this.closeHandle(h);
    }
  }

  private async closeHandle(h: Handle): Promise<void> {
    const s = await h.value.catch(() => null);
    if (!s) return;
    this.counters.closedReads += readsOf(s);
    if ('stretch' in s) await closeImagery(s);
    else if ('scene' in s) await closeClassRaster(s);
  }
}
