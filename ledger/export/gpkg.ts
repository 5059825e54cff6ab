/**
 * OGC GeoPackage 1.2 export written with sql.js (SQLite compiled to WebAssembly, no native build).
 *
 * - application_id 'GPKG', user_version 10200; the core tables gpkg_spatial_ref_sys (the three rows
 *   the standard requires, -1, 0 and 4326, plus CGCS2000 and the chosen Gauss–Krüger zone),
 *   gpkg_contents (with the layer's bounding box) and gpkg_geometry_columns.
 * - One feature table: fid, geom (MULTIPOLYGON), one column per field of fields.ts (TEXT, REAL,
 *   DATE, BOOLEAN). Geometries are StandardGeoPackageBinary: 'GP' header with the srs_id and an
 *   xy envelope, then little-endian WKB MultiPolygon, outer rings counter-clockwise.
 * - Chinese column titles in gpkg_data_columns (the schema extension), so a client can show 面积(亩)
 *   rather than MJM.
 * - No R-tree spatial index: sql.js 1.16 is built without the rtree module ("no such module: rtree")
 *   and cannot load extensions. GDAL and QGIS read the file without one; `ogrinfo x.gpkg -sql
 *   "SELECT CreateSpatialIndex('layer','geom')"` adds it where wanted.
 */
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';
import { writeFileAtomic } from '../../pipeline/outputs/atomic.js';
import { CGCS2000_EPSG, lonLatTo, ogcWkt1, srsName } from './crs.js';
import { CLUE_FIELDS, fieldValue } from './fields.js';
import { emptyBBox, extendBBox, isEmptyBBox, prepareGeometry, type MultiPolygon } from './geometry.js';
import type { ResolvedClueExportOptions } from './options.js';
import type { ClueFeature } from './types.js';

/** 'GPKG' as a 32-bit integer. */
export const GPKG_APPLICATION_ID = 0x47504b47;
/** GeoPackage 1.2. */
export const GPKG_USER_VERSION = 10200;
export const GEOMETRY_COLUMN = 'geom';

let sqlJs: Promise<SqlJsStatic> | undefined;
const loadSqlJs = (): Promise<SqlJsStatic> => (sqlJs ??= initSqlJs());

/** StandardGeoPackageBinary of a MultiPolygon (NULL-able: an empty geometry gives null). */
export function gpkgGeometry(mp: MultiPolygon, srsId: number): Uint8Array | null {
  if (mp.length === 0) return null;
  let wkbBytes = 9;
  for (const poly of mp) {
    wkbBytes += 9;
    for (const ring of poly) wkbBytes += 4 + 16 * ring.length;
  }
  const buf = Buffer.alloc(8 + 32 + wkbBytes);
  buf.write('GP', 0, 'latin1');
  buf[2] = 0; // version 1
  buf[3] = 0b0000_0011; // little-endian, envelope type 1 (minx, maxx, miny, maxy), not empty, standard
  buf.writeInt32LE(srsId, 4);
  const [minX, minY, maxX, maxY] = extendBBox(emptyBBox(), mp);
  buf.writeDoubleLE(minX, 8);
  buf.writeDoubleLE(maxX, 16);
  buf.writeDoubleLE(minY, 24);
  buf.writeDoubleLE(maxY, 32);
  let o = 40;
  buf[o] = 1; // WKB little-endian
  buf.writeUInt32LE(6, o + 1); // MultiPolygon
  buf.writeUInt32LE(mp.length, o + 5);
  o += 9;
  for (const poly of mp) {
    buf[o] = 1;
    buf.writeUInt32LE(3, o + 1); // Polygon
    buf.writeUInt32LE(poly.length, o + 5);
    o += 9;
    for (const ring of poly) {
      buf.writeUInt32LE(ring.length, o);
      o += 4;
      for (const p of ring) {
        buf.writeDoubleLE(p[0], o);
        buf.writeDoubleLE(p[1], o + 8);
        o += 16;
      }
    }
  }
  return buf;
}

const SQL_TYPE = { text: 'TEXT', number: 'REAL', bool: 'BOOLEAN', date: 'DATE' } as const;
const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

