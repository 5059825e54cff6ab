/** GDAL's command-line tools as the independent reader of exported files. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a GDAL tool and returns stdout (stderr is kept for the error). */
export async function gdal(tool: string, args: string[]): Promise<string> {
  const { stdout } = await run(tool, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CPL_DEBUG: 'OFF' } });
  return stdout;
}

/** `ogrinfo -ro -al -so` of a dataset (read-only: /vsizip/ cannot be opened for update). */
export const ogrinfoSummary = (path: string): Promise<string> => gdal('ogrinfo', ['-ro', '-al', '-so', path]);

export interface GdalFeature {
  type: 'Feature';
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown } | null;
}

/**
 * Reads a layer through GDAL into GeoJSON (optionally reprojected to `tSrs`); coordinates come back
 * in longitude/latitude order for geographic CRSs (ogr2ogr's traditional GIS order).
 */
export async function readWithGdal(path: string, opts: { layer?: string; tSrs?: string; openOptions?: string[] } = {}): Promise<GdalFeature[]> {
  const args = ['-f', 'GeoJSON', '/vsistdout/', path];
  if (opts.layer) args.push(opts.layer);
  if (opts.tSrs) args.push('-t_srs', opts.tSrs);
  for (const oo of opts.openOptions ?? []) args.push('-oo', oo);
  return (JSON.parse(await gdal('ogr2ogr', args)) as { features: GdalFeature[] }).features;
}

/** "NAME: Type (w.d)" lines of an ogrinfo summary, as [name, type] pairs in order. */
export function fieldTypes(summary: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of summary.matchAll(/^(\w+): ([\w()]+) \(\d+\.\d+\)$/gm)) out.push([m[1], m[2]]);
  return out;
}

/** The EPSG code GDAL identified for the layer: the last ID["EPSG",n] of the layer SRS WKT. */
export function layerEpsg(summary: string): number | null {
  const wkt = summary.slice(summary.indexOf('Layer SRS WKT:'));
  const ids = [...wkt.matchAll(/^ {4}ID\["EPSG",(\d+)\]\]$/gm)];
  return ids.length ? Number(ids[ids.length - 1][1]) : null;
}

export const featureCount = (summary: string): number => Number(/^Feature Count: (\d+)$/m.exec(summary)?.[1] ?? NaN);

/** GDAL's GeoPackage validator (ships with python3-gdal, a dependency of Debian's gdal-bin). */
export const VALIDATE_GPKG = ['/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py', '/usr/share/doc/python3-gdal/examples/validate_gpkg.py'].find((p) => existsSync(p));

/**
 * True when ogrinfo and ogr2ogr run. `.ci/run` installs gdal-bin, so CI always checks against GDAL;
 * a development machine without it skips those checks with a warning, as the pipeline's GDAL
 * comparisons do.
 */
export const hasGdal = ['ogrinfo', 'ogr2ogr'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
if (!hasGdal) console.warn('ogrinfo/ogr2ogr not found (apt-get install gdal-bin): skipping the GDAL read-back of the ledger exports');
