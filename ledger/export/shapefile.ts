/**
 * ESRI Shapefile export, zipped (.shp .shx .dbf .prj .cpg), written by hand from the ESRI
 * Shapefile Technical Description (1998) and the dBASE III record layout. Library writers measure
 * text widths in characters (a Chinese character is 3 UTF-8 bytes: the text overflows its field and
 * corrupts the next) and write integers as reals; this one does neither.
 *
 * - Shape type 5 (Polygon): every ring of every part is one shapefile part; outer rings clockwise,
 *   holes counter-clockwise (the shapefile rule); a case without a valid ring is a null shape.
 * - .dbf: code page declared UTF-8 in .cpg; C widths are the longest value in UTF-8 bytes (≤ 254,
 *   longer text is cut at a character boundary with a warning); N fields with decimals; SFJBNT as N(1,0) 1/0;
 *   dates as D. Field names are the ≤ 10-character codes of fields.ts.
 * - .prj: ESRI WKT of CGCS2000 or the chosen Gauss–Krüger zone.
 */
import JSZip from 'jszip';
import { writeFileAtomic } from '../../pipeline/outputs/atomic.js';
import { esriWkt, lonLatTo } from './crs.js';
import { CLUE_FIELDS, fieldValue, type FieldSpec, type FieldValue } from './fields.js';
import { emptyBBox, extendBBox, isEmptyBBox, prepareGeometry, type BBox, type MultiPolygon } from './geometry.js';
import type { ResolvedClueExportOptions } from './options.js';
import type { ClueFeature } from './types.js';

const SHAPE_NULL = 0;
const SHAPE_POLYGON = 5;
/** dBASE C fields hold at most 254 bytes. */
const MAX_C_BYTES = 254;

interface DbfField {
  spec: FieldSpec;
  type: 'C' | 'N' | 'D';
  width: number;
  decimals: number;
}

