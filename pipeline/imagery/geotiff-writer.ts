/**
 * Streaming, tiled, DEFLATE-compressed GeoTIFF writer.
 *
 * Why our own writer: geotiff.js writes uncompressed strips and needs the whole image in memory,
 * which does not scale to 10 000 px scenes. This writer appends each compressed tile to the file as
 * soon as it arrives (any order, concurrently) and keeps only the tile offsets and byte counts; the
 * IFD and its tag data go at the end of the file on close, and the header is patched to point there.
 *
 * Layout: classic little-endian TIFF, one IFD, tiled, pixel-interleaved (PlanarConfiguration 1),
 * PhotometricInterpretation MinIsBlack with ExtraSamples "unspecified" for bands beyond the first
 * (geotiff.js and GDAL both want ExtraSamples when SamplesPerPixel > 1 with MinIsBlack).
 * Integer types use the horizontal-differencing predictor (2), which shrinks smooth imagery by
 * roughly a third with DEFLATE; float32 is written without a predictor (GDAL only accepts
 * predictor 2 for integers, and predictor 3 is poorly supported by other readers).
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { deflate as deflateCb } from 'node:zlib';
import { promisify } from 'node:util';
import type { Crs, GeoTransform, Grid } from '../types.js';
import { OutputError } from '../errors.js';
import { isGeographic } from '../geo/crs.js';

const deflate = promisify(deflateCb);

/** Sample types the writer supports. */
export type GeoTiffDtype = 'uint8' | 'uint16' | 'int16' | 'float32';

/** Options of {@link createGeoTiffWriter}. */
export interface GeoTiffWriterOptions {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Number of bands (samples per pixel), ≥ 1. */
  bandCount: number;
  /** Sample type of every band. */
  dtype: GeoTiffDtype;
  /** Tile edge in pixels; default 256; must be a positive multiple of 16 (TIFF requirement). */
  tileSize?: number;
  /** North-up GDAL geotransform of the pixel corners; rotated or south-up transforms are rejected. */
  transform: GeoTransform;
  /** CRS; its EPSG code is required because it is what the GeoKeys carry. */
  crs: Crs;
  /** NoData value written to the GDAL_NODATA tag; omitted when null/undefined. */
  nodata?: number | null;
  /** One description per band (GDAL band description), e.g. `['blue','green','red','nir']`. */
  bandDescriptions?: string[];
  /** Dataset-level GDAL_METADATA items, e.g. `{ ACQUISITION_DATE: '2026-04-15' }`. */
  metadata?: Record<string, string>;
  /** Every band's scale and offset from stored value to physical value (GDAL SCALE/OFFSET), when the stored values are not that value. */
  scaleOffset?: { scale: number; offset: number };
}

/** A writer returned by {@link createGeoTiffWriter}. */
export interface GeoTiffWriter {
  /** Number of tile columns. */
  readonly tilesAcross: number;
  /** Number of tile rows. */
  readonly tilesDown: number;
  /** Tile edge in pixels. */
  readonly tileSize: number;
  /**
   * Compresses and appends one tile. `bands` holds one `tileSize × tileSize` row-major array per
   * band; edge tiles are padded (the padding is stored but outside the image). Tiles may be
   * written in any order and concurrently; each tile exactly once. Integer types: values are
   * rounded and clamped to the type's range (NaN becomes the NoData value, or 0).
   */
  writeTile(tileCol: number, tileRow: number, bands: ArrayLike<number>[]): Promise<void>;
  /**
   * Waits for pending tiles, writes the IFD and renames `path.partial` to `path`. Throws
   * OutputError when a tile was never written; on any failure the partial file is removed.
   */
  close(): Promise<void>;
  /** Stops writing and removes the partial file. Safe to call more than once. */
  abort(): Promise<void>;
}

const TYPE_SHORT = 3;
const TYPE_LONG = 4;
const TYPE_ASCII = 2;
const TYPE_DOUBLE = 12;

const DTYPE_INFO: Record<GeoTiffDtype, { bits: number; format: number; bytes: number; min: number; max: number }> = {
  uint8: { bits: 8, format: 1, bytes: 1, min: 0, max: 255 },
  uint16: { bits: 16, format: 1, bytes: 2, min: 0, max: 65535 },
  int16: { bits: 16, format: 2, bytes: 2, min: -32768, max: 32767 },
  float32: { bits: 32, format: 3, bytes: 4, min: -Infinity, max: Infinity },
};