function createCoreTables(db: Database, epsg: number): void {
  db.run(`PRAGMA application_id = ${GPKG_APPLICATION_ID}`);
  db.run(`PRAGMA user_version = ${GPKG_USER_VERSION}`);
  db.run(`CREATE TABLE gpkg_spatial_ref_sys (
    srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
    organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`);
  db.run(`CREATE TABLE gpkg_contents (
    table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`);
  db.run(`CREATE TABLE gpkg_geometry_columns (
    table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
    z TINYINT NOT NULL, m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`);
  db.run(`CREATE TABLE gpkg_extensions (
    table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))`);
  db.run(`CREATE TABLE gpkg_data_columns (
    table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT,
    constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),
    CONSTRAINT gdc_tn UNIQUE (table_name, name))`);

  const srs = db.prepare('INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)');
  srs.run(['Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system']);
  srs.run(['Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system']);
  srs.run([
    'WGS 84 geodetic',
    4326,
    'EPSG',
    4326,
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
    'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid',
  ]);
  for (const code of epsg === CGCS2000_EPSG ? [CGCS2000_EPSG] : [CGCS2000_EPSG, epsg])
    srs.run([srsName(code), code, 'EPSG', code, ogcWkt1(code), code === CGCS2000_EPSG ? 'CGCS2000 longitude/latitude' : 'CGCS2000 Gauss–Krüger']);
  srs.free();
}

/** Builds the GeoPackage in memory and returns its bytes. */
export async function buildGeoPackage(features: readonly ClueFeature[], opts: ResolvedClueExportOptions, layer: string): Promise<{ bytes: Uint8Array; warnings: string[] }> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  const warnings: string[] = [];
  try {
    const epsg = opts.epsg;
    const transform = lonLatTo(epsg);
    createCoreTables(db, epsg);
    const cols = CLUE_FIELDS.map((f) => `${q(f.key)} ${SQL_TYPE[f.kind]}`).join(', ');
    db.run(`CREATE TABLE ${q(layer)} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, ${q(GEOMETRY_COLUMN)} MULTIPOLYGON, ${cols})`);

    db.run('BEGIN');
    const bbox = emptyBBox();
    const insert = db.prepare(`INSERT INTO ${q(layer)} (${q(GEOMETRY_COLUMN)}, ${CLUE_FIELDS.map((f) => q(f.key)).join(', ')}) VALUES (?, ${CLUE_FIELDS.map(() => '?').join(', ')})`);
    for (const f of features) {
      const mp = prepareGeometry(f.geometryLonLat, f.fields.JCBH, { transform, outerCcw: true });
      if (mp.length === 0) warnings.push(`${f.fields.JCBH}: no valid polygon, written with a NULL geometry`);
      extendBBox(bbox, mp);
      const values = CLUE_FIELDS.map((spec) => {
        const v = fieldValue(f.fields, spec);
        return typeof v === 'boolean' ? (v ? 1 : 0) : v;
      });
      insert.run([gpkgGeometry(mp, epsg), ...values]);
    }
    insert.free();

    const box = isEmptyBBox(bbox) ? [null, null, null, null] : bbox;
    db.run('INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      layer,
      'features',
      layer,
      opts.title ?? '卫片执法线索',
      ...box,
      epsg,
    ]);
    db.run('INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)', [layer, GEOMETRY_COLUMN, 'MULTIPOLYGON', epsg]);
    const dc = db.prepare('INSERT INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?, ?, ?, ?)');
    for (const f of CLUE_FIELDS) dc.run([layer, f.key, f.key, f.header]);
    dc.free();
    for (const t of ['gpkg_data_columns', 'gpkg_data_column_constraints'])
      db.run('INSERT INTO gpkg_extensions VALUES (?, NULL, ?, ?, ?)', [t, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write']);
    db.run(`CREATE TABLE gpkg_data_column_constraints (
      constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN,
      max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))`);
    db.run('COMMIT');
    return { bytes: db.export(), warnings };
  } finally {
    db.close();
  }
}

/** Writes the GeoPackage atomically; returns warnings. */
export async function writeGeoPackage(features: readonly ClueFeature[], outPath: string, opts: ResolvedClueExportOptions, layer: string): Promise<string[]> {
  const { bytes, warnings } = await buildGeoPackage(features, opts, layer);
  await writeFileAtomic(outPath, bytes);
  return warnings;
}