/** Cuts a UTF-8 encoding to at most `max` bytes without splitting a character. */
function cutUtf8(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  let end = max;
  // Continuation bytes are 10xxxxxx: back up to the start of the character that would be split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** Builds the .dbf: header, field descriptors, fixed-width records, 0x1A end marker. */
export function buildDbf(values: FieldValue[][], warnings: string[], jcbh: string[]): Buffer {
  // Text values encoded once: their byte lengths set the C widths.
  const encoded = values.map((row, r) =>
    row.map((v, c) => {
      if (CLUE_FIELDS[c].kind !== 'text' || v === null) return null;
      const b = Buffer.from(String(v), 'utf8');
      if (b.length > MAX_C_BYTES) warnings.push(`${jcbh[r]}: ${CLUE_FIELDS[c].key} cut to ${MAX_C_BYTES} bytes (dBASE limit)`);
      return cutUtf8(b, MAX_C_BYTES);
    }),
  );
  const fields: DbfField[] = CLUE_FIELDS.map((spec, c) => {
    switch (spec.kind) {
      case 'text': {
        let w = 1;
        for (const row of encoded) w = Math.max(w, row[c]?.length ?? 0);
        return { spec, type: 'C', width: w, decimals: 0 };
      }
      case 'number':
        return { spec, type: 'N', width: spec.width ?? 19, decimals: spec.decimals ?? 0 };
      case 'bool':
        // N(1,0) 1/0 rather than L: GDAL reads L as a 1-character string and ArcGIS cannot create L fields.
        return { spec, type: 'N', width: 1, decimals: 0 };
      case 'date':
        return { spec, type: 'D', width: 8, decimals: 0 };
    }
  });
  const headerLen = 32 + 32 * fields.length + 1;
  const recordLen = 1 + fields.reduce((s, f) => s + f.width, 0);
  const buf = Buffer.alloc(headerLen + recordLen * values.length + 1, 0x20);

  const now = new Date();
  buf.fill(0, 0, headerLen);
  buf[0] = 0x03; // dBASE III without memo
  buf[1] = now.getUTCFullYear() - 1900;
  buf[2] = now.getUTCMonth() + 1;
  buf[3] = now.getUTCDate();
  buf.writeUInt32LE(values.length, 4);
  buf.writeUInt16LE(headerLen, 8);
  buf.writeUInt16LE(recordLen, 10);
  // Byte 29 (language driver) stays 0: no LDID means UTF-8, which the .cpg states.
  fields.forEach((f, i) => {
    const o = 32 + 32 * i;
    buf.write(f.spec.key, o, 10, 'latin1'); // ≤ 10 ASCII characters, NUL-padded to 11
    buf.write(f.type, o + 11, 1, 'latin1');
    buf[o + 16] = f.width;
    buf[o + 17] = f.decimals;
  });
  buf[headerLen - 1] = 0x0d;

  let o = headerLen;
  values.forEach((row, r) => {
    buf[o++] = 0x20; // not deleted
    fields.forEach((f, c) => {
      const v = row[c];
      let text: string | Buffer;
      switch (f.type) {
        case 'C':
          text = encoded[r][c] ?? '';
          break;
        case 'N': {
          // shapelib's null for numbers: the field filled with '*'.
          if (v === null) text = '*'.repeat(f.width);
          else {
            const s = typeof v === 'boolean' ? (v ? '1' : '0') : (v as number).toFixed(f.decimals);
            if (s.length > f.width) throw new RangeError(`${jcbh[r]}: ${f.spec.key} = ${s} does not fit N(${f.width},${f.decimals})`);
            text = s.padStart(f.width, ' ');
          }
          break;
        }
        case 'D':
          text = v === null ? '' : String(v).replace(/-/g, '');
          break;
      }
      if (typeof text === 'string') buf.write(text, o, f.width, 'latin1');
      else text.copy(buf, o);
      o += f.width;
    });
  });
  buf[o] = 0x1a;
  return buf;
}

/** Size in bytes of a polygon record's content (after the 8-byte record header). */
function polygonContentBytes(mp: MultiPolygon): number {
  if (mp.length === 0) return 4;
  let parts = 0;
  let points = 0;
  for (const poly of mp)
    for (const ring of poly) {
      parts++;
      points += ring.length;
    }
  return 4 + 32 + 4 + 4 + 4 * parts + 16 * points;
}

function writeShpHeader(buf: Buffer, fileBytes: number, bbox: BBox): void {
  buf.writeInt32BE(9994, 0);
  buf.writeInt32BE(fileBytes / 2, 24); // length in 16-bit words
  buf.writeInt32LE(1000, 28);
  buf.writeInt32LE(SHAPE_POLYGON, 32);
  const b = isEmptyBBox(bbox) ? [0, 0, 0, 0] : bbox;
  b.forEach((v, i) => buf.writeDoubleLE(v, 36 + 8 * i));
  // Z and M ranges (68–99) stay 0.
}

/** Builds .shp and .shx for the prepared geometries (outer rings clockwise). */
export function buildShpShx(geoms: MultiPolygon[]): { shp: Buffer; shx: Buffer } {
  const sizes = geoms.map(polygonContentBytes);
  const shpBytes = 100 + sizes.reduce((s, n) => s + 8 + n, 0);
  const shp = Buffer.alloc(shpBytes);
  const shx = Buffer.alloc(100 + 8 * geoms.length);
  const bbox = emptyBBox();
  for (const g of geoms) extendBBox(bbox, g);
  writeShpHeader(shp, shpBytes, bbox);
  writeShpHeader(shx, shx.length, bbox);

  let o = 100;
  geoms.forEach((mp, i) => {
    shx.writeInt32BE(o / 2, 100 + 8 * i);
    shx.writeInt32BE(sizes[i] / 2, 104 + 8 * i);
    shp.writeInt32BE(i + 1, o); // record numbers start at 1
    shp.writeInt32BE(sizes[i] / 2, o + 4);
    o += 8;
    if (mp.length === 0) {
      shp.writeInt32LE(SHAPE_NULL, o);
      o += 4;
      return;
    }
    const rings = mp.flat();
    const b = extendBBox(emptyBBox(), mp);
    shp.writeInt32LE(SHAPE_POLYGON, o);
    b.forEach((v, k) => shp.writeDoubleLE(v, o + 4 + 8 * k));
    shp.writeInt32LE(rings.length, o + 36);
    shp.writeInt32LE(rings.reduce((s, r) => s + r.length, 0), o + 40);
    o += 44;
    let start = 0;
    for (const r of rings) {
      shp.writeInt32LE(start, o);
      o += 4;
      start += r.length;
    }
    for (const r of rings)
      for (const p of r) {
        shp.writeDoubleLE(p[0], o);
        shp.writeDoubleLE(p[1], o + 8);
        o += 16;
      }
  });
  return { shp, shx };
}

/** Writes the zipped Shapefile atomically; returns warnings (text cut to the DBF limit). */
export async function writeShapefileZip(features: readonly ClueFeature[], outPath: string, opts: ResolvedClueExportOptions, layer: string): Promise<string[]> {
  const warnings: string[] = [];
  const transform = lonLatTo(opts.epsg);
  const geoms = features.map((f) => prepareGeometry(f.geometryLonLat, f.fields.JCBH, { transform, outerCcw: false }));
  geoms.forEach((g, i) => {
    if (g.length === 0) warnings.push(`${features[i].fields.JCBH}: no valid polygon, written as a null shape`);
  });
  const values = features.map((f) => CLUE_FIELDS.map((spec) => fieldValue(f.fields, spec)));
  const dbf = buildDbf(
    values,
    warnings,
    features.map((f) => f.fields.JCBH),
  );
  const { shp, shx } = buildShpShx(geoms);
  const zip = new JSZip();
  // A fixed date keeps the zip bytes a function of the data alone.
  const date = new Date(Date.UTC(2000, 0, 1));
  zip.file(`${layer}.shp`, shp, { date });
  zip.file(`${layer}.shx`, shx, { date });
  zip.file(`${layer}.dbf`, dbf, { date });
  zip.file(`${layer}.prj`, esriWkt(opts.epsg), { date });
  zip.file(`${layer}.cpg`, 'UTF-8', { date });
  const bytes = await zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE', compressionOptions: { level: 6 }, platform: 'UNIX' });
  await writeFileAtomic(outPath, bytes);
  return warnings;
}