/** Classic TIFF offsets are 32-bit. */
const MAX_CLASSIC = 2 ** 32 - 1;

type Typed = Uint8Array | Uint16Array | Int16Array | Float32Array;

function allocTyped(dtype: GeoTiffDtype, n: number): Typed {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'float32':
      return new Float32Array(n);
  }
}

function sameTyped(dtype: GeoTiffDtype, a: ArrayLike<number>): boolean {
  switch (dtype) {
    case 'uint8':
      return a instanceof Uint8Array;
    case 'uint16':
      return a instanceof Uint16Array;
    case 'int16':
      return a instanceof Int16Array;
    case 'float32':
      return a instanceof Float32Array;
  }
}

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** GDAL_METADATA XML: dataset items, then per band its DESCRIPTION and, if given, SCALE and OFFSET. */
function gdalMetadataXml(metadata: Record<string, string> | undefined, descriptions: string[] | undefined, bandCount: number, scaleOffset: { scale: number; offset: number } | undefined): string | null {
  const items: string[] = [];
  for (const [k, v] of Object.entries(metadata ?? {})) items.push(`  <Item name="${xmlEscape(k)}">${xmlEscape(v)}</Item>`);
  for (let i = 0; i < bandCount; i++) {
    const d = descriptions?.[i];
    if (d) items.push(`  <Item name="DESCRIPTION" sample="${i}" role="description">${xmlEscape(d)}</Item>`);
    if (scaleOffset) {
      items.push(`  <Item name="SCALE" sample="${i}" role="scale">${scaleOffset.scale}</Item>`);
      items.push(`  <Item name="OFFSET" sample="${i}" role="offset">${scaleOffset.offset}</Item>`);
    }
  }
  return items.length ? `<GDALMetadata>\n${items.join('\n')}\n</GDALMetadata>` : null;
}

/** GDAL writes NoData as text; NaN is spelled "nan". */
const nodataText = (v: number): string => (Number.isNaN(v) ? 'nan' : String(v));

// Geographic EPSG codes we may meet without a proj4 definition (then `isGeographic` cannot tell).
const KNOWN_GEOGRAPHIC = new Set([4326, 4490, 4258, 4269, 4283, 4167, 4612, 6318, 4674, 4610, 4214]);

function modelTypeOf(crs: Crs): 1 | 2 {
  if (crs.proj4) return isGeographic(crs) ? 2 : 1;
  return KNOWN_GEOGRAPHIC.has(crs.epsg ?? -1) ? 2 : 1;
}

interface Tag {
  id: number;
  type: number;
  values: number[] | string;
}

