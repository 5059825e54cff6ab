/**
 * The coordinate systems exports may be written in: CGCS2000 geographic (EPSG:4490) or one of the
 * CGCS2000 3-degree Gauss–Krüger zones (EPSG:4513–4533 with the zone number in the easting,
 * EPSG:4534–4554 without). Projection uses the project's proj4 definitions (pipeline/geo/crs.ts);
 * the WKT here is written out by hand because no EPSG database is available at run time.
 */
import proj4 from 'proj4';
import { proj4ForEpsg } from '../../pipeline/geo/crs.js';

/** EPSG code of CGCS2000 geographic longitude/latitude. */
export const CGCS2000_EPSG = 4490;

/** True for the codes exports accept: 4490 and the 3-degree Gauss–Krüger zones 4513–4554. */
export const isExportEpsg = (epsg: number): boolean => epsg === CGCS2000_EPSG || (Number.isInteger(epsg) && epsg >= 4513 && epsg <= 4554);

interface GkZone {
  /** Central meridian, degrees east. */
  lon0: number;
  /** False easting, metres (zone number × 1e6 + 500 000 for the zone-prefixed codes). */
  x0: number;
  /** Zone number 25–45. */
  zone: number;
  /** True for EPSG:4513–4533, whose eastings carry the zone number. */
  prefixed: boolean;
}

function gkZone(epsg: number): GkZone {
  if (epsg >= 4513 && epsg <= 4533) {
    const zone = epsg - 4513 + 25;
    return { lon0: zone * 3, x0: zone * 1_000_000 + 500_000, zone, prefixed: true };
  }
  if (epsg >= 4534 && epsg <= 4554) {
    const zone = epsg - 4534 + 25;
    return { lon0: zone * 3, x0: 500_000, zone, prefixed: false };
  }
  throw new RangeError(`EPSG:${epsg} is not a CGCS2000 3-degree Gauss–Krüger zone`);
}

/** The EPSG name of a supported code, e.g. "CGCS2000 / 3-degree Gauss-Kruger zone 40". */
export function srsName(epsg: number): string {
  if (epsg === CGCS2000_EPSG) return 'China Geodetic Coordinate System 2000';
  const z = gkZone(epsg);
  return z.prefixed ? `CGCS2000 / 3-degree Gauss-Kruger zone ${z.zone}` : `CGCS2000 / 3-degree Gauss-Kruger CM ${z.lon0}E`;
}

const ESRI_GEOGCS =
  'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';

/**
 * ESRI WKT for a `.prj`, with ESRI's own names (CGCS2000_3_Degree_GK_Zone_40,
 * CGCS2000_3_Degree_GK_CM_120E): GDAL and ArcGIS match these names to the EPSG code; a made-up
 * name only gets GDAL's 70 % "probable" match.
 */
export function esriWkt(epsg: number): string {
  if (epsg === CGCS2000_EPSG) return ESRI_GEOGCS;
  const z = gkZone(epsg);
  const name = z.prefixed ? `CGCS2000_3_Degree_GK_Zone_${z.zone}` : `CGCS2000_3_Degree_GK_CM_${z.lon0}E`;
  return (
    `PROJCS["${name}",${ESRI_GEOGCS},PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",${z.x0.toFixed(1)}],` +
    `PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",${z.lon0.toFixed(1)}],PARAMETER["Scale_Factor",1.0],` +
    `PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
  );
}

const OGC_GEOGCS_BODY =
  'DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],' +
  'PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]]';

/** OGC WKT 1 with EPSG authority codes (the form GDAL writes into gpkg_spatial_ref_sys.definition). */
export function ogcWkt1(epsg: number): string {
  const geog = `GEOGCS["China Geodetic Coordinate System 2000",${OGC_GEOGCS_BODY}`;
  if (epsg === CGCS2000_EPSG) return `${geog},AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4490"]]`;
  const z = gkZone(epsg);
  return (
    `PROJCS["${srsName(epsg)}",${geog},AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],` +
    `PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",${z.lon0}],PARAMETER["scale_factor",1],` +
    `PARAMETER["false_easting",${z.x0}],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],` +
    `AXIS["Northing",NORTH],AXIS["Easting",EAST],AUTHORITY["EPSG","${epsg}"]]`
  );
}

/** Point transform from CGCS2000 lon/lat to `epsg` (x = longitude or easting, y = latitude or northing). */
export function lonLatTo(epsg: number): (lon: number, lat: number) => [number, number] {
  if (epsg === CGCS2000_EPSG) return (lon, lat) => [lon, lat];
  const def = proj4ForEpsg(epsg);
  if (!def) throw new RangeError(`no projection for EPSG:${epsg}`);
  const conv = proj4(proj4ForEpsg(CGCS2000_EPSG)!, def);
  return (lon, lat) => {
    const [x, y] = conv.forward([lon, lat]);
    return [x, y];
  };
}
