import proj4 from 'proj4';
import type { Crs } from '../types.js';
import { AppError } from '../errors.js';

/**
 * CRS definitions by EPSG code, built from their parameters rather than a database: the families
 * that farmwatch meets (CGCS2000 geographic and Gauss–Krüger zones, WGS84/NAD83/ETRS89 UTM,
 * Web Mercator). CGCS2000, WGS84 and ETRS89 are treated as the same datum (they agree to a few cm).
 */
export function proj4ForEpsg(epsg: number): string | null {
  if (epsg === 4326) return '+proj=longlat +datum=WGS84 +no_defs';
  if (epsg === 4490 || epsg === 4258 || epsg === 4269) return '+proj=longlat +ellps=GRS80 +no_defs';
  if (epsg === 3857 || epsg === 900913)
    return '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs';
  const gk = (lon0: number, x0: number) =>
    `+proj=tmerc +lat_0=0 +lon_0=${lon0} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs`;
  // CGCS2000 3-degree Gauss–Krüger, zones 25–45 (central meridian 75..135E), with and without zone prefix.
  if (epsg >= 4513 && epsg <= 4533) {
    const zone = epsg - 4513 + 25;
    return gk(zone * 3, zone * 1_000_000 + 500_000);
  }
  if (epsg >= 4534 && epsg <= 4554) return gk(75 + (epsg - 4534) * 3, 500_000);
  // CGCS2000 6-degree Gauss–Krüger, zones 13–23 (central meridian 75..135E).
  if (epsg >= 4491 && epsg <= 4501) {
    const zone = epsg - 4491 + 13;
    return gk(zone * 6 - 3, zone * 1_000_000 + 500_000);
  }
  if (epsg >= 4502 && epsg <= 4512) return gk(75 + (epsg - 4502) * 6, 500_000);
  const utm = (zone: number, south: boolean, datum: string) =>
    `+proj=utm +zone=${zone} ${south ? '+south ' : ''}${datum} +units=m +no_defs`;
  if (epsg >= 32601 && epsg <= 32660) return utm(epsg - 32600, false, '+datum=WGS84');
  if (epsg >= 32701 && epsg <= 32760) return utm(epsg - 32700, true, '+datum=WGS84');
  if (epsg >= 26901 && epsg <= 26923) return utm(epsg - 26900, false, '+ellps=GRS80');
  if (epsg >= 25828 && epsg <= 25838) return utm(epsg - 25800, false, '+ellps=GRS80');
  return null;
}

export function crsFromEpsg(epsg: number): Crs {
  return { epsg, proj4: proj4ForEpsg(epsg), name: `EPSG:${epsg}` };
}

/** CGCS2000 geographic (longitude, latitude): the CRS of every longitude/latitude output. */
export const CGCS2000: Crs = crsFromEpsg(4490);

/** Requires a projectable CRS, or throws naming what is unsupported. */
export function requireProj4(crs: Crs, what: string): string {
  if (crs.proj4) return crs.proj4;
  throw new AppError('UNSUPPORTED_CRS', `${what}: coordinate reference system ${crs.name} is not supported (cannot reproject it)`, {
    crs: crs.name,
  });
}

export const sameCrs = (a: Crs, b: Crs): boolean =>
  (a.epsg !== null && a.epsg === b.epsg) || (a.proj4 !== null && a.proj4 === b.proj4);

export type PointTransform = (x: number, y: number) => [number, number];

/** A point transform between two CRSs (identity when they are the same). */
export function makeTransform(from: Crs, to: Crs): PointTransform {
  if (sameCrs(from, to)) return (x, y) => [x, y];
  const conv = proj4(requireProj4(from, 'source'), requireProj4(to, 'target'));
  return (x, y) => {
    const [X, Y] = conv.forward([x, y]);
    return [X, Y];
  };
}

/** True for geographic (degree) CRSs. */
export const isGeographic = (crs: Crs): boolean => crs.proj4 !== null && crs.proj4.includes('+proj=longlat');

/** The OGC WKT1 (ESRI flavour, as .prj files want) for CGCS2000 geographic and Gauss–Krüger codes. */
export function esriWktForEpsg(epsg: number): string | null {
  const geog =
    'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';
  if (epsg === 4490) return geog;
  const def = proj4ForEpsg(epsg);
  if (!def || !(epsg >= 4491 && epsg <= 4554)) return null;
  const lon0 = Number(/\+lon_0=([-\d.]+)/.exec(def)![1]);
  const x0 = Number(/\+x_0=([-\d.]+)/.exec(def)![1]);
  const name = `CGCS2000_GK_CM_${lon0}E`;
  return `PROJCS["${name}",${geog},PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",${x0.toFixed(1)}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",${lon0.toFixed(1)}],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`;
}