/** Encodes the IFD (with out-of-line values following it) for a file position `at` (even). */
function encodeIfd(tags: Tag[], at: number): Buffer {
  tags.sort((a, b) => a.id - b.id);
  const n = tags.length;
  const ifdSize = 2 + n * 12 + 4;
  const chunks: Buffer[] = [];
  let extraLen = 0;
  const entries = Buffer.alloc(ifdSize);
  entries.writeUInt16LE(n, 0);
  tags.forEach((tag, i) => {
    let payload: Buffer;
    let count: number;
    if (typeof tag.values === 'string') {
      payload = Buffer.from(tag.values + '\0', 'utf8');
      count = payload.length;
    } else {
      count = tag.values.length;
      const size = tag.type === TYPE_SHORT ? 2 : tag.type === TYPE_LONG ? 4 : 8;
      payload = Buffer.alloc(count * size);
      tag.values.forEach((v, k) => {
        if (tag.type === TYPE_SHORT) payload.writeUInt16LE(v, k * 2);
        else if (tag.type === TYPE_LONG) payload.writeUInt32LE(v, k * 4);
        else payload.writeDoubleLE(v, k * 8);
      });
    }
    const e = 2 + i * 12;
    entries.writeUInt16LE(tag.id, e);
    entries.writeUInt16LE(tag.type, e + 2);
    entries.writeUInt32LE(count, e + 4);
    if (payload.length <= 4) {
      payload.copy(entries, e + 8);
    } else {
      const off = at + ifdSize + extraLen;
      if (off > MAX_CLASSIC) throw new OutputError('OUTPUT_FAILED', 'GeoTIFF would exceed 4 GiB (classic TIFF limit)', {});
      entries.writeUInt32LE(off, e + 8);
      // Word-align every out-of-line value, as TIFF 6.0 asks.
      const padded = payload.length % 2 ? Buffer.concat([payload, Buffer.alloc(1)]) : payload;
      chunks.push(padded);
      extraLen += padded.length;
    }
  });
  entries.writeUInt32LE(0, ifdSize - 4); // no next IFD
  return Buffer.concat([entries, ...chunks]);
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer: ${name} must be an integer ≥ ${min}, got ${v}`, { field: name });
}

/**
 * Opens `path + '.partial'` for writing and returns a streaming tiled GeoTIFF writer. The final
 * file appears at `path` only after a successful {@link GeoTiffWriter.close}, so a crash never
 * leaves a half-written file under the real name.
 */
export async function createGeoTiffWriter(path: string, opts: GeoTiffWriterOptions): Promise<GeoTiffWriter> {
  const { width, height, bandCount, dtype, transform: t, crs } = opts;
  const tileSize = opts.tileSize ?? 256;
  checkInt('width', width, 1);
  checkInt('height', height, 1);
  checkInt('bandCount', bandCount, 1);
  checkInt('tileSize', tileSize, 16);
  if (tileSize % 16 !== 0)
    throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer: tileSize must be a multiple of 16, got ${tileSize}`, { field: 'tileSize' });
  const info = DTYPE_INFO[dtype];
  if (!info) throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer: unsupported dtype ${String(dtype)}`, { field: 'dtype' });
  if (crs.epsg === null)
    throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer: CRS ${crs.name} has no EPSG code; GeoKeys need one`, { crs: crs.name });
  if (t[2] !== 0 || t[4] !== 0 || !(t[1] > 0) || !(t[5] < 0))
    throw new OutputError('OUTPUT_FAILED', 'GeoTIFF writer: only north-up transforms (no rotation, positive x step, negative y step) are supported', {
      transform: [...t],
    });
  if (opts.bandDescriptions && opts.bandDescriptions.length !== bandCount)
    throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer: ${opts.bandDescriptions.length} band descriptions for ${bandCount} bands`, {
      field: 'bandDescriptions',
    });

  const tilesAcross = Math.ceil(width / tileSize);
  const tilesDown = Math.ceil(height / tileSize);
  const nTiles = tilesAcross * tilesDown;
  const offsets = new Float64Array(nTiles); // Float64: we check the 4 GiB limit ourselves.
  const counts = new Uint32Array(nTiles);
  const state = new Uint8Array(nTiles); // 0 = not written, 1 = in progress, 2 = written
  const tilePixels = tileSize * tileSize;
  const usePredictor = info.format !== 3;
  const nodataFill = opts.nodata === null || opts.nodata === undefined || Number.isNaN(opts.nodata) ? 0 : opts.nodata;

  const partial = `${path}.partial`;
  let fh: FileHandle | null = await open(partial, 'w');
  // Header: "II", 42, offset of the first IFD (patched on close).
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  header.writeUInt32LE(0, 4);
  await fh.write(header, 0, 8, 0);
  let end = 8;
  const pending = new Set<Promise<void>>();
  let failed: unknown = null;
  let finished = false;

  const fail = (msg: string, ctx: Record<string, unknown>): never => {
    throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): ${msg}`, { file: path, ...ctx });
  };

  /** Interleaves the bands into one tile buffer (little-endian = native on every platform Node runs on here). */
  function interleave(bands: ArrayLike<number>[]): Typed {
    const out = allocTyped(dtype, tilePixels * bandCount);
    for (let b = 0; b < bandCount; b++) {
      const src = bands[b];
      if (sameTyped(dtype, src) || dtype === 'float32') {
        for (let p = 0, o = b; p < tilePixels; p++, o += bandCount) out[o] = src[p];
      } else {
        for (let p = 0, o = b; p < tilePixels; p++, o += bandCount) {
          const v = src[p];
          out[o] = Number.isNaN(v) ? nodataFill : v <= info.min ? info.min : v >= info.max ? info.max : Math.round(v);
        }
      }
    }
    if (usePredictor) {
      // Horizontal differencing per row and per sample, right to left so each difference uses the
      // original left neighbour; integer wrap-around is what the decoder expects.
      const rowLen = tileSize * bandCount;
      for (let r = 0; r < tileSize; r++) {
        const base = r * rowLen;
        for (let i = rowLen - 1; i >= bandCount; i--) out[base + i] = out[base + i] - out[base + i - bandCount];
      }
    }
    return out;
  }

  // File positions are handed out in call order (not in the order compression finishes), so the
  // same sequence of writeTile calls always yields the same bytes; compression still overlaps.
  let order: Promise<unknown> = Promise.resolve();
  function doWrite(idx: number, bands: ArrayLike<number>[]): Promise<void> {
    const raw = interleave(bands);
    const compressed = deflate(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), { level: 6 });
    const done = order.then(async () => {
      const z = await compressed;
      if (!fh) fail('writer was closed or aborted while a tile was being written', { tile: String(idx) });
      const pos = end;
      end += z.length;
      if (end > MAX_CLASSIC) fail('file would exceed 4 GiB (classic TIFF limit); use smaller scenes or tiles', {});
      await fh!.write(z, 0, z.length, pos);
      offsets[idx] = pos;
      counts[idx] = z.length;
      state[idx] = 2;
    });
    order = done.catch(() => undefined);
    return done;
  }

  async function abort(): Promise<void> {
    finished = true;
    await Promise.allSettled([...pending]);
    const h = fh;
    fh = null;
    if (h) await h.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
  }

  async function finish(): Promise<void> {
    while (pending.size) await Promise.all([...pending]);
    if (failed) throw failed;
    const missing: string[] = [];
    for (let i = 0; i < nTiles && missing.length < 5; i++) if (state[i] !== 2) missing.push(`${i % tilesAcross},${Math.floor(i / tilesAcross)}`);
    if (missing.length)
      fail(`tiles never written (col,row): ${missing.join(' ')}${missing.length === 5 ? ' …' : ''}`, { tile: missing[0] });

    const modelType = modelTypeOf(crs);
    // GeoKeyDirectory: version 1.1.0, then (key, location 0 = inline, count 1, value), sorted by key.
    const keys: [number, number][] = [
      [1024, modelType], // GTModelTypeGeoKey
      [1025, 1], // GTRasterTypeGeoKey: RasterPixelIsArea
      modelType === 2 ? [2048, crs.epsg!] : [3072, crs.epsg!], // GeographicTypeGeoKey / ProjectedCSTypeGeoKey
    ];
    const geoKeys = [1, 1, 0, keys.length];
    for (const [k, v] of keys) geoKeys.push(k, 0, 1, v);

    const tags: Tag[] = [
      { id: 256, type: TYPE_LONG, values: [width] },
      { id: 257, type: TYPE_LONG, values: [height] },
      { id: 258, type: TYPE_SHORT, values: new Array(bandCount).fill(info.bits) },
      { id: 259, type: TYPE_SHORT, values: [8] }, // Adobe Deflate
      { id: 262, type: TYPE_SHORT, values: [1] }, // MinIsBlack
      { id: 277, type: TYPE_SHORT, values: [bandCount] },
      { id: 284, type: TYPE_SHORT, values: [1] }, // chunky (pixel-interleaved)
      { id: 322, type: TYPE_LONG, values: [tileSize] },
      { id: 323, type: TYPE_LONG, values: [tileSize] },
      { id: 324, type: TYPE_LONG, values: Array.from(offsets) },
      { id: 325, type: TYPE_LONG, values: Array.from(counts) },
      { id: 339, type: TYPE_SHORT, values: new Array(bandCount).fill(info.format) },
      { id: 33550, type: TYPE_DOUBLE, values: [t[1], -t[5], 0] }, // ModelPixelScale
      { id: 33922, type: TYPE_DOUBLE, values: [0, 0, 0, t[0], t[3], 0] }, // ModelTiepoint
      { id: 34735, type: TYPE_SHORT, values: geoKeys },
    ];
    if (usePredictor) tags.push({ id: 317, type: TYPE_SHORT, values: [2] });
    if (bandCount > 1) tags.push({ id: 338, type: TYPE_SHORT, values: new Array(bandCount - 1).fill(0) });
    const xml = gdalMetadataXml(opts.metadata, opts.bandDescriptions, bandCount, opts.scaleOffset);
    if (xml) tags.push({ id: 42112, type: TYPE_ASCII, values: xml });
    if (opts.nodata !== null && opts.nodata !== undefined) tags.push({ id: 42113, type: TYPE_ASCII, values: nodataText(opts.nodata) });

    const ifdAt = end + (end % 2);
    const ifd = encodeIfd(tags, ifdAt);
    if (ifdAt + ifd.length > MAX_CLASSIC) fail('file would exceed 4 GiB (classic TIFF limit)', {});
    await fh!.write(ifd, 0, ifd.length, ifdAt);
    const ptr = Buffer.alloc(4);
    ptr.writeUInt32LE(ifdAt, 0);
    await fh!.write(ptr, 0, 4, 4);
    const h = fh!;
    fh = null;
    await h.close();
    await rename(partial, path);
  }

  return {
    tilesAcross,
    tilesDown,
    tileSize,
    writeTile(tileCol, tileRow, bands) {
      if (finished || !fh) return Promise.reject(new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): already closed`, { file: path }));
      if (!Number.isInteger(tileCol) || !Number.isInteger(tileRow) || tileCol < 0 || tileRow < 0 || tileCol >= tilesAcross || tileRow >= tilesDown)
        return Promise.reject(
          new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): tile ${tileCol},${tileRow} outside ${tilesAcross}×${tilesDown}`, {
            file: path,
            tile: `${tileCol},${tileRow}`,
          }),
        );
      if (bands.length !== bandCount || bands.some((b) => !b || b.length < tilePixels))
        return Promise.reject(
          new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): tile ${tileCol},${tileRow} needs ${bandCount} bands of ${tilePixels} values`, {
            file: path,
            tile: `${tileCol},${tileRow}`,
          }),
        );
      const idx = tileRow * tilesAcross + tileCol;
      if (state[idx] !== 0)
        return Promise.reject(
          new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): tile ${tileCol},${tileRow} written twice`, { file: path, tile: `${tileCol},${tileRow}` }),
        );
      state[idx] = 1;
      const p = doWrite(idx, bands).catch((e: unknown) => {
        state[idx] = 0;
        failed ??= e;
        throw e;
      });
      const tracked = p.catch(() => undefined).finally(() => pending.delete(tracked));
      pending.add(tracked);
      return p;
    },
    async close() {
      if (finished) throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): already closed`, { file: path });
      finished = true;
      try {
        await finish();
      } catch (e) {
        await abort();
        if (e instanceof OutputError) throw e;
        throw new OutputError('OUTPUT_FAILED', `GeoTIFF writer (${path}): ${(e as Error).message}`, { file: path }, { cause: e, retryable: true });
      }
    },
    abort,
  };
}

/** Options of {@link writeGeoTiff}: those of the streaming writer that the grid does not give. */
export interface WriteGeoTiffOptions {
  dtype: GeoTiffDtype;
  tileSize?: number;
  nodata?: number | null;
  bandDescriptions?: string[];
  metadata?: Record<string, string>;
}

/**
 * Writes whole in-memory bands (`grid.width × grid.height` each, row-major) as a tiled GeoTIFF via
 * the streaming writer. For small rasters (masks, chips, test data); large scenes should stream.
 */
export async function writeGeoTiff(path: string, grid: Grid, bands: ArrayLike<number>[], opts: WriteGeoTiffOptions): Promise<void> {
  const n = grid.width * grid.height;
  if (!bands.length || bands.some((b) => b.length !== n))
    throw new OutputError('OUTPUT_FAILED', `writeGeoTiff (${path}): every band must hold ${grid.width}×${grid.height} values`, { file: path });
  const w = await createGeoTiffWriter(path, {
    width: grid.width,
    height: grid.height,
    bandCount: bands.length,
    dtype: opts.dtype,
    tileSize: opts.tileSize,
    transform: grid.transform,
    crs: grid.crs,
    nodata: opts.nodata,
    bandDescriptions: opts.bandDescriptions,
    metadata: opts.metadata,
  });
  const ts = w.tileSize;
  const fill = opts.nodata === null || opts.nodata === undefined ? 0 : opts.nodata;
  try {
    for (let tr = 0; tr < w.tilesDown; tr++)
      for (let tc = 0; tc < w.tilesAcross; tc++) {
        const tileBands = bands.map((src) => {
          const out = new Float64Array(ts * ts).fill(fill);
          const c0 = tc * ts;
          const r0 = tr * ts;
          const cw = Math.min(ts, grid.width - c0);
          const rh = Math.min(ts, grid.height - r0);
          for (let r = 0; r < rh; r++) {
            const s = (r0 + r) * grid.width + c0;
            for (let c = 0; c < cw; c++) out[r * ts + c] = src[s + c];
          }
          return out;
        });
        await w.writeTile(tc, tr, tileBands);
      }
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}
