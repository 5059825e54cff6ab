/**
 * Block decoders: geotiff.js's codecs, with DEFLATE replaced by Node's native zlib and
 * JPEG/WebP decoded by sharp (libjpeg-turbo / libwebp, bit-identical to GDAL's decode).
 */
import { inflateSync } from 'node:zlib';
import { BaseDecoder, addDecoder, getDecoder } from 'geotiff';

/** A decoder for one block (strip or tile) of one IFD. */
export interface BlockDecoder {
  /** Decodes the compressed bytes of one block; predictors are applied. */
  decode(buffer: ArrayBuffer): Promise<ArrayBufferLike>;
}

/** Parameters of a block decoder (geotiff.js's BaseDecoderParameters plus codec extras). */
export interface DecoderParams {
  tileWidth: number;
  tileHeight: number;
  predictor: number;
  bitsPerSample: number[];
  planarConfiguration: number;
  samplesPerPixel: number;
  JPEGTables?: Uint8Array;
  LercParameters?: number[];
}

/** TIFF compression codes → names used in messages and SceneInfo. */
export const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: 'none',
  2: 'CCITT RLE',
  3: 'CCITT Group 3 fax',
  4: 'CCITT Group 4 fax',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'DEFLATE',
  32946: 'DEFLATE (Adobe)',
  32773: 'PackBits',
  32809: 'ThunderScan',
  34661: 'JBIG',
  34676: 'SGILog',
  34677: 'SGILog24',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'ZSTD',
  50001: 'WebP',
  50002: 'JPEG XL',
  52546: 'JPEG XL',
};

/** Compression codes this reader decodes. */
export const SUPPORTED_COMPRESSIONS: ReadonlySet<number> = new Set([1, 5, 7, 8, 32946, 32773, 34887, 50000, 50001]);

/**
 * The name of a TIFF compression code, e.g. "JPEG 2000 (34712)".
 * @throws never
 */
export const compressionName = (code: number): string => `${COMPRESSION_NAMES[code] ?? 'unknown compression'} (${code})`;

/**
 * Exact-length ArrayBuffer of a Buffer/Uint8Array (copying only when it is a view into a larger buffer).
 * @throws never
 */
export function exactBuffer(u: Uint8Array): ArrayBuffer {
  if (u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer) return u.buffer;
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}

/**
 * DEFLATE through Node's zlib (native, ≈3–4× geotiff.js's pako). Returns the raw inflated
 * bytes so BaseDecoder.decode applies the TIFF predictor (2 or 3) afterwards.
 */
class NativeDeflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    return exactBuffer(inflateSync(new Uint8Array(buffer)));
  }
}

type DecoderClass = typeof BaseDecoder;
let jsDeflate: DecoderClass | null = null;
let nativeOn = false;
let registration: Promise<void> | null = null;

const probeParams = { tileWidth: 1, tileHeight: 1, predictor: 1, bitsPerSample: [8], planarConfiguration: 1 };

/**
 * Registers the native DEFLATE decoder with geotiff.js (compression codes 8 and 32946). Idempotent.
 * @throws never (a registration failure leaves geotiff.js's JavaScript inflate in place).
 */
export function registerNativeDeflate(): Promise<void> {
  registration ??= (async () => {
    if (!jsDeflate) jsDeflate = (await getDecoder(8, probeParams)).constructor as DecoderClass;
    addDecoder([8, 32946], async () => NativeDeflateDecoder, undefined, false);
    nativeOn = true;
  })();
  return registration;
}

/**
 * Switches DEFLATE decoding between Node's native zlib (default) and geotiff.js's JavaScript
 * inflate; for benchmarks. Affects scenes opened afterwards.
 * @throws never
 */
export async function useNativeDeflate(enabled: boolean): Promise<void> {
  await registerNativeDeflate();
  if (enabled === nativeOn) return;
  const cls = enabled ? NativeDeflateDecoder : (jsDeflate as DecoderClass);
  addDecoder([8, 32946], async () => cls, undefined, false);
  nativeOn = enabled;
}

type SharpFn = (typeof import('sharp'))['default'];
let sharpModule: Promise<SharpFn> | null = null;
const loadSharp = (): Promise<SharpFn> => (sharpModule ??= import('sharp').then((m) => (m.default ?? m) as unknown as SharpFn));

