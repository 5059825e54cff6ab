/**
 * Opening a GeoTIFF scene: structure validation, georeferencing, band naming, scaling, and the
 * block reader (decode, cache, assemble windows) that every read goes through.
 */
import { open, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Grid, Window } from '../types.js';
import { AppError, ImageryError } from '../errors.js';
import {
  Tag,
  hasTag,
  parseTiff,
  readExact,
  tagAscii,
  tagBytes,
  tagNumber,
  tagNumbers,
  type ByteSource,
  type Ifd,
  type TiffFile,
} from './tiff.js';
import {
  SUPPORTED_COMPRESSIONS,
  compressionName,
  halfToFloat,
  makeBlockDecoder,
  type BlockDecoder,
  type DecoderParams,
} from './decoders.js';
import {
  NO_CRS,
  bandNameFromDescription,
  crsFromGeoKeys,
  dateFromFileName,
  geoTransformFromTags,
  isPixelIsPoint,
  isoDate,
  parseGdalMetadata,
  parseGeoKeys,
  parseNodata,
} from './metadata.js';

/** Sample data type of a scene, as stored (NBITS data uses the smallest container, like GDAL). */
export type SampleType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float16' | 'float32' | 'float64';

/** Raw (unscaled) sample arrays. Float16 data is widened to Float32Array. */
export type RawArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/**
 * Options for opening a scene (the validated shape of `SceneOptionsSchema` in config/imagery.ts,
 * plus programmatic tuning).
 */
export interface SceneOptions {
  /** Band names → 1-based band numbers, e.g. `{ blue: 1, green: 2, red: 3, nir: 4 }`. */
  readonly bands?: Readonly<Record<string, number>>;
  /** Multiplier from raw value to reflectance; with `offset`, replaces the file's and the dtype default. */
  readonly scale?: number;
  /** Added after scaling (reflectance units). */
  readonly offset?: number;
  /** NoData raw value overriding the GDAL_NODATA tag; `null` ignores the tag. */
  readonly nodata?: number | null;
  /** Acquisition date (YYYY-MM-DD) overriding what the file says. */
  readonly date?: string;
  /** Byte budget of the decoded-block cache of this scene (default 48 MiB). */
  readonly cacheBytes?: number;
}

/** One band of a scene. */
export interface SceneBand {
  /** Name used in reads: from the mapping, else the file's band description, else `b<n>`. */
  readonly name: string;
  /** 0-based sample index in the file. */
  readonly index: number;
  /** The file's band description (GDAL_METADATA role="description"), or null. */
  readonly description: string | null;
  /** Multiplier raw → reflectance for this band. */
  readonly scale: number;
  /** Offset added after scaling for this band (reflectance units). */
  readonly offset: number;
}

/** Plain-data description of an opened scene. */
export interface SceneInfo {
  readonly uri: string;
  /** Pixel grid; identity transform and CRS named 'none' when not georeferenced. */
  readonly grid: Grid;
  /** False for GCP-only or ungeoreferenced files. */
  readonly georeferenced: boolean;
  /** Ground control points in the file (they are not used for georeferencing). */
  readonly gcpCount: number;
  readonly bands: readonly SceneBand[];
  readonly dtype: SampleType;
  /** Bits per stored sample (e.g. 12 for NBITS=12 data in a uint16 container). */
  readonly bitsPerSample: number;
  /** Raw NoData value in effect (NaN for "nan"), or null. */
  readonly nodata: number | null;
  /** Scale of the first band (all bands unless the file declares per-band SCALE). */
  readonly scale: number;
  /** Offset of the first band. */
  readonly offset: number;
  /** Where scale/offset came from. */
  readonly scaleSource: 'options' | 'file' | 'default';
  /** Acquisition date, ISO YYYY-MM-DD, or null when unknown. */
  readonly acquired: string | null;
  /** Where `acquired` came from. */
  readonly acquiredSource: 'options' | 'metadata' | 'filename' | 'tiff-datetime' | null;
  /** File size in bytes. */
  readonly sizeBytes: number;
  /** Compression name, e.g. "DEFLATE". */
  readonly compression: string;
  readonly layout: {
    readonly tiled: boolean;
    readonly blockWidth: number;
    readonly blockHeight: number;
    readonly interleave: 'pixel' | 'band';
    readonly bigTiff: boolean;
    /** Reduced-resolution images (overviews) in the file; reads always use full resolution. */
    readonly overviews: number;
  };
  /**
   * 0-based sample index of an alpha band (ExtraSamples), whose 0 marks invalid pixels; null when
   * there is none or when the band mapping or the band's description names it (RGBN files often
   * mislabel NIR as alpha).
   */
  readonly alphaBand: number | null;
  /** True when the file has an internal (per-dataset) transparency mask, used for validity. */
  readonly internalMask: boolean;
}

/** An opened scene: plain info plus a private file handle (use `closeScene` when done). */
export interface Scene {
  readonly info: SceneInfo;
}

/** Unscaled samples of a window; pixels outside the image are 0. */
export interface RawBlock {
  readonly window: Window;
  readonly bandNames: readonly string[];
  readonly data: readonly RawArray[];
}

// ---------------------------------------------------------------------------------------------
// Internals

