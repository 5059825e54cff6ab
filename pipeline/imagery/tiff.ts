/**
 * Minimal TIFF/BigTIFF structure reader: header, IFD chain and tag values, with every read
 * bounds-checked against the file size so that truncated or corrupt files fail with a clear
 * CORRUPT_FILE error instead of zero-filled reads, hangs or crashes.
 *
 * geotiff.js's own parser is not used for structure because it reads deferred arrays
 * (tile offsets/byte counts) as little-endian even in big-endian files and fetches them one
 * 4–8-byte read per block; here all block offsets are read once, up front, and validated.
 */
import { ImageryError } from '../errors.js';

/** Random access to a file's bytes: a local ByteSource, or ranged GETs on an object store (storage/). */
export interface ByteSource {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** TIFF tag numbers used by the reader (TIFF 6.0, GeoTIFF 1.1, GDAL private tags). */
export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  FillOrder: 266,
  ImageDescription: 270,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  DateTime: 306,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  ModelTransformation: 34264,
  GeoKeyDirectory: 34735,
  GeoDoubleParams: 34736,
  GeoAsciiParams: 34737,
  GdalMetadata: 42112,
  GdalNodata: 42113,
  LercParameters: 50674,
} as const;

/** Byte size of each TIFF field type (bytes). */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };

/** One IFD entry: where its value lives. */
export interface IfdEntry {
  readonly tag: number;
  readonly type: number;
  readonly count: number;
  /** Absolute file offset of the value bytes. */
  readonly valueOffset: number;
  /** Value bytes when they are stored inline in the entry. */
  readonly inline: Uint8Array | null;
}

/** A parsed image file directory. */
export interface Ifd {
  readonly offset: number;
  readonly entries: ReadonlyMap<number, IfdEntry>;
}

/** An open TIFF file with its IFD chain parsed. */
export interface TiffFile {
  readonly path: string;
  readonly fh: ByteSource;
  readonly size: number;
  readonly littleEndian: boolean;
  readonly bigTiff: boolean;
  readonly ifds: readonly Ifd[];
}

const MAX_IFDS = 4096;
/** Largest tag value read into memory (offset arrays of huge files stay well below). */
const MAX_TAG_BYTES = 512 * 1024 * 1024;

const corrupt = (path: string, problem: string, extra: Record<string, unknown> = {}): ImageryError =>
  new ImageryError('CORRUPT_FILE', `${path}: ${problem}`, { file: path, ...extra });

/**
 * Reads `length` bytes at `offset`.
 * @throws ImageryError CORRUPT_FILE when the range extends past the end of the file.
 */
export async function readExact(fh: ByteSource, path: string, size: number, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw corrupt(path, `${what} at byte ${offset} (+${length} bytes) extends past the end of the file (${size} bytes): the file is truncated or corrupt`);
  }
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) throw corrupt(path, `${what}: unexpected end of file at byte ${offset + done} (file shrank while reading?)`);
    done += bytesRead;
  }
  return buf;
}

const MAGIC_HINTS: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive'],
  [[0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50], 'a JPEG 2000 image'],
  [[0xff, 0x4f, 0xff, 0x51], 'a JPEG 2000 codestream'],
  [[0x89, 0x48, 0x44, 0x46], 'an HDF5 file'],
  [[0x43, 0x44, 0x46], 'a NetCDF file'],
  [[0x7b], 'text/JSON'],
  [[0x3c], 'text/XML/HTML'],
];

/**
 * Parses the header and IFD chain of a TIFF or BigTIFF file.
 * @throws ImageryError UNSUPPORTED_FORMAT when the file is not a TIFF; CORRUPT_FILE when the
 *   header or an IFD is truncated or malformed.
 */