/** Concatenates JPEGTables (without its EOI) and an abbreviated tile stream (without its SOI). */
function spliceJpegTables(tables: Uint8Array | undefined, tile: Uint8Array): Uint8Array {
  if (!tables || tables.length < 4) return tile;
  let tEnd = tables.length;
  if (tables[tEnd - 2] === 0xff && tables[tEnd - 1] === 0xd9) tEnd -= 2;
  const start = tile[0] === 0xff && tile[1] === 0xd8 ? 2 : 0;
  const out = new Uint8Array(tEnd + tile.length - start);
  out.set(tables.subarray(0, tEnd), 0);
  out.set(tile.subarray(start), tEnd);
  return out;
}

/**
 * JPEG-in-TIFF through sharp/libjpeg-turbo: YCbCr is converted to RGB with libjpeg's fancy
 * upsampling exactly as GDAL (JPEGCOLORMODE=RGB) does; geotiff.js's own JPEG decoder does not
 * convert colour and upsamples chroma by nearest neighbour, so its output differs from GDAL's.
 */
class SharpJpegDecoder implements BlockDecoder {
  constructor(private readonly p: DecoderParams) {}
  async decode(buffer: ArrayBuffer): Promise<ArrayBufferLike> {
    const sharp = await loadSharp();
    const stream = spliceJpegTables(this.p.JPEGTables, new Uint8Array(buffer));
    let img = sharp(stream, { failOn: 'error', limitInputPixels: false });
    // A 4-component JPEG (RGBA in TIFF) is CMYK to libvips: keep it in CMYK so no colour
    // conversion happens. libvips (8.18) then inverts the samples (Photoshop's CMYK convention),
    // with or without an Adobe marker; libtiff does not, so undo it. The conformance test
    // (rasterio/alpha.tif, exact match with GDAL) pins this behaviour.
    const ch = this.p.planarConfiguration === 2 ? 1 : this.p.samplesPerPixel;
    const four = ch === 4;
    if (four) img = img.pipelineColourspace('cmyk').toColourspace('cmyk');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (four) for (let i = 0; i < data.length; i++) data[i] = 255 - data[i];
    if (info.channels !== ch) {
      throw new Error(`JPEG block has ${info.channels} channels, ${ch} expected`);
    }
    if (info.width !== this.p.tileWidth) throw new Error(`JPEG block is ${info.width} px wide, expected ${this.p.tileWidth}`);
    return exactBuffer(data);
  }
}

/** WebP-in-TIFF (GDAL's COMPRESS=WEBP) through sharp/libwebp. */
class SharpWebpDecoder implements BlockDecoder {
  constructor(private readonly p: DecoderParams) {}
  async decode(buffer: ArrayBuffer): Promise<ArrayBufferLike> {
    const sharp = await loadSharp();
    const { data, info } = await sharp(new Uint8Array(buffer), { failOn: 'error', limitInputPixels: false })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const want = this.p.planarConfiguration === 2 ? 1 : this.p.samplesPerPixel;
    if (info.channels === want) return exactBuffer(data);
    if (info.channels === 4 && want === 3) {
      const n = info.width * info.height;
      const out = new Uint8Array(n * 3);
      for (let i = 0, j = 0; i < n; i++, j += 4) {
        out[i * 3] = data[j];
        out[i * 3 + 1] = data[j + 1];
        out[i * 3 + 2] = data[j + 2];
      }
      return out.buffer;
    }
    throw new Error(`WebP block has ${info.channels} channels, the image declares ${want} samples per pixel`);
  }
}

/**
 * A decoder for one IFD's blocks.
 * @throws Error when the compression has no decoder (callers check SUPPORTED_COMPRESSIONS first
 *   and wrap decode errors into ImageryError CORRUPT_FILE).
 */
export async function makeBlockDecoder(compression: number, params: DecoderParams): Promise<BlockDecoder> {
  await registerNativeDeflate();
  if (compression === 7) return new SharpJpegDecoder(params);
  if (compression === 50001) return new SharpWebpDecoder(params);
  const d = await getDecoder(compression, params as unknown as Parameters<typeof getDecoder>[1]);
  return { decode: (b) => d.decode(b) };
}

/**
 * Converts IEEE-754 half-precision bits (uint16) to a number.
 * @throws never
 */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