/** Layout and decoder of one raster IFD (the image or its mask). */
interface Raster {
  readonly what: string;
  readonly width: number;
  readonly height: number;
  readonly spp: number;
  readonly bits: number;
  readonly format: 1 | 2 | 3;
  readonly dtype: SampleType;
  readonly planar: 1 | 2;
  readonly tiled: boolean;
  readonly bw: number;
  readonly bh: number;
  readonly across: number;
  readonly down: number;
  readonly offsets: Float64Array;
  readonly counts: Float64Array;
  readonly compression: number;
  readonly decodedLE: boolean;
  readonly params: DecoderParams;
  readonly fill: number;
  decoder: Promise<BlockDecoder> | null;
}

interface Internals {
  readonly path: string;
  readonly fh: ByteSource;
  readonly size: number;
  readonly image: Raster;
  readonly mask: Raster | null;
  readonly cache: BlockCache;
  readonly lookup: ReadonlyMap<string, number>;
  closed: boolean;
}

const internals = new WeakMap<Scene, Internals>();
/** Safety net: closes the file of a scene that was dropped without closeScene. */
const finalizer = new FinalizationRegistry<ByteSource>((fh) => void fh.close().catch(() => undefined));

/**
 * @internal The private state of a scene.
 * @throws ImageryError CONFIG_INVALID when the object is not an open scene from openScene.
 */
export function sceneInternals(scene: Scene): Internals {
  const s = internals.get(scene);
  if (!s) throw new ImageryError('CONFIG_INVALID', 'not a scene returned by openScene', {});
  if (s.closed) throw new ImageryError('CONFIG_INVALID', `${s.path}: the scene was closed (closeScene) before this read`, { file: s.path });
  return s;
}

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** LRU cache of decoded blocks, bounded in bytes. */
class BlockCache {
  private readonly map = new Map<string, Promise<RawArray>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  constructor(private readonly budget: number) {}
  get(key: string): Promise<RawArray> | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, p: Promise<RawArray>, bytes: number): void {
    if (bytes > this.budget) return;
    this.map.set(key, p);
    this.sizes.set(key, bytes);
    this.bytes += bytes;
    for (const k of this.map.keys()) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      this.bytes -= this.sizes.get(k) ?? 0;
      this.sizes.delete(k);
    }
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  delete(key: string): void {
    if (this.map.delete(key)) {
      this.bytes -= this.sizes.get(key) ?? 0;
      this.sizes.delete(key);
    }
  }
}

function sampleType(format: number, bits: number): SampleType | null {
  if (format === 1) return bits <= 8 ? 'uint8' : bits <= 16 ? 'uint16' : bits <= 32 ? 'uint32' : null;
  if (format === 2) return bits <= 8 ? 'int8' : bits <= 16 ? 'int16' : bits <= 32 ? 'int32' : null;
  if (format === 3) return bits === 16 ? 'float16' : bits === 32 ? 'float32' : bits === 64 ? 'float64' : null;
  return null;
}

function allocRaw(dtype: SampleType, n: number): RawArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'float16':
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
  }
}

const SAMPLE_FORMAT_NAMES: Record<number, string> = { 1: 'unsigned integer', 2: 'signed integer', 3: 'IEEE float', 4: 'undefined', 5: 'complex integer', 6: 'complex float' };
const PHOTOMETRIC_UNSUPPORTED: Record<number, string> = { 32844: 'LogL', 32845: 'LogLuv', 9: 'ICC Lab', 10: 'ITU Lab' };