export async function parseTiff(fh: ByteSource, path: string, size: number): Promise<TiffFile> {
  if (size === 0) throw corrupt(path, 'the file is empty (0 bytes)');
  const head = await readExact(fh, path, size, 0, Math.min(16, size), 'header');
  const bom = (head[0] << 8) | head[1];
  if (bom !== 0x4949 && bom !== 0x4d4d) {
    const hint = MAGIC_HINTS.find(([m]) => m.every((b, i) => head[i] === b))?.[1];
    const hex = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ImageryError('UNSUPPORTED_FORMAT', `${path} is not a TIFF/GeoTIFF file (starts with bytes ${hex}${hint ? `: looks like ${hint}` : ''})`, { file: path });
  }
  const littleEndian = bom === 0x4949;
  if (head.length < 8) throw corrupt(path, `TIFF header truncated (${size} bytes)`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = dv.getUint16(2, littleEndian);
  let bigTiff: boolean;
  let first: number;
  if (magic === 42) {
    bigTiff = false;
    first = dv.getUint32(4, littleEndian);
  } else if (magic === 43) {
    if (head.length < 16) throw corrupt(path, `BigTIFF header truncated (${size} bytes)`);
    bigTiff = true;
    if (dv.getUint16(4, littleEndian) !== 8) throw corrupt(path, 'BigTIFF header with an offset size other than 8');
    first = Number(dv.getBigUint64(8, littleEndian));
  } else {
    throw new ImageryError('UNSUPPORTED_FORMAT', `${path} is not a TIFF/GeoTIFF file (byte-order mark present but version ${magic} is neither 42 nor 43)`, { file: path });
  }

  const ifds: Ifd[] = [];
  const seen = new Set<number>();
  let offset = first;
  while (offset !== 0) {
    if (seen.has(offset)) break; // a loop in the chain: keep what we have
    if (ifds.length >= MAX_IFDS) break;
    seen.add(offset);
    const { ifd, next } = await parseIfd(fh, path, size, littleEndian, bigTiff, offset, ifds.length);
    ifds.push(ifd);
    offset = next;
  }
  if (ifds.length === 0) throw corrupt(path, 'no image directory (IFD offset 0)');
  return { path, fh, size, littleEndian, bigTiff, ifds };
}

async function parseIfd(
  fh: ByteSource,
  path: string,
  size: number,
  le: boolean,
  big: boolean,
  offset: number,
  index: number,
): Promise<{ ifd: Ifd; next: number }> {
  const what = `image directory #${index}`;
  const countBytes = await readExact(fh, path, size, offset, big ? 8 : 2, what);
  const cdv = new DataView(countBytes.buffer);
  const n = big ? Number(cdv.getBigUint64(0, le)) : cdv.getUint16(0, le);
  const entrySize = big ? 20 : 12;
  if (n === 0 || n > 10_000) throw corrupt(path, `${what} at byte ${offset} declares ${n} entries`);
  const bodyLen = n * entrySize + (big ? 8 : 4);
  const body = await readExact(fh, path, size, offset + (big ? 8 : 2), bodyLen, what);
  const dv = new DataView(body.buffer);
  const entries = new Map<number, IfdEntry>();
  for (let i = 0; i < n; i++) {
    const p = i * entrySize;
    const tag = dv.getUint16(p, le);
    const type = dv.getUint16(p + 2, le);
    const count = big ? Number(dv.getBigUint64(p + 4, le)) : dv.getUint32(p + 4, le);
    const tsize = TYPE_SIZE[type];
    if (tsize === undefined) continue; // unknown field type: ignore the entry, as libtiff does
    const bytes = tsize * count;
    const inlineCap = big ? 8 : 4;
    const valuePos = p + (big ? 12 : 8);
    if (bytes <= inlineCap) {
      entries.set(tag, { tag, type, count, valueOffset: offset + (big ? 8 : 2) + valuePos, inline: body.slice(valuePos, valuePos + bytes) });
    } else {
      const vo = big ? Number(dv.getBigUint64(valuePos, le)) : dv.getUint32(valuePos, le);
      entries.set(tag, { tag, type, count, valueOffset: vo, inline: null });
    }
  }
  const nextPos = n * entrySize;
  const next = big ? Number(dv.getBigUint64(nextPos, le)) : dv.getUint32(nextPos, le);
  if (next !== 0 && next >= size) {
    // A dangling next pointer: the following IFDs (overviews, masks) are lost, the image may still be fine.
    return { ifd: { offset, entries }, next: 0 };
  }
  return { ifd: { offset, entries }, next };
}

async function entryBytes(t: TiffFile, e: IfdEntry, what: string): Promise<Uint8Array> {
  if (e.inline) return e.inline;
  const len = (TYPE_SIZE[e.type] ?? 1) * e.count;
  if (len > MAX_TAG_BYTES) throw corrupt(t.path, `tag ${e.tag} (${what}) declares ${len} bytes`);
  return readExact(t.fh, t.path, t.size, e.valueOffset, len, `tag ${e.tag} (${what})`);
}

/**
 * True when the IFD has the tag.
 * @throws never
 */
export const hasTag = (ifd: Ifd, tag: number): boolean => ifd.entries.has(tag);

/**
 * Numeric values of a tag (RATIONALs as numerator/denominator quotients), or null when absent.
 * 64-bit integers are returned as numbers (exact up to 2^53).
 * @throws ImageryError CORRUPT_FILE when the values lie past the end of the file.
 */
export async function tagNumbers(t: TiffFile, ifd: Ifd, tag: number, what = String(tag)): Promise<number[] | null> {
  const e = ifd.entries.get(tag);
  if (!e) return null;
  const b = await entryBytes(t, e, what);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = t.littleEndian;
  const out: number[] = new Array(e.count);
  for (let i = 0; i < e.count; i++) {
    switch (e.type) {
      case 1:
      case 2:
      case 7:
        out[i] = dv.getUint8(i);
        break;
      case 6:
        out[i] = dv.getInt8(i);
        break;
      case 3:
        out[i] = dv.getUint16(i * 2, le);
        break;
      case 8:
        out[i] = dv.getInt16(i * 2, le);
        break;
      case 4:
      case 13:
        out[i] = dv.getUint32(i * 4, le);
        break;
      case 9:
        out[i] = dv.getInt32(i * 4, le);
        break;
      case 5: {
        const den = dv.getUint32(i * 8 + 4, le);
        out[i] = den === 0 ? NaN : dv.getUint32(i * 8, le) / den;
        break;
      }
      case 10: {
        const den = dv.getInt32(i * 8 + 4, le);
        out[i] = den === 0 ? NaN : dv.getInt32(i * 8, le) / den;
        break;
      }
      case 11:
        out[i] = dv.getFloat32(i * 4, le);
        break;
      case 12:
        out[i] = dv.getFloat64(i * 8, le);
        break;
      case 16:
      case 18:
        out[i] = Number(dv.getBigUint64(i * 8, le));
        break;
      case 17:
        out[i] = Number(dv.getBigInt64(i * 8, le));
        break;
      default:
        out[i] = NaN;
    }
  }
  return out;
}

/**
 * First numeric value of a tag, or `fallback` when absent or not finite.
 * @throws ImageryError CORRUPT_FILE when the value lies past the end of the file.
 */
export async function tagNumber(t: TiffFile, ifd: Ifd, tag: number, fallback: number): Promise<number> {
  const v = await tagNumbers(t, ifd, tag);
  return v && v.length > 0 && Number.isFinite(v[0]) ? v[0] : fallback;
}

/**
 * ASCII value of a tag without the trailing NUL(s), or null when absent.
 * @throws ImageryError CORRUPT_FILE when the value lies past the end of the file.
 */
export async function tagAscii(t: TiffFile, ifd: Ifd, tag: number, what = String(tag)): Promise<string | null> {
  const e = ifd.entries.get(tag);
  if (!e) return null;
  const b = await entryBytes(t, e, what);
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return new TextDecoder('utf-8').decode(b.subarray(0, end));
}

/**
 * Raw bytes of a tag (UNDEFINED/BYTE payloads such as JPEGTables), or null when absent.
 * @throws ImageryError CORRUPT_FILE when the value lies past the end of the file.
 */
export async function tagBytes(t: TiffFile, ifd: Ifd, tag: number, what = String(tag)): Promise<Uint8Array | null> {
  const e = ifd.entries.get(tag);
  if (!e) return null;
  if (TYPE_SIZE[e.type] !== 1) return null;
  return entryBytes(t, e, what);
}