/** Reads and validates the layout of one raster IFD. */
async function rasterFromIfd(t: TiffFile, ifd: Ifd, what: string, nodataFill: number): Promise<Raster> {
  const path = t.path;
  const unsupported = (problem: string) => new ImageryError('UNSUPPORTED_FORMAT', `${path}: ${problem}`, { file: path });
  const bad = (problem: string) => new ImageryError('CORRUPT_FILE', `${path}: ${problem}`, { file: path });
  const width = await tagNumber(t, ifd, Tag.ImageWidth, 0);
  const height = await tagNumber(t, ifd, Tag.ImageLength, 0);
  if (!(width > 0 && height > 0)) throw bad(`${what} has no valid size (${width}×${height})`);
  const spp = await tagNumber(t, ifd, Tag.SamplesPerPixel, 1);
  if (!(spp >= 1 && spp <= 65535)) throw bad(`${what} declares ${spp} samples per pixel`);
  const bitsArr = (await tagNumbers(t, ifd, Tag.BitsPerSample, 'BitsPerSample')) ?? [1];
  const fmtArr = (await tagNumbers(t, ifd, Tag.SampleFormat, 'SampleFormat')) ?? [1];
  const bits = bitsArr[0];
  const format0 = fmtArr[0] === 4 ? 1 : fmtArr[0];
  if (bitsArr.some((b) => b !== bits)) throw unsupported(`bands of different bit depths (${bitsArr.join(', ')} bits) are not supported`);
  if (fmtArr.some((f) => (f === 4 ? 1 : f) !== format0)) throw unsupported(`bands of different sample formats (${fmtArr.join(', ')}) are not supported`);
  if (format0 === 5 || format0 === 6) throw unsupported(`sample format ${format0} (${SAMPLE_FORMAT_NAMES[format0]}) is not supported`);
  if (format0 !== 1 && format0 !== 2 && format0 !== 3) throw unsupported(`unknown sample format ${format0}`);
  const format = format0 as 1 | 2 | 3;
  const dtype = sampleType(format, bits);
  if (!dtype || bits < 1) throw unsupported(`${bits}-bit ${SAMPLE_FORMAT_NAMES[format]} samples are not supported`);
  if (bits === 24 || (format === 3 && ![16, 32, 64].includes(bits))) throw unsupported(`${bits}-bit ${SAMPLE_FORMAT_NAMES[format]} samples are not supported`);
  const compression = await tagNumber(t, ifd, Tag.Compression, 1);
  if (!SUPPORTED_COMPRESSIONS.has(compression)) throw unsupported(`compression ${compressionName(compression)} is not supported`);
  const photometric = await tagNumber(t, ifd, Tag.Photometric, spp >= 3 ? 2 : 1);
  if (PHOTOMETRIC_UNSUPPORTED[photometric]) throw unsupported(`photometric interpretation ${PHOTOMETRIC_UNSUPPORTED[photometric]} (${photometric}) is not supported`);
  if (photometric === 6 && compression !== 7) throw unsupported(`YCbCr colour without JPEG compression (${compressionName(compression)}) is not supported`);
  if ((compression === 7 || compression === 50001) && bits !== 8) throw unsupported(`${bits}-bit ${compressionName(compression)} is not supported (8-bit only)`);
  const fillOrder = await tagNumber(t, ifd, Tag.FillOrder, 1);
  if (fillOrder === 2) throw unsupported('FillOrder 2 (least-significant bit first) is not supported');
  const predictor = await tagNumber(t, ifd, Tag.Predictor, 1);
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) throw unsupported(`predictor ${predictor} is not supported`);
  if (predictor !== 1 && bits % 8 !== 0) throw unsupported(`predictor ${predictor} with ${bits}-bit samples is not supported`);
  if (predictor === 2 && !t.littleEndian && bits > 8) throw unsupported(`horizontal predictor with ${bits}-bit samples in a big-endian file is not supported`);
  const planarTag = await tagNumber(t, ifd, Tag.PlanarConfiguration, 1);
  const planar: 1 | 2 = spp === 1 ? 1 : planarTag === 2 ? 2 : 1;
  if ((compression === 7 || compression === 50001) && ![1, 3, 4].includes(planar === 2 ? 1 : spp)) {
    throw unsupported(`${compressionName(compression)} with ${spp} samples per pixel is not supported (1, 3 or 4)`);
  }

  const tiled = hasTag(ifd, Tag.TileWidth) || hasTag(ifd, Tag.TileOffsets);
  let bw: number;
  let bh: number;
  let offsets: number[] | null;
  let counts: number[] | null;
  if (tiled) {
    bw = await tagNumber(t, ifd, Tag.TileWidth, 0);
    bh = await tagNumber(t, ifd, Tag.TileLength, 0);
    if (!(bw > 0 && bh > 0)) throw bad(`${what} has an invalid tile size ${bw}×${bh}`);
    offsets = await tagNumbers(t, ifd, Tag.TileOffsets, 'TileOffsets');
    counts = await tagNumbers(t, ifd, Tag.TileByteCounts, 'TileByteCounts');
  } else {
    bw = width;
    const rps = await tagNumber(t, ifd, Tag.RowsPerStrip, height);
    bh = Math.max(1, Math.min(rps, height));
    offsets = await tagNumbers(t, ifd, Tag.StripOffsets, 'StripOffsets');
    counts = await tagNumbers(t, ifd, Tag.StripByteCounts, 'StripByteCounts');
  }
  const across = Math.ceil(width / bw);
  const down = Math.ceil(height / bh);
  const nBlocks = across * down * (planar === 2 ? spp : 1);
  const kind = tiled ? 'tile' : 'strip';
  if (!offsets || offsets.length < nBlocks) throw bad(`${what} lists ${offsets?.length ?? 0} ${kind} offsets, ${nBlocks} expected`);
  const rowBytes = (w: number) => Math.ceil((w * bits * (planar === 2 ? 1 : spp)) / 8);
  if (!counts) {
    if (compression !== 1 || tiled) throw bad(`${what} has no ${kind} byte counts`);
    counts = offsets.map((_, i) => rowBytes(bw) * Math.min(bh, height - (i % down) * bh));
  }
  if (counts.length < nBlocks) throw bad(`${what} lists ${counts.length} ${kind} byte counts, ${nBlocks} expected`);
  for (let i = 0; i < nBlocks; i++) {
    const o = offsets[i];
    const c = counts[i];
    if (c === 0) continue; // sparse block: reads as NoData
    if (!(o >= 0 && c > 0 && o + c <= t.size)) {
      const plane = Math.floor(i / (across * down));
      const j = i % (across * down);
      throw bad(
        `${tiled ? `tile ${j % across},${Math.floor(j / across)}` : `strip ${Math.floor(j / across)}`}${planar === 2 ? ` of band ${plane + 1}` : ''} of the ${what} lies at bytes ${o}–${o + c}, past the end of the file (${t.size} bytes): the file is truncated or corrupt`,
      );
    }
  }
  const params: DecoderParams = {
    tileWidth: bw,
    tileHeight: bh,
    predictor,
    bitsPerSample: bitsArr.length === spp ? bitsArr : new Array<number>(spp).fill(bits),
    planarConfiguration: planar,
    samplesPerPixel: spp,
  };
  if (compression === 7) params.JPEGTables = (await tagBytes(t, ifd, Tag.JPEGTables, 'JPEGTables')) ?? undefined;
  if (compression === 34887) params.LercParameters = (await tagNumbers(t, ifd, Tag.LercParameters, 'LercParameters')) ?? undefined;
  return {
    what,
    width,
    height,
    spp,
    bits,
    format,
    dtype,
    planar,
    tiled,
    bw,
    bh,
    across,
    down,
    offsets: Float64Array.from(offsets.slice(0, nBlocks)),
    counts: Float64Array.from(counts.slice(0, nBlocks)),
    compression,
    // Predictor 3, LERC and sharp outputs are in host (little-endian) order whatever the file's.
    decodedLE: t.littleEndian || predictor === 3 || compression === 34887 || bits === 8,
    params,
    fill: nodataFill,
    decoder: null,
  };
}

function resolvePath(uri: string): string {
  if (uri.startsWith('file:')) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new ImageryError('UNSUPPORTED_FORMAT', `${uri}: only local files and s3:// objects are supported (got a ${uri.split(':')[0]} URI)`, { file: uri });
  }
  return uri;
}

/**
 * Opens a GeoTIFF and validates its structure: every block's offset and size is checked against
 * the file size up front, so a truncated file fails here rather than during reads.
 * @param uri local path, file: URL or s3:// URI (ranged reads)
 * @param opts band mapping, scale/offset, NoData and date overrides
 * @returns the scene; call `closeScene` when done with it
 * @throws ImageryError FILE_NOT_FOUND (missing/unreadable), UNSUPPORTED_FORMAT (not a TIFF,
 *   unsupported compression/sample format/photometric), CORRUPT_FILE (truncated or malformed),
 *   MISSING_BAND (mapping names a band beyond the file's band count), CONFIG_INVALID (the date
 *   option is not YYYY-MM-DD).
 */
export async function openScene(uri: string, opts: SceneOptions = {}): Promise<Scene> {
  // Objects on S3 are read with ranged GETs (storage/), loaded only when such a URI is used.
  if (uri.startsWith('s3://')) {
    const { openRangeSource } = await import('../../storage/index.js');
    const { size, source } = await openRangeSource(uri).catch((e: unknown) => {
      const code = e instanceof AppError ? e.code : 'FILE_NOT_FOUND';
      throw new ImageryError(code, `${uri}: cannot open the image object: ${(e as Error).message}`, { file: uri }, { cause: e, retryable: e instanceof AppError && e.retryable });
    });
    try {
      return await describe(source, uri, uri, size, opts);
    } catch (e) {
      await source.close().catch(() => undefined);
      if (e instanceof AppError) throw e;
      throw new ImageryError('CORRUPT_FILE', `${uri}: cannot read the TIFF structure: ${(e as Error).message}`, { file: uri }, { cause: e });
    }
  }
  const path = resolvePath(uri);
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new ImageryError('FILE_NOT_FOUND', `${path} is a directory, not an image file`, { file: path });
    size = st.size;
  } catch (e) {
    if (e instanceof ImageryError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageryError('FILE_NOT_FOUND', `${path}: image file not found${code && code !== 'ENOENT' ? ` (${code})` : ''}`, { file: path }, { cause: e });
  }
  let fh: ByteSource;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ImageryError('FILE_NOT_FOUND', `${path}: cannot open the image file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file: path }, { cause: e });
  }
  try {
    const scene = await describe(fh, path, uri, size, opts);
    return scene;
  } catch (e) {
    await fh.close().catch(() => undefined);
    if (e instanceof AppError) throw e;
    throw new ImageryError('CORRUPT_FILE', `${path}: cannot read the TIFF structure: ${(e as Error).message}`, { file: path }, { cause: e });
  }
}

async function describe(fh: ByteSource, path: string, uri: string, size: number, opts: SceneOptions): Promise<Scene> {
  const t = await parseTiff(fh, path, size);
  const ifd0 = t.ifds[0];

  const gdalMeta = parseGdalMetadata(await tagAscii(t, ifd0, Tag.GdalMetadata, 'GDAL_METADATA'));
  const fileNodata = parseNodata(await tagAscii(t, ifd0, Tag.GdalNodata, 'GDAL_NODATA'));
  const nodata = opts.nodata === undefined ? fileNodata : opts.nodata;
  // Sparse (empty) blocks read as NoData (NaN included), else 0, as in GDAL.
  const fill = nodata ?? 0;
  const image = await rasterFromIfd(t, ifd0, 'image', fill);

  // Internal mask: a later IFD flagged as transparency mask (NewSubfileType bit 2), same size.
  let mask: Raster | null = null;
  let overviews = 0;
  for (let i = 1; i < t.ifds.length; i++) {
    const sub = await tagNumber(t, t.ifds[i], Tag.NewSubfileType, 0);
    if (sub & 1 && !(sub & 4)) overviews++;
    if (mask === null && sub & 4 && !(sub & 1)) {
      const w = await tagNumber(t, t.ifds[i], Tag.ImageWidth, 0);
      const h = await tagNumber(t, t.ifds[i], Tag.ImageLength, 0);
      if (w === image.width && h === image.height) mask = await rasterFromIfd(t, t.ifds[i], 'internal mask', 0);
    }
  }

  // Georeferencing.
  const keys = parseGeoKeys(
    await tagNumbers(t, ifd0, Tag.GeoKeyDirectory, 'GeoKeyDirectory'),
    await tagNumbers(t, ifd0, Tag.GeoDoubleParams, 'GeoDoubleParams'),
    await tagAscii(t, ifd0, Tag.GeoAsciiParams, 'GeoAsciiParams'),
  );
  const geo = geoTransformFromTags(
    await tagNumbers(t, ifd0, Tag.ModelPixelScale, 'ModelPixelScale'),
    await tagNumbers(t, ifd0, Tag.ModelTiepoint, 'ModelTiepoint'),
    await tagNumbers(t, ifd0, Tag.ModelTransformation, 'ModelTransformation'),
    isPixelIsPoint(keys),
  );
  const crs = geo.georeferenced
    ? (crsFromGeoKeys(keys) ?? { epsg: null, proj4: null, name: 'custom (no GeoKeys: coordinate system unknown)' })
    : NO_CRS;
  const grid: Grid = { width: image.width, height: image.height, transform: geo.transform, crs };

  // Alpha band from ExtraSamples (1 = associated, 2 = unassociated alpha).
  const extra = (await tagNumbers(t, ifd0, Tag.ExtraSamples, 'ExtraSamples')) ?? [];
  let alphaBand: number | null = null;
  extra.forEach((v, i) => {
    if ((v === 1 || v === 2) && alphaBand === null) alphaBand = image.spp - extra.length + i;
  });

  // Band names.
  const n = image.spp;
  const descriptions: (string | null)[] = new Array<string | null>(n).fill(null);
  const fileScale: (number | null)[] = new Array<number | null>(n).fill(null);
  const fileOffset: (number | null)[] = new Array<number | null>(n).fill(null);
  for (const it of gdalMeta) {
    if (it.sample === null || it.sample < 0 || it.sample >= n || it.domain) continue;
    const role = (it.role ?? '').toLowerCase();
    if (role === 'description' || (!it.role && it.name.toUpperCase() === 'DESCRIPTION')) descriptions[it.sample] = it.value || null;
    if (role === 'scale' && Number.isFinite(Number(it.value))) fileScale[it.sample] = Number(it.value);
    if (role === 'offset' && Number.isFinite(Number(it.value))) fileOffset[it.sample] = Number(it.value);
  }
  const names: string[] = new Array<string>(n);
  const lookup = new Map<string, number>();
  const mapped = new Set<number>();
  if (opts.bands) {
    for (const [rawName, num] of Object.entries(opts.bands)) {
      const name = rawName.trim().toLowerCase();
      if (!Number.isInteger(num) || num < 1 || num > n) {
        throw new ImageryError(
          'MISSING_BAND',
          `${path}: band mapping ${rawName}=${num} refers to band ${num}, but the file has ${n} band${n === 1 ? '' : 's'}`,
          { file: path, band: rawName, bandCount: n },
        );
      }
      lookup.set(name, num - 1);
      if (names[num - 1] === undefined) names[num - 1] = name;
      mapped.add(num - 1);
    }
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (mapped.has(i)) continue;
    const d = descriptions[i] ? bandNameFromDescription(descriptions[i] as string) : null;
    if (d && !lookup.has(d)) seen.set(d, (seen.get(d) ?? 0) + 1);
  }
  for (let i = 0; i < n; i++) {
    if (mapped.has(i)) continue;
    const d = descriptions[i] ? bandNameFromDescription(descriptions[i] as string) : null;
    // Descriptions that are missing, duplicated or taken by the mapping fall back to b<n>.
    names[i] = d && !lookup.has(d) && seen.get(d) === 1 ? d : `b${i + 1}`;
    if (!lookup.has(names[i])) lookup.set(names[i], i);
  }
  for (let i = 0; i < n; i++) if (!lookup.has(`b${i + 1}`)) lookup.set(`b${i + 1}`, i);
  // RGBN files written as RGB + "alpha" ExtraSample are common: a band the mapping or the band
  // description names (other than "alpha") is data, not a transparency mask.
  if (alphaBand !== null && (mapped.has(alphaBand) || (descriptions[alphaBand] && names[alphaBand] !== 'alpha'))) alphaBand = null;

  // Scale and offset: options (as a pair) > file per-band SCALE/OFFSET > dtype default.
  const dflt = image.dtype === 'uint8' ? 1 / 255 : image.dtype === 'uint16' || image.dtype === 'int16' ? 1 / 10000 : 1;
  const fromOpts = opts.scale !== undefined || opts.offset !== undefined;
  const fromFile = !fromOpts && (fileScale.some((v) => v !== null) || fileOffset.some((v) => v !== null));
  const bands = names.map((name, i) => ({
    name,
    index: i,
    description: descriptions[i],
    scale: fromOpts ? (opts.scale ?? dflt) : fromFile ? (fileScale[i] ?? 1) : dflt,
    offset: fromOpts ? (opts.offset ?? 0) : fromFile ? (fileOffset[i] ?? 0) : 0,
  }));

  // Acquisition date: options > GDAL metadata > file name > TIFF DateTime (often the processing time).
  let acquired: string | null = null;
  let acquiredSource: SceneInfo['acquiredSource'] = null;
  const datasetItem = (k: string) => gdalMeta.find((it) => it.sample === null && !it.domain && it.name.toUpperCase() === k)?.value;
  if (opts.date !== undefined) {
    acquired = isoDate(opts.date);
    if (!acquired) throw new ImageryError('CONFIG_INVALID', `${path}: the date option "${opts.date}" is not a YYYY-MM-DD date`, { file: path, field: 'date' });
    acquiredSource = 'options';
  }
  for (const k of ['ACQUISITION_DATE', 'ACQUISITIONDATE', 'DATE_ACQUIRED', 'DATE']) {
    if (acquired) break;
    acquired = isoDate(datasetItem(k));
    if (acquired) acquiredSource = 'metadata';
  }
  if (!acquired) {
    acquired = dateFromFileName(path);
    if (acquired) acquiredSource = 'filename';
  }
  if (!acquired) {
    acquired = isoDate(await tagAscii(t, ifd0, Tag.DateTime, 'DateTime'));
    if (acquired) acquiredSource = 'tiff-datetime';
  }

  const info: SceneInfo = {
    uri,
    grid,
    georeferenced: geo.georeferenced,
    gcpCount: geo.gcpCount,
    bands,
    dtype: image.dtype,
    bitsPerSample: image.bits,
    nodata,
    scale: bands[0].scale,
    offset: bands[0].offset,
    scaleSource: fromOpts ? 'options' : fromFile ? 'file' : 'default',
    acquired,
    acquiredSource,
    sizeBytes: size,
    compression: (compressionName(image.compression).replace(/ \(\d+\)$/, '')),
    layout: { tiled: image.tiled, blockWidth: image.bw, blockHeight: image.bh, interleave: image.planar === 2 ? 'band' : 'pixel', bigTiff: t.bigTiff, overviews },
    alphaBand,
    internalMask: mask !== null,
  };
  const scene: Scene = { info };
  finalizer.register(scene, fh, scene);
  internals.set(scene, {
    path,
    fh,
    size,
    image,
    mask,
    cache: new BlockCache(opts.cacheBytes ?? 48 * 1024 * 1024),
    lookup,
    closed: false,
  });
  return scene;
}

/**
 * Closes the scene's file handle. Further reads fail. Idempotent.
 * @throws never
 */
export async function closeScene(scene: Scene): Promise<void> {
  const s = internals.get(scene);
  if (!s || s.closed) return;
  s.closed = true;
  finalizer.unregister(scene);
  await s.fh.close().catch(() => undefined);
}

/**
 * 0-based sample indices of band names (mapping names, band names, or `b<n>`).
 * @throws ImageryError MISSING_BAND naming the unknown band and listing the available names.
 */
export function resolveBands(scene: Scene, bandNames: readonly string[]): number[] {
  const s = sceneInternals(scene);
  return bandNames.map((b) => {
    const i = s.lookup.get(b.trim().toLowerCase());
    if (i === undefined) {
      const avail = scene.info.bands.map((x) => x.name).join(', ');
      throw new ImageryError(
        'MISSING_BAND',
        `${s.path}: no band named "${b}"; available: ${avail} (or b1..b${scene.info.bands.length}); map names with the bands option, e.g. "blue=1,green=2,red=3,nir=4"`,
        { file: s.path, band: b },
      );
    }
    return i;
  });
}

// ---------------------------------------------------------------------------------------------
// Block decoding

function blockRows(r: Raster, by: number): number {
  return r.tiled ? r.bh : Math.min(r.bh, r.height - by * r.bh);
}

/** Converts a decoded block buffer to host-order samples of the raster's type. */
function toSamples(r: Raster, buf: ArrayBufferLike, rows: number): RawArray {
  const { bits, format, dtype } = r;
  if (bits % 8 !== 0) return unpackBits(buf, r, rows);
  const bytes = bits / 8;
  const count = Math.floor(buf.byteLength / bytes);
  const le = r.decodedLE;
  if (dtype === 'float16') {
    const dv = new DataView(buf);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(i * 2, le));
    return out;
  }
  if (bytes === 1 || le === HOST_LE) {
    const b = buf as ArrayBuffer;
    switch (dtype) {
      case 'uint8':
        return new Uint8Array(b, 0, count);
      case 'int8':
        return new Int8Array(b, 0, count);
      case 'uint16':
        return new Uint16Array(b, 0, count);
      case 'int16':
        return new Int16Array(b, 0, count);
      case 'uint32':
        return new Uint32Array(b, 0, count);
      case 'int32':
        return new Int32Array(b, 0, count);
      case 'float32':
        return new Float32Array(b, 0, count);
      case 'float64':
        return new Float64Array(b, 0, count);
    }
  }
  // Byte-swap into host order.
  const dv = new DataView(buf);
  const out = allocRaw(dtype, count);
  for (let i = 0; i < count; i++) {
    const p = i * bytes;
    out[i] =
      bytes === 2
        ? format === 2
          ? dv.getInt16(p, le)
          : dv.getUint16(p, le)
        : bytes === 4
          ? format === 3
            ? dv.getFloat32(p, le)
            : format === 2
              ? dv.getInt32(p, le)
              : dv.getUint32(p, le)
          : dv.getFloat64(p, le);
  }
  return out;
}

/** Unpacks MSB-first bit-packed samples (1–31 bits, rows padded to whole bytes). */
function unpackBits(buf: ArrayBufferLike, r: Raster, rows: number): RawArray {
  const u8 = new Uint8Array(buf);
  const perPixel = r.planar === 2 ? 1 : r.spp;
  const perRow = r.bw * perPixel;
  const rowBytes = Math.ceil((perRow * r.bits) / 8);
  const usableRows = Math.min(rows, Math.floor(u8.length / rowBytes));
  const out = allocRaw(r.dtype, usableRows * perRow);
  const bits = r.bits;
  const signBit = 2 ** (bits - 1);
  for (let y = 0; y < usableRows; y++) {
    const rowStart = y * rowBytes;
    let bitPos = 0; // within the row
    const o = y * perRow;
    for (let i = 0; i < perRow; i++) {
      let v = 0;
      let k = 0;
      while (k < bits) {
        const byte = u8[rowStart + (bitPos >>> 3)];
        const inByte = bitPos & 7;
        const take = Math.min(8 - inByte, bits - k);
        v = v * (1 << take) + ((byte >> (8 - inByte - take)) & ((1 << take) - 1));
        k += take;
        bitPos += take;
      }
      out[o + i] = r.format === 2 && v >= signBit ? v - 2 * signBit : v;
    }
  }
  return out;
}

const blockIndex = (r: Raster, bx: number, by: number, plane: number): number => plane * r.across * r.down + by * r.across + bx;

/** Largest gap (bytes) between blocks merged into one read, and largest merged read. */
const MERGE_GAP = 64 * 1024;
const MERGE_MAX = 8 * 1024 * 1024;

/**
 * Reads the compressed bytes of several blocks, merging blocks that lie close together in the
 * file into one read (small strips otherwise cost one system call each).
 */
async function prefetchBlocks(s: Internals, r: Raster, indices: number[], w: Window): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  const items = indices.filter((i) => r.counts[i] > 0).sort((a, b) => r.offsets[a] - r.offsets[b]);
  let g = 0;
  while (g < items.length) {
    const start = r.offsets[items[g]];
    let end = start + r.counts[items[g]];
    let h = g + 1;
    while (h < items.length) {
      const o = r.offsets[items[h]];
      const e = o + r.counts[items[h]];
      if (o - end > MERGE_GAP || Math.max(end, e) - start > MERGE_MAX) break;
      end = Math.max(end, e);
      h++;
    }
    if (h - g === 1) {
      g = h; // single block: read by getBlock itself, with its full context in errors
      continue;
    }
    const what = `${h - g} ${r.tiled ? 'tiles' : 'strips'} of the ${r.what} (bytes ${start}–${end}) while reading window col ${w.col}, row ${w.row}, ${w.width}×${w.height}`;
    const buf = await readExact(s.fh, s.path, s.size, start, end - start, what);
    for (let k = g; k < h; k++) {
      const i = items[k];
      const o = r.offsets[i] - start;
      out.set(i, buf.slice(o, o + r.counts[i]));
    }
    g = h;
  }
  return out;
}

/** Decodes one block (cached). `plane` is the sample for band-interleaved files, else 0. */
function getBlock(
  s: Internals,
  r: Raster,
  bx: number,
  by: number,
  plane: number,
  window: Window,
  signal?: AbortSignal,
  prefetched?: Uint8Array,
): Promise<RawArray> {
  const index = blockIndex(r, bx, by, plane);
  const key = `${r.what}:${index}`;
  const hit = s.cache.get(key);
  if (hit) return hit;
  const rows = blockRows(r, by);
  const perPixel = r.planar === 2 ? 1 : r.spp;
  const need = r.bw * rows * perPixel;
  const p = (async (): Promise<RawArray> => {
    const off = r.offsets[index];
    const cnt = r.counts[index];
    if (cnt === 0) {
      const a = allocRaw(r.dtype, need);
      if (r.fill !== 0) a.fill(r.fill);
      return a;
    }
    if (signal?.aborted) throw abortError(s.path, window);
    const block = r.tiled ? `tile ${bx},${by}` : `strip ${by}`;
    const where = `${block}${r.planar === 2 ? ` of band ${plane + 1}` : ''} of the ${r.what} (bytes ${off}–${off + cnt}, ${compressionName(r.compression)}) while reading window col ${window.col}, row ${window.row}, ${window.width}×${window.height}`;
    const bytes = prefetched ?? (await readExact(s.fh, s.path, s.size, off, cnt, where));
    let decoded: ArrayBufferLike;
    try {
      r.decoder ??= makeBlockDecoder(r.compression, r.params);
      decoded = await (await r.decoder).decode(bytes.buffer as ArrayBuffer);
    } catch (e) {
      throw new ImageryError('CORRUPT_FILE', `${s.path}: cannot decode ${where}: ${(e as Error).message ?? e}`, { file: s.path, tile: block }, { cause: e });
    }
    let arr: RawArray;
    try {
      arr = toSamples(r, decoded, rows);
    } catch (e) {
      throw new ImageryError('CORRUPT_FILE', `${s.path}: cannot decode ${where}: ${(e as Error).message}`, { file: s.path, tile: block }, { cause: e });
    }
    if (arr.length < need) {
      throw new ImageryError('CORRUPT_FILE', `${s.path}: ${where}: decoded ${arr.length} samples, ${need} expected (truncated or corrupt block)`, {
        file: s.path,
        tile: block,
      });
    }
    return arr;
  })();
  s.cache.set(key, p, need * (r.dtype === 'float64' ? 8 : r.dtype.endsWith('32') || r.dtype === 'float16' ? 4 : r.dtype.endsWith('16') ? 2 : 1));
  p.catch(() => s.cache.delete(key));
  return p;
}

function abortError(path: string, w: Window): ImageryError {
  return new ImageryError('ABORTED', `${path}: read of window col ${w.col}, row ${w.row}, ${w.width}×${w.height} aborted`, { file: path }, { retryable: true });
}

/** Runs async jobs with bounded concurrency. */
async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      await j();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

/**
 * @internal Reads samples of a raster (image or mask) into new arrays of its type; pixels outside
 * the raster stay 0.
 * @throws ImageryError CORRUPT_FILE (unreadable/undecodable block), CONFIG_INVALID (bad window), ABORTED
 */
export async function readRasterWindow(s: Internals, r: Raster, w: Window, samples: readonly number[], signal?: AbortSignal): Promise<RawArray[]> {
  if (!(Number.isInteger(w.col) && Number.isInteger(w.row) && Number.isInteger(w.width) && Number.isInteger(w.height) && w.width >= 0 && w.height >= 0)) {
    throw new ImageryError('CONFIG_INVALID', `${s.path}: invalid window ${JSON.stringify(w)} (integer col/row, non-negative width/height expected)`, { file: s.path });
  }
  const out = samples.map(() => allocRaw(r.dtype, w.width * w.height));
  const c0 = Math.max(0, w.col);
  const r0 = Math.max(0, w.row);
  const c1 = Math.min(r.width, w.col + w.width);
  const r1 = Math.min(r.height, w.row + w.height);
  if (c1 <= c0 || r1 <= r0) return out;
  if (signal?.aborted) throw abortError(s.path, w);
  const jobs: (() => Promise<void>)[] = [];
  const bx0 = Math.floor(c0 / r.bw);
  const bx1 = Math.floor((c1 - 1) / r.bw);
  const by0 = Math.floor(r0 / r.bh);
  const by1 = Math.floor((r1 - 1) / r.bh);
  const planes = r.planar === 2 ? samples.map((sm, k) => [sm, k] as const) : [[0, -1] as const];
  const missing: number[] = [];
  for (let by = by0; by <= by1; by++) {
    for (let bx = bx0; bx <= bx1; bx++) {
      for (const [plane] of planes) {
        const i = blockIndex(r, bx, by, plane);
        if (!s.cache.has(`${r.what}:${i}`)) missing.push(i);
      }
    }
  }
  const prefetched = missing.length > 1 ? await prefetchBlocks(s, r, [...new Set(missing)], w) : new Map<number, Uint8Array>();
  for (let by = by0; by <= by1; by++) {
    for (let bx = bx0; bx <= bx1; bx++) {
      for (const [plane, k] of planes) {
        jobs.push(async () => {
          if (signal?.aborted) throw abortError(s.path, w);
          const pre = prefetched.get(blockIndex(r, bx, by, plane));
          const blk = await getBlock(s, r, bx, by, plane, w, signal, pre);
          const bc0 = bx * r.bw;
          const br0 = by * r.bh;
          const xs = Math.max(c0, bc0);
          const xe = Math.min(c1, bc0 + r.bw);
          const ys = Math.max(r0, br0);
          const ye = Math.min(r1, br0 + blockRows(r, by));
          const n = xe - xs;
          if (r.planar === 2 || r.spp === 1) {
            const dst = out[k < 0 ? 0 : k];
            for (let y = ys; y < ye; y++) {
              const src = (y - br0) * r.bw + (xs - bc0);
              dst.set(blk.subarray(src, src + n) as never, (y - w.row) * w.width + (xs - w.col));
            }
            if (k < 0) for (let q = 1; q < out.length; q++) for (let y = ys; y < ye; y++) {
              const src = (y - br0) * r.bw + (xs - bc0);
              out[q].set(blk.subarray(src, src + n) as never, (y - w.row) * w.width + (xs - w.col));
            }
          } else {
            const spp = r.spp;
            for (let q = 0; q < samples.length; q++) {
              const dst = out[q];
              const sm = samples[q];
              for (let y = ys; y < ye; y++) {
                let src = ((y - br0) * r.bw + (xs - bc0)) * spp + sm;
                let d = (y - w.row) * w.width + (xs - w.col);
                for (let x = 0; x < n; x++, src += spp) dst[d++] = blk[src];
              }
            }
          }
        });
      }
    }
  }
  await runLimited(jobs, 4);
  return out;
}

/**
 * Reads unscaled sample values of a window: the stored numbers, as the file's type (float16
 * widened to float32, NBITS unpacked). Pixels outside the image are 0. No NoData handling.
 * @param bandNames band names (default: all bands in file order)
 * @param window pixel window (integers; may extend beyond the image)
 * @throws ImageryError MISSING_BAND, CORRUPT_FILE (naming file, block and window), CONFIG_INVALID
 *   (non-integer window), ABORTED
 */
export async function readRawWindow(scene: Scene, window: Window, bandNames?: readonly string[], signal?: AbortSignal): Promise<RawBlock> {
  const s = sceneInternals(scene);
  const names = bandNames ?? scene.info.bands.map((b) => b.name);
  const idx = resolveBands(scene, names);
  const data = await readRasterWindow(s, s.image, window, idx, signal);
  return { window, bandNames: [...names], data };
}
